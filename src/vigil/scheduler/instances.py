"""Clone instances: numbering, where they are, and pairing across clones.

Shared by placement (colocation with a clone) and ordering (interleave),
which both need "the instance of that clone on this node".
"""

from __future__ import annotations

from vigil.scheduler.nodes import sorted_nodes
from vigil.scheduler.working import Work, WorkClone, WorkGroup, WorkPrimitive, WorkResource

Instance = WorkPrimitive | WorkGroup


def instance_number(instance: Instance) -> int:
    return int(instance.id.rsplit(":", 1)[1])


def did_fail(instance: Instance) -> bool:
    return any(prim.failed for prim in instance.primitives())


def is_blocked(instance: Instance) -> bool:
    return any(prim.blocked for prim in instance.primitives())


def compatible_instance(work: Work, local: WorkResource, clone: WorkClone, current: bool,
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


def _location(work: Work, rsc: WorkResource, current: bool) -> str | None:
    if current:
        return work.current_node(rsc) if rsc.running_on else None
    return rsc.variant.location(rsc)


def instances_by_node(work: Work, clone: WorkClone, current: bool) -> dict[str, Instance]:
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
