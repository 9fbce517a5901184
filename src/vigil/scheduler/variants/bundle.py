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

from vigil.scheduler.variants.clone import CloneVariant
from vigil.scheduler.working import WorkResource


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


CONTAINER_SET = ContainerSetVariant()
