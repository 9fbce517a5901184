"""Groups: members placed together, started in order, stopped in reverse.

A group is its members plus four pseudo-actions (start, running, stop,
stopped) that other resources order against.  Placement goes through the
members: colocations of the group become colocations of its first member
(as dependent) or its last member (as primary), and each member is
colocated with the one before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.model.scores import INFINITY, add
from vigil.scheduler.colocation import (
    CONTAINER_COLOCATION,
    GROUP_COLOCATION,
    add_colocated_node_scores,
    add_colocation,
    apply_to_scores,
    insert_sorted,
    is_configured,
    meta_stickiness,
)
from vigil.scheduler.location import gets_group_score, merge_score, with_group_locations
from vigil.scheduler.remote_nodes import guest_target
from vigil.scheduler.utilization import colocated_with
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, OrderTuple, OrdFlags, Updates, WorkAction, find_first_action
from vigil.scheduler.working_resources import Role, WorkColocation, WorkGroup, WorkPrimitive, WorkResource

if TYPE_CHECKING:
    from vigil.scheduler.instances import InstanceActions
    from vigil.scheduler.variants import ProbeTargets, Propagation


def _expand_colocations(group: WorkGroup) -> None:
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
    if group.colocated:
        # A configured colocation of any member moves the whole group: the
        # first member is placed with what the others are colocated with,
        # and the last one weighs what is colocated with the others.
        for member in group.members[1:]:
            for coloc in [c for c in member.this_with if is_configured(c)]:
                _insert_this_with(first, coloc)
        for member in group.members[:-1]:
            for coloc in [c for c in member.with_this if is_configured(c)]:
                _insert_with_this(last, coloc)


def _insert_this_with(member: WorkPrimitive, coloc: WorkColocation) -> None:
    insert_sorted(member.this_with, coloc, coloc.primary, lambda c: c.primary)


def _insert_with_this(member: WorkPrimitive, coloc: WorkColocation) -> None:
    insert_sorted(member.with_this, coloc, coloc.dependent, lambda c: c.dependent)


def assign_group(work: Work, group: WorkGroup, prefer: str | None, stop_if_fail: bool = True) -> str | None:
    """Place the members one by one, each following the one before it."""
    if group.parent is not None and not group.parent.allocating:
        # An instance is placed only as part of its clone.
        group.parent.variant.assign(work, group.parent, None)
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
        node = member.variant.assign(work, member, prefer, stop_if_fail)
        if first_node is None:
            first_node = node
    group.next_role = group.members[0].next_role
    group.allocating = False
    group.provisional = False
    return first_node if group.colocated else None


def create_group_actions(work: Work, group: WorkGroup) -> None:
    """The members' actions, then the group's pseudo-actions."""
    for member in group.members:
        member.variant.create_actions(work, member)
    tasks = ["start", "running", "stop", "stopped"]
    if _promotable(group):
        tasks += ["demote", "demoted", "promote", "promoted"]
    for task in tasks:
        action = work.new_action(group, task, None)
        action.pseudo = True
        action.runnable = True
        action.optional = True


def _promotable(group: WorkGroup) -> bool:
    """Whether the group is an instance of a promotable clone."""
    return group.parent is not None and group.parent.variant.is_promotable(group.parent)


def group_action_flags(group: WorkGroup, action: WorkAction, node: str | None) -> tuple[bool, bool]:
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


def group_ordering_specs(group: WorkGroup) -> list[OrderTuple]:
    """The orderings that make a group a group, as (first, task, then, task, flags)."""
    specs: list[OrderTuple] = [
        (group, "stop", group, "stopped", Ord.RUNNABLE_LEFT),
        (group, "stopped", group, "start", Ord.OPTIONAL),
        (group, "start", group, "running", Ord.RUNNABLE_LEFT),
    ]
    previous: WorkPrimitive | None = None
    last_active: WorkPrimitive | None = None
    promotable = _promotable(group)
    for member in group.members:
        if member.managed:
            specs.append((member, "stop", member, "start", Ord.OPTIONAL | Ord.IMPLIES_THEN | Ord.RESTART))
        down = Ord.GRAPH_ONLY
        post_down = Ord.GRAPH_ONLY
        if previous is None and group.ordered:
            down |= Ord.OPTIONAL
            post_down = Ord.IMPLIES_THEN
        if promotable:
            specs.append((group, "demote", member, "demote", down))
            specs.append((member, "demote", group, "demoted", post_down))
            specs.append((member, "promote", group, "promoted",
                          Ord.RUNNABLE_LEFT | Ord.IMPLIES_THEN | Ord.GRAPH_ONLY))
            specs.append((group, "promote", member, "promote", Ord.GRAPH_ONLY))
        specs.append((group, "stop", member, "stop", down))
        specs.append((member, "stop", group, "stopped", post_down))
        specs.append((group, "start", member, "start", Ord.GRAPH_ONLY))
        specs.append((member, "start", group, "running", Ord.RUNNABLE_LEFT | Ord.IMPLIES_THEN))
        if not group.ordered:
            # As Pacemaker writes it; its "start group then start member"
            # above shares a flag with this one, so this one is dropped as a
            # duplicate (see order()).
            specs.append((group, "start", member, "start",
                          Ord.IMPLIES_THEN | Ord.RUNNABLE_LEFT | Ord.GRAPH_ONLY))
            if promotable:
                specs.append((group, "promote", member, "promote",
                              Ord.IMPLIES_THEN | Ord.RUNNABLE_LEFT | Ord.GRAPH_ONLY))
        elif previous is None:
            specs.append((group, "start", member, "start", Ord.GRAPH_ONLY))
            if promotable:
                specs.append((group, "promote", member, "promote", Ord.GRAPH_ONLY))
        else:
            specs.append((previous, "start", member, "start", Ord.IMPLIES_THEN | Ord.RUNNABLE_LEFT))
            specs.append((member, "stop", previous, "stop", Ord.OPTIONAL | Ord.RESTART))
            if member.running_on and not previous.running_on:
                # An earlier member that is not running starts only once
                # this one could stop (it restarts after it).
                specs.append((member, "stop", previous, "start", Ord.IMPLIES_FIRST | Ord.RUNNABLE_LEFT))
            if promotable:
                specs.append((previous, "promote", member, "promote", Ord.IMPLIES_THEN | Ord.RUNNABLE_LEFT))
                specs.append((member, "demote", previous, "demote", Ord.OPTIONAL))
        if member.running_on:
            if group.ordered and previous is not None and not previous.running_on \
                    and last_active is not None and last_active.running_on:
                specs.append((member, "stop", last_active, "stop", Ord.OPTIONAL))
            last_active = member
        previous = member
    return specs


BUNDLE_CONNECTION_WITH_CONTAINER = 10_000


def add_group_colocations(work: Work) -> None:
    """Each member of a colocated group goes where the previous one goes,
    and a resource inside a container goes where the container goes."""
    for rsc in work.rscs.values():
        if rsc.container is not None and rsc.managed and guest_target(rsc) is None:
            # A bundle's connection may nest on a remote node: it prefers its
            # container's node strongly, but can stay put while the container cannot run.
            score = BUNDLE_CONNECTION_WITH_CONTAINER if rsc.bundle_id is not None else INFINITY
            add_colocation(WorkColocation(id=CONTAINER_COLOCATION, dependent=rsc, primary=rsc.container,
                                  score=score, influence=rsc.critical))
    for group in work.groups.values():
        if not group.colocated:
            continue
        for previous, member in zip(group.members, group.members[1:], strict=False):
            add_colocation(WorkColocation(id=GROUP_COLOCATION, dependent=member, primary=previous,
                                  score=INFINITY, influence=member.critical))



def scores_speaking_for_group(work: Work, member: WorkPrimitive,
                              coloc: WorkColocation | None) -> dict[str, int] | None:
    """The scores a later group member shows the primary of a configured
    colocation it is the dependent of: its own, with its group's location
    constraints counted in full (only the first member carries them, the
    others follow it); None when its own scores say it all.  As Pacemaker
    does, this holds for a group that is not colocated too, where the
    member already has them (they then count twice)."""
    group = member.parent
    if coloc is None or member is not coloc.dependent or not is_configured(coloc) \
            or not isinstance(group, WorkGroup) or not group.members or member is group.members[0]:
        return None
    return with_group_locations(work, member, group)


def group_location(group: WorkGroup) -> str | None:
    """A group is somewhere only when all its placed members are there."""
    nodes = {m.assigned for m in group.members if m.assigned is not None}
    return nodes.pop() if len(nodes) == 1 else None


# --- colocation ----------------------------------------------------------------


def apply_group_colocation(work: Work, group: WorkGroup, primary: WorkResource,
                           coloc: WorkColocation) -> int:
    """A colocated group follows through its first member (the others follow
    it); the members of a group that is not colocated each follow on their
    own, unless the colocation is mandatory.  What the members' promotion
    priority changes by is the group's too (an instance of a promotable
    cloned group)."""
    if not group.members:
        return 0
    delta = 0
    if group.colocated:
        first = group.members[0]
        delta = first.variant.apply_colocation(work, first, primary, coloc)
    elif coloc.score < INFINITY:
        for member in group.members:
            delta = add(delta, member.variant.apply_colocation(work, member, primary, coloc))
    if delta:
        group.priority = add(delta, group.priority)
    return delta


def constrain_group_dependent(work: Work, dependent: WorkPrimitive, group: WorkGroup,
                              coloc: WorkColocation) -> int:
    """A dependent of a colocated group goes with its last member when the
    colocation is mandatory (where the whole group is), else with its first;
    with each member of a group that is not colocated, unless mandatory."""
    if group.provisional or not group.members:
        return 0
    if group.colocated:
        member = group.members[-1] if coloc.score >= INFINITY else group.members[0]
        return apply_to_scores(work, dependent, member, coloc)
    delta = 0
    if coloc.score < INFINITY:
        for member in group.members:
            delta = add(delta, apply_to_scores(work, dependent, member, coloc))
    return delta


def group_colocation_scores(work: Work, group: WorkGroup, nodes: dict[str, int] | None, attribute: str,
                            factor: float, only_positive: bool, select_active: bool,
                            coloc: WorkColocation | None = None) -> dict[str, int] | None:
    """A group's preferences are its members': the last one's when asked for
    its own scores, else the first one's (whom the others follow)."""
    if not group.members:
        return None
    _expand_colocations(group)
    member = group.members[-1] if nodes is None else group.members[0]
    base = add_colocated_node_scores(work, member, dict(nodes) if nodes is not None else None,
                                     attribute, factor, only_positive, select_active, coloc)
    return dict(base) if base is not None else (dict(nodes) if nodes is not None else {})



