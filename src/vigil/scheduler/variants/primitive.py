"""Primitives: where one goes, and the actions it needs to get from its state to its goal.

Placement: a primitive first places the resources it must be colocated with,
takes in its dependents' preferences, and then picks its best node: highest
score, then fewest resources already placed there, then the node it already
runs on, then name.

Actions: stops and starts are created optional or required; whether an
optional one ends up in the transition is decided later, when orderings
propagate "required" and "unrunnable" between actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vigil.model.booleans import is_true
from vigil.model.scores import INFINITY
from vigil.scheduler.colocation import (
    add_colocated_node_scores,
    any_node_available,
    apply_to_scores,
    has_influence,
    own_node_scores,
)
from vigil.scheduler.migration import (
    abort_dangling_migrations,
    create_migration_actions,
    plan_migration,
    skip_stop_for_partial,
)
from vigil.scheduler.nodes import sorted_nodes
from vigil.scheduler.remote_nodes import connection_assigned, guest_target, is_guest
from vigil.scheduler.unfencing import order_vs_unfencing
from vigil.scheduler.utilization import (
    add_primitive_utilization,
    ban_insufficient_capacity,
    colocated_with,
    consume,
    release,
)
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, OrderTuple, OrdFlags, Updates, WorkAction, order
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkColocation, WorkPrimitive, WorkResource

if TYPE_CHECKING:
    from vigil.scheduler.instances import InstanceActions
    from vigil.scheduler.variants import ProbeTargets, Propagation


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


# --- placement ---------------------------------------------------------------


def assign_primitive(work: Work, rsc: WorkPrimitive, prefer: str | None = None,
                     stop_if_fail: bool = True) -> str | None:
    """Place ``rsc``.  With ``stop_if_fail`` false a failed placement has no
    side effects (a clone trying an instance on its current node undoes it)."""
    if rsc.parent is not None and not rsc.parent.allocating:
        # A member or instance is placed only as part of its group or clone.
        rsc.parent.variant.assign(work, rsc.parent, None)
    if not rsc.provisional:
        return rsc.assigned
    if rsc.allocating:
        return None
    rsc.allocating = True
    try:
        this_with, with_this = list(rsc.this_with), list(rsc.with_this)
        # Mandatory colocations first, to satisfy as many as possible; then
        # the optional ones.
        for mandatory in (True, False):
            for coloc in this_with:
                if (abs(coloc.score) >= INFINITY) == mandatory:
                    _apply_this_with(work, rsc, coloc)
            for coloc in with_this:
                if (abs(coloc.score) >= INFINITY) == mandatory:
                    _add_dependent_scores(work, rsc, coloc)
        if rsc.next_role == Role.STOPPED:
            for name in work.nodes:
                rsc.allowed[name] = -INFINITY
        elif (
            rsc.next_role > rsc.role
            and not work.have_quorum
            and work.options.no_quorum_policy == "freeze"
        ):
            rsc.next_role = rsc.role
        if work.options.stonith_enabled and not work.have_stonith_resource:
            rsc.managed = False
        if not rsc.managed:
            rsc.next_role = rsc.role
            _finalize(work, rsc, work.current_node(rsc), force=True)
        elif work.options.stop_all_resources:
            _finalize(work, rsc, None, force=True)
        elif rsc.provisional:  # else a colocation already decided it can run nowhere
            _assign_best_node(work, rsc, prefer, stop_if_fail)
    finally:
        rsc.allocating = False
    return rsc.assigned


def _apply_this_with(work: Work, rsc: WorkPrimitive, coloc: WorkColocation) -> None:
    """Place the primary first, then follow it; an optional anti-colocation
    (or one for the Promoted role) that leaves no node is undone."""
    primary = coloc.primary
    archive = None
    if coloc.dependent_role >= Role.PROMOTED or 0 > coloc.score > -INFINITY:
        archive = dict(rsc.allowed)
    primary.variant.assign(work, primary, None)
    primary.variant.constrain_dependent(work, rsc, primary, coloc)
    if archive is not None and not any_node_available(work, rsc.allowed):
        rsc.allowed = archive


def _add_dependent_scores(work: Work, rsc: WorkPrimitive, coloc: WorkColocation) -> None:
    """Fold a dependent's preferences (attenuated) into ``rsc``'s scores."""
    if not has_influence(coloc):
        return
    result = add_colocated_node_scores(
        work, coloc.dependent, rsc.allowed, coloc.node_attribute or "#uname",
        coloc.score / INFINITY, False, True,
    )
    if result is not None:
        rsc.allowed = result


def _assign_best_node(work: Work, rsc: WorkPrimitive, prefer: str | None = None,
                      stop_if_fail: bool = True) -> None:
    most_free = ban_insufficient_capacity(work, rsc)
    if prefer is None:
        prefer = most_free
    nodes = sorted_nodes(work, rsc.allowed, work.current_node(rsc))
    if not nodes:
        _finalize(work, rsc, None, force=False, stop_if_fail=stop_if_fail)
        return
    best = nodes[0]
    if prefer is not None and prefer in rsc.allowed and rsc.allowed[prefer] >= rsc.allowed[best] \
            and work.nodes[prefer].is_available():
        _finalize(work, rsc, prefer, force=False, stop_if_fail=stop_if_fail)
        return
    chosen = best
    best_weight = rsc.allowed[chosen]
    running = work.current_node(rsc)
    unique_instance = rsc.parent is not None and rsc.parent.variant.is_unique_clone(rsc.parent)
    if best_weight > 0 and work.nodes[chosen].is_available() and running is not None \
            and not unique_instance and work.nodes[running].is_available():
        for name in nodes[1:]:
            if rsc.allowed[name] != best_weight:
                break
            if name == running:
                chosen = name
    _finalize(work, rsc, chosen, force=False, stop_if_fail=stop_if_fail)


def _finalize(work: Work, rsc: WorkPrimitive, chosen: str | None, force: bool,
              stop_if_fail: bool = True) -> None:
    if not force and chosen is not None:
        weight = rsc.allowed.get(chosen, -INFINITY)
        # A guest node is taken as coming up: its connection's own
        # orderings decide whether what is placed there can start.
        node = work.nodes[chosen]
        if weight < 0 or not (node.is_available() or is_guest(node)):
            chosen = None
    rsc.provisional = False
    rsc.assigned = chosen
    if chosen is not None:
        rsc.assigned_score = _score_when_placed(work, rsc, chosen, force)
    if rsc.is_remote_connection:
        connection_assigned(work, rsc)
    if chosen is None and not stop_if_fail:
        return
    if chosen is None:
        rsc.next_role = Role.STOPPED
        for action in rsc.actions:
            if action.task == "stop":
                action.optional = False
            elif action.task == "start":
                action.runnable = False
        return
    work.nodes[chosen].num_resources += 1
    consume(work.nodes[chosen], rsc)


def _score_when_placed(work: Work, rsc: WorkPrimitive, node: str, force: bool) -> int:
    """The score of ``node`` as ``rsc`` is placed there: its own score for
    it, or for a forced placement (an unmanaged resource kept where it runs)
    the node's plain score, -INFINITY when it cannot run resources."""
    if not force:
        return rsc.allowed.get(node, -INFINITY)
    state = work.nodes[node]
    return 0 if state.online and not state.shutdown else -INFINITY


