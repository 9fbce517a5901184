"""What the store's membership keys mean for the plan: lost nodes, quorum, the controller's node.

A node is a member while its lease lives (``Store.members``).  The status
in the store is what the scheduler reads, so the controller of a cluster
turns the membership into status before each plan, as Pacemaker's
controller turns corosync's membership into ``<node_state>``:

- a node recorded online whose key is gone is **lost**.  With fencing
  enabled it is recorded as Pacemaker records a node that vanished
  (``in_ccm=false``, ``crmd=offline``, ``expected=member``): the scheduler
  then sees it unclean, fences it, and recovers its resources only after
  the fencing (the graph orders them after it).  With fencing disabled
  nothing can confirm that it stopped what it ran; it stops its resources by
  itself once it cannot renew its lease (self-fencing, see
  :mod:`vigil.controller.self_fencing`), so the controller waits
  :func:`stop_wait_s` more — the longest stop of what it ran — before it
  records the node down and clean, and its resources start elsewhere;
- quorum is more than half of the configured nodes being members
  (:func:`has_quorum`); the plan is made with ``have_quorum`` set from it,
  so ``no-quorum-policy`` applies exactly as the scheduler applies it to a
  Pacemaker CIB;
- the controller's node is the plan's DC (``dc_uuid``), so a fencing of
  the controller's own node is ordered last, as Pacemaker orders the DC's.

Pure functions, and the one wait for a change of the membership; the
controller does the writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from vigil.controller.clock import Clock
from vigil.controller.requests import ConfiguredPrimitives, find_op
from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.digests import DEFAULT_TIMEOUT_MS, operation_timeout_ms
from vigil.model.status import NodeState
from vigil.store.base import Store, StoreError


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


def stop_wait_s(cluster: Cluster, node: str, now: int) -> float:
    """How long a lost node may still be stopping what it ran by itself: its longest stop timeout.

    Used only with fencing disabled, counted from when its membership was
    seen gone: the node began its stops before its lease could expire, each
    bounded by its stop timeout.
    """
    state = cluster.status.node(node)
    if state is None:
        return 0.0
    primitives = ConfiguredPrimitives(cluster.config, now)
    longest = 0
    for history in state.resources:
        placement = primitives.find(history.id)
        if placement is None:
            longest = max(longest, DEFAULT_TIMEOUT_MS)  # an orphan stops with the default timeout
            continue
        prim = placement.primitive
        longest = max(longest, operation_timeout_ms(cluster.config, prim, find_op(prim, "stop", 0), "stop",
                                                    0, now))
    return longest / 1000


# How often the controller of a cluster reads the membership while idle (seconds): a lost node
# is noticed this long, at most, after its lease expired.
MEMBERSHIP_POLL_S = 0.25


async def membership_change(store: Store, seen: Mapping[str, int], clock: Clock) -> None:
    """Return once the membership (node -> incarnation) differs from ``seen``.

    Polled: the membership keys live outside the data the store's change
    watch covers, and a range read of a few keys is cheap.  A store that
    fails is read again at the next poll (the controller's cycle reports it).
    """
    while True:
        await clock.sleep(MEMBERSHIP_POLL_S)
        try:
            if await store.members() != dict(seen):
                return
        except StoreError:
            continue
