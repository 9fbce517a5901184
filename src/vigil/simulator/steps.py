"""Play scenarios on a cluster without touching a real one.

``inject_failure`` writes a failed operation (and the fail-count the
controller would add) into the status; ``apply_transition`` records every
action of a transition as if it had succeeded.  Together they let
``vigil simulate --fail ... --steps K`` show an agent author the sequence of
transitions — and stop contexts — a real cluster would go through.

Both are pure functions from model to model: no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from vigil.errors import InputError, Problem
from vigil.model.cluster import Cluster
from vigil.model.config import Clone, Primitive, iter_primitives
from vigil.model.digests import digest
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.model.scores import INFINITY, ScoreError, add, format_score, parse_score
from vigil.model.status import (
    OP_DONE,
    RC_NOT_RUNNING,
    RC_OK,
    NodeState,
    OpRecord,
    ResourceHistory,
    Status,
)
from vigil.model.transition import Transition

FAILED_MONITOR_RC = RC_NOT_RUNNING
DEFAULT_TIMEOUT_MS = 20000


@dataclasses.dataclass(frozen=True)
class Failure:
    """``RSC:NODE[:OP]`` — a failure to inject before scheduling."""

    resource: str
    node: str
    operation: str = "monitor"

    @classmethod
    def parse(cls, text: str) -> Failure:
        parts = text.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise InputError([Problem("--fail", f"{text!r} is not RSC:NODE or RSC:NODE:OP "
                                      "(e.g. nova-compute:node1 or nova-compute:node1:monitor)")])
        return cls(*parts)


def _find_primitive(cluster: Cluster, rsc_id: str) -> tuple[Primitive, bool] | None:
    """The configured primitive for ``rsc_id`` and whether its history is
    kept under the bare id (instances of anonymous clones)."""
    base = rsc_id.split(":", 1)[0]
    for top in cluster.config.resources:
        for prim in iter_primitives(top):
            if prim.id in (rsc_id, base):
                anonymous = isinstance(top, Clone) and not _is_unique(top)
                return prim, anonymous
    return None


def _is_unique(clone: Clone) -> bool:
    for nvset in clone.meta:
        for name, value in nvset.values:
            if name == "globally-unique":
                return value.lower() in ("true", "yes", "1", "on")
    return False


def _history_id(cluster: Cluster, rsc_id: str) -> str:
    found = _find_primitive(cluster, rsc_id)
    if found is not None and found[1]:
        return found[0].id
    return rsc_id


def _next_call_id(status: Status) -> int:
    return 1 + max((op.call_id for state in status.nodes for h in state.resources for op in h.ops),
                   default=0)


def _params(prim: Primitive, now: int) -> dict[str, str]:
    ctx = RuleContext(now=now, rsc_class=prim.cls, rsc_provider=prim.provider, rsc_type=prim.type)
    return resolve_nvsets(prim.params, ctx)


def _op_digest(prim: Primitive, task: str, interval_ms: int, now: int) -> str:
    params = _params(prim, now)
    for op in prim.ops:
        if op.name == task and op.interval_ms == interval_ms:
            params.update(dict(op.params))
            if interval_ms > 0:
                params["CRM_meta_timeout"] = str(op.timeout_ms or DEFAULT_TIMEOUT_MS)
            break
    else:
        if interval_ms > 0:
            params["CRM_meta_timeout"] = str(DEFAULT_TIMEOUT_MS)
    return digest(params)


def _record(prim: Primitive, history_id: str, node: str, task: str, interval_ms: int, rc: int,
            expected_rc: int, call_id: int, now: int, suffix: str | None = None) -> OpRecord:
    key = f"{history_id}_{task}_{interval_ms}"
    record_id = f"{history_id}_{suffix}" if suffix else (key if interval_ms else f"{history_id}_last_0")
    transition_key = f"0:0:{expected_rc}:vigil-simulate"
    return OpRecord(
        id=record_id, operation=task, interval_ms=interval_ms, rc=rc, op_status=OP_DONE,
        call_id=call_id, on_node=node, op_digest=_op_digest(prim, task, interval_ms, now),
        last_rc_change=now, last_run=now, transition_key=transition_key,
        transition_magic=f"0:{rc};{transition_key}", crm_feature_set="3.16.1",
    )


def _replace_node(status: Status, node: NodeState) -> Status:
    nodes = tuple(node if n.uname == node.uname else n for n in status.nodes)
    return dataclasses.replace(status, nodes=nodes)


def _with_history(node: NodeState, history: ResourceHistory) -> NodeState:
    others = tuple(h for h in node.resources if h.id != history.id)
    return dataclasses.replace(node, resources=(*others, history))


def _history(node: NodeState, prim: Primitive, history_id: str) -> ResourceHistory:
    for history in node.resources:
        if history.id == history_id:
            return history
    return ResourceHistory(id=history_id, cls=prim.cls, provider=prim.provider, type=prim.type)


def _set_attrs(node: NodeState, updates: dict[str, str | None]) -> NodeState:
    attrs = [(k, v) for k, v in node.attributes if k not in updates]
    attrs += [(k, v) for k, v in updates.items() if v is not None]
    return dataclasses.replace(node, attributes=tuple(attrs))


def inject_failure(cluster: Cluster, failure: Failure, now: int) -> Cluster:
    """Record a failed operation of a resource on a node, with its fail-count."""
    found = _find_primitive(cluster, failure.resource)
    if found is None:
        raise InputError([Problem("--fail", f"no resource {failure.resource!r} in the configuration")])
    prim, anonymous = found
    node = cluster.status.node(failure.node)
    if node is None:
        known = ", ".join(n.uname for n in cluster.status.nodes) or "none"
        raise InputError([Problem("--fail", f"node {failure.node!r} has no status (known: {known})")])
    task, _, interval_text = failure.operation.partition("_")
    interval_ms = int(interval_text) if interval_text.isdigit() else _monitor_interval(prim, task)
    history_id = prim.id if anonymous else failure.resource
    rc = FAILED_MONITOR_RC if task == "monitor" else 1
    record = _record(prim, history_id, failure.node, task, interval_ms, rc, RC_OK,
                     _next_call_id(cluster.status), now, suffix="last_failure_0")
    history = _history(node, prim, history_id)
    ops = (*(op for op in history.ops if op.id != record.id), record)
    node = _with_history(node, history._replace(ops=ops))
    op_key = f"{task}_{interval_ms}"
    count_name = f"fail-count-{prim.id}#{op_key}"
    current = node.attribute(count_name)
    try:
        count = add(parse_score(current), 1) if current else 1
    except ScoreError:
        count = 1
    if task == "start":
        count = INFINITY  # start-failure-is-fatal, Pacemaker's default
    node = _set_attrs(node, {count_name: format_score(count), f"last-failure-{prim.id}#{op_key}": str(now)})
    return dataclasses.replace(cluster, status=_replace_node(cluster.status, node))


def _monitor_interval(prim: Primitive, task: str) -> int:
    if task != "monitor":
        return 0
    intervals = sorted(op.interval_ms for op in prim.ops if op.name == "monitor" and op.interval_ms > 0)
    return intervals[0] if intervals else 0


def apply_transition(cluster: Cluster, transition: Transition, now: int) -> Cluster:
    """The status after every action of ``transition`` succeeded."""
    status = cluster.status
    call_id = _next_call_id(status)
    for action in transition.actions:
        if action.pseudo or action.node is None:
            continue
        node = status.node(action.node)
        if node is None:
            continue
        if action.task == "stonith":
            node = _fenced(node)
        elif action.task == "clear_failcount" and action.resource is not None:
            node = _clear_failcount(node, action.resource.split(":", 1)[0])
        elif action.resource is not None:
            updated = _record_action(cluster, node, action.resource, action.task, action.interval_ms,
                                     call_id, now)
            if updated is None:
                continue
            node = updated
            call_id += 1
        status = _replace_node(status, node)
    return dataclasses.replace(cluster, status=status)


def _fenced(node: NodeState) -> NodeState:
    return dataclasses.replace(node, in_ccm="false", crmd="offline", join="down", expected="down",
                               resources=(), attributes=())


def _clear_failcount(node: NodeState, base_id: str) -> NodeState:
    drop: dict[str, str | None] = {k: None for k, _ in node.attributes
            if k.startswith((f"fail-count-{base_id}#", f"last-failure-{base_id}#"))
            or k in (f"fail-count-{base_id}", f"last-failure-{base_id}")}
    return _set_attrs(node, drop)


def _record_action(cluster: Cluster, node: NodeState, rsc_id: str, task: str, interval_ms: int,
                   call_id: int, now: int) -> NodeState | None:
    found = _find_primitive(cluster, rsc_id)
    if found is None:
        return None
    prim, anonymous = found
    history_id = prim.id if anonymous else rsc_id
    history = _history(node, prim, history_id)
    keep: Iterable[OpRecord] = history.ops
    if task == "monitor" and interval_ms == 0:
        record = _record(prim, history_id, node.uname, task, 0, RC_NOT_RUNNING, RC_NOT_RUNNING, call_id, now)
    elif task in ("start", "stop"):
        record = _record(prim, history_id, node.uname, task, 0, RC_OK, RC_OK, call_id, now)
        # A start or stop replaces the last result; a stop also ends the
        # recurring monitors, as the controller cancels them.
        keep = [op for op in history.ops if op.id != record.id and not (task == "stop" and op.interval_ms)]
    elif task == "monitor":
        record = _record(prim, history_id, node.uname, task, interval_ms, RC_OK, RC_OK, call_id, now)
    else:
        return None
    ops = (*(op for op in keep if op.id != record.id), record)
    return _with_history(node, history._replace(ops=ops))


__all__ = ["Failure", "apply_transition", "inject_failure"]
