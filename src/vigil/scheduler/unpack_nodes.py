"""Stage 1: nodes — membership, attributes, and which nodes are unclean.

A node's state comes from its ``node_state`` entry the way Pacemaker reads it:
whether it is in the membership, whether its controller is up, whether it
joined, and what it was expected to do.  A node that is lost while
fencing is enabled is *unclean*: nothing may start elsewhere until it is
fenced.
"""

from __future__ import annotations

from vigil.model.booleans import is_true
from vigil.model.config import Node
from vigil.model.node_attributes import configured_attributes
from vigil.model.scores import INFINITY, ScoreError, add, parse_score
from vigil.model.status import NodeState
from vigil.scheduler.fencing import fence_op
from vigil.scheduler.remote_nodes import add_remote_nodes, note_remote_fenced
from vigil.scheduler.utilization import unpack_node_capacity
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import WorkNode


def fence_node(work: Work, node: WorkNode, reason: str) -> None:
    """Mark ``node`` unclean; the first reason given is the one reported.

    The fencing action is created now (optional until fencing is scheduled),
    so that fencing is listed in the order the reasons were found.
    """
    conn = node.remote_rsc
    if conn is not None and conn.container is not None:
        # A guest is "fenced" by recovering its container; the guest is not
        # unclean, so that it may run resources again once that is done.
        container = conn.container
        if not container.failed and container.managed:
            node.remote_requires_reset = True
            container.failed = True
            container.stop_needed = True
        return
    if conn is not None:
        if conn.managed:
            node.remote_requires_reset = True
        node.unclean = True
        if node.fence_reason is None:
            node.fence_reason = reason
        fence_op(work, node, reason, optional=True)
        return
    if node.unclean:
        return
    node.unclean = True
    if node.fence_reason is None:
        node.fence_reason = reason
    fence_op(work, node, reason, optional=True)


def unpack_nodes(work: Work) -> None:
    config = work.cluster.config
    status = work.cluster.status
    for node in config.nodes:
        wnode = _new_node(work, node)
        work.nodes[wnode.name] = wnode
    add_remote_nodes(work)
    by_id = {n.id: n for n in work.nodes.values()}
    transient_capacity: dict[str, tuple[tuple[str, str], ...]] = {}
    for state in status.nodes:
        found = by_id.get(state.id) or work.nodes.get(state.uname)
        if found is None:
            continue
        transient_capacity[found.name] = state.utilization
        if state.is_remote or found.type == "remote":
            # Its state follows its connection, known only with the history.
            note_remote_fenced(found, state)
            continue
        _unpack_node_state(work, found, state)
    for wnode in work.nodes.values():
        unpack_node_capacity(work, wnode, transient_capacity.get(wnode.name, ()))
    _apply_health(work)


def _new_node(work: Work, node: Node) -> WorkNode:
    wnode = WorkNode(name=node.uname, id=node.id, type=node.type or "member")
    wnode.is_dc = work.cluster.status.dc_uuid == node.id
    wnode.attrs = configured_attributes(node, work.now, is_dc=wnode.is_dc)
    # Until its status entry is seen, a node is unclean when startup fencing
    # is on: we cannot know it is not running anything.
    wnode.unclean = work.options.startup_fencing
    if wnode.unclean:
        wnode.fence_reason = None
    if wnode.type == "ping":
        wnode.unclean = False
    return wnode


def _unpack_node_state(work: Work, node: WorkNode, state: NodeState) -> None:
    node.has_state = True
    for name, value in state.attributes:
        node.attrs[name] = value
    if is_true(node.attrs.get("standby")):
        node.standby = True
    if is_true(node.attrs.get("maintenance")):
        node.maintenance = True
    node.unclean = False
    node.unseen = False
    node.online = _determine_online(work, node, state)
    if (
        not work.have_quorum
        and node.online
        and work.options.no_quorum_policy == "fence"
    ):
        fence_node(work, node, "cluster does not have quorum")


def _shutdown_requested(node: WorkNode) -> bool:
    value = node.attrs.get("shutdown")
    return value is not None and value not in ("", "0")


