"""Status as plain mutable tables, and how a snapshot is built from them.

The memory backend keeps its status in these; the SQLite backend keeps a
copy of its rows in them, brought up to date row by row.  Both therefore
build snapshots (and do fail-count arithmetic) with the same code, so they
cannot drift apart.

Structural sharing
    Each :class:`History` and :class:`NodeData` remembers the immutable
    object it was last built into (``built``) and whether that object still
    matches its content (``current``).  Whoever changes the content clears
    ``current`` (:meth:`NodeData.edit_history`, :meth:`NodeData.remove_history`
    and :meth:`NodeData.changed` do); :func:`build_cluster` then rebuilds
    only what is not current, and keeps the previous object when the rebuilt
    one is equal to it.  So two snapshots built one after the other share
    every ``ResourceHistory`` and ``NodeState`` that did not change (the very
    same objects), which is what the store contract promises.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.failcounts import failcount_attribute, last_failure_attribute
from vigil.model.scores import ScoreError, add, format_score, parse_score
from vigil.model.status import NodeState, OpRecord, ResourceHistory, Status, Ticket
from vigil.store.base import ResourceRef


@dataclass(eq=False)
class History:
    """One node's history of one resource.

    ``built`` is the ``ResourceHistory`` last built from it and ``current``
    whether it still matches ``resource`` and ``ops``: clear ``current``
    after changing either.
    """

    resource: ResourceRef
    ops: dict[str, OpRecord] = field(default_factory=dict)
    built: ResourceHistory | None = None
    current: bool = False

    def copy(self) -> History:
        """A copy to change (it keeps ``built`` to compare with, no longer current)."""
        return History(self.resource, dict(self.ops), self.built, False)

    def build(self) -> ResourceHistory:
        """The immutable history: the previous object when it is still equal."""
        if self.current and self.built is not None:
            return self.built
        built = self.built
        new = _history(self)
        if built is None or built != new:
            built = self.built = new
        self.current = True
        return built


@dataclass(eq=False)
class NodeData:
    """What the store holds about one node.

    ``built`` is the ``NodeState`` last built from it and ``current``
    whether it still matches: clear it (:meth:`changed`) after changing
    ``state`` or ``attributes``; change ``histories`` only through
    :meth:`edit_history`, :meth:`history_changed` and :meth:`remove_history`,
    which also do.  ``order`` is ``sorted(histories)``, or ``None`` when it
    must be sorted again; while it is not ``None``, ``built.resources`` is
    in that order, and ``stale`` names the histories changed since (``None``:
    any may have), so a build replaces only those.
    """

    state: NodeState | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    histories: dict[str, History] = field(default_factory=dict)
    built: NodeState | None = None
    current: bool = False
    order: list[str] | None = None
    stale: set[str] | None = None

    def copy(self) -> NodeData:
        """A copy to change, for copy-on-write.

        The :class:`History` objects are shared with this one: change them
        only through :meth:`edit_history`, which copies the one it gives.
        """
        return NodeData(
            state=self.state,
            attributes=dict(self.attributes),
            histories=dict(self.histories),
            built=self.built,
            current=False,
            order=self.order,
            stale=None if self.stale is None else set(self.stale),
        )

    def changed(self) -> None:
        self.current = False

    def edit_history(self, rsc: str, resource: ResourceRef | None = None) -> History | None:
        """A private copy of ``rsc``'s history, put in place, to change.

        A missing history is created with ``resource``, or ``None`` is
        returned when ``resource`` is not given.  The caller changes it and
        clears nothing: the copy is already not current.
        """
        history = self.histories.get(rsc)
        if history is None:
            if resource is None:
                return None
            history = History(resource)
            self.order = None
        else:
            history = history.copy()
        self.histories[rsc] = history
        self._stale(rsc)
        return history

    def cache_resource(self, rsc: str, resource: ResourceRef) -> None:
        """In an unshared cache: ``rsc``'s history belongs to ``resource`` (created when missing)."""
        history = self.histories.get(rsc)
        if history is None:
            self.edit_history(rsc, resource)
        elif history.resource != resource:
            history.resource = resource
            self.history_changed(rsc)

    def history_changed(self, rsc: str) -> None:
        """``rsc``'s history was changed in place (by the owner of an unshared cache)."""
        self.histories[rsc].current = False
        self._stale(rsc)

    def _stale(self, rsc: str) -> None:
        self.current = False
        if self.stale is not None:
            self.stale.add(rsc)

    def remove_history(self, rsc: str) -> bool:
        """Remove ``rsc``'s history; whether there was one."""
        if self.histories.pop(rsc, None) is None:
            return False
        self.order = None
        self.current = False
        return True

    def is_empty(self) -> bool:
        return self.state is None and not self.attributes and not self.histories

    def build(self, uname: str, default_id: str) -> NodeState:
        """The immutable node state: the previous object when it is still equal.

        ``default_id`` is the id a node without a stored state gets (from
        the configuration), which may change without the node changing.
        """
        built = self.built
        if self.current and built is not None and (self.state is not None or built.id == default_id):
            return built
        histories = self.histories
        order = self.order
        resources: tuple[ResourceHistory, ...]
        if (
            built is not None
            and order is not None
            and self.stale is not None
            and len(built.resources) == len(order)
        ):
            # Same resources as last time: rebuild only the changed histories.
            resources = built.resources
            if self.stale:
                changed = list(resources)
                for rsc in self.stale:
                    changed[bisect_left(order, rsc)] = histories[rsc].build()
                resources = tuple(changed)
        else:
            order = self.order = sorted(histories)
            resources = tuple([histories[rsc].build() for rsc in order])
        base = self.state or NodeState(id=default_id, uname=uname)
        new = replace(
            base, uname=uname, attributes=tuple(sorted(self.attributes.items())), resources=resources
        )
        if built is None or built != new:
            built = self.built = new
        elif built.resources is not resources:
            # Kept the equal previous object: make each history's object the one in it,
            # so later builds keep handing out the objects snapshots already hold.
            for rsc, history in zip(order, built.resources, strict=True):
                histories[rsc].built = history
        self.current = True
        self.stale = set()
        return built