def place_nowhere(work: Work, rsc: WorkPrimitive) -> None:
    """Decide now that ``rsc`` runs nowhere (a mandatory colocation with an
    interleaved clone that has no instance for it): a placement, not a
    score, so that nothing later reverts it."""
    _finalize(work, rsc, None, force=True)


def unassign_primitive(work: Work, rsc: WorkPrimitive) -> None:
    if rsc.assigned is not None:
        work.nodes[rsc.assigned].num_resources -= 1
        release(work.nodes[rsc.assigned], rsc)
        rsc.assigned = None
    rsc.provisional = True


def current_node(work: Work, rsc: WorkPrimitive) -> str | None:
    """The first node it runs on, or for a resource that does not need
    fencing, the first clean one (a lost node's copy is taken care of by
    its fencing otherwise)."""
    if not rsc.running_on:
        return None
    if rsc.partial_migration_source is not None:
        # Half migrated: it is where the migration started.
        if rsc.partial_migration_source in rsc.running_on:
            return rsc.partial_migration_source
        return rsc.running_on[0]
    if not rsc.needs_fencing:
        for name in rsc.running_on:
            node = work.nodes[name]
            if node.online and not node.unclean:
                return name
    return rsc.running_on[0]


# --- the variant --------------------------------------------------------------


def primitive_orderings(rsc: WorkPrimitive) -> list[OrderTuple]:
    """A restart stops before it starts; a resource inside a container starts
    after the container and stops before it."""
    if not rsc.managed:
        return []
    specs: list[OrderTuple] = [(rsc, "stop", rsc, "start", Ord.OPTIONAL | Ord.IMPLIES_THEN | Ord.RESTART)]
    top: WorkResource = rsc
    while top.parent is not None:
        top = top.parent
    if top.variant.is_promotable(top) or rsc.role > Role.UNPROMOTED:
        # Demote before stop (a promoted resource that stops is demoted
        # first), start before promote.
        specs.append((rsc, "demote", rsc, "stop", Ord.PROMOTED_IMPLIES_FIRST))
        specs.append((rsc, "start", rsc, "promote", Ord.RUNNABLE_LEFT))
    if rsc.container is not None and guest_target(rsc) is None:
        specs.append((rsc.container, "start", rsc, "start", Ord.IMPLIES_THEN | Ord.RUNNABLE_LEFT))
        specs.append((rsc, "stop", rsc.container, "stop", Ord.IMPLIES_FIRST))
    return specs


