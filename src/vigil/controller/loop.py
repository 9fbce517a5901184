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
from collections.abc import Callable
from dataclasses import dataclass, field

from vigil.controller.escalation import Escalation
from vigil.controller.graph import GraphResult, run_graph
from vigil.controller.monitors import RecurringMonitors
from vigil.controller.recording import RecordContext, expected_rc, is_failure, record_result
from vigil.controller.requests import Catalog, PreparedAction, node_attributes, prepare
from vigil.controller.settings import ControllerOptions, controller_options
from vigil.events.exhausted import recovery_exhausted
from vigil.events.model import (
    CONTEXT_KEYS,
    EXEC_CANCELLED,
    NO_EVENTS,
    AttributeEvent,
    EventSink,
    NodeEvent,
    RecoveryExhausted,
    ResourceEvent,
)
from vigil.executor.executor import Executor
from vigil.executor.results import ActionResult, ExecStatus
from vigil.fencing.agent import FenceAgents
from vigil.fencing.fencer import Fencer
from vigil.model.activity import ControllerStats, MonitorKey, TransitionReport
from vigil.model.cluster import Cluster
from vigil.model.config import Config, Primitive
from vigil.model.failcounts import is_failure_attribute
from vigil.model.status import NodeState, ResourceHistory
from vigil.model.transition import Action, Transition
from vigil.scheduler import IncrementalScheduler
from vigil.store.base import ResourceRef, Snapshot, Store, StoreError

log = logging.getLogger(__name__)

# How many finished transitions are kept for `vigil status` and the API.
KEPT_TRANSITIONS = 20
# A store that refuses to read or record is tried again after this long, doubling
# up to the maximum: the controller never stops trying, and says so at error level.
STORE_RETRY_S = 0.25
STORE_RETRY_MAX_S = 5.0
# How long one result is retried before the action counts as failed (the
# transition is then aborted and the next cycle goes on trying).
RECORD_RETRY_S = 10.0

# The same transition planned this many times in a row from the same
# failures (run to its end, or aborted by an action that fails every time
# without being counted, such as fencing that cannot work) means the cluster
# cannot get where the plan leads: wait for a change.  A plan that keeps
# failing while the fail-counts rise is not stuck: it is recovery, and only
# migration-threshold ends it, as in Pacemaker.
REPEAT_LIMIT = 3


class _Repeats:
    """How many times in a row the same plan came back (see REPEAT_LIMIT)."""

    def __init__(self) -> None:
        self._last: object = None
        self.times = 0

    def count(self, plan: object) -> int:
        self.times = self.times + 1 if plan == self._last else 0
        self._last = plan
        return self.times

    def reset(self) -> None:
        self._last, self.times = None, 0


@dataclass(frozen=True)
class _Cycle:
    """What one transition's actions share."""

    number: int
    catalog: Catalog
    cluster: Cluster
    options: ControllerOptions
    # The stops that give up on a resource on a node, by action index, and
    # those whose on-recovery-exhausted policy is to be applied after the graph.
    exhausted: dict[int, RecoveryExhausted] = field(default_factory=dict)
    escalations: list[RecoveryExhausted] = field(default_factory=list)


