"""Clones: numbered instances of one primitive or group, one set per node.

The variant of a clone (see :mod:`vigil.scheduler.variants`): what the
stages ask of it, answered from :mod:`.clone_placement` (where its instances
go) and :mod:`.clone_actions` (its pseudo-actions and orderings), with what
a clone decides for the resources around it: how a resource colocated with
it is placed, which instances are probed, how an ordering reaches its
instances.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vigil.model.scores import INFINITY, add
from vigil.scheduler.colocation import meta_stickiness, own_node_scores
from vigil.scheduler.instances import (
    Instance,
    InstanceActions,
    compatible_instance,
    instance_number,
    is_blocked,
    update_interleaved,
)
from vigil.scheduler.location import merge_score
from vigil.scheduler.utilization import colocated_with
from vigil.scheduler.variants.clone_actions import (
    can_interleave,
    clone_action_flags,
    clone_ordering_flags,
    clone_ordering_specs,
    create_clone_actions,
    minimum_runnable,
)
from vigil.scheduler.variants.clone_placement import assign_clone
from vigil.scheduler.variants.notify import (
    COMPLETION,
    create_notifications,
    notified_point,
    notify_after_fencing,
)
from vigil.scheduler.variants.primitive_placement import place_nowhere
from vigil.scheduler.variants.promotable import (
    update_dependent_with_promotable,
    update_promotable_dependent_priority,
)
from vigil.scheduler.working import BUNDLE_HOST, Work
from vigil.scheduler.working_actions import OrderTuple, OrdFlags, Updates, WorkAction, find_first_action
from vigil.scheduler.working_resources import Role, WorkClone, WorkColocation, WorkPrimitive, WorkResource

if TYPE_CHECKING:
    from vigil.scheduler.variants import ProbeTargets, Propagation


def probe_instances(clone: WorkClone) -> Callable[[str], list[Instance]]:
    """Which instances to probe on a node: every instance of a unique clone;
    for an anonymous clone just one (none where an instance is known, else
    the one placed there, else the first), in instance number order.  Worked
    out once per clone, for all nodes."""
    # Instances are handled in number order from here on, as Pacemaker does.
    clone.instances.sort(key=instance_number)
    ordered = list(clone.instances)
    if clone.unique:
        return lambda node: ordered
    known: set[str] = set()
    placed: dict[str, Instance] = {}
    for instance in ordered:
        for prim in instance.primitives():
            known.update(prim.known_on)
        location = instance.variant.location(instance)
        if location is not None:
            placed.setdefault(location, instance)
    first = ordered[:1]

    def targets(node: str) -> list[Instance]:
        if node in known:
            return []
        found = placed.get(node)
        return [found] if found is not None else first

    return targets



def constrain_clone_dependent(work: Work, dependent: WorkPrimitive, clone: WorkClone,
                              coloc: WorkColocation) -> int:
    """Place ``dependent`` relative to a clone it is colocated with: with the
    instance on its own node when its clone interleaves, else where any
    instance is (mandatory) or by each instance's node (advisory).  A
    colocation with a role of a promotable clone counts where instances in
    that role are.  Returns what ``dependent``'s promotion priority changed by."""
    interleave = isinstance(coloc.dependent, WorkClone) and coloc.dependent.interleave
    if clone.provisional:
        return 0
    if clone.promotable and coloc.primary_role != Role.UNKNOWN:
        if dependent.provisional:
            update_dependent_with_promotable(work, clone, dependent, coloc)
            return 0
        if coloc.dependent_role == Role.PROMOTED:
            return update_promotable_dependent_priority(work, clone, dependent, coloc)
    if interleave:
        partner = compatible_instance(work, dependent, clone, False)
        if partner is not None:
            return partner.variant.constrain_dependent(work, dependent, partner, coloc)
        if coloc.score >= INFINITY and dependent.provisional:
            place_nowhere(work, dependent)
        return 0
    if coloc.score >= INFINITY:
        placed: set[str] = set()
        for instance in clone.instances:
            where = instance.variant.location(instance)
            if where is not None and not is_blocked(instance):
                placed.add(where)
        if coloc.node_attribute == BUNDLE_HOST:
            # A bundle's instances are on guest nodes: the dependent goes to their hosts.
            placed = {host for host in (work.bundle_host(node) for node in placed) if host is not None}
        for node in dependent.allowed:
            if node not in placed:
                dependent.allowed[node] = -INFINITY
        for node in placed:
            dependent.allowed.setdefault(node, -INFINITY)
        return 0
    delta = 0
    for instance in clone.instances:
        delta = add(delta, instance.variant.constrain_dependent(work, dependent, instance, coloc))
    return delta