def _determine_online(work: Work, node: WorkNode, state: NodeState) -> bool:
    node.shutdown = False
    node.expected_up = False
    if _shutdown_requested(node):
        node.shutdown = True
    elif (state.expected or "").lower() == "member":
        node.expected_up = True
    if node.type == "ping":
        node.unclean = False
        return False
    if work.options.stonith_enabled:
        return _online_with_fencing(work, node, state)
    return _online_without_fencing(work, node, state)


def _in_ccm(value: str | None) -> bool:
    if value is None:
        return False
    if value.isdigit():
        return int(value) > 0
    return is_true(value)


def _crmd_online(value: str | None) -> bool:
    if value is None:
        return False
    if value.isdigit():
        return int(value) > 0
    return value.lower() == "online"


def _online_without_fencing(work: Work, node: WorkNode, state: NodeState) -> bool:
    if not _in_ccm(state.in_ccm):
        return False
    if _crmd_online(state.crmd):
        return (state.join or "").lower() == "member"
    if not node.expected_up:
        return False
    fence_node(work, node, "peer is unexpectedly down")
    return False


def _since(value: str | None, now: int) -> int:
    """Since when (epoch seconds) a membership field has held: its time
    stamp (Pacemaker 2.1.7+), ``now`` for a plain true, 0 for false."""
    if value is None:
        return 0
    if value.isdigit():
        return int(value)
    return now if is_true(value) or value.lower() == "online" else 0


def _pending_too_long(work: Work, state: NodeState) -> bool:
    """A member whose controller has not come up within node-pending-timeout."""
    timeout_s = work.options.node_pending_timeout_ms // 1000
    member_since = _since(state.in_ccm, work.now)
    if timeout_s <= 0 or member_since <= 0 or _since(state.crmd, work.now) > 0:
        return False
    return work.now >= member_since + timeout_s


def _online_with_fencing(work: Work, node: WorkNode, state: NodeState) -> bool:
    terminate = node.attrs.get("terminate")
    do_terminate = is_true(terminate) or bool(
        terminate and terminate[0].isdigit() and terminate[0] != "0"
    )
    in_cluster = _in_ccm(state.in_ccm)
    crmd_online = _crmd_online(state.crmd)
    join = (state.join or "").lower()
    expected = (state.expected or "down").lower()
    online = in_cluster
    if node.shutdown:
        return crmd_online
    if state.in_ccm is None:
        fence_node(work, node, "peer has not been seen by the cluster")
    elif join in ("nack", "banned"):
        fence_node(work, node, "peer failed Pacemaker membership criteria")
    elif not do_terminate and expected == "down":
        if _pending_too_long(work, state):
            fence_node(work, node, "peer pending timed out on joining the process group")
        elif in_cluster or crmd_online:
            node.standby = True
            node.pending = True
    elif do_terminate and join == "down" and not in_cluster and not crmd_online:
        online = False
    elif not in_cluster:
        fence_node(work, node, "peer is no longer part of the cluster")
    elif not crmd_online:
        fence_node(work, node, "peer process is no longer available")
    elif do_terminate:
        fence_node(work, node, "fencing was requested")  # current Pacemaker's words
    elif join == "member":
        pass
    elif join in ("pending", "down", ""):
        node.standby = True
        node.pending = True
    else:
        fence_node(work, node, "peer was in an unknown state")
    return online


def _apply_health(work: Work) -> None:
    """Node health: ``#health-*`` attributes turned into node scores."""
    strategy = work.options.node_health_strategy
    if strategy in ("none", ""):
        return
    opts = work.options
    for node in work.nodes.values():
        total = 0
        for name, value in node.attrs.items():
            if not name.startswith("#health"):
                continue
            text = value.strip().lower()
            if text == "red":
                score = opts.node_health_red
            elif text == "yellow":
                score = opts.node_health_yellow
            elif text == "green":
                score = opts.node_health_green
            else:
                try:
                    score = parse_score(value)
                except ScoreError:
                    score = 0
            if strategy == "progressive" or strategy == "custom":
                total = add(total, score)
            else:
                # migrate-on-red / only-green: any bad colour bans the node
                if score <= -INFINITY:
                    total = -INFINITY
        if strategy == "progressive":
            total = add(total, opts.node_health_base)
        node.health_score = total

