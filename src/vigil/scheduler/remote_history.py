"""Stage 3 (history): what a remote or guest node's history means.

A lost connection to a remote node leaves what runs there unknown, so the
node is fenced (``reset-remote``), and a failure of a connection with a
reconnect interval is kept until that has happened.  A resource active on a
guest that is down is recovered with the guest's container.  Resources known
only from the history (orphans) that name the container they ran in belong
to it.
"""

from __future__ import annotations

from vigil.model.status import NodeState, OpRecord
from vigil.scheduler.unpack_nodes import fence_node
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkPrimitive


def map_orphan_fillers(work: Work, state: NodeState) -> None:
    """Once a node's history is read: a resource known only from the
    history that says which container it ran in belongs to that container
    (which may itself be known only from the history)."""
    for history in state.resources:
        container = work.rscs.get(history.container) if history.container else None
        rsc = work.rscs.get(history.id)
        if container is None or rsc is None or not rsc.orphan or rsc.container is not None:
            continue
        rsc.container = container
        container.fillers.append(rsc)


def drops_remote_connection(rsc: WorkPrimitive, task: str, interval_ms: int) -> bool:
    """A failure of a remote node's (not a guest's) connection other than
    its probe or start: a connection that was up is lost."""
    if not rsc.is_remote_connection or rsc.container is not None:
        return False
    return task != "start" and not (task == "monitor" and interval_ms == 0)


def keeps_connection_failure(work: Work, conn: WorkPrimitive, op: OpRecord) -> bool:
    """A remote connection's monitor failure does not expire with its
    reconnect interval until the remote node has been fenced: the node
    may still run what it ran, and only fencing makes that safe."""
    if not (conn.remote_reconnect_s and work.options.stonith_enabled
            and op.interval_ms and op.operation == "monitor"):
        return False
    remote = work.nodes.get(conn.id)
    return remote is not None and not remote.remote_was_fenced


def fence_for_active(work: Work, node: WorkNode, rsc: WorkPrimitive) -> None:
    """``rsc`` is active on a node that is down: the node must be fenced
    (a guest always, by recovering its container, and ``rsc`` counts as
    failed; a remote node whose connection has not failed only if the
    connection cannot be re-established elsewhere)."""
    conn = node.remote_rsc
    if conn is not None and conn.container is not None:
        rsc.failed = True
        rsc.stop_needed = True
        fence_node(work, node, f"{rsc.id} is thought to be active there")
        return
    if not work.options.stonith_enabled:
        return
    if conn is not None and not conn.failed:
        node.unseen = True
        fence_node(work, node, f"{rsc.id} is active there (fencing will be revoked if remote "
                               "connection can be re-established elsewhere)")
        return
    fence_node(work, node, f"{rsc.id} is thought to be active there")


def reset_remote(work: Work, conn: WorkPrimitive) -> None:
    """A remote node's connection was lost: the remote node is fenced
    (unless it was since its connection was lost), the connection must stop
    (the caller schedules that stop where it is active), and with a
    reconnect interval it stays stopped until the failure expires."""
    conn.failed = True
    conn.stop_needed = True
    remote = work.nodes.get(conn.id)
    if (work.options.stonith_enabled and remote is not None and remote.type == "remote"
            and not remote.remote_was_fenced):
        fence_node(work, remote, "remote connection is unrecoverable")
    if conn.remote_reconnect_s:
        conn.next_role = Role.STOPPED
