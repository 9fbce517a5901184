"""Stage 5: assign each resource to a node.

Resources are placed one at a time in priority order.  A resource first
places the resources it must be colocated with, takes in its dependents'
preferences, and then picks its best node: highest score, then fewest
resources already placed there, then the node it already runs on, then name.
A group is placed member by member, each member following the previous one.
"""

from __future__ import annotations

from vigil.model.scores import INFINITY
from vigil.scheduler.clone import assign_clone
from vigil.scheduler.colocation import (
    add_colocated_node_scores,
    any_node_available,
    apply_coloc_for_dependent,
    has_influence,
)
from vigil.scheduler.group import assign_group
from vigil.scheduler.nodes import sorted_nodes
from vigil.scheduler.working import Role, WClone, WGroup, Work, WRes, WRsc


def assign_all(work: Work) -> None:
    for rsc in list(work.top):
        assign(work, rsc)


def assign(work: Work, rsc: WRes, prefer: str | None = None) -> str | None:
    """Place ``rsc`` (preferring ``prefer`` when it is as good as the best)."""
    if isinstance(rsc, WClone):
        assign_clone(work, rsc, assign)
        return None
    if isinstance(rsc, WGroup):
        if rsc.parent is not None and not rsc.parent.allocating:
            assign(work, rsc.parent)
        return assign_group(work, rsc, lambda w, member: assign_primitive(w, member, prefer))
    return assign_primitive(work, rsc, prefer)


def assign_primitive(work: Work, rsc: WRsc, prefer: str | None = None) -> str | None:
    if rsc.parent is not None and not rsc.parent.allocating:
        # A member or instance is placed only as part of its group or clone.
        assign(work, rsc.parent)
    if not rsc.provisional:
        return rsc.assigned
    if rsc.allocating:
        return None
    rsc.allocating = True
    try:
        for coloc in list(rsc.this_with):
            primary = coloc.primary
            archive = None
            if coloc.dependent_role >= Role.PROMOTED or 0 > coloc.score > -INFINITY:
                archive = dict(rsc.allowed)
            assign(work, primary)
            apply_coloc_for_dependent(work, rsc, primary, coloc)
            if archive is not None and not any_node_available(work, rsc.allowed):
                rsc.allowed = archive
        for coloc in list(rsc.with_this):
            if not has_influence(coloc):
                continue
            result = add_colocated_node_scores(
                work, coloc.dependent, rsc.allowed, coloc.node_attribute or "#uname",
                coloc.score / INFINITY, False, True,
            )
            if result is not None:
                rsc.allowed = result
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
        else:
            _assign_best_node(work, rsc, prefer)
    finally:
        rsc.allocating = False
    return rsc.assigned


def _assign_best_node(work: Work, rsc: WRsc, prefer: str | None = None) -> None:
    nodes = sorted_nodes(work, rsc.allowed, work.current_node(rsc))
    if not nodes:
        _finalize(work, rsc, None, force=False)
        return
    best = nodes[0]
    if prefer is not None and prefer in rsc.allowed and rsc.allowed[prefer] >= rsc.allowed[best] \
            and work.nodes[prefer].is_available():
        _finalize(work, rsc, prefer, force=False)
        return
    chosen = best
    best_weight = rsc.allowed[chosen]
    running = work.current_node(rsc)
    unique_instance = isinstance(rsc.parent, WClone) and rsc.parent.unique
    if best_weight > 0 and work.nodes[chosen].is_available() and running is not None \
            and not unique_instance and work.nodes[running].is_available():
        for name in nodes[1:]:
            if rsc.allowed[name] != best_weight:
                break
            if name == running:
                chosen = name
    _finalize(work, rsc, chosen, force=False)


def _finalize(work: Work, rsc: WRsc, chosen: str | None, force: bool) -> None:
    if not force and chosen is not None:
        weight = rsc.allowed.get(chosen, -INFINITY)
        if weight < 0 or not work.nodes[chosen].is_available():
            chosen = None
    rsc.provisional = False
    rsc.assigned = chosen
    if chosen is None:
        rsc.next_role = Role.STOPPED
        for action in rsc.actions:
            if action.task == "stop":
                action.optional = False
            elif action.task == "start":
                action.runnable = False
        return
    work.nodes[chosen].num_resources += 1
