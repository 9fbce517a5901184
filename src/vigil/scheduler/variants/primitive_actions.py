"""A primitive's actions: the ones it needs to get from its state to its goal.

Here an action of a primitive is found or created and told whether it can
run at all (its node, quorum); the role matrix then walks the resource from
its current role to its next one (restarting it when it must stop first),
and its recurring monitors follow.  Stops and starts are created optional or
required; whether an optional one ends up in the transition is decided
later, when orderings propagate "required" and "unrunnable" between actions.
Other stages (probes, definition changes, ordering, the summary) find and
create a primitive's actions through this module too.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.model.booleans import is_true
from vigil.scheduler.migration import (
    abort_dangling_migrations,
    create_migration_actions,
    plan_migration,
    skip_stop_for_partial,
)
from vigil.scheduler.remote_nodes import is_guest
from vigil.scheduler.unfencing import order_vs_unfencing
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, WorkAction, order
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkPrimitive, WorkResource


def find_actions(rsc: WorkPrimitive, task: str, node: str | None, interval_ms: int = 0) -> list[WorkAction]:
    """Matching actions, oldest first: Pacemaker keeps a resource's actions
    newest first, and its find_actions() prepends each match, so the first
    match it returns is the oldest one."""
    return [
        a for a in rsc.actions_by_task.get(task, ())
        if a.interval_ms == interval_ms and (node is None or a.node == node)
    ]


def resource_action(work: Work, rsc: WorkPrimitive, task: str, node: str | None, optional: bool,
                    interval_ms: int = 0) -> WorkAction:
    """Find or create an action, then re-evaluate whether it can run."""
    same_task = rsc.actions_by_task.get(task, ())
    found = [a for a in same_task if a.interval_ms == interval_ms and a.node == node]
    if not found and node is not None:
        # An action created before placement (e.g. a restart forced by a
        # definition change) takes the node it is first asked for.
        found = [a for a in same_task if a.interval_ms == interval_ms and a.node is None]
        if found:
            found[0].node = node
    action = found[0] if found else work.new_action(rsc, task, node, interval_ms)
    if not found:
        action.optional = optional
        action.needs = needs_for(rsc, task)
    if not rsc.managed and action.node is not None and not action.pseudo and interval_ms == 0:
        # Every lookup of an unmanaged resource's one-shot action makes it
        # optional again, even one a caller has just made required.
        action.optional = True
    elif not optional:
        action.optional = False
    update_runnable(work, action)
    return action


def needs_for(rsc: WorkPrimitive, task: str) -> str:
    # A migration needs what the start it stands for needs.
    if task not in ("start", "promote", "migrate_to", "migrate_from"):
        return "nothing"
    if rsc.needs_fencing:
        return "fencing"
    if rsc.needs_quorum:
        return "quorum"
    return "nothing"


def _is_active(rsc: WorkResource) -> bool:
    return bool(rsc.running_on)


def update_runnable(work: Work, action: WorkAction) -> None:
    """Whether ``action`` can run at all: its node, and quorum."""
    if action.pseudo or action.rsc is None:
        return
    rsc = action.rsc
    node: WorkNode | None = work.nodes.get(action.node) if action.node else None
    if node is None:
        action.runnable = False
        return
    if not node.online and (not is_guest(node) or node.remote_requires_reset):
        action.runnable = False
        return
    if node.pending:
        action.runnable = False
        return
    if action.needs == "nothing":
        action.set_reason(None, overwrite=True)
        # Even an action that needs nothing cannot complete on a guest whose
        # host is lost and cannot be fenced.
        action.runnable = not is_guest(node) or work.can_fence(node)
        return
    policy = "ignore" if work.have_quorum else work.options.no_quorum_policy
    if policy == "demote":
        # Promotable instances that run stay, unpromoted; all else stops.
        if rsc.role in (Role.PROMOTED, Role.UNPROMOTED):
            if rsc.next_role > Role.UNPROMOTED:
                rsc.next_role = Role.UNPROMOTED
            policy = "ignore"
        else:
            policy = "stop"
    if policy == "stop":
        action.runnable = False
        action.set_reason("no quorum", overwrite=True)
    elif policy == "freeze":
        if not _is_active(rsc) or rsc.next_role > rsc.role:
            action.runnable = False
            action.set_reason("quorum freeze", overwrite=True)
    else:
        action.runnable = True


def stop_resource(work: Work, rsc: WorkPrimitive, optional: bool) -> None:
    for node in list(rsc.running_on):
        if rsc.stop_unexpected and rsc.restarting and rsc.next_role > Role.STOPPED \
                and rsc.assigned == node:
            continue
        partial = skip_stop_for_partial(rsc, node)
        if partial:
            continue  # the migration to this node continues
        stop = resource_action(work, rsc, "stop", node, optional and partial is None)
        if rsc.assigned is None:
            stop.set_reason("node availability", overwrite=True)
        elif rsc.restarting and rsc.stop_unexpected:
            stop.set_reason("being multiply active", overwrite=True)
        if not rsc.managed:
            stop.runnable = False


def start_resource(work: Work, rsc: WorkPrimitive, node: str | None, optional: bool) -> None:
    if node is None:
        return
    start = resource_action(work, rsc, "start", node, True)
    order_vs_unfencing(work, rsc, node, start, Ord.OPTIONAL | Ord.IMPLIES_THEN)
    if start.runnable and not optional:
        start.optional = False


def promote_resource(work: Work, rsc: WorkPrimitive, node: str | None, optional: bool) -> None:
    """Promote on ``node``: runnable only when every start there is."""
    if node is None:
        return
    starts = find_actions(rsc, "start", node)
    if all(start.runnable for start in starts):
        resource_action(work, rsc, "promote", node, optional)
    else:
        for promote in find_actions(rsc, "promote", node):
            promote.runnable = False


def demote_resource(work: Work, rsc: WorkPrimitive, node: str | None, optional: bool) -> None:
    """Demote wherever it is active (a multiply active instance everywhere)."""
    for current in list(rsc.running_on):
        resource_action(work, rsc, "demote", current, optional)


def _stop_resource(work: Work, rsc: WorkPrimitive, node: str | None, optional: bool) -> None:
    stop_resource(work, rsc, optional)


Transition = Callable[[Work, WorkPrimitive, "str | None", bool], None]

# The next role on the way from a role to a target role (Pacemaker's
# rsc_state_matrix): Stopped -> Promoted goes through Unpromoted, Promoted ->
# Stopped through Unpromoted; an unknown role is first stopped.
_NEXT_ROLE: dict[Role, dict[Role, Role]] = {
    Role.UNKNOWN: {Role.UNKNOWN: Role.UNKNOWN, Role.STOPPED: Role.STOPPED, Role.STARTED: Role.STOPPED,
                   Role.UNPROMOTED: Role.STOPPED, Role.PROMOTED: Role.STOPPED},
    Role.STOPPED: {Role.UNKNOWN: Role.STOPPED, Role.STOPPED: Role.STOPPED, Role.STARTED: Role.STARTED,
                   Role.UNPROMOTED: Role.UNPROMOTED, Role.PROMOTED: Role.UNPROMOTED},
    Role.STARTED: {Role.UNKNOWN: Role.STOPPED, Role.STOPPED: Role.STOPPED, Role.STARTED: Role.STARTED,
                   Role.UNPROMOTED: Role.UNPROMOTED, Role.PROMOTED: Role.PROMOTED},
    Role.UNPROMOTED: {Role.UNKNOWN: Role.STOPPED, Role.STOPPED: Role.STOPPED, Role.STARTED: Role.STOPPED,
                      Role.UNPROMOTED: Role.UNPROMOTED, Role.PROMOTED: Role.PROMOTED},
    Role.PROMOTED: {Role.UNKNOWN: Role.STOPPED, Role.STOPPED: Role.UNPROMOTED, Role.STARTED: Role.UNPROMOTED,
                    Role.UNPROMOTED: Role.UNPROMOTED, Role.PROMOTED: Role.PROMOTED},
}

# What takes a resource directly from one role to the next (None: nothing).
_TRANSITION: dict[tuple[Role, Role], Transition | None] = {
    (Role.UNKNOWN, Role.STOPPED): _stop_resource,
    (Role.STOPPED, Role.STOPPED): None,
    (Role.STOPPED, Role.STARTED): lambda w, r, n, o: start_resource(w, r, n, o),
    (Role.STOPPED, Role.UNPROMOTED): lambda w, r, n, o: start_resource(w, r, n, o),
    (Role.STARTED, Role.STOPPED): _stop_resource,
    (Role.STARTED, Role.STARTED): None,
    (Role.STARTED, Role.UNPROMOTED): None,
    (Role.STARTED, Role.PROMOTED): promote_resource,
    (Role.UNPROMOTED, Role.STOPPED): _stop_resource,
    (Role.UNPROMOTED, Role.STARTED): _stop_resource,
    (Role.UNPROMOTED, Role.UNPROMOTED): None,
    (Role.UNPROMOTED, Role.PROMOTED): promote_resource,
    (Role.PROMOTED, Role.STOPPED): demote_resource,
    (Role.PROMOTED, Role.STARTED): demote_resource,
    (Role.PROMOTED, Role.UNPROMOTED): demote_resource,
    (Role.PROMOTED, Role.PROMOTED): None,
}


def _schedule_restart(work: Work, rsc: WorkPrimitive, current: str | None, need_stop: bool,
                      need_promote: bool) -> None:
    """Bring ``rsc`` down to Stopped where it is, then back up to its current
    role where it goes: optional actions, required when it must restart (and
    a promote when a failed promoted instance must be promoted again)."""
    rsc.restarting = True
    role = rsc.role
    while role != Role.STOPPED:
        step = _NEXT_ROLE[role][Role.STOPPED]
        transition = _TRANSITION.get((role, step))
        if transition is None:
            break
        transition(work, rsc, current, not need_stop)
        role = step
    while rsc.role <= rsc.next_role and role != rsc.role and not rsc.blocked:
        required = need_stop
        step = _NEXT_ROLE[role][rsc.role]
        if step == Role.PROMOTED and need_promote:
            required = True
        transition = _TRANSITION.get((role, step))
        if transition is None:
            break
        transition(work, rsc, rsc.assigned, not required)
        role = step
    rsc.restarting = False


def _schedule_role_transition(work: Work, rsc: WorkPrimitive) -> None:
    """The required actions from its current role to its next one."""
    role = rsc.role
    while role != rsc.next_role:
        step = _NEXT_ROLE[role][rsc.next_role]
        transition = _TRANSITION.get((role, step))
        if transition is None:
            break
        transition(work, rsc, rsc.assigned, False)
        role = step


def create_primitive_actions(work: Work, rsc: WorkPrimitive) -> None:
    if rsc.next_role == Role.UNKNOWN:
        rsc.next_role = Role.STARTED if rsc.assigned else Role.STOPPED
    current = work.current_node(rsc)
    need_stop = False
    need_promote = False
    is_moving = False
    abort_dangling_migrations(work, rsc, _make_action)
    if current is not None and rsc.assigned is not None and current != rsc.assigned \
            and rsc.next_role >= Role.STARTED:
        is_moving = True
        need_stop = True
    clean_active = [n for n in rsc.running_on if not work.nodes[n].unclean]
    active_count = len(rsc.running_on) if rsc.needs_fencing else len(clean_active)
    migrate, partial = plan_migration(work, rsc, current, is_moving, len(rsc.running_on))
    if partial:
        # A migration found half done: continued, or given up (stopped everywhere).
        need_stop = True
        rsc.stop_unexpected = False
    elif active_count > 1:
        if rsc.multiple_active == "stop_start":
            need_stop = True
        elif rsc.multiple_active == "stop_unexpected":
            need_stop = True
            rsc.stop_unexpected = True
    else:
        rsc.stop_unexpected = False
    if rsc.start_pending and rsc.assigned is not None:
        pending = resource_action(work, rsc, "start", rsc.assigned, True)
        pending.print_always = True
    if is_moving:
        pass
    elif rsc.failed:
        if rsc.stop_needed:
            need_stop = True
        elif rsc.next_role == Role.PROMOTED:
            need_promote = True
    elif rsc.blocked:
        need_stop = True
    elif rsc.role > Role.STARTED and current is not None and rsc.assigned is not None:
        # A promoted instance whose start is already required must be
        # recovered (stopped first).
        start = resource_action(work, rsc, "start", rsc.assigned, True)
        if not start.optional:
            need_stop = True
    _schedule_restart(work, rsc, current, need_stop, need_promote)
    _schedule_role_transition(work, rsc)
    create_recurring_actions(work, rsc)
    if migrate and current is not None:
        create_migration_actions(work, rsc, current, _make_action)


def _make_action(work: Work, rsc: WorkPrimitive, task: str, node: str | None, optional: bool) -> WorkAction:
    return resource_action(work, rsc, task, node, optional)


def create_recurring_actions(work: Work, rsc: WorkPrimitive) -> None:
    """Recurring monitors on the node the resource will run on."""
    node = rsc.assigned
    in_maintenance = work.options.maintenance_mode or is_true(rsc.meta.get("maintenance"))
    if node is None or rsc.blocked or in_maintenance or work.nodes[node].maintenance:
        return
    if rsc.next_role != Role.STOPPED or not rsc.managed:
        # Pacemaker looks the start up (creating it if need be) here; for an
        # unmanaged resource that makes the start optional again.
        resource_action(work, rsc, "start", node, True)
    if rsc.next_role < Role.STARTED or not rsc.managed:
        return
    starts = find_actions(rsc, "start", node)
    start = starts[0] if starts else None
    for op in rsc.ops:
        if op.name != "monitor" or op.interval_ms <= 0 or not op.enabled:
            continue
        if not _monitor_role_matches(rsc, op.role):
            continue
        already = any(
            name == "monitor" and interval == op.interval_ms
            for name, interval, _digest in rsc.active_recurring.get(node, [])
        )
        optional = already and (start is None or start.optional)
        monitor = resource_action(work, rsc, "monitor", node, optional, op.interval_ms)
        if rsc.next_role == Role.PROMOTED:
            monitor.meta["op_target_rc"] = "8"  # a promoted instance answers "running promoted"
        if start is not None:
            # A monitor follows the start: needed whenever the start runs.
            order(start, monitor, Ord.IMPLIES_THEN | Ord.RUNNABLE_LEFT)
            if not start.runnable:
                monitor.runnable = False
        # A role's monitor follows the change into that role.
        role_change = "promote" if rsc.next_role == Role.PROMOTED else (
            "demote" if rsc.role == Role.PROMOTED else None)
        if role_change is not None and rsc.managed:
            for change in find_actions(rsc, role_change, None):
                order(change, monitor, Ord.OPTIONAL | Ord.RUNNABLE_LEFT)


def _monitor_role_matches(rsc: WorkPrimitive, role_text: str | None) -> bool:
    """Whether a recurring monitor configured for ``role_text`` runs in the
    role ``rsc`` will have: one for no role runs in any role but Promoted, a
    Promoted (Master) or Unpromoted (Slave) one only in that role; a Stopped
    one never here (it watches where the resource is not)."""
    role = (role_text or "").lower()
    if role == "stopped":
        return False
    if not role:
        return rsc.next_role != Role.PROMOTED
    wanted = {"promoted": Role.PROMOTED, "master": Role.PROMOTED, "unpromoted": Role.UNPROMOTED,
              "slave": Role.UNPROMOTED, "started": Role.STARTED}.get(role)
    return wanted is not None and rsc.next_role == wanted