class GroupVariant:
    """A group: members placed together, started in order, stopped in reverse."""

    rank = 1
    collective = True

    # --- placement

    def assign(self, work: Work, rsc: WorkResource, prefer: str | None,
               stop_if_fail: bool = True) -> str | None:
        assert isinstance(rsc, WorkGroup)
        return assign_group(work, rsc, prefer, stop_if_fail)

    def unassign(self, work: Work, rsc: WorkResource) -> None:
        # A cloned group tried on its instance's current node gives every
        # member back.
        assert isinstance(rsc, WorkGroup)
        for member in rsc.members:
            member.variant.unassign(work, member)
        rsc.provisional = True

    def location(self, rsc: WorkResource) -> str | None:
        assert isinstance(rsc, WorkGroup)
        return group_location(rsc)

    def current_node(self, work: Work, rsc: WorkResource) -> str | None:
        return rsc.running_on[0] if rsc.running_on else None

    def apply_location_inside(self, rsc: WorkResource, scored: list[tuple[str, int]]) -> None:
        # The first member gets the preference and the others only learn
        # which nodes are involved (a colocated group follows its first
        # member anyway).
        assert isinstance(rsc, WorkGroup)
        for member in rsc.members:
            for name, score in scored:
                merge_score(member, name, score if gets_group_score(member, rsc) else 0)

    def named_members(self, rsc: WorkResource) -> list[WorkResource]:
        assert isinstance(rsc, WorkGroup)
        return list(rsc.members)

    def constraint_ids(self, rsc: WorkResource) -> tuple[str, ...]:
        return (rsc.id,)

    def stops_together(self, rsc: WorkResource) -> list[WorkPrimitive]:
        return rsc.primitives()

    # --- colocation

    def apply_colocation(self, work: Work, dependent: WorkResource, primary: WorkResource,
                         coloc: WorkColocation) -> int:
        assert isinstance(dependent, WorkGroup)
        return apply_group_colocation(work, dependent, primary, coloc)

    def constrain_dependent(self, work: Work, dependent: WorkPrimitive, primary: WorkResource,
                            coloc: WorkColocation) -> int:
        assert isinstance(primary, WorkGroup)
        return constrain_group_dependent(work, dependent, primary, coloc)

    def colocation_node_scores(self, work: Work, rsc: WorkResource, nodes: dict[str, int] | None,
                               attribute: str, factor: float, only_positive: bool,
                               select_active: bool, coloc: WorkColocation | None = None,
                               ) -> dict[str, int] | None:
        assert isinstance(rsc, WorkGroup)
        return group_colocation_scores(work, rsc, nodes, attribute, factor, only_positive, select_active,
                                       coloc)

    def configured_stickiness(self, rsc: WorkResource) -> int:
        return meta_stickiness(rsc)

    def with_this_colocations(self, rsc: WorkResource) -> list[WorkColocation]:
        # Expanded onto the last member (see _expand_colocations).
        assert isinstance(rsc, WorkGroup)
        _expand_colocations(rsc)
        return rsc.members[-1].with_this if rsc.members else []

    def colocated_resources(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource]) -> None:
        # Colocated (or cloned) members all run together: each one's count.
        assert isinstance(rsc, WorkGroup)
        if rsc.colocated or rsc.parent is not None:
            found.append(rsc)
            for member in rsc.members:
                member.variant.colocated_resources(member, orig, found)
        elif rsc.members:
            colocated_with(rsc, orig, found)

    def add_utilization(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource],
                        total: dict[str, int]) -> None:
        assert isinstance(rsc, WorkGroup)
        if not rsc.provisional:
            return
        members = rsc.members if rsc.colocated or rsc.parent is not None else rsc.members[:1]
        for member in members:
            if member.provisional and not any(m is member for m in found):
                member.variant.add_utilization(member, orig, found, total)

    # --- actions and orderings

    def create_actions(self, work: Work, rsc: WorkResource) -> None:
        assert isinstance(rsc, WorkGroup)
        create_group_actions(work, rsc)

    def probe_targets(self, rsc: WorkResource) -> ProbeTargets:
        # Each member, its probe before its own start.
        targets: list[tuple[WorkPrimitive, WorkResource]] = [(prim, prim) for prim in rsc.primitives()]
        return lambda node: targets

    def internal_orderings(self, rsc: WorkResource) -> list[OrderTuple]:
        assert isinstance(rsc, WorkGroup)
        return group_ordering_specs(rsc)

    def minimum_runnable(self, rsc: WorkResource, require_all: bool) -> int:
        return 0

    def action_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                     instances: InstanceActions) -> tuple[bool, bool]:
        assert isinstance(rsc, WorkGroup)
        return group_action_flags(rsc, action, node)

    def ordering_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                       instances: InstanceActions) -> tuple[bool, bool]:
        # Orderings see a group's action as its members' on every node.
        assert isinstance(rsc, WorkGroup)
        return group_action_flags(rsc, action, None)

    def start_node(self, rsc: WorkResource, start: WorkAction) -> str | None:
        # A group's start is a pseudo-action on no node: it happens where the
        # group goes.
        return rsc.assigned

    def update_ordered_actions(self, prop: Propagation, rsc: WorkResource, first: WorkAction,
                               then: WorkAction, f_optional: bool, f_runnable: bool, check_optional: bool,
                               check_runnable: bool, kind: OrdFlags) -> Updates:
        # The pair itself, and when "then" is a group's action, each member's
        # action of the same task too.
        f_changed, t_changed = yield from prop.update_one(first, then, f_optional, f_runnable, check_optional,
                                                          check_runnable, kind)
        if isinstance(then.rsc, WorkGroup):
            for member in then.rsc.members:
                member_action = find_first_action(member, then.task, then.node)
                if member_action is not None:
                    fc, tc = yield from prop.update_one(first, member_action, f_optional, f_runnable,
                                                        check_optional, check_runnable, kind)
                    f_changed |= fc
                    t_changed |= tc
        return f_changed, t_changed

    # --- what it is

    def is_anonymous_clone(self, rsc: WorkResource) -> bool:
        return False

    def is_unique_clone(self, rsc: WorkResource) -> bool:
        return False

    def is_promotable(self, rsc: WorkResource) -> bool:
        return False

    def ordering_point(self, rsc: WorkResource, task: str) -> WorkAction | None:
        completion = {"start": "running", "stop": "stopped", "promote": "promoted",
                      "demote": "demoted"}.get(task)
        return find_first_action(rsc, completion, None) if completion is not None else None

    def create_notifications(self, work: Work, rsc: WorkResource) -> None:
        return None

    def notify_after_fencing(self, work: Work, rsc: WorkResource, prim: WorkPrimitive, stop: WorkAction,
                             fencing: WorkAction) -> None:
        return None

    def state(self, rsc: WorkResource, current: bool) -> Role:
        # The highest of its members' roles.
        roles = [member.variant.state(member, current) for member in rsc.children()]
        return max(roles, default=Role.UNKNOWN)


GROUP = GroupVariant()
