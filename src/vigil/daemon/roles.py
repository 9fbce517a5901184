"""A node of a cluster (a shared store): its node agent always, the controller while elected.

``vigil run`` on a multi-node store (etcd) runs a :class:`ClusterNode`: the
node agent (:class:`~vigil.controller.node_agent.NodeAgent`) runs this node's
work orders for as long as the daemon lives, and the node campaigns for the
leader key on its membership lease.  The winner also runs the
:class:`~vigil.controller.loop.Controller` with its term, every agent action
(its own node's included) handed to the node agents as work orders.  A
controller that is deposed (its leader key lost: ``GuardLost``, or the key
seen gone) stops acting as controller and campaigns again; the node agent
keeps running, so what runs here is never restarted for a change of
controller.  See docs/cluster.md.

A graceful stop asks for this node's shutdown (the ``shutdown`` attribute):
the controller, here or elsewhere, stops every resource here through work
orders; this node then resigns (when it leads), stops its agent and leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence

from vigil.controller.actions import ActionRunner
from vigil.controller.loop import KEPT_TRANSITIONS, Controller
from vigil.controller.node_agent import NodeAgent
from vigil.controller.self_fencing import LeaseWatch
from vigil.events.model import NO_EVENTS, EventSink
from vigil.fencing.fencer import Fencer
from vigil.model.activity import MonitorKey, TransitionReport
from vigil.model.status import NodeState
from vigil.scheduler import IncrementalScheduler
from vigil.store.base import Store, StoreError
from vigil.store.coord import Guard, GuardLost, Lease

log = logging.getLogger(__name__)

# How long one campaign waits for the leader key before looking at a stop request again (seconds).
CAMPAIGN_WAIT_S = 1.0
# How often the node looks at its own lease (seconds).
LEASE_CHECK_S = 0.1
# How soon a node that gave up a stale leader key campaigns again (seconds).
CAMPAIGN_RETRY_S = 0.1
# How long a controller that handed its role over waits before campaigning again (seconds).
HAND_OVER_S = 3.0
# How long a node that is not the controller waits, on a graceful stop, for the controller to
# stop its resources (seconds); then it leaves them as they are.
SHUTDOWN_WAIT_S = 10.0


class ClusterNode:
    """This node's agent, and the controller while this node holds the leader key.

    Offers what the API asks of a controller (:class:`~vigil.api.context.ControllerView`).
    """

    def __init__(self, store: Store, executor: ActionRunner, node: str, lease: Lease, incarnation: Guard,
                 *, fencer: Callable[[], Fencer], events: EventSink = NO_EVENTS) -> None:
        self.store = store
        self.executor = executor
        self.node = node
        self.lease = lease
        self.incarnation = incarnation
        self.events = events
        self._fencer = fencer
        self.agent = self._new_agent()
        self.stats = self.agent.stats
        self.controller: Controller | None = None
        self.term: Guard | None = None
        # Transitions of the controllers this node ran, for `vigil status` here.
        self._transitions: deque[TransitionReport] = deque(maxlen=KEPT_TRANSITIONS)
        self._stop = asyncio.Event()
        self._leave_running = False
        # Set once this incarnation stopped everything here by itself (self-fencing).
        self._self_stopped = False
        # This incarnation's node agent, while it runs.
        self._agent_task: asyncio.Task[None] | None = None
        # A controller that handed its role over (its own node must be fenced) does not
        # campaign again before this time.monotonic().
        self._hand_over_until = 0.0
        # Terms this node was deposed from: never led again (a new term numbers its transitions and
        # work orders afresh, and one reused would collide with what the deposed controller wrote).
        self._deposed_terms: set[int] = set()

    def _new_agent(self) -> NodeAgent:
        return NodeAgent(self.store, self.executor, self.node, self.incarnation, events=self.events,
                         lease_watch=LeaseWatch(self.lease))

    # -- the ControllerView the API uses ------------------------------------------------------

    @property
    def transitions(self) -> Sequence[TransitionReport]:
        current = list(self.controller.transitions) if self.controller is not None else []
        return [*self._transitions, *current][-KEPT_TRANSITIONS:]

    def poke(self, reason: str) -> None:
        if self.controller is not None:
            self.controller.poke(reason)

    def active_monitors(self) -> list[MonitorKey]:
        return self.agent.actions.monitors.active()

    # -- life --------------------------------------------------------------------------------

    async def stop(self, *, leave_running: bool = False) -> None:
        """Stop (this node's resources first, unless ``leave_running``); asked again, at once."""
        self._leave_running = self._leave_running or leave_running
        self._stop.set()
        controller = self.controller
        if controller is not None:
            await controller.stop(leave_running=self._leave_running)

    async def run(self) -> None:
        """Run the agent, and the controller whenever elected, until stopped.

        A membership that is lost (the lease expired: this node was cut off
        from the store or frozen) ends the incarnation: the node has stopped
        its resources by itself (self-fencing), and joins again, with a new
        lease, as soon as the store lets it.
        """
        while True:
            lost = await self._live()
            if not lost or self._stop.is_set():
                return
            if not await self._rejoin():
                return

    async def _live(self) -> bool:
        """One incarnation: its agent, its campaigns; whether it ended because the membership was lost."""
        agent = asyncio.create_task(self.agent.run(), name="node agent")
        self._agent_task = agent
        watchdog = asyncio.create_task(self._watch_lease(), name="lease watch")
        stopped_here = lost = False
        try:
            # Joined first (membership fields set, this node's history forgotten), so a
            # controller here never plans from what this node believed before.
            ready = asyncio.create_task(self.agent.ready.wait())
            await asyncio.wait([ready, agent], return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
            while not self._stop.is_set() and not agent.done() and not watchdog.done():
                term = await self._campaign(agent, watchdog)
                if term is None:
                    break
                stopped_here = await self._lead(term)
            lost = watchdog.done() or self.agent.lost.is_set()
            if not lost and not stopped_here and not self._leave_running and not agent.done():
                await self._wait_stopped_here()
        finally:
            watchdog.cancel()
            self.agent.stop()
            outcomes = await asyncio.gather(agent, watchdog, return_exceptions=True)
            failure = outcomes[0]
            if isinstance(failure, Exception):
                log.error("node %s: its node agent failed", self.node, exc_info=failure)
        if lost:
            if not self._self_stopped:
                await self._self_fence("its membership was lost")
            return True
        await self._leave()
        return False

    async def _watch_lease(self) -> None:
        """Self-fencing: stop everything here once the lease is at risk; return once it expired.

        A lease that recovers after the stops (the store answered again in
        time) keeps the membership: the node joins again under it, so the
        controller probes it and starts what belongs here.
        """
        watch = LeaseWatch(self.lease)
        while True:
            await asyncio.sleep(LEASE_CHECK_S)
            if not self.lease.alive:
                log.critical("node %s: its membership lease expired", self.node)
                return
            if watch.at_risk() and not self._self_stopped:
                left = watch.remaining_s()
                await self._self_fence(f"its membership lease was not renewed ({left:.1f} s left)")
                while self.lease.alive and watch.at_risk():
                    await asyncio.sleep(LEASE_CHECK_S)
                if not self.lease.alive:
                    log.critical("node %s: its membership lease expired", self.node)
                    return
                log.warning("node %s: its membership lease is renewed again: joining again", self.node)
                try:
                    await self.agent.rejoin()
                    self._self_stopped = False
                except StoreError as error:
                    log.error("node %s could not join again (%s)", self.node, error)

    async def _self_fence(self, why: str) -> None:
        """Stop being the controller and stop every resource here, before the lease can expire."""
        self._self_stopped = True
        log.critical("node %s self-fences: %s; it stops every resource here and starts nothing",
                     self.node, why)
        controller, term = self.controller, self.term
        if controller is not None and term is not None:
            controller._deposed(GuardLost(term))
        count = await self.agent.stop_everything_here()
        log.critical("node %s self-fenced: %d stop(s) run", self.node, count)

    async def _rejoin(self) -> bool:
        """A new lease and membership (a new incarnation) once the store lets it; False when stopped first."""
        with contextlib.suppress(StoreError):
            await self.lease.revoke()  # the old membership ends at once, if it still lives
        delay = 0.5
        while not self._stop.is_set():
            try:
                lease = await self.store.grant_lease(self.lease.ttl)
                try:
                    incarnation = await self.store.join(self.node, lease)
                except StoreError:
                    with contextlib.suppress(StoreError):
                        await lease.revoke()
                    raise
            except StoreError as error:
                log.warning("node %s cannot join the cluster again yet (%s)", self.node, error)
                await self._sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.lease, self.incarnation = lease, incarnation
            self.agent = self._new_agent()
            self.stats = self.agent.stats
            self._self_stopped = False
            log.warning("node %s joins the cluster again (incarnation %d)", self.node, incarnation.revision)
            return True
        return False

    async def _campaign(self, agent: asyncio.Task[None], watchdog: asyncio.Task[None]) -> Guard | None:
        """The leader key, once this node wins it; None when asked to stop (or lost) first."""
        if self._hand_over_until > time.monotonic():
            await self._sleep(self._hand_over_until - time.monotonic())
        while not self._stop.is_set() and not agent.done() and not watchdog.done():
            if not self._may_lead():
                await self._sleep(CAMPAIGN_WAIT_S)
                continue
            try:
                term = await self.store.campaign(self.node, self.lease, timeout=CAMPAIGN_WAIT_S)
            except StoreError as error:
                log.error("node %s cannot campaign for the controller role (%s); trying again", self.node,
                          error)
                await self._sleep(CAMPAIGN_WAIT_S)
                continue
            if term is not None and term.revision in self._deposed_terms:
                log.warning("node %s still holds the leader key of term %d, which it was deposed from:"
                            " it gives it up and campaigns for a new term", self.node, term.revision)
                with contextlib.suppress(StoreError):
                    await self.store.resign(term)
                await self._sleep(CAMPAIGN_RETRY_S)
                continue
            if term is None:
                continue
            if self._stop.is_set() or watchdog.done() or not self._may_lead():
                # A campaign already in flight won after this node was asked to stop, self-fenced
                # or lost its membership (F14): it never leads on that.
                with contextlib.suppress(StoreError):
                    await self.store.resign(term)
                if self._stop.is_set() or watchdog.done():
                    return None
                log.warning("node %s won the controller role after it self-fenced (or with its lease at "
                            "risk): it gives it up", self.node)
                await self._sleep(CAMPAIGN_WAIT_S)
                continue
            return term
        return None

    def _may_lead(self) -> bool:
        """A node that self-fenced, or whose lease may be lost, does not lead: checked before a
        campaign and again when it wins, since the store may answer after either happened."""
        return not self._self_stopped and LeaseWatch(self.lease).may_start()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _lead(self, term: Guard) -> bool:
        """Be the controller while ``term`` holds; whether it ended by stopping this node's resources."""
        log.info("node %s is the controller (term %d)", self.node, term.revision)
        controller = Controller(self.store, self.executor, self.node, fencer=self._fencer(),
                                events=self.events, term=term, local_agent=False)
        self.controller = controller
        self.term = term
        watching = asyncio.create_task(self._watch_term(controller, term), name="term watch")
        try:
            if self._stop.is_set():
                await controller.stop(leave_running=self._leave_running)
            await controller.run()
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
            self._transitions.extend(controller.transitions)
            self.controller = None
            self.term = None
        if controller.handing_over.is_set():
            with contextlib.suppress(StoreError):
                await self.store.resign(term)
            self._hand_over_until = time.monotonic() + HAND_OVER_S
            return False
        if controller.deposed.is_set():
            log.warning("node %s is no longer the controller (term %d); its agent runs on", self.node,
                        term.revision)
            self._deposed_terms.add(term.revision)
            with contextlib.suppress(StoreError):
                await self.store.resign(term)  # its key may outlive it on a lease renewed in time
            return False
        with contextlib.suppress(StoreError):
            await self.store.resign(term)
        return not self._leave_running

    async def _watch_term(self, controller: Controller, term: Guard) -> None:
        """Depose ``controller`` as soon as its leader key is seen gone (or the lease surely expired)."""
        while True:
            try:
                lost = await self.store.wait_guard_lost(term, timeout=CAMPAIGN_WAIT_S)
            except StoreError:
                lost = False
            agent = self._agent_task
            if lost or not LeaseWatch(self.lease).may_start() or (agent is not None and agent.done()):
                # (A controller whose own node agent ended would wait forever for its own orders.)
                controller._deposed(GuardLost(term))
                return

    async def _wait_stopped_here(self) -> None:
        """Ask for this node's shutdown; wait until the controller has nothing more to do here."""
        try:
            await self.store.set_node_attribute(self.node, "shutdown", str(int(time.time())),
                                                guard=self.incarnation)
        except StoreError as error:
            log.error("cannot ask for this node's shutdown (%s): leaving its resources as they are", error)
            return
        log.info("node %s asked to shut down: waiting for the controller to stop its resources", self.node)
        try:
            async with asyncio.timeout(SHUTDOWN_WAIT_S):
                await self._until_stopped_here()
        except TimeoutError:
            log.warning("node %s stops with resources possibly still running here", self.node)

    async def _until_stopped_here(self) -> None:
        scheduler = IncrementalScheduler()
        while not self._leave_running:
            try:
                snapshot = await self.store.snapshot()
                plan = scheduler.schedule(snapshot.cluster, int(time.time()))
                if not any(a.node == self.node and not a.pseudo for a in plan.actions):
                    return
                leader = await self.store.leader()
                # No controller to stop them: this node may be the last; lead to stop them.  (A
                # campaign that timed out as it won leaves the key to this node: take it up.)
                if leader is None or leader.holder == self.node:
                    term = await self.store.campaign(self.node, self.lease, timeout=CAMPAIGN_WAIT_S)
                    if term is not None:
                        await self._lead(term)
                        return
                await self.store.wait_for_change(snapshot.revision, timeout=1.0)
            except StoreError as error:
                log.error("waiting for this node's resources to stop: the store failed (%s)", error)
                await asyncio.sleep(0.5)

    async def _leave(self) -> None:
        """Recorded offline (guarded by the membership, which the caller then ends)."""
        try:
            snapshot = await self.store.snapshot()
            node_id = next((n.id for n in snapshot.cluster.config.nodes if n.uname == self.node), self.node)
            await self.store.set_node_state(
                NodeState(id=node_id, uname=self.node, in_ccm="false", crmd="offline", join="down",
                          expected="down"), guard=self.incarnation)
        except StoreError as error:
            log.error("node %s could not record that it left: %s", self.node, error)
            return
        log.info("node %s left the cluster", self.node)
