"""``on-fail``: what a failed operation asks for, and carrying it out.

The reaction is configured per operation (or in op defaults); without one,
a failed stop fences the node (blocks the resource when fencing is off) and
anything else recovers the resource; a resource inside a container restarts
its container, and an established remote connection that fails resets its
remote node.  The worst failure of a node's history decides what is done.
"""

from __future__ import annotations

from enum import IntEnum

from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.scheduler.location import ban
from vigil.scheduler.remote_history import drops_remote_connection, reset_remote
from vigil.scheduler.unpack_nodes import fence_node
from vigil.scheduler.unpack_resources import find_op
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import WorkAction
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkPrimitive


class OnFail(IntEnum):
    """What a failed operation asks for; higher values are more severe."""

    IGNORE = 0
    DEMOTE = 1
    RECOVER = 2
    # A remote node's connection failed while up: fence the remote node.
    RESET_REMOTE = 3
    RESTART_CONTAINER = 4
    MIGRATE = 5
    BLOCK = 6
    STOP = 7
    STANDBY = 8
    FENCE = 9


_ON_FAIL_WORDS = {
    "ignore": OnFail.IGNORE,
    "nothing": OnFail.IGNORE,
    "demote": OnFail.DEMOTE,
    "restart": OnFail.RECOVER,
    "migrate": OnFail.MIGRATE,
    "block": OnFail.BLOCK,
    "stop": OnFail.STOP,
    "standby": OnFail.STANDBY,
    "fence": OnFail.FENCE,
    "restart-container": OnFail.RESTART_CONTAINER,
}


def op_on_fail(work: Work, rsc: WorkPrimitive, task: str, interval_ms: int) -> tuple[OnFail, Role]:
    """The configured reaction to a failure of ``task`` and the role after it."""
    op = find_op(rsc, task, interval_ms)
    value = op.on_fail if op is not None else None
    if value is None:
        ctx = RuleContext(now=work.now, rsc_class=rsc.prim.cls, rsc_provider=rsc.prim.provider,
                          rsc_type=rsc.prim.type, op_name=task, op_interval_ms=interval_ms)
        value = resolve_nvsets(work.cluster.config.op_defaults, ctx).get("on-fail")
    if value is not None and task == "stop" and value.lower() not in ("block", "fence", "ignore", "stop"):
        value = None
    if value is None and drops_remote_connection(rsc, task, interval_ms):
        # Losing an established connection leaves the node's resources in an
        # unknown state: the remote node is fenced (an unmanaged connection
        # is only stopped).
        if not rsc.managed:
            return OnFail.STOP, Role.STOPPED
        return OnFail.RESET_REMOTE, Role.STOPPED if rsc.remote_reconnect_s else Role.STARTED
    fail_role = Role.STARTED
    result: OnFail | None = _ON_FAIL_WORDS.get(value.lower()) if value else None
    if result == OnFail.RESTART_CONTAINER and rsc.container is None:
        result = None
    if result is None and rsc.container is not None:
        # A resource inside a container recovers by restarting its container.
        result = OnFail.RESTART_CONTAINER
    if result == OnFail.FENCE and not work.options.stonith_enabled:
        result = OnFail.STOP
    if result == OnFail.STOP:
        fail_role = Role.STOPPED
    if result is None:
        if task == "stop":
            result = OnFail.FENCE if work.options.stonith_enabled else OnFail.BLOCK
        else:
            result = OnFail.RECOVER
    if task == "promote":
        fail_role = Role.UNPROMOTED if fail_role == Role.STARTED else fail_role
    return result, fail_role


def react_to_failure(work: Work, node: WorkNode, rsc: WorkPrimitive, on_fail: OnFail, active: bool) -> None:
    """What the on-fail of the worst failure in a node's history asks for."""
    if on_fail == OnFail.DEMOTE:
        rsc.failed = True
    elif on_fail == OnFail.FENCE:
        fence_node(work, node, f"{rsc.id} failed there")
    elif on_fail == OnFail.STANDBY:
        node.standby = True
        node.standby_onfail = True
    elif on_fail == OnFail.BLOCK:
        rsc.managed = False
        rsc.blocked = True
    elif on_fail == OnFail.MIGRATE:
        ban(rsc, node.name)
    elif on_fail == OnFail.STOP:
        rsc.next_role = Role.STOPPED
    elif on_fail == OnFail.RECOVER and active:
        rsc.failed = True
        rsc.stop_needed = True
        stop = _existing_or_new_stop(work, rsc, node.name)
        stop.optional = False
    elif on_fail == OnFail.RESET_REMOTE:
        reset_remote(work, rsc)
        if active:
            _existing_or_new_stop(work, rsc, node.name).optional = False
    elif on_fail == OnFail.RESTART_CONTAINER:
        rsc.failed = True
        rsc.stop_needed = True
        if rsc.container is not None:
            _existing_or_new_stop(work, rsc.container, node.name).optional = False
        elif active:
            _existing_or_new_stop(work, rsc, node.name).optional = False


def required_stop(work: Work, rsc: WorkPrimitive, node: str) -> WorkAction:
    stop = _existing_or_new_stop(work, rsc, node)
    stop.optional = False
    return stop


def _existing_or_new_stop(work: Work, rsc: WorkPrimitive, node: str) -> WorkAction:
    for action in rsc.actions:
        if action.task == "stop" and action.node == node:
            return action
    return work.new_action(rsc, "stop", node)
