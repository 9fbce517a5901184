"""Stage 5 — definition changes: restart or reload what runs with outdated parameters.

For every resource active on an available node, the operations recorded
since its last start are compared (by digest) with what the configuration
says now.  A changed start means a restart ("due to resource definition
change"), or a reload when the agent recorded which parameters it can reload;
a changed recurring monitor is simply rescheduled.
"""

from __future__ import annotations

from vigil.model.status import OpRecord, ResourceHistory
from vigil.scheduler.digests import compare_digests, needs_bundle_address
from vigil.scheduler.failcounts import schedule_clear_failcount
from vigil.scheduler.unfencing import trigger_unfencing
from vigil.scheduler.unpack_history import active_range, sort_ops
from vigil.scheduler.unpack_resources import find_op
from vigil.scheduler.variants.primitive_actions import needs_for, resource_action
from vigil.scheduler.working import DeferredParamCheck, Work
from vigil.scheduler.working_resources import WorkPrimitive


def handle_config_changes(work: Work) -> None:
    by_id = {n.id: n for n in work.nodes.values()}
    # An anonymous clone's instances keep one history under the primitive's id ("ping", not
    # "ping:1"): the instance active on the node is the one whose definition is compared.  Built
    # on the first such history only (most clusters' histories all name a resource directly).
    instances: dict[tuple[str, str], WorkPrimitive] | None = None
    for state in work.cluster.status.nodes:
        node = by_id.get(state.id) or work.nodes.get(state.uname)
        if node is None or not (node.maintenance or node.is_available()):
            continue
        for history in state.resources:
            rsc = work.rscs.get(history.id)
            if rsc is None or (node.name not in rsc.running_on and rsc.id != rsc.prim.id):
                # An anonymous instance's history may also be under another
                # instance's number ("ping:0" for the ping:1 running here).
                if instances is None:
                    instances = _instances_by_history(work)
                rsc = instances.get((history.id, node.name), rsc)
            if rsc is None or rsc.orphan:
                continue
            if node.name not in rsc.running_on:
                if _agent_changed(rsc, history):
                    trigger_unfencing(work, rsc, node, "Device definition changed")
                continue
            if _agent_changed(rsc, history):
                # Running under another agent than configured: restart it.
                trigger_unfencing(work, rsc, node, "Device definition changed")
                rsc.changed_on.add(node.name)
                stop = resource_action(work, rsc, "stop", node.name, optional=False)
                stop.optional = False
                rsc.start_pending = True
            ops = sort_ops(history.ops)
            if needs_bundle_address(rsc):
                # Its digests name its container's node: compared once that is placed.
                work.deferred_param_checks.append(DeferredParamCheck(rsc, node.name, ops, last_failure=False))
                continue
            _check_history(work, rsc, node.name, ops)


def run_deferred_param_checks(work: Work) -> None:
    """Once resources are placed (before their actions are made): the checks put
    off until a bundle connection's address is known.  An active history may
    restart the connection; a changed last failure clears its fail-count."""
    for check in work.deferred_param_checks:
        if not check.last_failure:
            _check_history(work, check.rsc, check.node, check.ops)
            continue
        verdict, _ = compare_digests(work, check.rsc, check.node, check.ops[0])
        if verdict not in ("unknown", "match"):
            schedule_clear_failcount(work, check.rsc, work.nodes[check.node])
    work.deferred_param_checks.clear()


def _instances_by_history(work: Work) -> dict[tuple[str, str], WorkPrimitive]:
    """(the id its history is under, node) -> the instance of an anonymous
    clone active there: by the primitive's id, and by the recorded name."""
    found: dict[tuple[str, str], WorkPrimitive] = {}
    for rsc in work.rscs.values():
        if rsc.id == rsc.prim.id:
            continue
        for node in rsc.running_on:
            found[(rsc.prim.id, node)] = rsc
            if rsc.history_id is not None:
                found.setdefault((rsc.history_id, node), rsc)
    return found


def _agent_changed(rsc: WorkPrimitive, history: ResourceHistory) -> bool:
    prim = rsc.prim
    return (
        (history.cls or None) != (prim.cls or None)
        or (history.provider or None) != (prim.provider or None)
        or (history.type or None) != (prim.type or None)
    )


def _check_history(work: Work, rsc: WorkPrimitive, node: str, ops: list[OpRecord]) -> None:
    start_index, stop_index = active_range(ops)
    if start_index < stop_index:
        return
    for index, op in enumerate(ops):
        if index < start_index:
            continue
        if op.interval_ms > 0 and (work.nodes[node].maintenance or not rsc.managed):
            continue
        if op.interval_ms > 0 or op.operation in ("monitor", "start", "promote", "migrate_from"):
            _check_op(work, rsc, node, op)


def _check_op(work: Work, rsc: WorkPrimitive, node: str, op: OpRecord) -> None:
    task = op.operation
    if op.interval_ms > 0 and find_op(rsc, task, op.interval_ms) is None:
        return  # an orphaned recurring op: cancelled, nothing to restart
    if op.interval_ms == 0 and task in ("monitor", "migrate_from", "promote"):
        task = "start"
    verdict, calc = compare_digests(work, rsc, node, op)
    if verdict == "match":
        return
    if work.sanitized and op.op_secure_digest is not None and op.op_secure_digest == calc.secure:
        # Only masked secrets differ: a sanitized CIB, not a real change.
        return
    where = work.nodes[node]
    if verdict == "restart":
        rsc.changed_on.add(node)
        _force_restart(work, rsc, task, op.interval_ms)
        trigger_unfencing(work, rsc, where, "Device parameters changed")
    elif op.interval_ms > 0:
        trigger_unfencing(work, rsc, where, "Device parameters changed (reschedule)")
        rsc.reschedule.add((node, task, op.interval_ms))
    elif op.op_restart_digest is not None:
        trigger_unfencing(work, rsc, where, "Device parameters changed (reload)")
        _schedule_reload(work, rsc, node)
    else:
        rsc.changed_on.add(node)
        _force_restart(work, rsc, task, op.interval_ms)
        trigger_unfencing(work, rsc, where, "Device parameters changed")


def _force_restart(work: Work, rsc: WorkPrimitive, task: str, interval_ms: int) -> None:
    for action in rsc.actions:
        if action.task == task and action.interval_ms == interval_ms and action.node is None:
            required = action
            break
    else:
        required = work.new_action(rsc, task, None, interval_ms)
        required.needs = needs_for(rsc, task)
    required.optional = False
    required.runnable = False
    required.set_reason("resource definition change", overwrite=True)


def _schedule_reload(work: Work, rsc: WorkPrimitive, node: str) -> None:
    if not rsc.managed or rsc.failed:
        return
    if rsc.start_pending:
        stop = work.new_action(rsc, "stop", node)
        stop.optional = False
        return
    rsc.reload_node = node
    reload = work.new_action(rsc, "reload-agent", node, optional=False)
    reload.set_reason("resource definition change")


def cancel_reloads_of_restarted(work: Work) -> None:
    """A resource that is being stopped anyway is not reloaded first."""
    for rsc in work.rscs.values():
        if rsc.reload_node is None:
            continue
        if any(a.task == "stop" and not a.optional for a in rsc.actions):
            rsc.reload_node = None
            for action in rsc.actions:
                if action.task == "reload-agent":
                    action.optional = True
