"""A cluster's membership as the scheduler sees it: lost and unseen nodes, quorum, the DC.

The store's membership keys (``Store.members``: node -> incarnation) say who
is alive; the status the scheduler reads says who was.  These pure
functions relate the two: the controller of a cluster records what they
find (:mod:`vigil.controller.membership`), and ``vigil status`` shows the
cluster with the same quorum the controller plans with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.status import NodeState


def recorded_online(state: NodeState) -> bool:
    """Whether the status counts ``state`` as a cluster member (what a lost node must be told from)."""
    return state.in_ccm == "true" or state.crmd == "online"


def lost_nodes(cluster: Cluster, members: Mapping[str, int]) -> list[str]:
    """The nodes recorded online whose membership key is gone (their lease expired or was revoked)."""
    return [state.uname for state in cluster.status.nodes
            if not state.is_remote and recorded_online(state) and state.uname not in members]


def has_quorum(config: Config, members: Mapping[str, int]) -> bool:
    """More than half of the configured (cluster) nodes are members; a configuration naming no
    node has nothing to count and is quorate."""
    configured = {node.uname for node in config.nodes if node.type in ("member", "", None)}
    if not configured:
        return True
    return 2 * len(configured & set(members)) > len(configured)


def as_planned(cluster: Cluster, members: Mapping[str, int], controller: str) -> Cluster:
    """``cluster`` with the membership's quorum and the controller's node as DC, for the scheduler."""
    dc = next((node.id for node in cluster.config.nodes if node.uname == controller), controller)
    alive = {**members, controller: members.get(controller, 0)}  # the controller is alive: it plans
    status = replace(cluster.status, have_quorum=has_quorum(cluster.config, alive), dc_uuid=dc)
    if status == cluster.status:
        return cluster
    return replace(cluster, status=status)


def lost_state(state: NodeState, *, fenced_by_cluster: bool) -> NodeState:
    """How a lost node is recorded: unclean (to be fenced) or, without fencing, down and clean
    (its membership fields only: its history and attributes stay as they are)."""
    return NodeState(id=state.id, uname=state.uname, in_ccm="false", crmd="offline", join="down",
                     expected="member" if fenced_by_cluster else "down", is_remote=state.is_remote)


def unseen_nodes(cluster: Cluster) -> list[str]:
    """Configured nodes that never joined: no state recorded (a member whose agent has not
    recorded its state yet is joining right now).

    Pacemaker fences such nodes (``startup-fencing``) once its controller
    has waited ``dc-deadtime`` for them after it was elected; so does vigil.
    """
    seen = {state.uname for state in cluster.status.nodes}
    return [node.uname for node in cluster.config.nodes
            if node.type in ("member", "", None) and node.uname not in seen]
