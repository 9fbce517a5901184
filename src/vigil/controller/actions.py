"""The handlers of a transition's agent actions and cluster operations, over a store.

An agent action is prepared from the configuration (:mod:`vigil.controller.requests`),
run by the executor, and recorded (:class:`~vigil.controller.recording.Recorder`)
before the transition goes on; a stop first ends the resource's recurring
monitors, a recurring monitor's first run hands it to
:class:`~vigil.controller.monitors.RecurringMonitors`.  A ``clear_failcount``
only changes the records.  The daemon's controller and ``vigil simulate
--steps`` both run these same handlers (the simulator with a scripted
executor over a memory store), so what one records the other records too.

The handlers act on the node each action names; the daemon's controller
lets through only actions on its own node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from vigil.controller.clock import Clock
from vigil.controller.monitors import RecurringMonitors
from vigil.controller.recording import Recorder, is_failure, metrics_task, role_of
from vigil.controller.requests import ConfiguredPrimitives, PreparedAction, node_attributes, prepare
from vigil.controller.settings import ControllerOptions
from vigil.events.model import NO_EVENTS, EventSink, RecoveryExhausted, ResourceEvent
from vigil.executor.request import ActionRequest
from vigil.executor.results import ActionResult
from vigil.model.activity import MonitorKey
from vigil.model.cluster import Cluster
from vigil.model.config import Primitive
from vigil.model.results import ExecStatus
from vigil.model.status import NodeState, ResourceHistory
from vigil.model.transition import Action
from vigil.store.base import Store

log = logging.getLogger(__name__)


class ActionRunner(Protocol):
    """What the controller asks of an executor: run one action, give its result
    (:class:`vigil.executor.executor.Executor`; :class:`vigil.testing.ScriptedExecutor`)."""

    async def run(self, request: ActionRequest) -> ActionResult: ...


@dataclass
class TransitionRun:
    """What one transition's actions share: its number, the configuration and state it was
    planned from, and the exhausted recoveries it brings about."""

    number: int
    primitives: ConfiguredPrimitives
    cluster: Cluster
    options: ControllerOptions
    # The stops that give up on a resource on a node, by action index, and
    # those whose on-recovery-exhausted policy is to be applied after the graph.
    exhausted: dict[int, RecoveryExhausted] = field(default_factory=dict)
    escalations: list[RecoveryExhausted] = field(default_factory=list)


class AgentActions:
    """Runs agent actions and cluster operations, records them, and keeps the recurring monitors.

    ``on_monitor_change`` is told (with a reason) when a recurring monitor's
    result changed and was recorded: the controller plans again.
    """

    def __init__(self, store: Store, executor: ActionRunner, recorder: Recorder, clock: Clock, *,
                 events: EventSink = NO_EVENTS,
                 on_monitor_change: Callable[[str], None] = lambda reason: None) -> None:
        self.store = store
        self.executor = executor
        self.recorder = recorder
        self.clock = clock
        self.events = events
        self.on_monitor_change = on_monitor_change
        self.monitors = RecurringMonitors(self._run_monitor, self._monitor_changed, clock.sleep)
        # The transition key each recurring monitor was started by: its later results keep it.
        self._monitor_keys: dict[MonitorKey, str] = {}
        # The changed result each recurring monitor is reporting, with its call id, until recorded.
        self._monitor_calls: dict[MonitorKey, tuple[ActionResult, int]] = {}
        # The parameters each running resource was started with: its stop uses them.
        self._start_params: dict[tuple[str, str], dict[str, str]] = {}
        # (resource, node) whose exhausted recovery was reported and that has not started there since.
        self._exhausted_sent: set[tuple[str, str]] = set()

    async def forget_what_ran(self) -> None:
        """The node was reset (fenced): nothing is believed running or monitored any more."""
        await self.monitors.close()
        self._monitor_keys.clear()
        self._start_params.clear()
        self._exhausted_sent.clear()

    # -- the handlers ----------------------------------------------------------------------

    async def run_agent_action(self, run: TransitionRun, action: Action) -> bool:
        """Run, record and follow up one agent action; True when it did what the transition needed."""
        assert action.resource is not None and action.node is not None
        node = action.node
        prepared = self.prepare(run, action)
        if prepared is None:
            log.error("%s: %s is neither configured nor in %s's history; nothing to run",
                      action.key, action.resource, node)
            return False
        if cancels_recurring(action.task, action.interval_ms):
            await self._cancel_monitors(run.cluster, prepared, action.resource, node)
        key = self.recorder.transition_key(run.number, action.index, action.task, action.interval_ms,
                                           role_of(prepared.request))
        if dict(action.meta).get("record_pending") == "true":
            await self.recorder.record_pending(prepared, dict(action.meta), key)
        result = await self.executor.run(prepared.request)
        expected = await self.recorder.record(prepared, result, dict(action.meta), key)
        if action.index in run.exhausted:
            self._gave_up(run, run.exhausted[action.index])
        params_key = (prepared.history_id, node)
        if expected and action.task in ("start", "migrate_from"):  # now running here
            self._exhausted_sent.discard((prepared.history_id, node))
            self._start_params[params_key] = {
                k: v for k, v in prepared.request.params if not k.startswith("OCF_")
            }
        elif expected and action.task == "stop":
            self._start_params.pop(params_key, None)
        if expected and action.interval_ms > 0 and action.task == "monitor":
            monitor = MonitorKey(action.resource, node, action.interval_ms)
            self._monitor_keys[monitor] = key
            self.monitors.start(monitor, prepared, result)
        return expected

    async def clear_failcount(self, run: TransitionRun, action: Action) -> bool:
        """Forget a resource's failures on the action's node (its fail-counts and last-failures)."""
        if action.resource is None or action.node is None:
            return True
        placement = run.primitives.find(action.resource)
        history_id = placement.history_id(action.resource) if placement else action.resource
        await self.store.clear_failcount(action.node, history_id, guard=self.recorder.guard)
        # The last-failure record goes too, as Pacemaker's controller erases it: a failure whose
        # definition changed would otherwise ask for this clearing again on every plan.
        await self.store.forget_operations(action.node, history_id, [f"{history_id}_last_failure_0"],
                                           guard=self.recorder.guard)
        log.info("cleared the fail-count of %s on %s", history_id, action.node)
        return True

    # -- preparing and following up ----------------------------------------------------------

    def prepare(self, run: TransitionRun, action: Action) -> PreparedAction | None:
        """The executor request for ``action`` on its node; None when the resource is neither
        configured nor in that node's history."""
        assert action.resource is not None and action.node is not None
        node = action.node
        state = run.cluster.status.node(node)
        now = int(self.clock.time())
        attrs = node_attributes(run.cluster.config, state, node, now)
        primitives = run.primitives
        placement = primitives.find(action.resource)
        history_id = placement.history_id(action.resource) if placement else action.resource
        params = self._start_params.get((history_id, node)) if action.task == "stop" else None
        if primitives.find(action.resource) is None:
            history = history_of(state, action.resource)
            if history is None:
                return None
            primitives = primitives.with_orphan(_orphan_primitive(history))
        return prepare(primitives, resource_id=action.resource, task=action.task,
                       interval_ms=action.interval_ms, node=node, node_attrs=attrs,
                       now=now, meta=dict(action.meta), params=params)

    async def _cancel_monitors(self, cluster: Cluster, prepared: PreparedAction, resource: str,
                               node: str) -> None:
        """End a resource's recurring monitors before it changes state, and drop their records.

        The ``RSC_last_failure_0`` copy of a failed monitor is kept, as Pacemaker
        keeps it: it is what "Failed Resource Actions" shows until a cleanup.
        """
        for key in self.monitors.cancel_resource(resource, node, partial(same_history, prepared)):
            self._monitor_keys.pop(key, None)
            self.events.emit(ResourceEvent(node, prepared.request.node_uuid or node, prepared.history_id,
                                           "monitor", key.interval_ms, 0, ExecStatus.CANCELLED, 0, 0,
                                           self.clock.time()))
        history = history_of(cluster.status.node(node), prepared.history_id)
        recurring = [op.id for op in history.ops
                     if op.interval_ms > 0 and not op.id.endswith("_last_failure_0")] if history else []
        if recurring:
            await self.store.forget_operations(node, prepared.history_id, recurring,
                                               guard=self.recorder.guard)

    def ran_elsewhere(self, run: TransitionRun, action: Action) -> None:
        """An action of ``run`` ran on another node (a work order): follow it up as if it ran here.

        Only what the controller keeps: an exhausted recovery it brought about
        is reported once and its policy queued (the node that ran it keeps the
        start parameters and the recurring monitors).
        """
        if action.index in run.exhausted:
            self._gave_up(run, run.exhausted[action.index])

    def _gave_up(self, run: TransitionRun, event: RecoveryExhausted) -> None:
        """The cluster gave up on a resource on a node: say so (once), and queue its policy."""
        key = (event.resource, event.node)
        if key in self._exhausted_sent:
            return
        self._exhausted_sent.add(key)
        log.warning("recovery exhausted: %s", event.describe())
        self.events.emit(event)
        if event.policy != "none":
            run.escalations.append(event)

    # -- recurring monitors ------------------------------------------------------------------

    async def _run_monitor(self, prepared: PreparedAction) -> ActionResult:
        """One run of a recurring monitor, counted in the metrics whether or not its result changed."""
        request = prepared.request
        result = await self.executor.run(request)
        failed = is_failure(request.action, request.interval_ms, result, role_of(request))
        seconds = result.duration_ms / 1000
        self.recorder.stats.count(metrics_task(request.action, request.interval_ms), seconds, failed)
        return result

    async def _monitor_changed(self, key: MonitorKey, prepared: PreparedAction, result: ActionResult) -> None:
        """Record a recurring monitor's changed result and plan again.

        Reported again and again until this returns (see
        :class:`~vigil.controller.monitors.RecurringMonitors`): every attempt
        for the same result keeps its call id, so an attempt that did store it
        before failing (an unclear commit, an error after the commit) is not
        counted twice by the next one.
        """
        pending = self._monitor_calls.get(key)
        if pending is None or pending[0] is not result:
            pending = self._monitor_calls[key] = (result, self.recorder.next_call_id())
        transition_key = self._monitor_keys.get(key) or self.recorder.transition_key(
            0, 0, prepared.request.action, prepared.request.interval_ms, role_of(prepared.request))
        expected = await self.recorder.record(prepared, result, {}, transition_key, counted=False,
                                              call_id=pending[1])
        self._monitor_calls.pop(key, None)
        self.on_monitor_change(f"{key} {'recovered' if expected else 'failed'}: {result.describe()}")

    async def reconcile_monitors(self, primitives: ConfiguredPrimitives) -> None:
        """End monitors whose operation is no longer configured (Pacemaker cancels them too)."""
        for key in self.monitors.active():
            placement = primitives.find(key.resource)
            configured = placement is not None and any(
                op.name == "monitor" and op.interval_ms == key.interval_ms and op.enabled
                for op in placement.primitive.ops
            )
            if configured:
                continue
            self.monitors.cancel(key)
            self._monitor_keys.pop(key, None)
            history_id = placement.history_id(key.resource) if placement else key.resource
            await self.store.forget_operations(key.node, history_id,
                                               [f"{history_id}_monitor_{key.interval_ms}"],
                                               guard=self.recorder.guard)
            log.info("cancelled %s: no longer configured", key)


