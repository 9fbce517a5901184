"""A bundle's containers, placed as a clone's instances are.

Pacemaker places a bundle's containers with its clone-instance logic:
instances that run stay where they run, at most ``replicas-per-host`` to
a node, the others spread over the nodes with the fewest.  vigil does the
same by gathering the containers into a clone-like set (the bundle's id
names it, as it names the bundle's own pseudo-actions) whose instances are
the containers.  Unlike a clone's, they are named resources with a history
of their own (``B-docker-0``, not ``B:0``): the set is a unique clone.
The IPs, connections and inner clone stay ordinary resources beside it
(see :mod:`vigil.scheduler.bundles`).
"""

from __future__ import annotations

from vigil.scheduler.bundles import nest_connections
from vigil.scheduler.instances import InstanceActions
from vigil.scheduler.variants.clone import CloneVariant
from vigil.scheduler.variants.clone_actions import clone_ordering_flags
from vigil.scheduler.variants.clone_placement import assign_clone
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import WorkAction
from vigil.scheduler.working_resources import WorkClone, WorkResource

# A promotable bundle's own promotion pseudo-actions (kept by its container set).
PROMOTION_TASKS = ("promote", "promoted", "demote", "demoted")


class ContainerSetVariant(CloneVariant):
    """The containers of one bundle: see the module docstring."""

    def is_anonymous_clone(self, rsc: WorkResource) -> bool:
        return False  # each container has its own name and history

    def is_unique_clone(self, rsc: WorkResource) -> bool:
        return True

    def is_promotable(self, rsc: WorkResource) -> bool:
        return False  # promotion is the inner clone's

    def constraint_ids(self, rsc: WorkResource) -> tuple[str, ...]:
        return ()  # a constraint naming the bundle is mapped in bundle_constraints

    def assign(self, work: Work, rsc: WorkResource, prefer: str | None,
               stop_if_fail: bool = True) -> str | None:
        assert isinstance(rsc, WorkClone)
        if not rsc.provisional or rsc.allocating:
            return None
        assign_clone(work, rsc)
        nest_connections(work, rsc)
        return None

    def ordering_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                       instances: InstanceActions) -> tuple[bool, bool]:
        # The bundle's start and stop stand for its containers'; its
        # promotion for its inner clone's instances'.
        assert isinstance(rsc, WorkClone)
        child = rsc.bundle.child if rsc.bundle is not None else None
        if action.task in PROMOTION_TASKS and child is not None:
            return clone_ordering_flags(child, action, node, instances)
        return clone_ordering_flags(rsc, action, node, instances)

    def ordering_point(self, rsc: WorkResource, task: str) -> WorkAction | None:
        # A bundle with notify=true has no notifications of its own to wait
        # for: orderings stay on the action itself (as Pacemaker finds no
        # such point and keeps the action).
        assert isinstance(rsc, WorkClone)
        if rsc.bundle is not None and rsc.bundle.notify:
            return None
        return super().ordering_point(rsc, task)


class InnerCloneVariant(CloneVariant):
    """A bundle's inner clone: placing it places its bundle's containers, IPs and
    connections first (as Pacemaker places a bundle as one), whoever asks."""

    def assign(self, work: Work, rsc: WorkResource, prefer: str | None,
               stop_if_fail: bool = True) -> str | None:
        assert isinstance(rsc, WorkClone)
        if not rsc.provisional or rsc.allocating:
            return None
        bundle = next((b for b in work.bundles.values() if b.child is rsc), None)
        if bundle is not None:
            bundle.containers.variant.assign(work, bundle.containers, None)
            for replica in bundle.replicas:
                for prim in (replica.ip, replica.remote):
                    if prim is not None:
                        prim.variant.assign(work, prim, None)
        assign_clone(work, rsc)
        return None

    def create_actions(self, work: Work, rsc: WorkResource) -> None:
        # Then the bundle's own promotion pseudo-actions, after the clone's.
        assert isinstance(rsc, WorkClone)
        super().create_actions(work, rsc)
        bundle = next((b for b in work.bundles.values() if b.child is rsc), None)
        if bundle is None or not rsc.promotable:
            return
        for task in PROMOTION_TASKS:
            action = work.new_action(bundle.containers, task, None)
            action.pseudo = True


CONTAINER_SET = ContainerSetVariant()
INNER_CLONE = InnerCloneVariant()
