"""Status as plain mutable tables, and how a snapshot is built from them.

The memory backend keeps its status in these; the SQLite backend reads its
rows into them to build a snapshot.  Both therefore build snapshots (and
do fail-count arithmetic) with the same code, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.scores import ScoreError, add, format_score, parse_score
from vigil.model.status import NodeState, OpRecord, ResourceHistory, Status
from vigil.store.base import ResourceRef, failcount_attribute, last_failure_attribute


@dataclass
class History:
    resource: ResourceRef
    ops: dict[str, OpRecord] = field(default_factory=dict)


@dataclass
class NodeData:
    """What the store holds about one node."""

    state: NodeState | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    histories: dict[str, History] = field(default_factory=dict)

    def copy(self) -> NodeData:
        return NodeData(
            state=self.state,
            attributes=dict(self.attributes),
            histories={rsc: History(h.resource, dict(h.ops)) for rsc, h in self.histories.items()},
        )

    def is_empty(self) -> bool:
        return self.state is None and not self.attributes and not self.histories


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


def build_cluster(config: Config, nodes: Mapping[str, NodeData]) -> Cluster:
    """An immutable Cluster; every collection in key (code-point) order."""
    ids = node_ids(config)
    states: list[NodeState] = []
    for uname in sorted(nodes):
        data = nodes[uname]
        if data.is_empty():
            continue
        base = data.state or NodeState(id=ids.get(uname, uname), uname=uname)
        states.append(
            replace(
                base,
                uname=uname,
                attributes=tuple(sorted(data.attributes.items())),
                resources=tuple(_history(data.histories[rsc]) for rsc in sorted(data.histories)),
            )
        )
    return Cluster(config=config, status=Status(nodes=tuple(states)))


def _history(history: History) -> ResourceHistory:
    ref = history.resource
    return ResourceHistory(
        id=ref.id,
        cls=ref.cls,
        provider=ref.provider,
        type=ref.type,
        container=ref.container,
        ops=tuple(history.ops[op_id] for op_id in sorted(history.ops)),
    )