def cancels_recurring(task: str, interval_ms: int) -> bool:
    """Whether ``task`` ends the resource's recurring monitors before it runs, as Pacemaker's
    controller ends them: every one-off action that changes the resource's state (start, stop,
    demote, promote, migrate, reload), not a probe and not a notification.

    A monitor left running would race the change: a promoted instance's monitor that runs as the
    instance is demoted says "running, not promoted" (rc 0 where 8 was expected), a failure that
    never happened.  The transition starts the monitors of the new role after the change.
    """
    return interval_ms == 0 and task not in ("monitor", "notify")


def same_history(prepared: PreparedAction, candidate: str) -> bool:
    """Whether ``candidate`` (a resource name on the same node) keeps ``prepared``'s history:
    any instance of an anonymous clone does (each transition numbers them anew)."""
    prim_id = prepared.placement.primitive.id
    base, _, number = candidate.rpartition(":")
    instance_of = candidate == prim_id or (number.isdigit() and base == prim_id)
    return instance_of and prepared.placement.history_id(candidate) == prepared.history_id


def history_of(state: NodeState | None, resource: str) -> ResourceHistory | None:
    """``resource``'s history on a node (a clone instance's may be kept under the primitive's id)."""
    if state is None:
        return None
    base = resource.rpartition(":")[0] if resource.rpartition(":")[2].isdigit() else resource
    for history in state.resources:
        if history.id in (resource, base):
            return history
    return None


def _orphan_primitive(history: ResourceHistory) -> Primitive:
    """A removed resource, as its history remembers it, so that it can still be stopped."""
    return Primitive(id=history.id, cls=history.cls or "ocf", type=history.type or "",
                     provider=history.provider)
