"""Pacemaker Remote nodes and guest nodes: which nodes exist, and their state.

A *remote node* is named by an ``ocf:pacemaker:remote`` primitive (its
*connection*): the node is up while the connection runs on a cluster node.
A *guest node* is named by the ``remote-node`` meta attribute of a primitive
(its *container*, e.g. a VM): the configuration implies a connection
resource of that name inside the container, and the guest lives where the
container runs.  A bundle replica would be the same pieces (container,
connection, guest node), so everything here works from the connection and
its container, never from the XML that made them.

Unlike a cluster node, a remote node's state cannot be read from its
``node_state`` alone: it follows its connection (and container), which are
known only once the history of the cluster nodes is read.  This module
answers those questions for the stages: creating the nodes (stage 1), the
implicit connections (stage 2), the order in which histories are read and
the online state (stage 3), and what placing a connection means (stage 6).
"""

from __future__ import annotations

from vigil.model.booleans import is_true
from vigil.model.config import Bundle, Config, Group, Node, NvSet, Op, Primitive
from vigil.model.isodate import parse_interval_ms
from vigil.model.node_attributes import configured_attributes
from vigil.model.scores import INFINITY
from vigil.model.status import NodeState
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkPrimitive

REMOTE_AGENT = ("ocf", "pacemaker", "remote")


def is_connection_primitive(prim: Primitive) -> bool:
    """An ``ocf:pacemaker:remote`` primitive: a Pacemaker Remote connection."""
    return (prim.cls.lower(), (prim.provider or "").lower(), prim.type.lower()) == REMOTE_AGENT


def _guest_meta(prim: Primitive) -> dict[str, str]:
    """The guest-node meta attributes of ``prim`` (the last set wins, rules
    are not evaluated: they are read before anything else is known)."""
    found: dict[str, str] = {}
    for nvset in prim.meta:
        for name, value in nvset.values:
            if name in ("remote-node", "remote-addr", "remote-port", "remote-connect-timeout",
                        "remote-allow-migrate", "is-managed"):
                found[name] = value
    return found


def guest_connection(prim: Primitive, taken: set[str]) -> Primitive | None:
    """The implicit connection a ``remote-node`` meta attribute asks for,
    or None (none asked, or the name is already a resource's)."""
    meta = _guest_meta(prim)
    name = meta.get("remote-node")
    if not name or name in taken:
        return None
    conn_meta: list[tuple[str, str]] = [("internal", "true"), ("container", prim.id)]
    if "remote-allow-migrate" in meta:
        conn_meta.append(("allow-migrate", meta["remote-allow-migrate"]))
    if "is-managed" in meta:
        conn_meta.append(("is-managed", meta["is-managed"]))
    params: list[tuple[str, str]] = []
    if "remote-addr" in meta:
        params.append(("addr", meta["remote-addr"]))
    if "remote-port" in meta:
        params.append(("port", meta["remote-port"]))
    ops = [Op(id=f"{name}-monitor-interval-30s", name="monitor", interval_ms=30_000, timeout_ms=30_000)]
    timeout = meta.get("remote-connect-timeout", "60s")
    try:
        start_timeout_ms = parse_interval_ms(timeout)
    except ValueError:
        start_timeout_ms = None  # an unreadable timeout: the default start op
    if start_timeout_ms is not None:
        ops.append(Op(id=f"{name}-start-interval-0", name="start", interval_ms=0,
                      timeout_ms=start_timeout_ms))
    return Primitive(
        id=name, cls="ocf", provider="pacemaker", type="remote",
        params=(NvSet(f"{name}-instance_attributes", tuple(params)),) if params else (),
        meta=(NvSet(f"{name}-meta_attributes", tuple(conn_meta)),),
        ops=tuple(ops),
    )


def guest_connections(config: Config) -> list[Primitive]:
    """The implicit connections of the configuration's guest nodes, in
    document order (top-level primitives and group members; a clone cannot
    hold a guest node)."""
    taken = {p.id for p in config.primitives()}
    found: list[Primitive] = []
    for rsc in config.resources:
        candidates: tuple[Primitive, ...] = ()
        if isinstance(rsc, Primitive):
            candidates = (rsc,)
        elif isinstance(rsc, Group):
            candidates = rsc.members
        for prim in candidates:
            conn = guest_connection(prim, taken)
            if conn is not None:
                taken.add(conn.id)
                found.append(conn)
    return found


