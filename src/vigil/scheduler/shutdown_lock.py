"""Shutdown locks (cluster option ``shutdown-lock``): a clean shutdown keeps a node's resources.

With ``shutdown-lock=true``, a resource that a node stops because the node
shuts down cleanly is *locked* to that node: it is not recovered elsewhere,
but waits, stopped, for the node to come back (maintenance reboots of a
node whose services should not move).  ``shutdown-lock-limit`` (a duration,
0: none) lets the lock expire, after which the resource is free to start
elsewhere.

- A resource active on exactly one node, which is shutting down (and not
  unclean), is locked to it from the node's shutdown time (its ``shutdown``
  attribute); its stops there carry ``shutdown-lock`` (that time) so that the
  controller records the lock with the stop's result.
- A stopped resource whose history on a node carries ``shutdown-lock`` is
  locked to that node until the limit passes.
- A locked resource is banned from every other node.  Fence devices, clones
  and their instances are never locked; a lock on a resource that is active
  elsewhere is dropped (it must not disturb it).
"""

from __future__ import annotations

from vigil.model.scores import INFINITY
from vigil.model.status import ResourceHistory
from vigil.scheduler.location import resource_node_score
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import WorkPrimitive, WorkResource


def unpack_shutdown_lock(work: Work, node: WorkNode, rsc: WorkPrimitive, history: ResourceHistory) -> None:
    """Remember a lock recorded in ``rsc``'s history on ``node``, unless expired."""
    lock_time = history.shutdown_lock
    if not work.options.shutdown_lock or not lock_time:
        return
    if _has_expired(work, lock_time):
        return
    rsc.lock_node = node.name
    rsc.lock_time = lock_time


def _limit_s(work: Work) -> int:
    return work.options.shutdown_lock_limit_ms // 1000


def _has_expired(work: Work, lock_time: int) -> bool:
    limit = _limit_s(work)
    return limit > 0 and work.now > lock_time + limit


def _shutdown_time(work: Work, node: WorkNode) -> int:
    """When ``node`` asked to shut down (its ``shutdown`` attribute), else now."""
    try:
        value = int(node.attrs.get("shutdown", "0"))
    except ValueError:
        value = 0
    return value or work.now


def _lockable(rsc: WorkPrimitive) -> bool:
    """Fence devices and clone instances (members of cloned groups included)
    are never locked."""
    top: WorkResource = rsc
    while top.parent is not None:
        top = top.parent
    if top.variant.is_anonymous_clone(top) or top.variant.is_unique_clone(top):
        return False
    return not rsc.is_fence_device


def apply_shutdown_locks(work: Work) -> None:
    """Lock what must be locked, and ban each locked resource from every
    other node (before locations are applied, as Pacemaker does)."""
    if not work.options.shutdown_lock:
        return
    for top in work.top:
        for rsc in top.primitives():
            if _lockable(rsc):
                _lock(work, rsc)
            else:
                rsc.lock_node = None


def _lock(work: Work, rsc: WorkPrimitive) -> None:
    if rsc.lock_node is not None:
        if rsc.running_on:
            # Started elsewhere although locked: do not disturb it.
            rsc.lock_node = None
            rsc.lock_time = 0
            return
    elif len(rsc.running_on) == 1:
        node = work.nodes[rsc.running_on[0]]
        if node.shutdown and not node.unclean:
            rsc.lock_node = node.name
            rsc.lock_time = _shutdown_time(work, node)
    if rsc.lock_node is None:
        return
    for name in work.nodes:
        if name != rsc.lock_node:
            resource_node_score(work, rsc, name, -INFINITY)


def next_lock_expiry(work: Work) -> int | None:
    """The first epoch second after ``work.now`` at which a lock expires."""
    limit = _limit_s(work)
    if not work.options.shutdown_lock or limit <= 0:
        return None
    expiries = [rsc.lock_time + limit + 1 for rsc in work.rscs.values() if rsc.lock_node is not None]
    return min((t for t in expiries if t > work.now), default=None)


def mark_locked_stops(work: Work) -> None:
    """A stop on the lock node carries the lock time, for the controller to
    record with its result (only stops: while the node shuts down, any other
    action there would clear the lock)."""
    for rsc in work.rscs.values():
        if rsc.lock_node is None:
            continue
        node = work.nodes[rsc.lock_node]
        for action in rsc.actions_by_task.get("stop", ()):
            if action.node == rsc.lock_node and action.interval_ms == 0 and node.shutdown:
                action.meta["shutdown-lock"] = str(rsc.lock_time)
