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
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable
from dataclasses import replace

from vigil.controller.actions import ActionRunner, AgentActions, TransitionRun
from vigil.controller.clock import SYSTEM_CLOCK, Clock
from vigil.controller.escalation import Escalation
from vigil.controller.graph import GraphResult, Handler, Handlers, run_graph
from vigil.controller.health import STORE_RETRY_S, next_delay
from vigil.controller.membership import (
    as_planned,
    lost_nodes,
    lost_state,
    membership_change,
    stop_wait_s,
    unseen_nodes,
)
from vigil.controller.recording import RECORD_RETRY_S, Recorder
from vigil.controller.remote import RemoteActions
from vigil.controller.repeats import REPEAT_LIMIT, Repeats
from vigil.controller.reports import last_report_number, publish_report
from vigil.controller.requests import ConfiguredPrimitives
from vigil.controller.settings import ControllerOptions, controller_options
from vigil.controller.takeover import settle_earlier_orders
from vigil.events.exhausted import recovery_exhausted
from vigil.events.model import NO_EVENTS, AttributeEvent, EventSink, NodeEvent
from vigil.fencing.fencer import Fencer
from vigil.model.activity import ControllerStats, MonitorKey, TransitionReport
from vigil.model.cluster import Cluster
from vigil.model.node_attributes import cleared_on_join
from vigil.model.status import NodeState
from vigil.model.transition import Action, Transition
from vigil.output.graph import graph_json
from vigil.scheduler import IncrementalScheduler
from vigil.store.base import Snapshot, Store, StoreError, WorkOrderConflict
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
        local_agent: bool = True,
    ) -> None:
        self.store = store
        self.node = node
        self.clock = clock
        # Events (alerts): told of every result, node change, fencing, exhausted recovery.
        self.events = events
        self.escalation = Escalation(store, fencer, events, node, clock.time, guard=term)
        self.transitions: deque[TransitionReport] = deque(maxlen=KEPT_TRANSITIONS)
        self.stats = ControllerStats()
        self.recorder = Recorder(store, instance=uuid.uuid4().hex[:12], clock=clock, stats=self.stats,
                                 events=events, record_retry_s=record_retry_s)
        self.health = self.recorder.health
        self.actions = AgentActions(store, executor, self.recorder, clock, events=events,
                                    on_monitor_change=self.poke)
        self.recorder.on_unstored = self._stop_acting
        # Every write of a cluster's controller is guarded by its term: a deposed one changes nothing.
        self.recorder.guard = term
        self.term = term
        # The controller of a cluster: ``term`` (its leader key's guard) guards the work orders
        # through which other nodes' agents run their actions (docs/cluster.md).  None: one node.
        self.remote = RemoteActions(store, term, self.actions) if term is not None else None
        # False: this node's own agent actions go through work orders too, run by the node agent
        # beside this controller, which also keeps this node's membership (``vigil run`` on a
        # shared store); the controller then neither joins nor leaves as a node.
        self.local_agent = local_agent or term is None
        # Set once a write guarded by the term was refused: this controller acts no more.
        self.deposed = asyncio.Event()
        # Set when this controller's own node must be fenced and another member can do it: it
        # ends, and its node resigns the controller role so that another node fences it.
        self.handing_over = asyncio.Event()
        # A cluster's membership as the cycle being acted on read it (node -> incarnation), and
        # when each node recorded online was first seen without its membership key.
        self._members: dict[str, int] = {}
        self._missing_since: dict[str, float] = {}
        self._membership_due: float | None = None
        self._elected_at = clock.time()
        self._announced_wait = False
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
        if self.term is None:
            # One node: its reports stay in the store across restarts, numbered on from the last.
            self._transition_number = await last_report_number(self.store)
        if self.local_agent:
            await self._join()
        else:
            await self.recorder.resume()
            await self._take_over()
        try:
            await self._cycle_until_stopped()
        finally:
            await self.actions.monitors.close()
        if self.deposed.is_set() or not self.local_agent:
            return  # another controller leads: this one changes nothing more, not even its node's state
        await self._leave()

    async def _take_over(self) -> None:
        """A cluster's new controller: wait for the work orders of earlier terms still running."""
        assert self.term is not None
        snapshot = await self.store.snapshot()
        nodes = {n.uname for n in snapshot.cluster.config.nodes} | {
            s.uname for s in snapshot.cluster.status.nodes}
        try:
            await settle_earlier_orders(self.store, self.term, nodes)
        except GuardLost as error:
            self._deposed(error)

    async def _join(self) -> None:
        snapshot = await self.store.snapshot()
        await self.recorder.resume()
        await self._set_member()
        await self.store.set_node_attribute(self.node, "shutdown", None)
        state = snapshot.cluster.status.node(self.node)
        for name in cleared_on_join(state):
            await self.store.set_node_attribute(self.node, name, None)
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
        if self.deposed.is_set() or self.handing_over.is_set():
            return True
        if self.recorder.unstored:
            return await self._wait_until_stored()
        # Before the snapshot is read: a poke from now on is news to this cycle's plan.
        self._pokes_seen = self._pokes
        snapshot = await self.store.snapshot()
        now = int(self.clock.time())
        options = controller_options(snapshot.cluster.config, now)
        if self.term is not None:
            try:
                if await self._follow_membership(snapshot, options):
                    return False  # a node was recorded lost: plan from the store as it is now
            except GuardLost as error:
                self._deposed(error)
                return True
            if await self._wait_for_unseen_nodes(snapshot, options):
                return False
            snapshot = replace(snapshot, cluster=as_planned(snapshot.cluster, self._members, self.node))
        self._note_attributes(snapshot.cluster)
        self.recorder.start_failure_is_fatal = options.start_failure_is_fatal
        await self.actions.reconcile_monitors(ConfiguredPrimitives(snapshot.cluster.config, now))
        transition = self._plan(snapshot, now)
        work = [a for a in transition.actions if not a.pseudo]
        # A controller of a cluster that stops hands over once its own node has nothing left to do.
        mine = work if self.local_agent else [a for a in work if a.node == self.node]
        if self._stopping and (self._leave_running or not mine):
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
        """Wait for a change, a poke, a change of the membership, or the next time the plan may
        change by itself."""
        timeout = options.recheck_interval_s if options.recheck_interval_s > 0 else None
        for due in (recheck_by, self._membership_due):
            if due is not None:
                until = max(0.0, due - self.clock.time())
                timeout = until if timeout is None else min(timeout, until)
        if self._poked_since_snapshot():
            return  # news the plan did not have: plan again at once
        # Every poke so far came before the snapshot: it has been seen.
        self._wake.clear()
        waits: list[Awaitable[object]] = [self._wake.wait(), self.store.wait_for_change(revision)]
        if self.term is not None:
            waits.append(membership_change(self.store, self._members, self.clock))
        first = await self._wait_for_any(waits, timeout)
        if first == 0:
            self._wake.clear()
        elif first == 1:
            self._wake_reason = "a change in the store"
        elif first == 2:
            self._wake_reason = "a change of the membership"
        else:
            due = self._membership_due
            self._wake_reason = ("timer (a lost node must have stopped its resources by now)"
                                 if due is not None and self.clock.time() >= due
                                 else "timer (failure-timeout or cluster-recheck-interval)")

    # -- a cluster's membership ------------------------------------------------------------------

    async def _wait_for_unseen_nodes(self, snapshot: Snapshot, options: ControllerOptions) -> bool:
        """A new controller waits up to ``dc-deadtime`` for configured nodes that never joined;
        whether it waited (the caller then looks again)."""
        unseen = [node for node in unseen_nodes(snapshot.cluster) if node != self.node]
        if not unseen:
            return False
        due = self._elected_at + options.dc_deadtime_s
        if self.clock.time() >= due:
            return False
        if not self._announced_wait:
            log.info("waiting up to %.0f s (dc-deadtime) for %s to join before planning",
                     due - self.clock.time(), ", ".join(unseen))
            self._announced_wait = True
        self._membership_due = due if self._membership_due is None else min(self._membership_due, due)
        await self._idle(snapshot.revision, None, options)
        return True

    async def _follow_membership(self, snapshot: Snapshot, options: ControllerOptions) -> bool:
        """Read the membership; record the nodes that are lost (see :mod:`vigil.controller.membership`).

        Whether a node was recorded lost (the caller then plans from a new snapshot).
        """
        assert self.term is not None
        members = await self.store.members()
        self._members = members
        cluster = snapshot.cluster
        now = self.clock.time()
        # The controller's own node is alive: it is this process (its term lives on its lease).
        lost = [node for node in lost_nodes(cluster, members) if node != self.node]
        for node in list(self._missing_since):
            if node not in lost:
                del self._missing_since[node]
        self._membership_due = None
        recorded = False
        for node in lost:
            state = cluster.status.node(node)
            assert state is not None
            since = self._missing_since.setdefault(node, now)
            if not options.stonith_enabled:
                # Nothing confirms that it stopped: it stops by itself; wait as long as that may take.
                due = since + stop_wait_s(cluster, node, int(now))
                if now < due:
                    self._membership_due = due if self._membership_due is None else min(self._membership_due,
                                                                                        due)
                    log.warning("node %s is lost; fencing is disabled: its resources start elsewhere once "
                                "it must have stopped them by itself (in %.0f s)", node, due - now)
                    continue
            fenced = options.stonith_enabled
            await self.store.set_node_state(lost_state(state, fenced_by_cluster=fenced), guard=self.term)
            for order in await self.store.work_orders(node):
                with contextlib.suppress(WorkOrderConflict):
                    await self.store.remove_work_order(node, order.id, guard=self.term)
            del self._missing_since[node]
            self.events.emit(NodeEvent(node, state.id, "lost", now))
            log.warning("node %s is lost (its membership lease expired)%s", node,
                        ": it will be fenced before its resources are recovered" if fenced
                        else ": recorded down, its resources may start elsewhere")
            recorded = True
        return recorded

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
        report = TransitionReport(number, now, summary, len(work), self._wake_reason,
                                  graph=graph_json(transition))
        self.transitions.append(report)
        await self._publish(report)
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
        if not self.deposed.is_set() and not self.handing_over.is_set():
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
        await self._publish(report)
        return result

    async def _publish(self, report: TransitionReport) -> None:
        """Into the store, for `vigil status` on every node (never stopping the controller)."""
        try:
            await publish_report(self.store, report, self.term)
        except GuardLost as error:
            self._deposed(error)

    def _handlers(self, run: TransitionRun) -> Handlers:
        """The daemon's table: agents through the executor, fencing through the fencer,
        each only on this node, a store failure failing the action (the next cycle retries)."""

        async def fence(action: Action) -> bool:
            fence_action = dict(action.meta).get("stonith_action", run.options.stonith_action)
            assert action.node is not None
            if fence_action == "on":
                return await self.escalation.unfence(run.cluster.config, action.node,
                                                     "the transition requires it")
            if await self._hand_over_own_fencing(action.node):
                return False
            return await self._fence(run, action.node, fence_action, "the transition requires it")

        remote = self.remote

        async def agent(action: Action) -> bool:
            if remote is not None and (action.node != self.node or not self.local_agent):
                return await remote.run(run, action)  # a work order for that node's agent
            return await self.actions.run_agent_action(run, action)

        table = Handlers(agent=agent, fencing=fence,
                         cluster=lambda action: self.actions.clear_failcount(run, action))
        cluster = remote is not None
        return Handlers(self._on_this_node(table.agent, remote=cluster),
                        self._on_this_node(table.fencing, remote=cluster),
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

    async def _hand_over_own_fencing(self, target: str) -> bool:
        """A cluster's controller does not fence its own node while another member can: it ends,
        and its node resigns the role; the next controller plans the same fencing and runs it."""
        if self.term is None or target != self.node:
            return False
        others = [node for node in await self.store.members() if node != self.node]
        if not others:
            log.error("node %s must be fenced and is the only member: it runs the fencing itself", target)
            return False
        log.warning("node %s must be fenced: handing the controller role over (to one of %s) to do it",
                    target, ", ".join(sorted(others)))
        self.handing_over.set()
        if self._abort is not None:
            self._abort.set()
        self._wake.set()
        return True

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
            except GuardLost as error:
                self._deposed(error)
                return
            except StoreError as error:
                log.error("on-recovery-exhausted=%s for %s on %s: the store failed: %s", event.policy,
                          event.resource, event.node, error)
                continue
            except Exception:  # a policy's bug must not take the controller down
                log.exception("on-recovery-exhausted=%s for %s on %s failed", event.policy, event.resource,
                              event.node)
                continue
            if fenced and event.node == self.node and self.local_agent:
                await self._rejoin_after_fencing()

    async def _fence(self, run: TransitionRun, target: str, action: str, why: str) -> bool:
        """Fence ``target`` for the transition; when that is this node, plan again from scratch."""
        fenced = await self.escalation.fence(run.cluster.config, target, action, why)
        if fenced and target == self.node and self.local_agent:
            await self._rejoin_after_fencing()
        return fenced

    async def fenced_on_request(self, target: str) -> None:
        """``target`` was fenced, or confirmed down, at an operator's request (``vigil node fence``,
        outside any transition): plan again; this node first rejoins, as after any fencing of it."""
        if target == self.node and self.local_agent:
            await self._rejoin_after_fencing()
        else:
            self.poke(f"node {target} fenced on request")

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
