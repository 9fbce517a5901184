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
from vigil.model.config import Config, Primitive
from vigil.model.failcounts import migration_threshold, resource_failcount, threshold_in_effect
from vigil.model.resources import MIGRATION_THRESHOLD, effective_meta, find, history_id, instance_base
from vigil.model.scores import INFINITY, format_score
from vigil.model.status import NodeState
from vigil.model.stop_context import RECOVERIES_LEFT, StopContext
from vigil.model.transition import Transition

POLICY_META = "on-recovery-exhausted"
POLICIES = ("none", "standby", "fence")


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
        context = StopContext.from_meta(meta)
        if not context.is_final_failure_stop:
            continue
        resource = find_resource(config, action.resource, now)
        if resource is None:
            continue
        threshold = threshold_in_effect(migration_threshold(resource.meta.get(MIGRATION_THRESHOLD)))
        state = cluster.status.node(action.node)
        count = resource_failcount(state.attributes, resource.history_id) if state is not None else 0
        cause = "migration-threshold" if threshold < INFINITY and count >= threshold else "hard-failure"
        failed_task, failed_interval, rc, status = _last_failure(state, resource.history_id)
        found[action.index] = RecoveryExhausted(
            node=action.node,
            nodeid=next((n.id for n in config.nodes if n.uname == action.node), action.node),
            resource=resource.history_id,
            fail_count=format_score(count),
            migration_threshold=format_score(threshold),
            recoveries_left=meta.get(RECOVERIES_LEFT, "0"),
            next_node=context.stop_next_node,
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
    history has on a node, and its meta attributes in effect at ``now``."""
    found = find(config, instance_base(resource_id))
    if found is None or not isinstance(found.resource, Primitive):
        return None
    return _Found(found.resource, history_id(config, found, resource_id, now),
                  effective_meta(config, found, now))


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