def remote_node_names(config: Config) -> list[str]:
    """Every remote and guest node the resources name, in document order."""
    names: list[str] = []
    for rsc in config.resources:
        if isinstance(rsc, Primitive) and is_connection_primitive(rsc):
            names.append(rsc.id)
        elif isinstance(rsc, Bundle):
            names.extend(replica.remote.id for replica in rsc.replica_resources if replica.remote is not None)
    names.extend(conn.id for conn in guest_connections(config))
    return names


def add_remote_nodes(work: Work) -> None:
    """Stage 1: a node for each connection the resources define, unless the
    node section already has it.  Remote nodes are clean until their
    connection is known (see :func:`link_connections`)."""
    for name in remote_node_names(work.cluster.config):
        if name in work.nodes:
            continue
        node = Node(id=name, uname=name, type="remote")
        wnode = WorkNode(name=name, id=name, type="remote")
        wnode.attrs = configured_attributes(node, work.now)
        work.nodes[name] = wnode
    for wnode in work.nodes.values():
        if wnode.type == "remote":
            wnode.unclean = False
            wnode.fence_reason = None


def link_connections(work: Work) -> None:
    """Stage 2: tie each remote node to its connection.  A remote node
    (not a guest) is unclean until its status is seen, as a cluster node is
    under startup fencing; a guest follows its container instead."""
    for rsc in work.rscs.values():
        if not rsc.is_remote_connection:
            continue
        node = work.nodes.get(rsc.id)
        if node is None:
            continue
        work.have_remote_nodes = True
        node.remote_rsc = rsc
        reconnect = rsc.params.get("reconnect_interval")
        if reconnect:
            try:
                rsc.remote_reconnect_s = parse_interval_ms(reconnect) // 1000
                rsc.failure_timeout_s = rsc.remote_reconnect_s
            except ValueError:
                pass
        if rsc.container is None:
            node.unclean = work.options.startup_fencing
            node.unseen = not node.remote_seen
        else:
            node.attrs["#kind"] = "container"
            if not work.options.symmetric_cluster:
                # A guest's connection may opt in anywhere: where it runs is
                # decided by its container.
                for name in work.nodes:
                    rsc.allowed.setdefault(name, 0)


def ready_for_history(work: Work, node: WorkNode) -> bool:
    """Whether ``node``'s history can be read in this pass: a guest's once
    its connection and container are known to run, a remote node's once its
    connection is, a down cluster node's only when fencing (or shutdown
    locks) make what it ran matter."""
    conn = node.remote_rsc
    if node.type == "remote":
        if conn is None:
            return False
        if conn.container is not None:
            return conn.role == Role.STARTED and conn.container.role == Role.STARTED
        return work.options.shutdown_lock or conn.role == Role.STARTED
    return node.online or work.options.stonith_enabled or work.options.shutdown_lock


def note_remote_fenced(node: WorkNode, state: NodeState) -> None:
    """First pass over the status: whether the remote node was fenced since
    its connection was lost (``node_fenced``).  Its status entry also means
    it has been seen: fencing it for a lost connection is not revoked when
    the connection is placed again."""
    node.remote_seen = True
    try:
        node.remote_was_fenced = int(state.node_fenced or "0") > 0
    except ValueError:
        node.remote_was_fenced = False


def determine_remote_online(work: Work, node: WorkNode) -> None:
    """A remote node is up while its connection (and container) run and
    have not failed; a guest whose container failed, or whose host is lost,
    needs a reset (its container is recovered)."""
    conn = node.remote_rsc
    if conn is None:
        node.online = False
        return
    container = conn.container
    host: WorkNode | None = None
    if container is not None and len(conn.running_on) == 1:
        host = work.nodes.get(conn.running_on[0])
    if conn.role == Role.STARTED:
        node.online = True
    if conn.role == Role.STARTED and conn.next_role == Role.STOPPED:
        node.shutdown = True
    if container is not None and container.failed:
        node.online = False
        node.remote_requires_reset = True
    elif conn.failed:
        node.online = False
    elif conn.role == Role.STOPPED or not conn.running_on or (
            container is not None and (container.role == Role.STOPPED or not container.running_on)):
        node.online = False
        node.remote_requires_reset = False
    elif host is not None and not host.online and host.unclean:
        node.online = False
        node.remote_requires_reset = True


