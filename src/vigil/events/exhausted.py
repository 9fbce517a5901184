"""When the cluster gives up on a resource on a node: read off the planned transition.

A stop that a failure caused (``stop_reason=failure``) and after which the
transition does not start the resource on that node again
(``stop_final=true``) is the cluster giving up there: the
migration-threshold is reached, or the failure bans the resource from the
node (a hard error, a failed start), or its ``on-fail`` does not restart it.
Each such stop gives one :class:`RecoveryExhausted`, with the fail-count and
migration-threshold as the snapshot has them, where the same transition
starts the resource next, and the resource's ``on-recovery-exhausted``
policy: ``none`` (the default, Pacemaker's behaviour: only the event),
``standby`` (put the node in standby) or ``fence`` (fence the node).

Pure: a function of the transition and the cluster it was planned from.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.events.model import RecoveryExhausted
from vigil.model.cluster import Cluster
from vigil.model.config import Clone, Config, Group, Primitive
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.model.scores import INFINITY, ScoreError, format_score, parse_score
from vigil.model.status import NodeState
from vigil.model.transition import Transition

POLICY_META = "on-recovery-exhausted"
POLICIES = ("none", "standby", "fence")
FAILCOUNT_PREFIX = "fail-count-"
_TRUE = frozenset({"true", "yes", "on", "y", "1"})


@dataclass(frozen=True)
class _Found:
    primitive: Primitive
    history_id: str
    meta: dict[str, str]


def recovery_exhausted(transition: Transition, cluster: Cluster, now: int,
                       at: float) -> dict[int, RecoveryExhausted]:
    """The recovery-exhausted events of ``transition``, by the index of the stop that gives up."""
    found: dict[int, RecoveryExhausted] = {}
    config = cluster.config
    for action in transition.actions:
        if action.pseudo or action.task != "stop" or action.resource is None or action.node is None:
            continue
        meta = dict(action.meta)
        if meta.get("stop_reason") != "failure" or meta.get("stop_final") != "true":
            continue
        resource = find_resource(config, action.resource, now)
        if resource is None:
            continue
        threshold = _threshold(resource.meta.get("migration-threshold"))
        count = fail_count(cluster.status.node(action.node), resource.history_id)
        cause = "migration-threshold" if threshold < INFINITY and count >= threshold else "hard-failure"
        failed_task, failed_interval, rc, status = _last_failure(cluster.status.node(action.node),
                                                                 resource.history_id)
        found[action.index] = RecoveryExhausted(
            node=action.node,
            nodeid=next((n.id for n in config.nodes if n.uname == action.node), action.node),
            resource=resource.history_id,
            fail_count=format_score(count),
            migration_threshold=format_score(threshold),
            recoveries_left=meta.get("recoveries_left", "0"),
            next_node=meta.get("stop_next_node"),
            policy=policy_of(resource.meta),
            cause=cause,
            at=at,
            failed_task=failed_task,
            failed_interval_ms=failed_interval,
            rc=rc,
            status=status,
        )
    return found


def policy_of(meta: dict[str, str]) -> str:
    """The ``on-recovery-exhausted`` policy; anything unknown is ``none``."""
    value = meta.get(POLICY_META, "none").strip().lower()
    return value if value in POLICIES else "none"


def find_resource(config: Config, resource_id: str, now: int) -> _Found | None:
    """The primitive of ``resource_id`` (``rsc`` or a clone instance ``rsc:N``), the id its
    history has on a node, and its meta attributes as the scheduler resolves them
    (its own, then its group's and clone's, then rsc_defaults)."""
    base, _, number = resource_id.rpartition(":")
    wanted = base if number.isdigit() and base else resource_id
    ctx = RuleContext(now=now)
    for top in config.resources:
        chain = _chain(top, wanted)
        if chain is None:
            continue
        primitive, parents = chain
        meta = resolve_nvsets(primitive.meta, ctx)
        for parent in parents:
            for name, value in resolve_nvsets(parent.meta, ctx).items():
                meta.setdefault(name, value)
        resolve_nvsets(config.rsc_defaults, ctx, into=meta)
        clone = next((p for p in parents if isinstance(p, Clone)), None)
        unique = clone is not None and \
            resolve_nvsets(clone.meta, ctx).get("globally-unique", "").lower() in _TRUE
        history_id = resource_id if (clone is None or unique) else primitive.id
        return _Found(primitive, history_id, meta)
    return None


def _chain(top: Primitive | Group | Clone, wanted: str) -> tuple[Primitive, list[Group | Clone]] | None:
    if isinstance(top, Primitive):
        return (top, []) if top.id == wanted else None
    if isinstance(top, Group):
        for member in top.members:
            if member.id == wanted:
                return member, [top]
        return None
    inner = _chain(top.child, wanted)
    if inner is None:
        return None
    primitive, parents = inner
    return primitive, [*parents, top]


def _threshold(text: str | None) -> int:
    """migration-threshold: INFINITY when unset, 0 (disabled) or invalid."""
    if text is None:
        return INFINITY
    try:
        value = parse_score(text)
    except ScoreError:
        return INFINITY
    if value < 0:
        return 1
    return INFINITY if value == 0 else value


def fail_count(state: NodeState | None, history_id: str) -> int:
    """The resource's fail-count on a node: the sum over its operations (INFINITY absorbs)."""
    if state is None:
        return 0
    total = 0
    prefix = f"{FAILCOUNT_PREFIX}{history_id}#"
    for name, value in state.attributes:
        if not name.startswith(prefix):
            continue
        try:
            total = min(INFINITY, total + max(0, parse_score(value)))
        except ScoreError:
            continue
    return total


def _last_failure(state: NodeState | None, history_id: str) -> tuple[str, int, int, int]:
    """(task, interval, rc, status) of the resource's last failure on the node, if recorded."""
    if state is None:
        return "", 0, 0, 0
    for history in state.resources:
        if history.id != history_id:
            continue
        for op in history.ops:
            if op.id == f"{history_id}_last_failure_0":
                return op.operation, op.interval_ms, op.rc, op.op_status
    return "", 0, 0, 0
