"""Stage 8 (end): actions on remote and guest nodes wait for their connection.

An action on a remote node runs through its connection, so it is ordered
after the connection starts (and a stop, before the connection stops).  When
the connection is lost for good while resources are active (or unknown) on
the node, the only way to stop them is to fence the node; a guest node's
resources follow its container instead.
"""

from __future__ import annotations

from enum import Enum

from vigil.scheduler.ordering import OrderSpec
from vigil.scheduler.unpack_nodes import fence_node
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, OrdFlags, WorkAction
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkPrimitive


class ConnectionState(Enum):
    """Where a remote node's connection stands for this transition."""

    ALIVE = "alive"        # running on a healthy node, staying up
    RESTING = "resting"    # on a lost node (or migrating): wait for it elsewhere
    UNKNOWN = "unknown"    # not running now, will be started (or retried)
    STOPPED = "stopped"    # going down cleanly
    FAILED = "failed"      # lost for good: the node must be fenced


def connection_state(work: Work, node: WorkNode) -> ConnectionState:
    conn = node.remote_rsc
    assert conn is not None
    current = work.current_node(conn)
    host = work.nodes.get(current) if current is not None else None
    if conn.next_role == Role.STOPPED or conn.assigned is None:
        if host is not None and host.unclean:
            return ConnectionState.FAILED
        if not conn.failed:
            return ConnectionState.STOPPED
        shutdown = node.attrs.get("shutdown")
        if (conn.next_role == Role.STOPPED and conn.remote_reconnect_s > 0 and node.remote_was_fenced
                and (shutdown is None or shutdown in ("", "0"))):
            return ConnectionState.UNKNOWN
        return ConnectionState.FAILED
    if host is None:
        return ConnectionState.UNKNOWN
    if host.unclean or not host.online:
        return ConnectionState.RESTING
    return ConnectionState.ALIVE


def is_failed_remote_node(work: Work, node: WorkNode) -> bool:
    """A remote node (not a guest) whose connection is lost for good."""
    conn = node.remote_rsc
    return (node.type == "remote" and conn is not None and conn.container is None
            and connection_state(work, node) == ConnectionState.FAILED)


def remote_orderings(work: Work) -> list[OrderSpec]:
    """The orderings of every action on a remote or guest node against its
    connection (and container), fencing the node where nothing else can
    stop what runs there."""
    specs: list[OrderSpec] = []
    if not work.have_remote_nodes:
        return specs
    # Newest first, as Pacemaker keeps its actions: the first reason found
    # to fence a node is the one reported.
    for action in list(reversed(work.actions)):
        # Only a primitive's actions run on a node (work.rscs holds them all).
        rsc = work.rscs.get(action.rsc.id) if action.rsc is not None else None
        if rsc is None or rsc is not action.rsc:
            continue
        if rsc.is_remote_connection and action.task == "clear_failcount":
            specs.append(OrderSpec(rsc, "clear_failcount", rsc, "start", Ord.OPTIONAL, first_action=action))
            continue
        if action.node is None or action.pseudo:
            continue
        node = work.nodes.get(action.node)
        if node is None or node.type != "remote" or node.remote_rsc is None:
            continue
        conn = node.remote_rsc
        if action.task == "start":
            # Moving onto the node: leave it running where it is until the
            # connection is up.
            for other in rsc.actions_by_task.get("stop", ()):
                if other.node != action.node:
                    specs.append(OrderSpec(conn, "start", rsc, "stop", Ord.OPTIONAL, then_action=other))
        if conn.container is not None:
            specs.extend(_guest_ordering(work, node, conn, action))
        else:
            specs.extend(_remote_ordering(work, node, conn, action))
    return specs


def _start_then(conn: WorkPrimitive, action: WorkAction, extra: OrdFlags) -> OrderSpec:
    assert action.rsc is not None
    return OrderSpec(conn, "start", action.rsc, action.task, Ord.RUNNABLE_LEFT | extra, then_action=action)


def _then_stop(action: WorkAction, conn: WorkPrimitive, extra: OrdFlags) -> OrderSpec:
    assert action.rsc is not None
    return OrderSpec(action.rsc, action.task, conn, "stop", extra or Ord.OPTIONAL, first_action=action)


def _task(action: WorkAction) -> str:
    if action.task in ("migrate_to", "migrate_from"):
        return "stop"
    return action.task


def _remote_ordering(work: Work, node: WorkNode, conn: WorkPrimitive, action: WorkAction) -> list[OrderSpec]:
    state = connection_state(work, node)
    task = _task(action)
    if task in ("start", "promote"):
        return [_start_then(conn, action, Ord.IMPLIES_THEN if state == ConnectionState.FAILED else 0)]
    if task == "stop":
        if state == ConnectionState.ALIVE:
            return [_then_stop(action, conn, Ord.IMPLIES_FIRST)]
        if state == ConnectionState.FAILED:
            fence_node(work, node, "resources are active but connection is unrecoverable")
            return []
        if conn.next_role == Role.STOPPED:
            return [_then_stop(action, conn, Ord.IMPLIES_FIRST)]
        return [_start_then(conn, action, 0)]
    if task == "demote":
        if state in (ConnectionState.RESTING, ConnectionState.UNKNOWN):
            return [_start_then(conn, action, 0)]
        return []
    if action.interval_ms > 0:
        return [_start_then(conn, action, Ord.IMPLIES_THEN)]
    if task == "monitor" and state == ConnectionState.FAILED:
        fence_node(work, node, "resources are in unknown state and connection is unrecoverable")
    if work.current_node(conn) is not None and state == ConnectionState.STOPPED:
        return [_then_stop(action, conn, Ord.RUNNABLE_LEFT)]
    return [_start_then(conn, action, 0)]


def _guest_ordering(work: Work, node: WorkNode, conn: WorkPrimitive, action: WorkAction) -> list[OrderSpec]:
    container = conn.container
    assert container is not None
    if container.failed:
        fence_node(work, node, "container failed")
    task = _task(action)
    if task in ("start", "promote"):
        return [_start_then(container, action, Ord.IMPLIES_THEN), _start_then(conn, action, 0)]
    if task in ("stop", "demote"):
        if container.failed:
            return []  # implied by the container's stop, as fencing would
        return [_then_stop(action, conn, 0)]
    if action.interval_ms > 0:
        if task in ("monitor", "notify", "start", "stop", "promote", "demote"):
            return [_start_then(conn, action, Ord.IMPLIES_THEN)]
        return []
    return [_start_then(conn, action, 0)]
