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


def compatible_instance(work: Work, local: WRes, clone: WClone, current: bool,
                        by_node: dict[str, Instance] | None = None) -> Instance | None:
    """The clone's instance on the same node as ``local`` (for interleave).

    ``by_node`` is :func:`instances_by_node` of the clone, for a caller that
    pairs many instances with the same clone."""
    on = by_node if by_node is not None else instances_by_node(work, clone, current)
    node = _location(work, local, current)
    if node is not None:
        return on.get(node)
    for candidate in sorted_nodes(work, local.allowed, None):
        found = on.get(candidate)
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


def instances_by_node(work: Work, clone: WClone, current: bool) -> dict[str, Instance]:
    """The first instance (in the clone's order) that is not blocked, on each
    node where one is placed (or, with ``current``, runs)."""
    found: dict[str, Instance] = {}
    for instance in clone.instances:
        if is_blocked(instance):
            continue
        node = _location(work, instance, current)
        if node is not None:
            found.setdefault(node, instance)
    return found