class CloneVariant:
    """A clone: numbered instances of a primitive or group, one set per node."""

    rank = 2
    collective = True

    # --- placement

    def assign(self, work: Work, rsc: WorkResource, prefer: str | None,
               stop_if_fail: bool = True) -> str | None:
        assert isinstance(rsc, WorkClone)
        assign_clone(work, rsc)
        return None

    def unassign(self, work: Work, rsc: WorkResource) -> None:
        # A clone is never an instance: nothing asks it to give a node back.
        return None

    def location(self, rsc: WorkResource) -> str | None:
        return None

    def current_node(self, work: Work, rsc: WorkResource) -> str | None:
        return rsc.running_on[0] if rsc.running_on else None

    def apply_location_inside(self, rsc: WorkResource, scored: list[tuple[str, int]]) -> None:
        # Every instance as if the constraint named it.
        assert isinstance(rsc, WorkClone)
        for instance in rsc.instances:
            for name, score in scored:
                merge_score(instance, name, score)
            instance.variant.apply_location_inside(instance, scored)

    def named_members(self, rsc: WorkResource) -> list[WorkResource]:
        # Its instances are named after the clone's child, whose id names
        # the clone itself.
        return []

    def stops_together(self, rsc: WorkResource) -> list[WorkPrimitive]:
        return []  # instances are independent of each other

    def constraint_ids(self, rsc: WorkResource) -> tuple[str, ...]:
        assert isinstance(rsc, WorkClone)
        return (rsc.id, rsc.template_id)

    # --- colocation

    def apply_colocation(self, work: Work, dependent: WorkResource, primary: WorkResource,
                         coloc: WorkColocation) -> int:
        # A clone's instances carry its colocations as their own (see
        # _append_parent_colocations); the clone itself has no scores to adjust.
        return 0

    def constrain_dependent(self, work: Work, dependent: WorkPrimitive, primary: WorkResource,
                            coloc: WorkColocation) -> int:
        assert isinstance(primary, WorkClone)
        return constrain_clone_dependent(work, dependent, primary, coloc)

    def colocation_node_scores(self, work: Work, rsc: WorkResource, nodes: dict[str, int] | None,
                               attribute: str, factor: float, only_positive: bool,
                               select_active: bool, coloc: WorkColocation | None = None,
                               ) -> dict[str, int] | None:
        return own_node_scores(work, rsc, nodes, attribute, factor, only_positive, coloc)

    def configured_stickiness(self, rsc: WorkResource) -> int:
        return meta_stickiness(rsc)

    def with_this_colocations(self, rsc: WorkResource) -> list[WorkColocation]:
        return rsc.with_this

    def colocated_resources(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource]) -> None:
        colocated_with(rsc, orig, found)

    def add_utilization(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource],
                        total: dict[str, int]) -> None:
        # One instance's worth: the instance already counted, else the first.
        assert isinstance(rsc, WorkClone)
        if not rsc.provisional:
            return
        existing = False
        for instance in rsc.instances:
            if any(r is instance for r in found):
                existing = True
                continue
            for member in instance.children():
                if any(r is member for r in found):
                    instance.variant.add_utilization(instance, orig, found, total)
                    existing = True
                    break
        if not existing and rsc.instances:
            first = rsc.instances[0]
            first.variant.add_utilization(first, orig, found, total)

    # --- actions and orderings

    def create_actions(self, work: Work, rsc: WorkResource) -> None:
        assert isinstance(rsc, WorkClone)
        create_clone_actions(work, rsc)

    def probe_targets(self, rsc: WorkResource) -> ProbeTargets:
        # The instances' primitives, each probe before the clone's start.
        assert isinstance(rsc, WorkClone)
        instances = probe_instances(rsc)
        return lambda node: [(prim, rsc) for instance in instances(node) for prim in instance.primitives()]

    def internal_orderings(self, rsc: WorkResource) -> list[OrderTuple]:
        assert isinstance(rsc, WorkClone)
        return clone_ordering_specs(rsc)

    def minimum_runnable(self, rsc: WorkResource, require_all: bool) -> int:
        assert isinstance(rsc, WorkClone)
        return minimum_runnable(rsc, require_all)

    def action_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                     instances: InstanceActions) -> tuple[bool, bool]:
        assert isinstance(rsc, WorkClone)
        return clone_action_flags(rsc, action, node, instances)

    def ordering_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                       instances: InstanceActions) -> tuple[bool, bool]:
        assert isinstance(rsc, WorkClone)
        return clone_ordering_flags(rsc, action, node, instances)

    def start_node(self, rsc: WorkResource, start: WorkAction) -> str | None:
        return start.node

    def update_ordered_actions(self, prop: Propagation, rsc: WorkResource, first: WorkAction,
                               then: WorkAction, f_optional: bool, f_runnable: bool, check_optional: bool,
                               check_runnable: bool, kind: OrdFlags) -> Updates:
        # Interleaved: instance to instance.  Otherwise the pair itself, and
        # when "then" is a clone's action, each instance's action that can
        # run (through the instance's own variant).
        if can_interleave(first, then):
            return (yield from update_interleaved(prop, first, then, check_optional, check_runnable, kind))
        f_changed, t_changed = yield from prop.update_one(first, then, f_optional, f_runnable, check_optional,
                                                          check_runnable, kind)
        if not isinstance(then.rsc, WorkClone):
            return f_changed, t_changed
        for instance in then.rsc.instances:
            child_action = find_first_action(instance, then.task, then.node)
            if child_action is None:
                continue
            _, child_runnable = instance.variant.action_flags(instance, child_action, then.node,
                                                              prop.instances)
            if not child_runnable:
                continue
            fc, tc = yield from instance.variant.update_ordered_actions(
                prop, instance, first, child_action, f_optional, f_runnable, check_optional, check_runnable,
                kind)
            f_changed |= fc
            t_changed |= tc
            if tc:
                for after, _ in list(reversed(child_action.afters)):
                    yield after
        return f_changed, t_changed

    # --- what it is

    def is_anonymous_clone(self, rsc: WorkResource) -> bool:
        assert isinstance(rsc, WorkClone)
        return not rsc.unique

    def is_unique_clone(self, rsc: WorkResource) -> bool:
        assert isinstance(rsc, WorkClone)
        return rsc.unique

    def is_promotable(self, rsc: WorkResource) -> bool:
        assert isinstance(rsc, WorkClone)
        return rsc.promotable

    def ordering_point(self, rsc: WorkResource, task: str) -> WorkAction | None:
        # The completion point (running, stopped, promoted, demoted), or
        # when the clone notifies, the end of the notifications after it.
        assert isinstance(rsc, WorkClone)
        completion = COMPLETION.get(task, task)
        if completion not in COMPLETION.values():
            return None
        if rsc.notify:
            return notified_point(rsc, completion)
        return find_first_action(rsc, completion, None)

    def create_notifications(self, work: Work, rsc: WorkResource) -> None:
        assert isinstance(rsc, WorkClone)
        create_notifications(work, rsc)

    def notify_after_fencing(self, work: Work, rsc: WorkResource, prim: WorkPrimitive, stop: WorkAction,
                             fencing: WorkAction) -> None:
        assert isinstance(rsc, WorkClone)
        notify_after_fencing(work, rsc, prim, stop, fencing)

    def state(self, rsc: WorkResource, current: bool) -> Role:
        # The highest of its instances' roles.
        roles = [instance.variant.state(instance, current) for instance in rsc.children()]
        return max(roles, default=Role.UNKNOWN)


CLONE = CloneVariant()