class Controller:
    """Keeps the resources of one node where the scheduler wants them."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        node: str,
        *,
        clock: Callable[[], float] = time.time,
        events: EventSink = NO_EVENTS,
        fencer: Fencer | None = None,
        record_retry_s: float = RECORD_RETRY_S,
    ) -> None:
        self.store = store
        self.executor = executor
        self.node = node
        self.clock = clock
        self.record_retry_s = record_retry_s
        # Events (alerts): told of every result, node change, fencing, exhausted recovery.
        self.events = events
        self.escalation = Escalation(store, fencer or Fencer(FenceAgents(executor.spawner)), events, node,
                                     clock)
        self.instance = uuid.uuid4().hex[:12]
        self.monitors = RecurringMonitors(self._run_monitor, self._monitor_changed)
        self.transitions: deque[TransitionReport] = deque(maxlen=KEPT_TRANSITIONS)
        self.stats = ControllerStats()
        self.scheduler = IncrementalScheduler()
        # Set once the first transition after joining has run (or none was needed).
        self.settled = asyncio.Event()
        self._wake = asyncio.Event()
        self._wake_reason = "start-up"
        self._abort: asyncio.Event | None = None
        self._stopping = False
        self._leave_running = False
        self._shutdown_asked = False
        self._call_id = 0
        self._transition_number = 0
        self._monitor_keys: dict[MonitorKey, str] = {}
        self._start_failure_is_fatal = True
        # The parameters each running resource was started with: its stop uses them.
        self._start_params: dict[tuple[str, str], dict[str, str]] = {}
        self._node_id = node
        # Node attributes as the last cycle saw them (attribute events are their changes).
        self._attributes: dict[str, dict[str, str]] | None = None
        # (resource, node) whose exhausted recovery was reported and that has not started there since.
        self._exhausted_sent: set[tuple[str, str]] = set()

    # -- what the outside may ask ------------------------------------------------------

    def poke(self, reason: str) -> None:
        """Something changed (a command, the configuration): plan again soon.

        A transition in flight is aborted, as Pacemaker aborts on a CIB change:
        what runs finishes, nothing new starts, and the next plan sees the change.
        """
        self._wake_reason = reason
        self._wake.set()
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
                await self.store.set_node_attribute(self.node, "shutdown", str(int(self.clock())))
            except StoreError as error:
                log.error("cannot ask for this node's shutdown, the store failed (%s): stopping without "
                          "stopping the resources", error)
                leave_running = True
        self._stopping = True
        self._leave_running = self._leave_running or leave_running
        self.poke("shutdown requested" + (" (leaving resources running)" if self._leave_running else ""))

    def active_monitors(self) -> list[MonitorKey]:
        return self.monitors.active()

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
            await self.monitors.close()
        await self._leave()

    async def _join(self) -> None:
        snapshot = await self.store.snapshot()
        last_logged = await self.store.operation_log(limit=1)
        self._call_id = max(
            [op.call_id for n in snapshot.cluster.status.nodes for h in n.resources for op in h.ops]
            + [entry.record.call_id for entry in last_logged]
            + [0]
        )
        node_id = next((n.id for n in snapshot.cluster.config.nodes if n.uname == self.node), self.node)
        self._node_id = node_id
        await self.store.set_node_state(
            NodeState(id=node_id, uname=self.node, in_ccm="true", crmd="online", join="member",
                      expected="member")
        )
        self.events.emit(NodeEvent(self.node, node_id, "member", self.clock()))
        await self.store.set_node_attribute(self.node, "shutdown", None)
        state = snapshot.cluster.status.node(self.node)
        for history in state.resources if state is not None else ():
            await self.store.forget_resource(self.node, history.id)
        log.info("node %s joined; probing every resource to learn what runs here", self.node)

    async def _leave(self) -> None:
        snapshot = await self.store.snapshot()
        node_id = next((n.id for n in snapshot.cluster.config.nodes if n.uname == self.node), self.node)
        await self.store.set_node_state(
            NodeState(id=node_id, uname=self.node, in_ccm="false", crmd="offline", join="down",
                      expected="down")
        )
        self.events.emit(NodeEvent(self.node, node_id, "lost", self.clock()))
        log.info("node %s left the cluster", self.node)

    async def _cycle_until_stopped(self) -> None:
        repeats = _Repeats()
        delay = STORE_RETRY_S
        while True:
            errors_before = self.stats.store_errors
            try:
                if await self._cycle(repeats):
                    return
            except StoreError as error:
                self._store_failed(error, "read or write the cluster's state")
                # Not busy-looping on a broken store, yet never giving up on it.
                await self._pause(delay)
                delay = min(delay * 2, STORE_RETRY_MAX_S)
                continue
            delay = STORE_RETRY_S
            if self.stats.store_errors == errors_before:
                self._store_ok()

    async def _cycle(self, repeats: _Repeats) -> bool:
        """Observe, plan and run one transition (or wait for a change); whether to end."""
        snapshot = await self.store.snapshot()
        self._note_attributes(snapshot.cluster)
        now = int(self.clock())
        options = controller_options(snapshot.cluster.config, now)
        self._start_failure_is_fatal = options.start_failure_is_fatal
        await self._reconcile_monitors(snapshot)
        transition = self._plan(snapshot, now)
        work = [a for a in transition.actions if not a.pseudo]
        if self._stopping and (self._leave_running or not work):
            return True
        if not work:
            self.settled.set()
            repeats.reset()
            await self._idle(snapshot.revision, transition.recheck_by, options)
            return False
        plan = (tuple((a.task, a.resource, a.node, a.interval_ms) for a in work),
                _failure_attributes(snapshot.cluster))
        if repeats.count(plan) >= REPEAT_LIMIT:
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

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once for a poke (a stop request, a command)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    def _store_failed(self, error: StoreError, doing: str) -> None:
        """The store refused: loud in the log, the status and the metrics; the caller retries."""
        first = self.stats.store_failing_since is None
        self.stats.store_failed(error, self.clock())
        if first or self.stats.store_errors % 20 == 0:
            log.error("the store cannot %s (%d times so far; retrying until it can): %s", doing,
                      self.stats.store_errors, error)

    def _store_ok(self) -> None:
        if self.stats.store_ok():
            log.warning("the store works again")

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
            until = max(0.0, recheck_by - self.clock())
            timeout = until if timeout is None else min(timeout, until)
        if self._wake.is_set():
            self._wake.clear()
            return
        changed = asyncio.create_task(self.store.wait_for_change(revision))
        poked = asyncio.create_task(self._wake.wait())
        try:
            done, _ = await asyncio.wait({changed, poked}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            poked.cancel()
        if poked in done:
            self._wake.clear()
        elif changed in done:
            self._wake_reason = "a change in the store"
        else:
            self._wake_reason = "timer (failure-timeout or cluster-recheck-interval)"

    # -- one transition ------------------------------------------------------------------------

    async def _execute(self, transition: Transition, snapshot: Snapshot,
                       options: ControllerOptions) -> GraphResult:
        self._transition_number += 1
        number = self._transition_number
        cycle = _Cycle(number, Catalog(snapshot.cluster.config), snapshot.cluster, options,
                       recovery_exhausted(transition, snapshot.cluster, int(self.clock()), self.clock()))
        summary = tuple(line.render().removeprefix("* ") for line in transition.summary)
        work = [a for a in transition.actions if not a.pseudo]
        report = TransitionReport(number, self.clock(), summary, len(work), self._wake_reason)
        self.transitions.append(report)
        log.info("transition %d (after %s): %s", number, self._wake_reason, _describe(summary, work))
        self._wake.clear()
        abort = asyncio.Event()
        self._abort = abort
        try:
            result = await run_graph(transition, lambda action: self._run_action(cycle, action),
                                     limit=options.concurrency, abort=abort)
        finally:
            self._abort = None
        await self._escalate(cycle)
        report.finished = self.clock()
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

    async def _run_action(self, cycle: _Cycle, action: Action) -> bool:
        """Run one action; True when it did what the transition needed."""
        if action.node != self.node:
            log.error("%s is planned on node %s, but this vigil runs node %s only (a single-node store)",
                      action.key, action.node, self.node)
            return False
        try:
            if action.task == "stonith":
                fence_action = dict(action.meta).get("stonith_action", cycle.options.stonith_action)
                return await self._fence(cycle.cluster.config, action.node, fence_action,
                                         "the transition requires it")
            if action.task == "clear_failcount":
                return await self._clear_failcount(cycle, action)
            return await self._run_agent_action(cycle, action)
        except StoreError as error:
            log.error("%s on %s: the store failed: %s", action.key, action.node, error)
            return False

    async def _clear_failcount(self, cycle: _Cycle, action: Action) -> bool:
        if action.resource is None:
            return True
        placement = cycle.catalog.find(action.resource)
        history_id = placement.history_id(action.resource) if placement else action.resource
        await self.store.clear_failcount(self.node, history_id)
        log.info("cleared the fail-count of %s on %s", history_id, self.node)
        return True

    async def _run_agent_action(self, cycle: _Cycle, action: Action) -> bool:
        assert action.resource is not None
        prepared = self._prepare(cycle, action)
        if prepared is None:
            log.error("%s: %s is neither configured nor in %s's history; nothing to run",
                      action.key, action.resource, self.node)
            return False
        if action.task == "stop":
            await self._cancel_monitors(cycle.cluster, prepared, action.resource)
        result = await self.executor.run(prepared.request)
        expected = await self._record(cycle.number, action.index, prepared, result, dict(action.meta))
        if action.index in cycle.exhausted:
            self._gave_up(cycle, cycle.exhausted[action.index])
        params_key = (action.resource, self.node)
        if expected and action.task == "start":
            self._exhausted_sent.discard((prepared.history_id, self.node))
            self._start_params[params_key] = {
                k: v for k, v in prepared.request.params if not k.startswith("OCF_")
            }
        elif expected and action.task == "stop":
            self._start_params.pop(params_key, None)
        if expected and action.interval_ms > 0 and action.task == "monitor":
            key = MonitorKey(action.resource, self.node, action.interval_ms)
            self._monitor_keys[key] = self._transition_key(cycle.number, action.index, action)
            self.monitors.start(key, prepared, result)
        return expected

    def _prepare(self, cycle: _Cycle, action: Action) -> PreparedAction | None:
        assert action.resource is not None
        state = cycle.cluster.status.node(self.node)
        attrs = node_attributes(cycle.cluster.config, state, self.node, int(self.clock()))
        params = self._start_params.get((action.resource, self.node)) if action.task == "stop" else None
        catalog = cycle.catalog
        if catalog.find(action.resource) is None:
            history = _history_of(state, action.resource)
            if history is None:
                return None
            catalog = Catalog.for_orphan(cycle.cluster.config, _orphan_primitive(action.resource, history))
        return prepare(catalog, resource_id=action.resource, task=action.task,
                       interval_ms=action.interval_ms, node=self.node, node_attrs=attrs,
                       now=int(self.clock()), meta=dict(action.meta), params=params)

    async def _cancel_monitors(self, cluster: Cluster, prepared: PreparedAction, resource: str) -> None:
        """End a resource's recurring monitors before it stops, and drop their records.

        The ``RSC_last_failure_0`` copy of a failed monitor is kept, as Pacemaker
        keeps it: it is what "Failed Resource Actions" shows until a cleanup.
        """
        for key in self.monitors.cancel_resource(resource, self.node):
            self._monitor_keys.pop(key, None)
            self.events.emit(ResourceEvent(self.node, self._node_id, prepared.history_id, "monitor",
                                           key.interval_ms, 0, EXEC_CANCELLED, 0, 0, self.clock()))
        state = cluster.status.node(self.node)
        history = _history_of(state, prepared.history_id)
        recurring = [op.id for op in history.ops
                     if op.interval_ms > 0 and not op.id.endswith("_last_failure_0")] if history else []
        if recurring:
            await self.store.forget_operations(self.node, prepared.history_id, recurring)

    def _transition_key(self, number: int, index: int, action: Action) -> str:
        return f"{number}:{index}:{expected_rc(action.task, action.interval_ms)}:{self.instance}"

    async def _record(self, number: int, index: int, prepared: PreparedAction, result: ActionResult,
                      meta: dict[str, str], transition_key: str | None = None, *,
                      counted: bool = True) -> bool:
        """Commit a result (and its fail-count) to the store; whether the transition may go on.

        A store that refuses is asked again (the same record, the same call id)
        for ``record_retry_s`` (:data:`RECORD_RETRY_S`); then the :class:`StoreError` is raised,
        nothing having been recorded.  ``counted``: whether this run enters the
        action metrics (a recurring monitor's runs are counted as they run).
        """
        request = prepared.request
        self._call_id += 1
        key = transition_key or (
            f"{number}:{index}:{expected_rc(request.action, request.interval_ms)}:{self.instance}"
        )
        recorded = record_result(
            prepared, result,
            RecordContext(self._call_id, int(self.clock()), key, self._start_failure_is_fatal),
        )
        prim = prepared.placement.primitive
        ref = ResourceRef(prepared.history_id, prim.cls, prim.provider, prim.type)
        deadline = time.monotonic() + self.record_retry_s
        delay = STORE_RETRY_S
        while True:
            try:
                await self.store.record_operation(
                    self.node, ref, recorded.record, failcount_delta=recorded.failcount_delta,
                    attributes=dict(recorded.attributes), meta=meta, also=recorded.also,
                )
                break
            except StoreError as error:
                self._store_failed(error, f"record {recorded.record.id} on {self.node}")
                if time.monotonic() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORE_RETRY_MAX_S)
        self._store_ok()
        if counted:
            self.stats.count(_metrics_task(request.action, request.interval_ms), result.duration_ms / 1000,
                             recorded.is_failure)
        level = logging.WARNING if recorded.is_failure else logging.DEBUG
        log.log(level, "%s %s%s on %s: %s", request.resource_id, request.action,
                f" ({request.interval_ms} ms)" if request.interval_ms else "", self.node, result.describe())
        exec_time = result.duration_ms or (request.timeout_ms if result.status == ExecStatus.TIMEOUT else 0)
        self.events.emit(ResourceEvent(
            self.node, self._node_id, prepared.history_id, request.action, request.interval_ms,
            int(result.rc), int(result.status), expected_rc(request.action, request.interval_ms), exec_time,
            self.clock(), result.exit_reason, tuple((k, meta[k]) for k in CONTEXT_KEYS if k in meta)))
        return recorded.as_expected

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
                                                    self.clock()))

    def _gave_up(self, cycle: _Cycle, event: RecoveryExhausted) -> None:
        """The cluster gave up on a resource on a node: say so (once), and queue its policy."""
        key = (event.resource, event.node)
        if key in self._exhausted_sent:
            return
        self._exhausted_sent.add(key)
        log.warning("recovery exhausted: %s", event.describe())
        self.events.emit(event)
        if event.policy != "none":
            cycle.escalations.append(event)

    async def _escalate(self, cycle: _Cycle) -> None:
        """Apply the on-recovery-exhausted policies of this transition, once its graph has run."""
        for event in cycle.escalations:
            try:
                fenced = await self.escalation.recovery_exhausted(event, cycle.cluster.config, cycle.options)
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

    async def _fence(self, config: Config, target: str, action: str, why: str) -> bool:
        """Fence ``target`` for the transition; when that is this node, plan again from scratch."""
        fenced = await self.escalation.fence(config, target, action, why)
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
        await self.monitors.close()
        self._monitor_keys.clear()
        self._start_params.clear()
        self._exhausted_sent.clear()
        log.warning("node %s was fenced: probing every resource to learn what runs here", self.node)
        self.poke(f"node {self.node} was fenced")

    # -- recurring monitors ----------------------------------------------------------------------

    async def _run_monitor(self, prepared: PreparedAction) -> ActionResult:
        """One run of a recurring monitor, counted in the metrics whether or not its result changed."""
        request = prepared.request
        result = await self.executor.run(request)
        self.stats.count(_metrics_task(request.action, request.interval_ms), result.duration_ms / 1000,
                         is_failure(request.action, request.interval_ms, result))
        return result

    async def _monitor_changed(self, key: MonitorKey, prepared: PreparedAction, result: ActionResult) -> None:
        expected = await self._record(0, 0, prepared, result, {}, self._monitor_keys.get(key), counted=False)
        if not expected:
            self.poke(f"{key} failed: {result.describe()}")
        else:
            self.poke(f"{key} recovered: {result.describe()}")

    async def _reconcile_monitors(self, snapshot: Snapshot) -> None:
        """End monitors whose operation is no longer configured (Pacemaker cancels them too)."""
        catalog = Catalog(snapshot.cluster.config)
        for key in self.monitors.active():
            placement = catalog.find(key.resource)
            configured = placement is not None and any(
                op.name == "monitor" and op.interval_ms == key.interval_ms and op.enabled
                for op in placement.primitive.ops
            )
            if configured:
                continue
            self.monitors.cancel(key)
            self._monitor_keys.pop(key, None)
            history_id = placement.history_id(key.resource) if placement else key.resource
            await self.store.forget_operations(self.node, history_id,
                                               [f"{history_id}_monitor_{key.interval_ms}"])
            log.info("cancelled %s: no longer configured", key)


def _describe(summary: tuple[str, ...], work: list[Action]) -> str:
    if summary:
        return "; ".join(summary)
    counts: dict[str, int] = {}
    for action in work:
        name = "probe" if action.task == "monitor" and action.interval_ms == 0 else action.task
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{count} {name}{'s' if count > 1 else ''}" for name, count in sorted(counts.items()))


def _metrics_task(action: str, interval_ms: int) -> str:
    return "monitor (recurring)" if action == "monitor" and interval_ms > 0 else action


def _failure_attributes(cluster: Cluster) -> tuple[tuple[str, str, str], ...]:
    """Every node's fail-count and last-failure attributes: what a recovery changes each time."""
    return tuple((state.uname, name, value) for state in cluster.status.nodes
                 for name, value in state.attributes if is_failure_attribute(name))


def _history_of(state: NodeState | None, resource: str) -> ResourceHistory | None:
    if state is None:
        return None
    base = resource.rpartition(":")[0] if resource.rpartition(":")[2].isdigit() else resource
    for history in state.resources:
        if history.id in (resource, base):
            return history
    return None


def _orphan_primitive(resource: str, history: ResourceHistory) -> Primitive:
    """A removed resource, as its history remembers it, so that it can still be stopped."""
    return Primitive(id=history.id, cls=history.cls or "ocf", type=history.type or "",
                     provider=history.provider)
