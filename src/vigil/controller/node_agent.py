"""The node agent: runs the work orders the controller writes for this node.

Every node of a cluster runs one.  It joins as a member (its membership key,
whose create revision is its **incarnation**, is what guards all it
writes), then watches its own work orders and, for each pending one:
claims it, which the store allows only while the term the order names and
this incarnation both hold, so an order of a deposed controller, or one
meant for a previous life of this node, is never acted on, and the claim
is the durable mark that the action may be running here, written before
acting; runs the action through its own executor with the same handler the
controller uses on its own node (:class:`~vigil.controller.actions.AgentActions`:
the stop context, the start parameters a stop reuses, the recurring
monitors); records the result guarded by its membership; and completes the
order, which is what the controller's graph runner waits for.

The agent never plans: what to run and in which order is the controller's.
See docs/cluster.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from vigil.controller.actions import ActionRunner, AgentActions, TransitionRun
from vigil.controller.clock import SYSTEM_CLOCK, Clock
from vigil.controller.health import STORE_RETRY_S, next_delay
from vigil.controller.membership import recorded_online
from vigil.controller.recording import RECORD_RETRY_S, Recorder
from vigil.controller.remote import decode_action, encode_result
from vigil.controller.requests import ConfiguredPrimitives
from vigil.controller.self_fencing import SAFE_TASKS, LeaseWatch, stop_everything_here
from vigil.controller.settings import controller_options
from vigil.events.model import NO_EVENTS, EventSink
from vigil.model.activity import ControllerStats
from vigil.model.cluster import Cluster
from vigil.model.node_attributes import cleared_on_join
from vigil.model.status import NodeState
from vigil.store.base import ORDER_PENDING, Store, StoreError, WorkOrder, WorkOrderConflict
from vigil.store.coord import Guard, GuardLost

log = logging.getLogger(__name__)

# How long a read of the orders waits for a change before reading again anyway (seconds).
ORDERS_POLL_S = 5.0


class NodeAgent:
    """Executes ``node``'s work orders while ``incarnation`` (its membership guard) holds."""

    def __init__(self, store: Store, executor: ActionRunner, node: str, incarnation: Guard, *,
                 clock: Clock = SYSTEM_CLOCK, events: EventSink = NO_EVENTS,
                 record_retry_s: float = RECORD_RETRY_S, lease_watch: LeaseWatch | None = None) -> None:
        self.store = store
        self.node = node
        self.incarnation = incarnation
        # The node's own lease: nothing starts here once it may expire (self-fencing).
        self.lease_watch = lease_watch
        # The cluster as last seen with this node a member: what self-fencing stops.
        self.view: Cluster | None = None
        self.clock = clock
        self.stats = ControllerStats()
        self.recorder = Recorder(store, instance=uuid.uuid4().hex[:12], clock=clock, stats=self.stats,
                                 events=events, record_retry_s=record_retry_s)
        self.recorder.guard = incarnation
        self.actions = AgentActions(store, executor, self.recorder, clock, events=events)
        # Set once the agent has joined and reads its orders.
        self.ready = asyncio.Event()
        # Set when the membership was lost: the agent ended and acts no more.
        self.lost = asyncio.Event()
        # Orders claimed by this agent and still running, by id; those it abandoned (their tasks
        # cancelled as it stopped everything), to be completed as not done.
        self._running: dict[str, asyncio.Task[None]] = {}
        self._interrupted: set[str] = set()
        self.completed: list[str] = []
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """End :meth:`run` (the orders running are cancelled, the recurring monitors ended).

        An event rather than a task cancellation alone: a cancellation that
        arrives as the store wakes the agent may be absorbed by the wait
        (``asyncio.wait_for`` in Python 3.11), and the agent must still end.
        """
        self._stopping.set()

    async def run(self) -> None:
        """Join, then run this node's orders until cancelled or the membership is lost."""
        try:
            await self._retrying("join the cluster", self._join)
            self.ready.set()
            while not self._stopping.is_set():
                await self._retrying("read its work orders", self._serve_once)
        except GuardLost as error:
            log.critical("node %s lost its membership (%s): it acts on no work order any more",
                         self.node, error)
            self.lost.set()
        finally:
            for task in self._running.values():
                task.cancel()
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            await self.actions.monitors.close()

    async def _serve_once(self) -> None:
        """Claim what is pending for this node, then wait for the store to change."""
        seen = await self.store.revision()
        await self._look_at_own_state()
        for order in await self.store.work_orders(self.node):
            if order.state == ORDER_PENDING and order.id not in self._running:
                await self._claim(order)
        await self._wait_for_change(seen)

    async def _retrying(self, what: str, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` until it gets through: a store that fails for a while (an etcd election, a
        member frozen) does not end the agent (the node would leave with its resources running);
        only a lost membership (GuardLost) or a stop does."""
        delay = STORE_RETRY_S
        while not self._stopping.is_set():
            try:
                await step()
                return
            except GuardLost:
                raise
            except StoreError as error:
                log.error("node %s cannot %s, the store failed (%s); trying again in %.1f s", self.node,
                          what, error, delay)
                await self._wait_for_stop(delay)
                delay = next_delay(delay)

    async def _wait_for_stop(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _wait_for_change(self, seen: int) -> None:
        """Until the store moves past ``seen``, :meth:`stop` is asked, or ORDERS_POLL_S pass."""
        change = asyncio.ensure_future(self.store.wait_for_change(seen, timeout=ORDERS_POLL_S))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait([change, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            change.cancel()
            stopping.cancel()

    async def _look_at_own_state(self) -> None:
        """Keep this node's view of the cluster; react when the cluster recorded it fenced.

        A fence device that left this process running (a test device, a
        level that only cuts a service off) makes the node one that was reset:
        it stops what it ran (the cluster now starts it elsewhere), forgets it,
        and joins again, to be probed as after a reboot.
        """
        snapshot = await self.store.snapshot()
        state = snapshot.cluster.status.node(self.node)
        if state is None or recorded_online(state):
            self.view = snapshot.cluster
            return
        if state.expected != "down" or self.view is None:
            return
        log.critical("node %s was fenced while its vigil runs: it stops what it ran, then joins again",
                     self.node)
        await self._cancel_running()
        await stop_everything_here(self.actions, self.view, self.node, int(self.clock.time()))
        self.view = None
        await self._join()
        await self._finish_interrupted()

    async def stop_everything_here(self) -> int:
        """Self-fencing: end the running orders, stop (unrecorded) every resource here; how many."""
        await self._cancel_running()
        return await stop_everything_here(self.actions, self.view, self.node, int(self.clock.time()))

    async def rejoin(self) -> None:
        """After a self-fencing with the membership intact: a member again, to be probed."""
        self.view = None
        await self._join()
        await self._finish_interrupted()

    async def _cancel_running(self) -> None:
        """End the orders running here; they are completed as not done once the node is back."""
        self._interrupted.update(self._running)
        for task in self._running.values():
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _finish_interrupted(self) -> None:
        """Complete the orders this incarnation claimed and then abandoned (self-fencing, its own
        fencing) as not done: the controller waiting for them goes on, and plans again."""
        for order_id in sorted(self._interrupted):
            with contextlib.suppress(WorkOrderConflict):  # done meanwhile, or removed by the controller
                await self.store.complete_work_order(
                    self.node, order_id, encode_result(False, "interrupted: the node stopped everything"),
                    guard=self.incarnation)
            log.warning("work order %s was interrupted on %s: completed as not done", order_id, self.node)
        self._interrupted.clear()

    async def _join(self) -> None:
        """As a Pacemaker node rejoins: a member, its history forgotten (so it is probed again)."""
        await self.recorder.resume()
        snapshot = await self.store.snapshot()
        node_id = next((n.id for n in snapshot.cluster.config.nodes if n.uname == self.node), self.node)
        guard = self.incarnation
        await self.store.set_node_state(NodeState(id=node_id, uname=self.node, in_ccm="true", crmd="online",
                                                  join="member", expected="member"), guard=guard)
        await self.store.set_node_attribute(self.node, "shutdown", None, guard=guard)
        state = snapshot.cluster.status.node(self.node)
        for name in cleared_on_join(state):
            await self.store.set_node_attribute(self.node, name, None, guard=guard)
        for history in state.resources if state is not None else ():
            await self.store.forget_resource(self.node, history.id, guard=guard)
        log.info("node %s joined (incarnation %d); running its work orders", self.node, guard.revision)

    async def _claim(self, order: WorkOrder) -> None:
        try:
            claimed = await self.store.claim_work_order(self.node, order.id, incarnation=self.incarnation)
        except WorkOrderConflict as error:
            log.debug("work order %s not claimed: %s", order.id, error)
            return
        except GuardLost as error:
            if error.guard == self.incarnation:
                raise
            log.warning("work order %s of term %d not run: that controller was deposed", order.id, order.term)
            return
        task = asyncio.create_task(self._execute(claimed), name=f"work order {claimed.id}")
        self._running[claimed.id] = task

    async def _execute(self, order: WorkOrder) -> None:
        """Run a claimed order and complete it with its result (also when it could not be run)."""
        try:
            expected, detail = await self._run_action(order)
            while True:
                try:
                    await self.store.complete_work_order(self.node, order.id, encode_result(expected, detail),
                                                         guard=self.incarnation)
                    break
                except GuardLost:
                    raise
                except WorkOrderConflict as error:
                    log.error("work order %s could not be completed: %s", order.id, error)
                    break
                except StoreError as error:
                    log.error("work order %s: the store failed (%s); completing it again", order.id, error)
                    await self.clock.sleep(1.0)
            self.completed.append(order.id)
        except GuardLost as error:
            log.critical("node %s lost its membership while running %s (%s)", self.node, order.id, error)
            self.lost.set()
        except Exception:  # one order's bug must not take the agent down
            log.exception("work order %s failed", order.id)
        finally:
            self._running.pop(order.id, None)

    async def _run_action(self, order: WorkOrder) -> tuple[bool, str]:
        ordered = decode_action(order.action)
        action = ordered.action
        if action.node != self.node or action.resource is None:
            return False, f"an order for {action.node} cannot run on {self.node}"
        if (action.task not in SAFE_TASKS and self.lease_watch is not None
                and not self.lease_watch.may_start()):
            log.error("node %s refuses %s (work order %s): its membership lease may expire (%.1f s left)",
                      self.node, action.key, order.id, self.lease_watch.remaining_s())
            return False, "refused: this node's membership lease may expire"
        log.info("node %s runs %s (work order %s)", self.node, action.key, order.id)
        # The configuration and this node's state as they are now: the order was planned from
        # the same configuration (a change of it aborts the controller's transition anyway).
        snapshot = await self.store.snapshot()
        now = int(self.clock.time())
        config = snapshot.cluster.config
        run = TransitionRun(ordered.transition, ConfiguredPrimitives(config, now), snapshot.cluster,
                            controller_options(config, now))
        expected = await self.actions.run_agent_action(run, action)
        return expected, ""
