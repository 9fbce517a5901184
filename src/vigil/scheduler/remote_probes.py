"""Stage 7 (probes): what may be probed on a remote or guest node.

A remote node runs no fence device, no connection (no nesting) and, when it
is a guest, nothing that holds a guest node's container.  On a guest whose
container is stopped nothing can be running, so nothing is probed; the
resource may only start once the container has started.  On a guest whose
container is about to stop (or move, or be recovered) a probe would be lost
with it: the resource waits for that stop instead.  A remote node whose
connection is lost for good cannot be probed at all, so it is fenced.
"""

from __future__ import annotations

from vigil.scheduler.ordering import OrderSpec
from vigil.scheduler.remote_ordering import is_failed_remote_node
from vigil.scheduler.unpack_nodes import fence_node
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkPrimitive, WorkResource


def probe_node_usable(work: Work, node: WorkNode) -> bool:
    """Whether ``node`` is probed at all; fences a remote node whose
    connection cannot be recovered, since what runs there is unknown."""
    if not node.online:
        if node.type == "remote" and is_failed_remote_node(work, node):
            fence_node(work, node, "the connection is unrecoverable")
        return False
    return not node.unclean and node.probes_allowed


def _holds_guest(top: WorkResource) -> bool:
    return any(filler.is_remote_connection for prim in top.primitives() for filler in prim.fillers)


def _guest_will_stop(node: WorkNode, container: WorkPrimitive) -> bool:
    moving = (container.role != Role.STOPPED and container.assigned is not None
              and container.assigned not in container.running_on)
    return (node.remote_requires_reset or node.unclean or container.failed
            or container.next_role == Role.STOPPED or container.assigned is None or moving)


def remote_probe(work: Work, rsc: WorkPrimitive, top: WorkResource, start_of: WorkResource,
                 node: WorkNode, specs: list[OrderSpec]) -> bool:
    """Whether ``rsc`` may be probed on ``node`` (never a resource inside
    a container; anything else off remote nodes); adds the orderings that
    stand in for a probe that is not made."""
    if rsc.container is not None and not rsc.is_remote_connection:
        return False  # inside a container: known from the container's state
    if node.type != "remote":
        return True
    conn = node.remote_rsc
    container = conn.container if conn is not None else None
    if rsc.is_fence_device or rsc.is_remote_connection:
        return False
    if container is None:
        return True
    if _holds_guest(top):
        return False
    if container.role == Role.STOPPED:
        if container.assigned is not None and container.assigned not in container.known_on:
            specs.append(OrderSpec(container, "start", start_of, "start", Ord.OPTIONAL))
        return False
    if _guest_will_stop(node, container):
        specs.append(OrderSpec(container, "stop", start_of, "start", Ord.OPTIONAL))
        return False
    return True
