"""Clone instances: numbering, where they are, and pairing across clones.

Shared by placement (colocation with a clone) and ordering (interleave),
which both need "the instance of that clone on this node".
"""

from __future__ import annotations

from vigil.scheduler.nodes import sorted_nodes
from vigil.scheduler.working import WClone, WGroup, Work, WRes, WRsc

Instance = WRsc | WGroup


def instance_number(instance: Instance) -> int:
    return int(instance.id.rsplit(":", 1)[1])


def instance_location(instance: Instance) -> str | None:
    """Where an instance is placed (a group instance: its first member)."""
    if isinstance(instance, WGroup):
        # A group is somewhere only when all its placed members are there.
        nodes = {m.assigned for m in instance.members if m.assigned is not None}
        return nodes.pop() if len(nodes) == 1 else None
    return instance.assigned


def did_fail(instance: Instance) -> bool:
    return any(prim.failed for prim in instance.primitives())


def is_blocked(instance: Instance) -> bool:
    return any(prim.blocked for prim in instance.primitives())


def compatible_instance(work: Work, local: WRes, clone: WClone, current: bool) -> Instance | None:
    """The clone's instance on the same node as ``local`` (for interleave)."""
    node = _location(work, local, current)
    if node is not None:
        return _instance_on(work, clone, node, current)
    for candidate in sorted_nodes(work, local.allowed, None):
        found = _instance_on(work, clone, candidate, current)
        if found is not None:
            return found
    return None


def _location(work: Work, rsc: WRes, current: bool) -> str | None:
    if current:
        return work.current_node(rsc) if rsc.running_on else None
    if isinstance(rsc, WRsc):
        return rsc.assigned
    if isinstance(rsc, WGroup):
        return instance_location(rsc)
    return None


def _instance_on(work: Work, clone: WClone, node: str, current: bool) -> Instance | None:
    for instance in clone.instances:
        if is_blocked(instance):
            continue
        if _location(work, instance, current) == node:
            return instance
    return None
