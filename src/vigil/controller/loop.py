"""The controller: observe, schedule, run the graph, record, and again.

This is the one place where the loop, time and side effects meet (DESIGN.md).
Each cycle reads one snapshot of the store, asks the pure scheduler what to
do, runs the transition through the executor, and records every result in
the store *before* anything acts on it.  It cycles again whenever something
changes: an operation result, a command, the configuration, a recurring
monitor whose result changed, or a timer (a failure-timeout expiring, the
``cluster-recheck-interval`` fail-safe).

On start the node joins as a Pacemaker node rejoins: its operation history
is forgotten (fail-counts, which are attributes, are kept) and the scheduler
probes every resource to learn what is really running, so a controller that
was killed never acts on what it believed before it died.  On a graceful
stop the node asks to shut down and the scheduler stops everything here,
each stop told ``stop_reason=shutdown``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable

from vigil.controller.actions import ActionRunner, AgentActions, TransitionRun
from vigil.controller.clock import SYSTEM_CLOCK, Clock
from vigil.controller.escalation import Escalation
from vigil.controller.graph import GraphResult, Handler, Handlers, run_graph
from vigil.controller.health import STORE_RETRY_S, next_delay
from vigil.controller.recording import RECORD_RETRY_S, Recorder
from vigil.controller.remote import RemoteActions
from vigil.controller.repeats import REPEAT_LIMIT, Repeats
from vigil.controller.requests import ConfiguredPrimitives
from vigil.controller.settings import ControllerOptions, controller_options
from vigil.events.exhausted import recovery_exhausted
from vigil.events.model import NO_EVENTS, AttributeEvent, EventSink, NodeEvent
from vigil.fencing.fencer import Fencer
from vigil.model.activity import ControllerStats, MonitorKey, TransitionReport
from vigil.model.cluster import Cluster
from vigil.model.status import NodeState
from vigil.model.transition import Action, Transition
from vigil.scheduler import IncrementalScheduler
from vigil.store.base import Snapshot, Store, StoreError
from vigil.store.coord import Guard, GuardLost

log = logging.getLogger(__name__)

# How many finished transitions are kept for `vigil status` and the API.
KEPT_TRANSITIONS = 20

class Controller:
    """Keeps the resources of one node where the scheduler wants them.

    ``executor`` runs the agents (:class:`~vigil.executor.executor.Executor`,
    or :class:`vigil.testing.ScriptedExecutor`), ``clock`` is all the time the
    loop reads or waits on (:class:`vigil.testing.FakeClock` in tests).
    """

    def __init__(
        self,
        store: Store,
        executor: ActionRunner,
        node: str,
        *,
        fencer: Fencer,
        clock: Clock = SYSTEM_CLOCK,
        events: EventSink = NO_EVENTS,
        record_retry_s: float = RECORD_RETRY_S,
        term: Guard | None = None,
    ) -> None:
        self.store = store
        self.node = node
        self.clock = clock
        # Events (alerts): told of every result, node change, fencing, exhausted recovery.
        self.events = events
        self.escalation = Escalation(store, fencer, events, node, clock.time)
        self.transitions: deque[TransitionReport] = deque(maxlen=KEPT_TRANSITIONS)
        self.stats = ControllerStats()
        self.recorder = Recorder(store, instance=uuid.uuid4().hex[:12], clock=clock, stats=self.stats,
                                 events=events, record_retry_s=record_retry_s)
        self.health = self.recorder.health
        self.actions = AgentActions(store, executor, self.recorder, clock, events=events,
                                    on_monitor_change=self.poke)
        self.recorder.on_unstored = self._stop_acting
        # The controller of a cluster: ``term`` (its leader key's guard) guards the work orders
        # through which other nodes' agents run their actions (docs/cluster.md).  None: one node.
        self.remote = RemoteActions(store, term, self.actions) if term is not None else None
        # Set once a write guarded by the term was refused: this controller acts no more.
        self.deposed = asyncio.Event()
        self.scheduler = IncrementalScheduler()
        # Set once the first transition after joining has run (or none was needed).
        self.settled = asyncio.Event()
        self._wake = asyncio.Event()
        # Pokes so far, and how many there had been when the snapshot being acted on was read:
        # a poke after that snapshot is a change the plan does not know (never cleared, aborts it).
        self._pokes = 0
        self._pokes_seen = 0
        self._wake_reason = "start-up"
        self._abort: asyncio.Event | None = None
        self._stopping = False
        self._leave_running = False
        self._shutdown_asked = False
        self._transition_number = 0
        # Node attributes as the last cycle saw them (attribute events are their changes).
        self._attributes: dict[str, dict[str, str]] | None = None

    # -- what the outside may ask ------------------------------------------------------

    def poke(self, reason: str) -> None:
        """Something changed (a command, the configuration): plan again soon.

        A transition in flight is aborted, as Pacemaker aborts on a CIB change:
        what runs finishes, nothing new starts, and the next plan sees the change.
        """
        self._wake_reason = reason
        self._pokes += 1
        self._wake.set()
        if self._abort is not None:
            self._abort.set()

    def _stop_acting(self, what: str) -> None:
        """A result that happened could not be stored in time: start nothing more until it is.

        The transition in flight is aborted (what runs finishes, nothing new
        starts); the next cycle waits until the recorder has stored every
        result (:meth:`Recorder.wait_all_stored`) before it plans again.
        """
        if self._abort is not None:
            self._abort.set()

    async def stop(self, *, leave_running: bool = False) -> None:
        """Ask the controller to end: stop every resource here first, unless ``leave_running``.

        Asked again with ``leave_running``, it ends after the actions in flight.
        The ``shutdown`` attribute is written before the controller counts as
        stopping: a plan made in between, from a snapshot without it, would
        find nothing to do and end the controller with every resource running.
        """
        if self._leave_running or (self._stopping and not leave_running):
            return
        if not leave_running:
            if self._shutdown_asked:
                return
            self._shutdown_asked = True
            try:
                await self.store.set_node_attribute(self.node, "shutdown", str(int(self.clock.time())))
            except StoreError as error:
                log.error("cannot ask for this node's shutdown, the store failed (%s): stopping without "
                          "stopping the resources", error)
                leave_running = True
        self._stopping = True
        self._leave_running = self._leave_running or leave_running
        self.poke("shutdown requested" + (" (leaving resources running)" if self._leave_running else ""))

    def active_monitors(self) -> list[MonitorKey]:
        return self.actions.monitors.active()

    @property
    def last_transition(self) -> TransitionReport | None:
        return self.transitions[-1] if self.transitions else None

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Join, then cycle until :meth:`stop` is done."""
        await self._join()
        try:
            await self._cycle_until_stopped()
        finally:
            await self.actions.monitors.close()
        if self.deposed.is_set():
            return  # another controller leads: this one changes nothing more, not even its node's state
        await self._leave()

    async def _join(self) -> None:
        snapshot = await self.store.snapshot()
        await self.recorder.resume()
        await self._set_member()
        await self.store.set_node_attribute(self.node, "shutdown", None)
        state = snapshot.cluster.status.node(self.node)
        for history in state.resources if state is not None else ():
            await self.store.forget_resource(self.node, history.id)
        log.info("node %s joined; probing every resource to learn what runs here", self.node)

    async def _set_member(self) -> str:
        """Record this node as an online member (joining, or back after being fenced); its id."""
        snapshot = await self.store.snapshot()
        node_id = next((n.id for n in snapshot.cluster.config.nodes if n.uname == self.node), self.node)
        await self.store.set_node_state(
            NodeState(id=node_id, uname=self.node, in_ccm="true", crmd="online", join="member",
                      expected="member")
        )
        self.events.emit(NodeEvent(self.node, node_id, "member", self.clock.time()))
        return node_id

    async def _leave(self) -> None:
        snapshot = await self.store.snapshot()
        node_id = next((n.id for n in snapshot.cluster.config.nodes if n.uname == self.node), self.node)
        await self.store.set_node_state(
            NodeState(id=node_id, uname=self.node, in_ccm="false", crmd="offline", join="down",
                      expected="down")
        )
        self.events.emit(NodeEvent(self.node, node_id, "lost", self.clock.time()))
        log.info("node %s left the cluster", self.node)

    async def _cycle_until_stopped(self) -> None:
        repeats = Repeats()
        delay = STORE_RETRY_S
        while True:
            errors_before = self.stats.store_errors
            try:
                if await self._cycle(repeats):
                    return
            except StoreError as error:
                self.health.failed(error, "read or write the cluster's state")
                # Not busy-looping on a broken store, yet never giving up on it.
                await self._pause(delay)
                delay = next_delay(delay)
                continue
            delay = STORE_RETRY_S
            if self.stats.store_errors == errors_before:
                self.health.ok()

    async def _cycle(self, repeats: Repeats) -> bool:
        """Observe, plan and run one transition (or wait for a change); whether to end."""
        if self.deposed.is_set():
            return True
        if self.recorder.unstored:
            return await self._wait_until_stored()
        # Before the snapshot is read: a poke from now on is news to this cycle's plan.
        self._pokes_seen = self._pokes
        snapshot = await self.store.snapshot()
        self._note_attributes(snapshot.cluster)
        now = int(self.clock.time())
        options = controller_options(snapshot.cluster.config, now)
        self.recorder.start_failure_is_fatal = options.start_failure_is_fatal
        await self.actions.reconcile_monitors(ConfiguredPrimitives(snapshot.cluster.config, now))
        transition = self._plan(snapshot, now)
        work = [a for a in transition.actions if not a.pseudo]
        if self._stopping and (self._leave_running or not work):
            return True
        if not work:
            self.settled.set()
            repeats.reset()
            await self._idle(snapshot.revision, transition.recheck_by, options)
            return False
        if repeats.count(transition, snapshot.cluster) >= REPEAT_LIMIT:
            log.error(
                "the same transition was planned %d times and cannot reach its goal "
                "(%s); waiting for a change before trying again",
                repeats.times,
                "; ".join(line.render() for line in transition.summary) or f"{len(work)} actions",
            )
            repeats.reset()
            # From now: the failed attempts' own records are not the change awaited.
            await self._idle(await self.store.revision(), transition.recheck_by, options)
            return False
        result = await self._execute(transition, snapshot, options)
        if result.is_complete:
            self.settled.set()
        return False

    async def _wait_until_stored(self) -> bool:
        """Act on nothing while a result that happened is not in the store; whether to end.

        The recorder keeps trying to store it (and says so); a plan made
        meanwhile would be made without it, so none is made.  A stop that
        leaves the resources running ends the wait (the result is then
        retried until the process ends).
        """
        log.error("not acting on node %s until these results are stored: %s", self.node,
                  "; ".join(self.recorder.unstored))
        while self.recorder.unstored:
            if self._stopping and self._leave_running:
                return True
            await self._wait_for_any([self.recorder.wait_all_stored(), self._wake.wait()], None)
            self._wake.clear()
        log.warning("every result is stored: node %s acts again", self.node)
        self._wake_reason = "results stored at last"
        return False

    def _poked_since_snapshot(self) -> bool:
        return self._pokes != self._pokes_seen

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once for a poke (a stop request, a command)."""
        await self._wait_for_any([self._wake.wait()], seconds)
        self._wake.clear()

    async def _wait_for_any(self, waits: list[Awaitable[object]], timeout: float | None) -> int | None:
        """Wait for the first of ``waits`` to end: its position; None when ``timeout`` seconds
        passed on the clock first."""
        tasks = [asyncio.ensure_future(wait) for wait in waits]
        timer = asyncio.ensure_future(self.clock.sleep(timeout)) if timeout is not None else None
        try:
            done, _ = await asyncio.wait([*tasks, *([timer] if timer else [])],
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [*tasks, *([timer] if timer else [])]:
                task.cancel()
        return next((position for position, task in enumerate(tasks) if task in done), None)

    def _plan(self, snapshot: Snapshot, now: int) -> Transition:
        """The scheduler's plan for this snapshot (re-planning only what changed
        since the last one, see vigil.scheduler.incremental)."""
        started = time.perf_counter()
        transition = self.scheduler.schedule(snapshot.cluster, now)
        seconds = time.perf_counter() - started
        mode = self.scheduler.last_mode
        self.stats.count_plan(mode.split(":", 1)[0], seconds)
        log.debug("planned revision %d in %.3f s (%s)", snapshot.revision, seconds, mode)
        return transition

    async def _idle(self, revision: int, recheck_by: int | None, options: ControllerOptions) -> None:
        """Wait for a change, a poke, or the next time the plan may change by itself."""
        timeout = options.recheck_interval_s if options.recheck_interval_s > 0 else None
        if recheck_by is not None:
            until = max(0.0, recheck_by - self.clock.time())
            timeout = until if timeout is None else min(timeout, until)
        if self._poked_since_snapshot():
            return  # news the plan did not have: plan again at once
        # Every poke so far came before the snapshot: it has been seen.
        self._wake.clear()
        first = await self._wait_for_any([self._wake.wait(), self.store.wait_for_change(revision)], timeout)
        if first == 0:
            self._wake.clear()
        elif first == 1:
            self._wake_reason = "a change in the store"
        else:
            self._wake_reason = "timer (failure-timeout or cluster-recheck-interval)"

    # -- one transition ------------------------------------------------------------------------

    async def _execute(self, transition: Transition, snapshot: Snapshot,
                       options: ControllerOptions) -> GraphResult:
        self._transition_number += 1
        number = self._transition_number
        now = self.clock.time()
        run = TransitionRun(number, ConfiguredPrimitives(snapshot.cluster.config, int(now)), snapshot.cluster,
                            options, recovery_exhausted(transition, snapshot.cluster, int(now), now))
        summary = tuple(line.render().removeprefix("* ") for line in transition.summary)
        work = [a for a in transition.actions if not a.pseudo]
        report = TransitionReport(number, now, summary, len(work), self._wake_reason)
        self.transitions.append(report)
        log.info("transition %d (after %s): %s", number, self._wake_reason, _describe(summary, work))
        abort = asyncio.Event()
        self._abort = abort
        if self._poked_since_snapshot() or self.recorder.unstored:
            # Planned from a snapshot older than a command (or a result not stored): nothing of it runs.
            abort.set()
        else:
            self._wake.clear()
        try:
            result = await run_graph(transition, self._handlers(run), limit=options.concurrency, abort=abort)
        finally:
            self._abort = None
        if not self.deposed.is_set():
            await self._escalate(run)
        report.finished = self.clock.time()
        self.stats.transitions += 1
        if result.is_complete:
            report.outcome = "complete"
            log.info("transition %d complete: %d actions in %.1f s", number, len(result.completed),
                     report.finished - report.started)
        else:
            self.stats.aborted_transitions += 1
            report.outcome = f"aborted: {result.abort_reason}"
            log.info("transition %d aborted (%s): %d done, %d failed, %d not started; planning again",
                     number, result.abort_reason, len(result.completed), len(result.failed),
                     len(result.not_started))
        return result

    def _handlers(self, run: TransitionRun) -> Handlers:
        """The daemon's table: agents through the executor, fencing through the fencer,
        each only on this node, a store failure failing the action (the next cycle retries)."""

        async def fence(action: Action) -> bool:
            fence_action = dict(action.meta).get("stonith_action", run.options.stonith_action)
            assert action.node is not None
            return await self._fence(run, action.node, fence_action, "the transition requires it")

        remote = self.remote

        async def agent(action: Action) -> bool:
            if remote is not None and action.node != self.node:
                return await remote.run(run, action)  # a work order for that node's agent
            return await self.actions.run_agent_action(run, action)

        table = Handlers(agent=agent, fencing=fence,
                         cluster=lambda action: self.actions.clear_failcount(run, action))
        cluster = remote is not None
        return Handlers(self._on_this_node(table.agent, remote=cluster), self._on_this_node(table.fencing),
                        self._on_this_node(table.cluster, remote=cluster), table.pseudo)

    def _on_this_node(self, handler: Handler, *, remote: bool = False) -> Handler:
        """Refuse an action planned on another node unless ``remote`` (a controller of a cluster
        hands agent actions over as work orders and changes other nodes' records itself); a lost
        term ends this controller."""

        async def guarded(action: Action) -> bool:
            if action.node != self.node and not remote:
                log.error("%s is planned on node %s, but this vigil runs node %s only (a single-node store)",
                          action.key, action.node, self.node)
                return False
            try:
                return await handler(action)
            except GuardLost as error:
                self._deposed(error)
                return False
            except StoreError as error:
                log.error("%s on %s: the store failed: %s", action.key, action.node, error)
                return False

        return guarded

    def _deposed(self, error: GuardLost) -> None:
        """A write guarded by the term was refused: another controller leads; act no more."""
        if not self.deposed.is_set():
            log.critical("node %s is no longer the controller (%s): it stops acting as controller",
                         self.node, error)
        self.deposed.set()
        if self._abort is not None:
            self._abort.set()
        self._wake.set()

    # -- events, fencing, exhausted recovery ----------------------------------------------------

    def _note_attributes(self, cluster: Cluster) -> None:
        """Report every node attribute that changed since the last cycle (attribute events)."""
        current = {state.uname: dict(state.attributes) for state in cluster.status.nodes}
        previous, self._attributes = self._attributes, current
        if previous is None:
            return
        ids = {node.uname: node.id for node in cluster.config.nodes}
        for node in sorted(set(current) | set(previous)):
            now, before = current.get(node, {}), previous.get(node, {})
            for name in sorted(set(now) | set(before)):
                if now.get(name) != before.get(name):
                    self.events.emit(AttributeEvent(node, ids.get(node, node), name, now.get(name),
                                                    self.clock.time()))

    async def _escalate(self, run: TransitionRun) -> None:
        """Apply the on-recovery-exhausted policies of this transition, once its graph has run."""
        for event in run.escalations:
            try:
                fenced = await self.escalation.recovery_exhausted(event, run.cluster.config, run.options)
            except StoreError as error:
                log.error("on-recovery-exhausted=%s for %s on %s: the store failed: %s", event.policy,
                          event.resource, event.node, error)
                continue
            except Exception:  # a policy's bug must not take the controller down
                log.exception("on-recovery-exhausted=%s for %s on %s failed", event.policy, event.resource,
                              event.node)
                continue
            if fenced and event.node == self.node:
                await self._rejoin_after_fencing()

    async def _fence(self, run: TransitionRun, target: str, action: str, why: str) -> bool:
        """Fence ``target`` for the transition; when that is this node, plan again from scratch."""
        fenced = await self.escalation.fence(run.cluster.config, target, action, why)
        if fenced and target == self.node:
            await self._rejoin_after_fencing()
        return fenced

    async def _rejoin_after_fencing(self) -> None:
        """This node was fenced (its state is forgotten): forget what ran here, probe again.

        A real fencing device resets the machine and vigil with it; one that
        leaves vigil running (a test device, a fence_compute level) finds
        this node as after a reboot: nothing believed running, nothing
        monitored, every resource probed.
        """
        await self.actions.forget_what_ran()
        # Recorded down (expected=down) by the fencing; back as a member, as after a reboot.
        await self._set_member()
        log.warning("node %s was fenced: probing every resource to learn what runs here", self.node)
        self.poke(f"node {self.node} was fenced")


def _describe(summary: tuple[str, ...], work: list[Action]) -> str:
    if summary:
        return "; ".join(summary)
    counts: dict[str, int] = {}
    for action in work:
        name = "probe" if action.task == "monitor" and action.interval_ms == 0 else action.task
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{count} {name}{'s' if count > 1 else ''}" for name, count in sorted(counts.items()))