def unpack_remote_attributes(work: Work, node: WorkNode, state: NodeState) -> None:
    """A remote node's own ``node_state``: its transient attributes, and
    that it is seen (clean) unless it needs a reset."""
    conn = node.remote_rsc
    if not node.remote_requires_reset:
        node.unclean = False
        node.unseen = False
    for name, value in state.attributes:
        node.attrs[name] = value
    shutdown = node.attrs.get("shutdown")
    if shutdown is not None and shutdown not in ("", "0"):
        node.shutdown = True
    if is_true(node.attrs.get("standby")):
        node.standby = True
    if is_true(node.attrs.get("maintenance")) or (conn is not None and not conn.managed):
        node.maintenance = True
    discovery = node.attrs.get("resource-discovery-enabled")
    if discovery is not None and not is_true(discovery):
        node.probes_allowed = False


def finish_remote_nodes(work: Work) -> None:
    """After all histories: a remote node shutting down stops its
    connection, and one whose history was not read gets its state now."""
    for node in work.nodes.values():
        if node.type != "remote":
            continue
        if node.shutdown and node.remote_rsc is not None:
            node.remote_rsc.next_role = Role.STOPPED
        if not node.unpacked:
            determine_remote_online(work, node)


def is_guest(node: WorkNode) -> bool:
    return node.remote_rsc is not None and node.remote_rsc.container is not None


def connection_assigned(work: Work, conn: WorkPrimitive) -> None:
    """Stage 6: once a connection is placed, its node will be up (and, if
    never seen, need no fencing: the connection will be tried), or will
    shut down."""
    node = work.nodes.get(conn.id)
    if node is None or node.remote_rsc is not conn:
        return
    if conn.assigned is not None and conn.next_role != Role.STOPPED:
        node.online = True
        if node.unseen:
            node.unclean = False
    else:
        node.shutdown = True


def avoid_remote_nodes(work: Work) -> None:
    """Stage 4: connections and fence devices never run on a remote or
    guest node, nor does a guest's container (no nesting, except for a
    bundle's container, which Pacemaker lets run there); a resource whose
    ``container`` is a connection, or a container holding a guest node,
    runs on that node rather than beside its container."""
    if not work.have_remote_nodes:
        return
    remote = [node.name for node in work.nodes.values() if node.type == "remote"]
    for rsc in work.rscs.values():
        avoid = rsc.is_remote_connection or rsc.is_fence_device
        if rsc.is_remote_connection and rsc.container is not None and rsc.bundle_id is None:
            # A guest's container may not nest on a remote node; a bundle's may.
            _ban_nodes(rsc.container, remote)
        if avoid:
            _ban_nodes(rsc, remote)
    for rsc in work.rscs.values():
        target = guest_target(rsc)
        if target is None:
            continue
        for name in list(rsc.allowed):
            if name != target.id:
                rsc.allowed[name] = -INFINITY


def guest_target(rsc: WorkPrimitive) -> WorkPrimitive | None:
    """For a resource told to run in a ``container`` that is a remote node
    (the connection, or the container of a guest): that node's connection."""
    container = rsc.container
    if container is None or rsc.is_remote_connection:
        return None
    if container.is_remote_connection:
        return container
    for filler in container.fillers:
        if filler.is_remote_connection:
            return filler
    return None


def _ban_nodes(rsc: WorkPrimitive, names: list[str]) -> None:
    for name in names:
        rsc.allowed[name] = -INFINITY


def orphan_connection(work: Work, orphan: WorkPrimitive) -> None:
    """A connection known only from the history: its remote node exists
    (made now if need be) and is shutting down, so that what still runs
    there is stopped before the connection is.  Until the container the
    history may name is found, it is taken for a remote node's."""
    if not is_connection_primitive(orphan.prim):
        return
    node = work.nodes.get(orphan.id)
    if node is None:
        node = WorkNode(name=orphan.id, id=orphan.id, type="remote")
        work.nodes[orphan.id] = node
    orphan.is_remote_connection = True
    node.remote_rsc = orphan
    work.have_remote_nodes = True
    node.unclean = work.options.startup_fencing
    node.unseen = not node.remote_seen
    node.shutdown = True