def failure_updates(
    attributes: Mapping[str, str], rsc: str, record: OpRecord, delta: int, failed_at: int | None
) -> dict[str, str | None]:
    """The attribute changes that count ``delta`` more failures of ``record``'s operation.

    The fail-count is added to with score arithmetic (INFINITY absorbs; an
    unreadable stored value counts as 0); last-failure is set to
    ``failed_at``, else to the record's last_rc_change, else left alone.
    """
    if delta == 0:
        return {}
    name = failcount_attribute(rsc, record.operation, record.interval_ms)
    try:
        current = parse_score(attributes.get(name, "0"))
    except ScoreError:
        current = 0
    total = add(current, delta)
    updates: dict[str, str | None] = {name: format_score(total) if total > 0 else None}
    when = failed_at if failed_at is not None else record.last_rc_change
    if when is not None:
        updates[last_failure_attribute(rsc, record.operation, record.interval_ms)] = str(when)
    return updates


def apply_attributes(attributes: dict[str, str], updates: Mapping[str, str | None]) -> bool:
    """Apply ``updates`` (``None`` removes); whether anything changed."""
    changed = False
    for name, value in updates.items():
        if value is None:
            changed |= attributes.pop(name, None) is not None
        elif attributes.get(name) != value:
            attributes[name] = value
            changed = True
    return changed


def node_ids(config: Config) -> dict[str, str]:
    return {node.uname: node.id for node in config.nodes}


def build_cluster(config: Config, nodes: Mapping[str, NodeData], tickets: Mapping[str, Ticket]) -> Cluster:
    """An immutable Cluster; every collection in key (code-point) order.

    Reuses every object still current in ``nodes`` (see the module's
    docstring), so it costs work in proportion to what changed since the
    last call on the same ``nodes``.
    """
    ids = node_ids(config)
    states: list[NodeState] = []
    for uname in sorted(nodes):
        data = nodes[uname]
        if data.is_empty():
            continue
        states.append(data.build(uname, ids.get(uname, uname)))
    in_order = tuple(tickets[ident] for ident in sorted(tickets))
    return Cluster(config=config, status=Status(nodes=tuple(states), tickets=in_order))


def adopt(previous: Mapping[str, NodeData], nodes: Mapping[str, NodeData]) -> None:
    """Let freshly read ``nodes`` reuse the objects built from ``previous`` where equal.

    For a full read that replaces a cache: :func:`build_cluster` then keeps
    each previous object whose rebuilt value is equal, as if the read had
    been incremental.
    """
    for uname, data in nodes.items():
        old = previous.get(uname)
        if old is None:
            continue
        data.built = old.built  # not in step with data: data.stale stays None
        for rsc, history in data.histories.items():
            old_history = old.histories.get(rsc)
            if old_history is not None:
                history.built = old_history.built


def _history(history: History) -> ResourceHistory:
    ref = history.resource
    ops = history.ops
    return ResourceHistory(
        id=ref.id,
        cls=ref.cls,
        provider=ref.provider,
        type=ref.type,
        container=ref.container,
        ops=tuple([ops[op_id] for op_id in sorted(ops)]),
    )
