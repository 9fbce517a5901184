"""Where a primitive goes: its placement on one node, and taking it back.

A primitive first places the resources it must be colocated with, takes in
its dependents' preferences, and then picks its best node: highest score,
then fewest resources already placed there, then the node it already runs
on, then name.  Placing it counts it (and its utilization) on that node;
unassigning, which a clone does with an instance it did not want there,
gives both back.
"""

from __future__ import annotations

from vigil.model.scores import INFINITY
from vigil.scheduler.colocation import (
    add_colocated_node_scores,
    any_node_available,
    has_influence,
)
from vigil.scheduler.nodes import sorted_nodes
from vigil.scheduler.remote_nodes import connection_assigned, is_guest
from vigil.scheduler.utilization import ban_insufficient_capacity, consume, release
from vigil.scheduler.working import Work
from vigil.scheduler.working_resources import Role, WorkColocation, WorkPrimitive


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
        coloc.score / INFINITY, False, True, coloc,
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

