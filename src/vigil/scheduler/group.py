"""Groups: members placed together, started in order, stopped in reverse.

A group is its members plus four pseudo-actions (start, running, stop,
stopped) that other resources order against.  Placement goes through the
members: colocations of the group become colocations of its first member
(as dependent) or its last member (as primary), and each member is
colocated with the one before it.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.model.scores import INFINITY
from vigil.scheduler.colocation import add_colocation, insert_sorted
from vigil.scheduler.working import Ord, OrdFlags, WAction, WColoc, WGroup, Work, WRes, WRsc


def _expand_colocations(group: WGroup) -> None:
    """Hand the group's colocations to the members that carry them."""
    if group.expanded or not group.members:
        return
    group.expanded = True
    first = group.members[0]
    for coloc in group.this_with:
        _insert_this_with(first, coloc)
    any_unmanaged = not first.managed
    for member in group.members[1:]:
        if any_unmanaged:
            for coloc in group.this_with:
                if coloc.score >= INFINITY:
                    _insert_this_with(member, coloc)
        elif not member.managed:
            any_unmanaged = True
    group.this_with = []
    last = group.members[-1]
    for coloc in group.with_this:
        _insert_with_this(last, coloc)
    group.with_this = []


def _insert_this_with(member: WRsc, coloc: WColoc) -> None:
    insert_sorted(member.this_with, coloc, coloc.primary, lambda c: c.primary)


def _insert_with_this(member: WRsc, coloc: WColoc) -> None:
    insert_sorted(member.with_this, coloc, coloc.dependent, lambda c: c.dependent)


def assign_group(work: Work, group: WGroup, assign_member: Callable[[Work, WRsc], str | None]) -> str | None:
    if not group.provisional:
        return group.assigned
    if group.allocating:
        return None
    if not group.members:
        group.provisional = False
        return None
    group.allocating = True
    group.role = group.members[0].role
    _expand_colocations(group)
    first_node = None
    for member in group.members:
        node = assign_member(work, member)
        if first_node is None:
            first_node = node
    group.next_role = group.members[0].next_role
    group.allocating = False
    group.provisional = False
    return first_node if group.colocated else None


def create_group_actions(work: Work, group: WGroup) -> None:
    for task in ("start", "running", "stop", "stopped"):
        action = work.new_action(group, task, None)
        action.pseudo = True
        action.runnable = True
        action.optional = True


def group_action_flags(group: WGroup, action: WAction, node: str | None) -> tuple[bool, bool]:
    """(optional, runnable) of a group pseudo-action, from its members'.

    A group action is required when any member's is, and a "running" or
    "stopped" point cannot be reached when a member's action cannot run.
    """
    optional = True
    runnable = True
    member_task = {"running": "start", "stopped": "stop", "promoted": "promote",
                   "demoted": "demote"}.get(action.task, action.task)
    for member in group.members:
        found = find_first_action(member, member_task, node)
        if found is not None:
            if optional and not found.optional:
                optional = False
                action.optional = False
            if member_task != action.task and runnable and not found.runnable:
                runnable = False
                action.runnable = False
        elif member_task not in ("stop", "demote"):
            runnable = False
    return optional, runnable


def find_first_action(rsc: WRes, task: str, node: str | None) -> WAction | None:
    """The newest action of ``rsc`` for ``task`` (on ``node`` if given)."""
    for action in reversed(rsc.actions_by_task.get(task, ())):
        if action.interval_ms == 0 and (node is None or action.node == node):
            return action
    return None


def group_ordering_specs(group: WGroup) -> list[tuple[WRes, str, WRes, str, OrdFlags]]:
    """The orderings that make a group a group, as (first, task, then, task, flags)."""
    specs: list[tuple[WRes, str, WRes, str, OrdFlags]] = [
        (group, "stop", group, "stopped", Ord.RUNNABLE_LEFT),
        (group, "stopped", group, "start", Ord.OPTIONAL),
        (group, "start", group, "running", Ord.RUNNABLE_LEFT),
    ]
    previous: WRsc | None = None
    last_active: WRsc | None = None
    for member in group.members:
        if member.managed:
            specs.append((member, "stop", member, "start", Ord.OPTIONAL | Ord.IMPLIES_THEN | Ord.RESTART))
        down = Ord.GRAPH_ONLY
        post_down = Ord.GRAPH_ONLY
        if previous is None and group.ordered:
            down |= Ord.OPTIONAL
            post_down = Ord.IMPLIES_THEN
        specs.append((group, "stop", member, "stop", down))
        specs.append((member, "stop", group, "stopped", post_down))
        specs.append((group, "start", member, "start", Ord.GRAPH_ONLY))
        specs.append((member, "start", group, "running", Ord.RUNNABLE_LEFT | Ord.IMPLIES_THEN))
        if not group.ordered:
            specs.append((group, "start", member, "start", Ord.IMPLIES_THEN | Ord.RUNNABLE_LEFT))
        elif previous is None:
            specs.append((group, "start", member, "start", Ord.GRAPH_ONLY))
        else:
            specs.append((previous, "start", member, "start", Ord.IMPLIES_THEN | Ord.RUNNABLE_LEFT))
            specs.append((member, "stop", previous, "stop", Ord.OPTIONAL | Ord.RESTART))
        if member.running_on:
            if group.ordered and previous is not None and not previous.running_on \
                    and last_active is not None and last_active.running_on:
                specs.append((member, "stop", last_active, "stop", Ord.OPTIONAL))
            last_active = member
        previous = member
    return specs


def add_group_colocations(work: Work) -> None:
    """Each member of a colocated group goes where the previous one goes,
    and a resource inside a container goes where the container goes."""
    for rsc in work.rscs.values():
        if rsc.container is not None and rsc.managed:
            add_colocation(WColoc(id="resource-with-container", dependent=rsc, primary=rsc.container,
                                  score=INFINITY, influence=rsc.critical))
    for group in work.groups.values():
        if not group.colocated:
            continue
        for previous, member in zip(group.members, group.members[1:], strict=False):
            add_colocation(WColoc(id="group:internal_colocation", dependent=member, primary=previous,
                                  score=INFINITY, influence=member.critical))