class PrimitiveVariant:
    """A primitive: one agent, its actions real ones on one node."""

    rank = 0
    collective = False

    # --- placement

    def assign(self, work: Work, rsc: WorkResource, prefer: str | None,
               stop_if_fail: bool = True) -> str | None:
        assert isinstance(rsc, WorkPrimitive)
        return assign_primitive(work, rsc, prefer, stop_if_fail)

    def unassign(self, work: Work, rsc: WorkResource) -> None:
        assert isinstance(rsc, WorkPrimitive)
        unassign_primitive(work, rsc)

    def location(self, rsc: WorkResource) -> str | None:
        return rsc.assigned

    def current_node(self, work: Work, rsc: WorkResource) -> str | None:
        assert isinstance(rsc, WorkPrimitive)
        return current_node(work, rsc)

    def apply_location_inside(self, rsc: WorkResource, scored: list[tuple[str, int]]) -> None:
        return None

    def named_members(self, rsc: WorkResource) -> list[WorkResource]:
        return []

    def constraint_ids(self, rsc: WorkResource) -> tuple[str, ...]:
        return (rsc.id,)

    def stops_together(self, rsc: WorkResource) -> list[WorkPrimitive]:
        return []

    # --- colocation

    def apply_colocation(self, work: Work, dependent: WorkResource, primary: WorkResource,
                         coloc: WorkColocation) -> int:
        # How a primitive follows depends on what it follows: the primary's
        # variant decides, as Pacemaker's primitive method hands it over.
        assert isinstance(dependent, WorkPrimitive)
        return primary.variant.constrain_dependent(work, dependent, primary, coloc)

    def constrain_dependent(self, work: Work, dependent: WorkPrimitive, primary: WorkResource,
                            coloc: WorkColocation) -> int:
        assert isinstance(primary, WorkPrimitive)
        return apply_to_scores(work, dependent, primary, coloc)

    def colocation_node_scores(self, work: Work, rsc: WorkResource, nodes: dict[str, int] | None,
                               attribute: str, factor: float, only_positive: bool,
                               select_active: bool) -> dict[str, int] | None:
        return own_node_scores(work, rsc, nodes, attribute, factor, only_positive)

    def with_this_colocations(self, rsc: WorkResource) -> list[WorkColocation]:
        return rsc.with_this

    def colocated_resources(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource]) -> None:
        colocated_with(rsc, orig, found)

    def add_utilization(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource],
                        total: dict[str, int]) -> None:
        assert isinstance(rsc, WorkPrimitive)
        add_primitive_utilization(rsc, total)

    # --- actions and orderings

    def create_actions(self, work: Work, rsc: WorkResource) -> None:
        assert isinstance(rsc, WorkPrimitive)
        create_primitive_actions(work, rsc)

    def probe_targets(self, rsc: WorkResource) -> ProbeTargets:
        assert isinstance(rsc, WorkPrimitive)
        targets: list[tuple[WorkPrimitive, WorkResource]] = [(rsc, rsc)]
        return lambda node: targets

    def internal_orderings(self, rsc: WorkResource) -> list[OrderTuple]:
        assert isinstance(rsc, WorkPrimitive)
        return primitive_orderings(rsc)

    def minimum_runnable(self, rsc: WorkResource, require_all: bool) -> int:
        return 0

    def action_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                     instances: InstanceActions) -> tuple[bool, bool]:
        return action.optional, action.runnable

    def ordering_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                       instances: InstanceActions) -> tuple[bool, bool]:
        return action.optional, action.runnable

    def start_node(self, rsc: WorkResource, start: WorkAction) -> str | None:
        return start.node

    def update_ordered_actions(self, prop: Propagation, rsc: WorkResource, first: WorkAction,
                               then: WorkAction, f_optional: bool, f_runnable: bool, check_optional: bool,
                               check_runnable: bool, kind: OrdFlags) -> Updates:
        return (yield from prop.update_one(first, then, f_optional, f_runnable, check_optional,
                                           check_runnable, kind))

    # --- what it is

    def is_anonymous_clone(self, rsc: WorkResource) -> bool:
        return False

    def is_unique_clone(self, rsc: WorkResource) -> bool:
        return False

    def is_promotable(self, rsc: WorkResource) -> bool:
        return False

    def ordering_point(self, rsc: WorkResource, task: str) -> WorkAction | None:
        return None

    def create_notifications(self, work: Work, rsc: WorkResource) -> None:
        return None

    def notify_after_fencing(self, work: Work, rsc: WorkResource, prim: WorkPrimitive, stop: WorkAction,
                             fencing: WorkAction) -> None:
        return None

    def state(self, rsc: WorkResource, current: bool) -> Role:
        return rsc.role if current else rsc.next_role


PRIMITIVE = PrimitiveVariant()
