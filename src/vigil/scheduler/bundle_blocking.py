"""Which colocation dependents a bundle's unrunnable start or promote blocks.

Pacemaker sees a bundle as one resource whose parts are, replica by
replica, its IP, container and connection, then its inner clone.  A start
(or promote) of any of them that cannot run blocks the bundle's mandatory
colocation dependents only once *every* part's first such action cannot
run, and only the colocations that name the bundle itself count.  A
dependent that is a bundle is blocked whole: its own pseudo-actions, every
part, and the inner clone's instances.

vigil keeps no bundle resource (see :mod:`vigil.scheduler.bundles`), so
this module rebuilds that view from the bundle's parts and the configured
colocations that name it.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.model.scores import INFINITY
from vigil.scheduler.colocation import role_of
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import find_first_action
from vigil.scheduler.working_resources import Role, WorkBundle, WorkResource


@dataclass(frozen=True)
class BundleDependent:
    """What one mandatory colocation with a bundle blocks, and which action of it."""

    targets: tuple[WorkResource, ...]
    task: str


def owning_bundle(work: Work, rsc: WorkResource) -> WorkBundle | None:
    """The bundle ``rsc`` is a part of (at any depth), if any."""
    bundle_id = getattr(rsc, "bundle_id", None)
    if bundle_id is not None:
        return work.bundles.get(bundle_id)
    current: WorkResource | None = rsc
    while current is not None:
        for bundle in work.bundles.values():
            if current is bundle.child or current is bundle.containers:
                return bundle
        current = current.parent
    return None


def bundle_parts(bundle: WorkBundle) -> list[WorkResource]:
    """The bundle's parts in Pacemaker's order: per replica its IP, container
    and connection, then the inner clone."""
    parts: list[WorkResource] = []
    for replica in bundle.replicas:
        parts.extend(p for p in (replica.ip, replica.container, replica.remote) if p is not None)
    if bundle.child is not None:
        parts.append(bundle.child)
    return parts


def bundle_blocked_whole(bundle: WorkBundle) -> list[WorkResource]:
    """What blocking a dependent bundle marks: its own pseudo-actions (the
    container set's) with its containers, its IPs and connections, and its
    inner clone with the instances."""
    found: list[WorkResource] = [bundle.containers]
    for replica in bundle.replicas:
        found.extend(p for p in (replica.ip, replica.remote) if p is not None)
    if bundle.child is not None:
        found.append(bundle.child)
    return found


def dependent_targets(work: Work, dependent: WorkResource) -> list[WorkResource]:
    """What blocking a colocation's dependent marks: a bundle's container
    (a colocation naming the bundle places its containers) stands for its
    whole bundle."""
    bundle = owning_bundle(work, dependent)
    if bundle is not None and any(replica.container is dependent for replica in bundle.replicas):
        return bundle_blocked_whole(bundle)
    return [dependent]


def can_reach(bundle: WorkBundle, task: str) -> bool:
    """Whether some part of the bundle can still perform ``task``."""
    for part in bundle_parts(bundle):
        action = find_first_action(part, task, None)
        if action is None or action.runnable:
            return True
    return False


def bundle_dependents(work: Work, bundle: WorkBundle, task: str) -> list[BundleDependent]:
    """The mandatory colocations naming ``bundle`` as primary that an
    unrunnable ``task`` (start or promote) of it breaks."""
    config = work.cluster.config
    found: list[BundleDependent] = []
    for constraint in config.colocations:
        if constraint.score < INFINITY or bundle.id not in config.constrained(constraint.with_rsc):
            continue
        if task != "start" and role_of(constraint.with_rsc_role) != Role.PROMOTED:
            continue
        blocked_task = "promote" if role_of(constraint.rsc_role) == Role.PROMOTED else "start"
        for dependent_id in config.constrained(constraint.rsc):
            other = work.bundles.get(dependent_id)
            if other is not None:
                found.append(BundleDependent(tuple(bundle_blocked_whole(other)), blocked_task))
                continue
            rsc = work.resource(dependent_id)
            if rsc is not None:
                found.append(BundleDependent((rsc,), blocked_task))
    return found
