"""Which resource a node's history of a resource id belongs to.

Mostly the configured primitive of that id.  An anonymous clone's history
names the clone's primitive (or an old numbered instance), and any instance
may be the one: it is matched to the instance already active on that node,
else to a free one, else to a new orphan instance past clone-max.  A
history of a resource no longer configured makes an orphan, to be stopped.
"""

from __future__ import annotations

from vigil.model.config import Primitive
from vigil.model.scores import INFINITY
from vigil.model.status import ResourceHistory
from vigil.scheduler.bundles import replica_on_guest
from vigil.scheduler.remote_nodes import orphan_connection
from vigil.scheduler.unpack_resources import new_clone_instance
from vigil.scheduler.variants.primitive import PRIMITIVE
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import WorkClone, WorkGroup, WorkPrimitive, WorkResource


def _orphan_primitive(history: ResourceHistory) -> Primitive:
    return Primitive(id=history.id, cls=history.cls or "ocf", type=history.type or "unknown",
                     provider=history.provider)


def find_or_make_resource(work: Work, node: WorkNode, history: ResourceHistory) -> WorkPrimitive | None:
    replica = replica_on_guest(work, node, history.id.split(":", 1)[0])
    if replica is not None and replica.inner is not None:
        return replica.inner  # a bundle's inner resource on its guest node is that replica's
    rsc = work.rscs.get(history.id)
    clone: WorkClone | None = None
    if rsc is None:
        base = history.id.split(":", 1)[0]
        zero = work.rscs.get(f"{base}:0")
        if zero is not None:
            clone = _anonymous_clone(work, zero)
    else:
        clone = _anonymous_clone(work, rsc)
    if clone is not None:
        return _find_anonymous_instance(work, node, clone, history.id.split(":", 1)[0])
    if rsc is not None:
        return rsc
    if not history.ops:
        return None
    orphan = WorkPrimitive(id=history.id, prim=_orphan_primitive(history), meta={}, params={}, ops=(),
                           variant=PRIMITIVE)
    orphan.orphan = True
    orphan.managed = work.options.stop_orphan_resources
    if work.options.maintenance_mode:
        orphan.managed = False
    orphan.needs_fencing = work.options.stonith_enabled and orphan.prim.cls != "stonith"
    orphan.is_fence_device = orphan.prim.cls == "stonith"
    for name in work.nodes:
        orphan.allowed[name] = -INFINITY
    work.rscs[orphan.id] = orphan
    work.top.append(orphan)
    orphan_connection(work, orphan)
    return orphan


def _anonymous_clone(work: Work, rsc: WorkPrimitive) -> WorkClone | None:
    """The anonymous clone ``rsc`` is (part of) an instance of, if any."""
    top: WorkResource = rsc
    while top.parent is not None:
        top = top.parent
    return work.clones[top.id] if top.variant.is_anonymous_clone(top) else None


def _first_location(instance: WorkPrimitive | WorkGroup) -> str | None:
    """The first node where a primitive of ``instance`` (in member order) is
    active or starting; None if none is.  Asked of the members, not of a
    cloned group's own list, which leaves out the nodes an unmanaged member
    runs on while they are offline (as Pacemaker's does)."""
    for prim in instance.primitives():
        if prim.running_on:
            return prim.running_on[0]
        if prim.pending_node is not None:
            return prim.pending_node
    return None


def _instance_member(instance: WorkPrimitive | WorkGroup, base: str) -> WorkPrimitive | None:
    """The primitive of ``instance`` made from the template ``base``."""
    for prim in instance.primitives():
        if prim.prim.id == base:
            return prim
    return None


def _find_anonymous_instance(work: Work, node: WorkNode, clone: WorkClone, base: str) -> WorkPrimitive | None:
    """Which instance of an anonymous clone a node's history belongs to.

    Anonymous instances are interchangeable, so history is matched to an
    instance already active on that node, else to a free one, else to a new
    orphan instance past clone-max.
    """
    found: WorkPrimitive | None = None
    inactive: WorkPrimitive | None = None
    skip_inactive = False
    for instance in clone.instances:
        location = _first_location(instance)
        if location is not None:
            if location == node.name:
                candidate = _instance_member(instance, base)
                if candidate is not None:
                    if candidate.running_on:
                        skip_inactive = True
                    else:
                        found = candidate
                        break
        elif not skip_inactive and inactive is None and not instance.blocked:
            inactive = _instance_member(instance, base)
            if inactive is not None and inactive.pending_node not in (None, node.name):
                inactive = None
    if found is None and not skip_inactive:
        found = inactive
    universal = clone.clone_max == len(work.nodes)
    if found is not None and not found.needs_fencing and (not node.online or node.unclean) and not universal:
        found = None
    if found is None:
        instance = new_clone_instance(work, clone)
        for prim in instance.primitives():
            prim.orphan = True
        found = _instance_member(instance, base)
    return found
