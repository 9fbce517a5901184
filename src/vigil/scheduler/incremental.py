"""The daemon's scheduler: a from-scratch plan, kept up to date by re-planning
only what a change touches.

``schedule()`` reads the whole cluster every time.  The daemon calls it after
every operation result, so at thousands of resources one monitor failure
would cost seconds of work on resources it cannot affect.
:class:`IncrementalScheduler` gives exactly ``schedule()``'s answer (the same
actions in the same order, the same order edges, summary, view and recheck
time) while re-planning only the resources the change reaches.

How: the last full run is remembered (a :class:`_Memo`).  Top-level
resources linked by a constraint (colocation, order, container) form a
*component*; nothing one component does reaches another, with one exception:
placement breaks score ties by how many resources each node already holds,
so every resource sees the loads left by those placed before it.  The memo
keeps the node loads each top-level resource started from and what it
added.  A change to some resources' histories (or their fail-counts) is
re-planned by running the ordinary stages on a cluster cut down to the
touched components, each top-level resource starting from its recorded
loads.  When every one of them adds what it added before, every other
resource sees the loads it saw before, so its plan is unchanged and the
remembered one is reused; otherwise (a resource moved) the whole cluster is
planned again.  Anything the cut-down run cannot vouch for (a configuration
change, a node changing state, fencing, date rules, utilization) also falls
back to a full run, which then becomes the new memo.

Resources with a ``failure-timeout`` are re-planned on every call: their
plan changes with the clock alone.

The scheduler stays pure: the memo is a cache of its own results, kept in
this object, and no answer depends on it being there.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from vigil.model.cluster import Cluster
from vigil.model.config import Bundle, Clone, Config, Group, Primitive
from vigil.model.failcounts import failure_attribute
from vigil.model.resources import all_resources
from vigil.model.rules import DateExpression
from vigil.model.status import NodeState, ResourceHistory
from vigil.model.transition import Action, ClusterView, NodeView, ResourceView, SummaryLine, Transition
from vigil.scheduler.recheck import failure_expiries
from vigil.scheduler.stages import StagesRun, Tracer, assign_all, run_stages, top_rank
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import WorkNode

__all__ = ["INTERNAL_ERROR", "IncrementalScheduler"]

# The reason counted when the incremental path itself fails.
INTERNAL_ERROR = "internal error"
_STANDBY_STATES = ("standby", "standby-with-resources")


class _Fallback(Exception):
    """The cut-down run cannot vouch for its answer; plan from scratch."""


def _node_signature(nodes: list[WorkNode]) -> tuple[tuple[Any, ...], ...]:
    """Everything about the nodes that placement and actions read, except
    their loads and attributes (which are checked on their own)."""
    return tuple(
        (n.name, n.id, n.type, n.online, n.unclean, n.unseen, n.standby, n.standby_onfail,
         n.pending, n.maintenance, n.shutdown, n.expected_up, n.is_dc, n.has_state,
         n.fence_reason, n.health_score)
        for n in nodes
    )


def _loads(nodes: list[WorkNode]) -> tuple[int, ...]:
    return tuple(node.num_resources for node in nodes)


class _Record(Tracer):
    """Records, in a full run, the node loads before each top-level resource is placed."""

    def __init__(self) -> None:
        self.starts: list[tuple[int, ...]] = []
        self.signature: tuple[tuple[Any, ...], ...] = ()

    def assign_all(self, work: Work) -> None:
        if work.have_remote_nodes:
            # Connections are placed first; such runs are never replayed
            # (see ``_build_memo``), so there is nothing to record.
            assign_all(work)
            return
        nodes = list(work.nodes.values())
        self.signature = _node_signature(nodes)
        for top in list(work.top):
            self.starts.append(_loads(nodes))
            top.variant.assign(work, top, None)
        self.starts.append(_loads(nodes))


class _Replay(Tracer):
    """Steers a cut-down run: each top-level resource starts from the loads
    it started from in the full run, and must add what it added then."""

    def __init__(self, memo: _Memo, expected_tops: list[int]) -> None:
        self.memo = memo
        self.expected_tops = expected_tops
        self.positions: list[int] = []

    def resources_unpacked(self, work: Work) -> None:
        # Whether fencing is possible depends on resources outside the cut.
        work.have_stonith_resource = self.memo.have_stonith_resource

    def assign_all(self, work: Work) -> None:
        memo = self.memo
        nodes = list(work.nodes.values())
        if _node_signature(nodes) != memo.signature:
            raise _Fallback("a node's state changed")
        positions = [memo.top_index.get(top.id, -1) for top in work.top]
        if positions != self.expected_tops:
            raise _Fallback("the resources to re-plan changed")
        self.positions = positions
        for top, position in zip(list(work.top), positions, strict=True):
            start = memo.starts[position]
            for node, load in zip(nodes, start, strict=True):
                node.num_resources = load
            top.variant.assign(work, top, None)
            if _loads(nodes) != memo.starts[position + 1]:
                raise _Fallback("a resource's placement changed")


@dataclass(eq=False)
class _Memo:
    """The last full run, cut into top-level resources."""

    cluster: Cluster
    sanitized: bool
    transition: Transition
    top_ids: list[str]
    top_index: dict[str, int]
    # Top-level resource -> its component (the smallest position in it).
    component: list[int]
    members: dict[int, list[int]]
    # Components re-planned on every call (their plan depends on the clock).
    volatile: set[int]
    # Config resource ids (primitives, groups, clones, clone children) and
    # orphan history ids -> the position of their top-level resource.
    top_of: dict[str, int]
    # The configuration's resource ids -> their top-level resource's id
    # (the configuration does not change while the memo lives).
    config_tops: dict[str, str]
    starts: list[tuple[int, ...]]
    signature: tuple[tuple[Any, ...], ...]
    have_stonith_resource: bool
    # Per top-level resource: its actions (``index`` local to it), the edges
    # that end at them as (from position, from local index, to local index),
    # its summary lines, its view ids and its next failure expiry.
    actions: list[tuple[Action, ...]]
    edges: list[list[tuple[int, int, int]]]
    summary: list[list[SummaryLine]]
    view_ids: list[list[str]]
    expiry: list[int | None]
    view_position: dict[str, int]
    # Components with resources the status knows and the configuration does
    # not: where those are listed depends on the order the status is read
    # in, across components, so these are always planned from scratch.
    orphans: set[int]
    # Per node (by name): its histories by resource id.
    histories: dict[str, dict[str, ResourceHistory]] = field(default_factory=dict)


class IncrementalScheduler:
    """``schedule()`` for a sequence of clusters that change a little at a time."""

    def __init__(self) -> None:
        self._memo: _Memo | None = None
        # How each call was answered: "incremental", "unchanged", or
        # "full: <why>"; for benchmarks and tests.
        self.stats: Counter[str] = Counter()
        self.last_mode = ""
        # How many top-level resources the last call planned.
        self.last_replanned = 0

    def schedule(self, cluster: Cluster, now: int, *, sanitized: bool = False) -> Transition:
        memo = self._memo
        if memo is None or memo.sanitized != sanitized:
            return self._full(cluster, now, sanitized, "no previous plan")
        try:
            touched = _touched_components(memo, cluster)
            return self._incremental(memo, cluster, now, touched)
        except _Fallback as why:
            return self._full(cluster, now, sanitized, str(why))
        except Exception as error:
            # A flaw here must not stop the daemon: the full run is the answer
            # anyway.  Tests fail on any plan counted under this reason.
            return self._full(cluster, now, sanitized, f"{INTERNAL_ERROR} ({type(error).__name__}: {error})")

    def _count(self, mode: str, replanned: int) -> None:
        self.stats[mode] += 1
        self.last_mode = mode
        self.last_replanned = replanned

    # -- full runs -------------------------------------------------------------------------

    def _full(self, cluster: Cluster, now: int, sanitized: bool, why: str) -> Transition:
        record = _Record()
        run = run_stages(cluster, now, sanitized=sanitized, tracer=record)
        self._count(f"full: {why}", len(run.work.top))
        try:
            self._memo = _build_memo(run, record, sanitized)
        except _Fallback:
            self._memo = None
        return run.transition

    # -- incremental runs ------------------------------------------------------------------

    def _incremental(self, memo: _Memo, cluster: Cluster, now: int, touched: set[int]) -> Transition:
        if touched & memo.orphans:
            raise _Fallback("resources missing from the configuration changed")
        touched |= memo.volatile
        if not touched:
            memo.cluster = cluster
            self._count("unchanged", 0)
            return memo.transition
        positions = sorted(p for c in touched for p in memo.members[c])
        wanted = {memo.top_ids[p] for p in positions}
        replay = _Replay(memo, positions)
        sub = run_stages(_cut(cluster, memo, wanted), now, sanitized=memo.sanitized, tracer=replay)
        if any(rsc.orphan for rsc in sub.work.rscs.values()):
            raise _Fallback("resources missing from the configuration changed")
        if sub.transition.notes or any(t < 0 for t in sub.action_tops):
            raise _Fallback("the cut-down plan fences a node")
        if len(sub.summary_by_top) != len(positions) or sum(map(len, sub.summary_by_top)) != len(
                sub.transition.summary):
            raise _Fallback("the cut-down plan fences a node")
        _store_tops(memo, sub, positions)
        memo.transition = _assemble(memo, sub.transition.view, positions)
        memo.cluster = cluster
        self._count("incremental", len(positions))
        return memo.transition


# -- building the memo ---------------------------------------------------------------------


def _has_date_rules(config: Config) -> bool:
    """Does any rule in the configuration depend on the date?"""
    stack: list[Any] = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, DateExpression):
            return True
        if isinstance(item, tuple):
            if item and not isinstance(item[0], str):
                stack.extend(item)
        elif dataclasses.is_dataclass(item):
            for f in dataclasses.fields(item):
                value = getattr(item, f.name)
                if value is not None and not isinstance(value, (str, int, bool)):
                    stack.append(value)
    return False


def _config_tops(config: Config) -> dict[str, str]:
    """Every resource id a constraint may name -> the id of its top-level resource."""
    tops: dict[str, str] = {}
    for rsc in config.resources:
        tops[rsc.id] = rsc.id
        if isinstance(rsc, Bundle):
            tops.update((found.resource.id, rsc.id) for found in all_resources(Config(resources=(rsc,))))
            continue
        child: Primitive | Group = rsc.child if isinstance(rsc, Clone) else rsc
        tops[child.id] = rsc.id
        if isinstance(child, Group):
            for member in child.members:
                tops[member.id] = rsc.id
    return tops


def _primitive_tops(work: Work, rank: dict[int, int]) -> dict[str, int]:
    found: dict[str, int] = {}
    for rsc in work.rscs.values():
        position = rank[id(rsc)]
        found[rsc.id] = position
        found[rsc.prim.id] = position
    return found


def _build_memo(run: StagesRun, record: _Record, sanitized: bool) -> _Memo:
    work = run.work
    cluster = work.cluster
    config = cluster.config
    transition = run.transition
    if (work.options.shutdown_lock or work.options.placement_strategy != "default"
            or work.have_remote_nodes or work.fence_ops or work.enable_unfencing or transition.notes
            or _has_date_rules(config)):
        raise _Fallback("not incremental")
    if any(n.unclean or n.standby_onfail or n.fence_reason for n in work.nodes.values()):
        raise _Fallback("not incremental")
    rank = top_rank(work)
    top_ids = [top.id for top in work.top]
    top_index = {rid: position for position, rid in enumerate(top_ids)}
    if len(top_index) != len(top_ids):
        raise _Fallback("not incremental")
    top_of = _primitive_tops(work, rank)
    config_tops = _config_tops(config)
    for rid, top_id in config_tops.items():
        if top_id in top_index:
            top_of[rid] = top_index[top_id]

    parent = list(range(len(top_ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        if a not in top_of or b not in top_of:
            raise _Fallback("not incremental")
        ra, rb = find(top_of[a]), find(top_of[b])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    tied = [constraint.references() for constraint in config.colocations]
    tied += [constraint.references() for constraint in config.orders]
    for references in tied:
        for other in references[1:]:
            union(references[0], other)
    for rsc in work.rscs.values():
        if rsc.container is not None:
            union(rsc.id, rsc.container.id)
    component = [find(p) for p in range(len(top_ids))]
    members: dict[int, list[int]] = {}
    for position, root in enumerate(component):
        members.setdefault(root, []).append(position)
    volatile = {
        component[p] for p, top in enumerate(work.top)
        if any(prim.failure_timeout_s for prim in top.primitives())
    }
    memo = _Memo(
        cluster=cluster, sanitized=sanitized, transition=transition, top_ids=top_ids,
        top_index=top_index, component=component, members=members, volatile=volatile,
        top_of=top_of, config_tops=config_tops, starts=record.starts, signature=record.signature,
        have_stonith_resource=work.have_stonith_resource,
        actions=[() for _ in top_ids], edges=[[] for _ in top_ids], summary=[[] for _ in top_ids],
        view_ids=[[] for _ in top_ids], expiry=[None for _ in top_ids], view_position={},
        orphans=set(),
    )
    if any(t < 0 for t in run.action_tops):
        raise _Fallback("not incremental")
    _store_tops(memo, run, list(range(len(top_ids))))
    if transition.view is None:
        raise _Fallback("not incremental")
    memo.view_position = {r.id: i for i, r in enumerate(transition.view.resources)}
    if sorted(memo.view_position) != sorted(i for ids in memo.view_ids for i in ids):
        raise _Fallback("not incremental")
    for a, b in transition.order:
        if component[run.action_tops[a]] != component[run.action_tops[b]]:
            raise _Fallback("not incremental")
    memo.orphans = {component[rank[id(rsc)]] for rsc in work.rscs.values() if rsc.orphan}
    memo.histories = {state.uname: {h.id: h for h in state.resources} for state in cluster.status.nodes}
    return memo


def _store_tops(memo: _Memo, run: StagesRun, positions: list[int]) -> None:
    """Cut ``run``'s results (whose ``work.top`` are the top-level resources
    at ``positions``) into per-resource pieces in the memo."""
    work = run.work
    transition = run.transition
    local: list[int] = []
    counts = [0] * len(positions)
    for slot in run.action_tops:
        local.append(counts[slot])
        counts[slot] += 1
    new_actions: list[list[Action]] = [[] for _ in positions]
    for action, slot, index in zip(transition.actions, run.action_tops, local, strict=True):
        new_actions[slot].append(dataclasses.replace(action, index=index))
    new_edges: list[list[tuple[int, int, int]]] = [[] for _ in positions]
    for a, b in transition.order:
        new_edges[run.action_tops[b]].append((positions[run.action_tops[a]], local[a], local[b]))
    expiries = failure_expiries(work)
    for slot, (position, resource) in enumerate(zip(positions, work.top, strict=True)):
        memo.actions[position] = tuple(new_actions[slot])
        memo.edges[position] = new_edges[slot]
        memo.summary[position] = run.summary_by_top[slot]
        ids = [prim.id for prim in resource.primitives()]
        if memo.view_ids[position] and memo.view_ids[position] != ids:
            raise _Fallback("the resources to re-plan changed")
        memo.view_ids[position] = ids
        memo.expiry[position] = min((expiries[i] for i in ids if i in expiries), default=None)


# -- what a change touches -----------------------------------------------------------------


def _base_id(name: str) -> str:
    return name.split(":", 1)[0]


def _top_of_history(memo: _Memo, rsc_id: str) -> int:
    position = memo.top_of.get(rsc_id)
    if position is None:
        position = memo.top_of.get(_base_id(rsc_id))
    if position is None:
        raise _Fallback("a resource the plan does not know")
    return position


def _failure_attribute_resource(name: str) -> str | None:
    parts = failure_attribute(name)
    if parts is None:
        return None
    rsc, hash_sign, _ = parts[1].rpartition("#")
    return rsc if hash_sign else None


def _touched_components(memo: _Memo, cluster: Cluster) -> set[int]:
    old = memo.cluster
    if cluster is old:
        return set()
    if cluster.config is not old.config and cluster.config != old.config:
        raise _Fallback("the configuration changed")
    if cluster.cib_attributes != old.cib_attributes:
        raise _Fallback("the configuration changed")
    status, old_status = cluster.status, old.status
    if (status.have_quorum, status.dc_uuid, status.execution_date, status.tickets) != (
            old_status.have_quorum, old_status.dc_uuid, old_status.execution_date, old_status.tickets):
        raise _Fallback("the cluster's state changed")
    if len(status.nodes) != len(old_status.nodes):
        raise _Fallback("a node joined or left")
    touched: set[int] = set()
    for state, before in zip(status.nodes, old_status.nodes, strict=True):
        if state is before:
            continue
        if dataclasses.replace(state, attributes=(), resources=()) != dataclasses.replace(
                before, attributes=(), resources=()):
            raise _Fallback("a node's state changed")
        if state.attributes != before.attributes:
            changed = set(state.attributes) ^ set(before.attributes)
            for name, _ in changed:
                rsc = _failure_attribute_resource(name)
                if rsc is None:
                    raise _Fallback("a node attribute changed")
                touched.add(memo.component[_top_of_history(memo, rsc)])
        if state.resources is not before.resources:
            touched |= _touched_histories(memo, state, before)
    return touched


def _touched_histories(memo: _Memo, state: NodeState, before: NodeState) -> set[int]:
    known = memo.histories.get(before.uname, {})
    touched: set[int] = set()
    current: dict[str, ResourceHistory] = {}
    for history in state.resources:
        current[history.id] = history
        old = known.get(history.id)
        if old is not history and old != history:
            touched.add(memo.component[_top_of_history(memo, history.id)])
    if len(current) != len(known) or list(current) != list(known):
        for rsc_id in known.keys() - current.keys():
            touched.add(memo.component[_top_of_history(memo, rsc_id)])
        kept = [rsc_id for rsc_id in current if rsc_id in known]
        if memo.orphans and kept != [rsc_id for rsc_id in known if rsc_id in current]:
            # The order orphans are met in, and so listed, could change.
            raise _Fallback("the order of a node's history changed")
    memo.histories[state.uname] = current
    return touched


# -- the cut-down run ----------------------------------------------------------------------


def _cut(cluster: Cluster, memo: _Memo, wanted: set[str]) -> Cluster:
    """``cluster`` with only the top-level resources ``wanted`` (ids), their
    constraints and their histories."""
    config = cluster.config
    tops = memo.config_tops

    def keep(rsc_id: str) -> bool:
        return tops.get(rsc_id, rsc_id) in wanted

    cut_config = dataclasses.replace(
        config,
        resources=tuple(r for r in config.resources if r.id in wanted),
        locations=tuple(c for c in config.locations if c.rsc_pattern is not None
                        or any(keep(rsc) for ref in c.references() for rsc in config.constrained(ref))),
        colocations=tuple(c for c in config.colocations if keep(c.references()[0])),
        orders=tuple(c for c in config.orders if keep(c.references()[0])),
    )
    positions = {memo.top_index[w] for w in wanted}
    nodes = tuple(
        dataclasses.replace(state, resources=tuple(
            h for h in state.resources if _top_of_history(memo, h.id) in positions
        ))
        for state in cluster.status.nodes
    )
    return dataclasses.replace(cluster, config=cut_config,
                               status=dataclasses.replace(cluster.status, nodes=nodes))


# -- putting the plan together ---------------------------------------------------------------


def _assemble(memo: _Memo, sub_view: ClusterView | None, positions: list[int]) -> Transition:
    """The whole plan from the per-resource pieces, as ``schedule()`` lists it."""
    offsets: dict[int, int] = {}
    actions: list[Action] = []
    summary: list[SummaryLine] = []
    for position, own in enumerate(memo.actions):
        if own:
            base = offsets[position] = len(actions)
            actions.extend(dataclasses.replace(a, index=base + a.index) for a in own)
        summary.extend(memo.summary[position])
    edges = sorted(
        (offsets[source] + before, offsets[position] + after)
        for position in offsets
        for source, before, after in memo.edges[position]
    )
    old_view = memo.transition.view
    assert old_view is not None and sub_view is not None
    resources = list(old_view.resources)
    fresh = {r.id: r for r in sub_view.resources}
    order = [memo.view_position[i] for p in positions for i in memo.view_ids[p]]
    if [r.id for r in sub_view.resources] != [resources[i].id for i in sorted(order)]:
        raise _Fallback("the resources to re-plan changed")
    for index in order:
        resources[index] = fresh[resources[index].id]
    nodes = tuple(_node_view(node, resources) for node in old_view.nodes)
    return Transition(
        actions=tuple(actions),
        order=tuple(edges),
        summary=tuple(summary),
        notes=(),
        view=ClusterView(nodes, tuple(resources), old_view.have_quorum),
        recheck_by=min((e for e in memo.expiry if e is not None), default=None),
    )


def _node_view(node: NodeView, resources: list[ResourceView]) -> NodeView:
    """A standby node shows whether resources still run on it."""
    if node.state not in _STANDBY_STATES:
        return node
    busy = any(node.name in r.nodes for r in resources)
    state = "standby-with-resources" if busy else "standby"
    return node if state == node.state else dataclasses.replace(node, state=state)

