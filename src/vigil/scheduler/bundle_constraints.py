"""What a constraint naming a bundle applies to.

A bundle is not a resource of the working state: its implicit resources
are (see :mod:`vigil.scheduler.bundles`).  As in Pacemaker, a location
constraint on a bundle places its containers (and their IPs); a
colocation by role (Promoted, Unpromoted) is its inner clone's, and one
without a role places its containers when the bundle is the dependent and
follows its inner clone when it is the primary.  An ordering orders the
bundle's own pseudo-actions (kept by its container set).  Guest nodes are compared
by the cluster node they live on (``BUNDLE_HOST``), so that a resource on a
cluster node can be colocated with an instance inside a container.
"""

from __future__ import annotations

from vigil.scheduler.working import Work
from vigil.scheduler.working_resources import Role, WorkResource


def bundle_location_targets(work: Work, rsc_id: str | None, by_role: bool) -> list[WorkResource] | None:
    """The containers and IPs a location constraint on bundle ``rsc_id`` places,
    and, for one by role, its inner clone (None: ``rsc_id`` is not a bundle)."""
    bundle = work.bundles.get(rsc_id or "")
    if bundle is None:
        return None
    # The container set hands its scores down to each container.
    found: list[WorkResource] = [bundle.containers]
    found.extend(replica.ip for replica in bundle.replicas if replica.ip is not None)
    if by_role and bundle.child is not None:
        found.append(bundle.child)
    return found


def bundle_colocation_side(work: Work, rsc_id: str, role: Role, *,
                           dependent: bool) -> list[WorkResource] | None:
    """The resources one side of a colocation naming bundle ``rsc_id`` stands for
    (None: not a bundle; empty: nothing vigil can colocate)."""
    bundle = work.bundles.get(rsc_id)
    if bundle is None:
        return None
    by_role = role in (Role.PROMOTED, Role.UNPROMOTED)
    if bundle.child is not None and (by_role or not dependent):
        return [bundle.child]
    containers: list[WorkResource] = [replica.container for replica in bundle.replicas]
    if dependent or len(containers) == 1:
        return containers
    return []


def bundle_names_side(work: Work, *rsc_ids: str) -> bool:
    """Whether a constraint names a bundle (its guest nodes then count as their hosts)."""
    return any(rsc_id in work.bundles for rsc_id in rsc_ids)


# The tasks of a bundle's own pseudo-actions (kept by its container set).
_BUNDLE_OWN_TASKS = frozenset({"start", "running", "stop", "stopped"})


def ordered_resource(work: Work, rsc_id: str, task: str) -> WorkResource | None:
    """What an ordering naming ``rsc_id`` for ``task`` orders.  For a bundle:
    its own pseudo-actions (its container set's), whose start and stop stand
    for its containers' and whose promotion (when its inner clone is
    promotable) for the inner instances'."""
    bundle = work.bundles.get(rsc_id)
    if bundle is None:
        return work.resource(rsc_id)
    if task in _BUNDLE_OWN_TASKS or bundle.child is None or bundle.child.promotable:
        return bundle.containers
    return bundle.child
