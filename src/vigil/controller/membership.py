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

The pure rules are :mod:`vigil.model.membership`'s; here are what needs the
configuration's operations (:func:`stop_wait_s`) and the one wait for a
change of the membership.  The controller does the writes.
"""

from __future__ import annotations

from collections.abc import Mapping

from vigil.controller.clock import Clock
from vigil.controller.requests import ConfiguredPrimitives, find_op
from vigil.model.cluster import Cluster
from vigil.model.digests import DEFAULT_TIMEOUT_MS, operation_timeout_ms
from vigil.model.membership import (
    as_planned,
    has_quorum,
    lost_nodes,
    lost_state,
    recorded_online,
    unseen_nodes,
)
from vigil.store.base import Store, StoreError

# The pure rules live in the model (``vigil status`` needs them too); the controller uses them
# through this module.
__all__ = ["MEMBERSHIP_POLL_S", "as_planned", "has_quorum", "lost_nodes", "lost_state", "membership_change",
           "recorded_online", "stop_wait_s", "unseen_nodes"]


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
