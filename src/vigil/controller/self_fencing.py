"""Self-fencing: a node that may have lost its membership stops its resources and starts nothing.

A node is a member while its lease lives; once the lease expires the
controller records it lost and (with fencing) fences it, then starts its
resources elsewhere.  A node cut off from the store, or frozen, cannot know
when that happens.  So it watches its own lease (:class:`LeaseWatch`):

- once the lease is **at risk** (no renewal acknowledged for nine tenths
  of its TTL, 2.7 s by default), the node stops every resource it runs, by
  itself, before the lease can expire (:func:`stop_everything_here`);
- from then on, and whenever the lease may have expired (a process that was
  paused and wakes up late), its executor **starts nothing**
  (:meth:`LeaseWatch.may_start`).

The stops are the ones the scheduler plans for a node that shuts down (the
``shutdown`` attribute on the node's last view of the cluster), in the
order it plans them, groups and orderings included, each told
``stop_reason=shutdown``.  They are not recorded: the store is what cannot
be reached.  The node then joins again (its history forgotten, so the
controller probes it) as soon as it can, with the same membership if it held,
else with a new one.

The threshold is a trade: an etcd leader election acknowledges no refresh
for 1-2 s (measured here: 1.7 s from the leader's kill -9 to the next
leader), and a node must not stop its resources for that; the stops must
begin before the lease can expire.  So they begin 0.3 s before the local,
conservative end of the lease (the time the last acknowledged refresh was
*sent*, plus the TTL; etcd's own expiry comes later still: it checks every
0.5 s).  A stop that takes longer is still finished before the node's
resources start elsewhere when fencing is enabled (the fencing comes first)
and, without fencing, the controller waits the longest stop timeout
(:func:`vigil.controller.membership.stop_wait_s`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from vigil.controller.actions import AgentActions, TransitionRun
from vigil.controller.graph import Handlers, run_graph
from vigil.controller.requests import ConfiguredPrimitives
from vigil.controller.settings import controller_options
from vigil.model.cluster import Cluster
from vigil.model.transition import Action, Transition
from vigil.scheduler import IncrementalScheduler
from vigil.store.coord import Lease

log = logging.getLogger(__name__)

# How much of the lease must remain for the node to count as a safe member: a tenth of its TTL,
# at least 0.3 s (0.3 s of the default 3 s: the node stops its resources 2.7 s after its last
# acknowledged refresh).  Late enough to ride out an etcd leader election (1-2 s here, during
# which no refresh is acknowledged), early enough that the stops begin before the lease can
# expire; the fencing (or, without it, the controller's wait for the longest stop) covers them.
AT_RISK_SHARE = 0.1
AT_RISK_MIN_S = 0.3
# The tasks a node at risk still runs: what stops or observes, never what starts.
SAFE_TASKS = frozenset({"stop", "demote", "monitor", "cancel", "notify", "meta-data", "validate-all"})


class LeaseWatch:
    """Whether this node may still act as a member, from its lease's local validity."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    @property
    def threshold_s(self) -> float:
        return max(self.lease.ttl * AT_RISK_SHARE, AT_RISK_MIN_S)

    def remaining_s(self) -> float:
        """How long the lease surely lives on (negative: it may have expired)."""
        return self.lease.valid_until - time.monotonic()

    def at_risk(self) -> bool:
        return self.remaining_s() < self.threshold_s

    def may_start(self) -> bool:
        """Whether an action that brings a resource up may begin now."""
        return not self.at_risk()


def with_shutdown(cluster: Cluster, node: str, now: int) -> Cluster:
    """``cluster`` with ``node`` asking to shut down (the transient ``shutdown`` attribute)."""
    nodes = []
    for state in cluster.status.nodes:
        if state.uname == node:
            attributes = tuple((k, v) for k, v in state.attributes if k != "shutdown")
            state = replace(state, attributes=(*attributes, ("shutdown", str(now))))
        nodes.append(state)
    return replace(cluster, status=replace(cluster.status, nodes=tuple(nodes)))


def stop_plan(cluster: Cluster, node: str, now: int) -> Transition:
    """What the scheduler stops on ``node`` if it shuts down (every other action is left out)."""
    return IncrementalScheduler().schedule(with_shutdown(cluster, node, now), now)


async def stop_everything_here(actions: AgentActions, cluster: Cluster | None, node: str, now: int) -> int:
    """Stop (unrecorded) what ``cluster`` shows running on ``node``, in the planned order.

    The recurring monitors end first.  Returns how many stops were run; a
    failed stop is logged and the others still run.
    """
    await actions.monitors.close()
    if cluster is None:
        log.critical("node %s has no view of the cluster yet: nothing known to stop", node)
        return 0
    plan = stop_plan(cluster, node, now)
    options = controller_options(cluster.config, now)
    run = TransitionRun(0, ConfiguredPrimitives(cluster.config, now), cluster, options)
    count = 0

    async def agent(action: Action) -> bool:
        nonlocal count
        if action.node != node or action.task not in ("stop", "demote"):
            return True  # not this node's, or not a stop: only the order matters here
        prepared = actions.prepare(run, action)
        if prepared is None:
            return True
        count += 1
        result = await actions.executor.run(prepared.request)
        log.warning("self-fencing: %s on %s: %s", action.task, action.resource, result.describe())
        return True

    async def skip(action: Action) -> bool:
        return True

    await run_graph(plan, Handlers(agent=agent, fencing=skip, cluster=skip), limit=1)
    await actions.forget_what_ran()
    return count
