"""From an agent's result to what the status records, as Pacemaker's controller records it.

The scheduler derives every resource's state from the operation history
alone, so the records must be the ones Pacemaker writes: ``RSC_last_0`` for
the latest one-shot operation, ``RSC_monitor_10000`` for a recurring one,
and, for a failure, also ``RSC_last_failure_0``; each with the exit code,
the execution status, a call id that grows, the digest of the parameters it
ran with, and a transition key that carries the exit code that was
expected (which is how the scheduler tells a failure from a success).

Fail-counts follow Pacemaker's controller: a failed start counts INFINITY
when ``start-failure-is-fatal`` (the default), a failed stop always
INFINITY, anything else one more; a failure whose operation says
``on-fail=ignore`` counts nothing but still updates last-failure, so it
shows and expires like any other.

:class:`Recorder` commits those records to the store, for the daemon's
controller and for ``vigil simulate --steps`` alike (one recorder, so the
simulator cannot drift from the daemon): it numbers the calls, builds the
transition keys, retries a store that refuses until the result is stored
(never forgetting a result that happened; the node stops acting while one
waits), counts the metrics and reports each result as an event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from vigil.controller.clock import Clock
from vigil.controller.health import STORE_RETRY_S, StoreHealth, next_delay
from vigil.controller.requests import PreparedAction
from vigil.events.model import NO_EVENTS, EventSink, ResourceEvent
from vigil.executor.request import ActionRequest
from vigil.executor.results import ActionResult
from vigil.model.activity import ControllerStats
from vigil.model.failcounts import last_failure_attribute
from vigil.model.results import ExecStatus, OcfRc
from vigil.model.scores import INFINITY
from vigil.model.status import OpRecord
from vigil.model.stop_context import context_items
from vigil.store.base import ResourceRef, Store, StoreError
from vigil.store.coord import Guard, GuardLost

log = logging.getLogger(__name__)

# How long one result is retried before the node stops acting (no new action
# starts) until it is stored; the attempts never end.
RECORD_RETRY_S = 10.0

# The feature set written into records, Pacemaker 2.1.5's.
FEATURE_SET = "3.16.1"

# Results of a probe that only say what state the resource is in.
_PROBE_STATES = frozenset({OcfRc.SUCCESS, OcfRc.NOT_RUNNING, OcfRc.RUNNING_PROMOTED})
# A result that says "running, but degraded" counts as running.
_DEGRADED = {OcfRc.DEGRADED: OcfRc.SUCCESS, OcfRc.DEGRADED_PROMOTED: OcfRc.RUNNING_PROMOTED}
# Probe results that are not worth a fail-count: the agent's software is not
# on this node, which bans the resource here through the history itself.
_PROBE_NOT_COUNTED = frozenset({OcfRc.ERR_INSTALLED})


PROMOTED_ROLES = frozenset({"Promoted", "Master"})


def expected_rc(task: str, interval_ms: int, role: str | None = None) -> int:
    """What the controller expects: a probe expects "not running", a recurring monitor of the
    promoted role "running promoted" (8), the rest success."""
    if task == "monitor" and interval_ms == 0:
        return OcfRc.NOT_RUNNING
    if task == "monitor" and role in PROMOTED_ROLES:
        return OcfRc.RUNNING_PROMOTED
    return OcfRc.SUCCESS


def role_of(request: ActionRequest) -> str | None:
    """The role an operation is defined for (its ``role`` meta), if any."""
    return dict(request.meta).get("role")


def is_failure(task: str, interval_ms: int, result: ActionResult, role: str | None = None) -> bool:
    """Did the action fail?  A probe that finds the resource in either state did not."""
    if result.status != ExecStatus.DONE:
        return True
    rc = _DEGRADED.get(result.rc, result.rc)
    if task == "monitor" and interval_ms == 0:
        return rc not in _PROBE_STATES
    return int(rc) != expected_rc(task, interval_ms, role)


def is_expected(task: str, interval_ms: int, result: ActionResult, role: str | None = None) -> bool:
    """Did the action give what the transition was planned on?

    Stricter than "not a failure": a probe that finds the resource running
    where the plan assumed it stopped is no failure, but the rest of the
    plan (a start, say) is wrong, so the transition is aborted and planned
    again, as Pacemaker does.
    """
    if result.status != ExecStatus.DONE:
        return False
    return int(_DEGRADED.get(result.rc, result.rc)) == expected_rc(task, interval_ms, role)


@dataclass(frozen=True)
class Recorded:
    """The records to write for one result, and what it does to the fail-count."""

    record: OpRecord
    # The RSC_last_failure_0 copy of a failure, written in the same commit.
    also: tuple[OpRecord, ...]
    failcount_delta: int
    attributes: tuple[tuple[str, str | None], ...]
    is_failure: bool
    # Whether the transition may go on (see is_expected).
    as_expected: bool


# The two steps of a live migration (see vigil.scheduler.migration).
MIGRATION_TASKS = ("migrate_to", "migrate_from")


@dataclass(frozen=True)
class RecordContext:
    """What a record needs besides the result: ids, time, the transition it ran in."""

    call_id: int
    now: int
    transition_key: str
    start_failure_is_fatal: bool = True


def record_result(prepared: PreparedAction, result: ActionResult, ctx: RecordContext) -> Recorded:
    request = prepared.request
    task, interval_ms = request.action, request.interval_ms
    rc = int(result.rc)
    status = int(result.status)
    hid = prepared.history_id
    base_id = f"{hid}_{task}_{interval_ms}" if interval_ms > 0 else f"{hid}_last_0"
    source = target = None
    if task in MIGRATION_TASKS:
        # A migration step keeps a record of its own (the stop that follows
        # on the source must not replace it: the scheduler reads both), with
        # its two ends, as Pacemaker's controller records it.
        base_id = f"{hid}_{task}_0"
        meta = dict(request.meta)
        source, target = meta.get("migrate_source"), meta.get("migrate_target")
    if task == "notify":
        # A notification has a record of its own (RSC_post_notify_start_0):
        # it must not take the place of the last start, promote... record.
        meta = dict(request.meta)
        base_id = f"{hid}_{meta.get('notify_type', 'pre')}_notify_{meta.get('notify_operation', 'start')}_0"
    record = OpRecord(
        id=base_id,
        operation=task,
        interval_ms=interval_ms,
        rc=rc,
        op_status=status,
        call_id=ctx.call_id,
        on_node=request.node_name,
        op_digest=prepared.digest,
        last_rc_change=ctx.now,
        last_run=ctx.now,
        exec_time_ms=result.duration_ms,
        queue_time_ms=result.queued_ms,
        transition_key=ctx.transition_key,
        transition_magic=f"{status}:{rc};{ctx.transition_key}",
        exit_reason=result.exit_reason or None,
        crm_feature_set=FEATURE_SET,
        operation_key=f"{hid}_{task}_{interval_ms}",
        migrate_source=source,
        migrate_target=target,
    )
    role = role_of(request)
    if not is_failure(task, interval_ms, result, role):
        return Recorded(record, (), 0, (), False, is_expected(task, interval_ms, result, role))
    failure = record._replace(id=f"{hid}_last_failure_0")
    delta = _failcount_delta(prepared, result, ctx)
    attributes: tuple[tuple[str, str | None], ...] = ()
    if delta == 0:
        # Ignored failures still show, and expire, through last-failure.
        attributes = ((last_failure_attribute(hid, task, interval_ms), str(ctx.now)),)
    return Recorded(record, (failure,), delta, attributes, True, False)


def pending_record(prepared: PreparedAction, ctx: RecordContext) -> OpRecord:
    """The record of an action still running, as Pacemaker writes it for an
    action with record-pending: call id -1, exit code 193, op-status pending.
    Its result, recorded later under the same id, replaces it."""
    result = ActionResult(prepared.request, OcfRc.UNKNOWN, ExecStatus.PENDING)
    return record_result(prepared, result, ctx).record._replace(call_id=-1, exec_time_ms=0, queue_time_ms=0)


def _failcount_delta(prepared: PreparedAction, result: ActionResult, ctx: RecordContext) -> int:
    task = prepared.request.action
    is_probe = task == "monitor" and prepared.request.interval_ms == 0
    if is_probe and result.status == ExecStatus.DONE and result.rc in _PROBE_NOT_COUNTED:
        return 0
    if (prepared.on_fail or "").lower() == "ignore":
        return 0
    if task == "stop":
        return INFINITY
    if task == "start" and ctx.start_failure_is_fatal:
        return INFINITY
    return 1


def metrics_task(action: str, interval_ms: int) -> str:
    """The name an action is counted under in the metrics."""
    return "monitor (recurring)" if action == "monitor" and interval_ms > 0 else action


class Recorder:
    """Writes results to the store as Pacemaker's controller writes them to the CIB.

    ``instance`` ends every transition key, so the records of two runs of the
    controller are told apart; call ids continue from :meth:`resume`.  Each
    result is logged to ``logger`` (a failure as a warning).
    """

    def __init__(self, store: Store, *, instance: str, clock: Clock, stats: ControllerStats,
                 events: EventSink = NO_EVENTS, record_retry_s: float = RECORD_RETRY_S,
                 logger: logging.Logger = log) -> None:
        self.store = store
        self.log = logger
        self.instance = instance
        self.clock = clock
        self.stats = stats
        self.health = StoreHealth(stats, clock)
        self.events = events
        self.record_retry_s = record_retry_s
        self.start_failure_is_fatal = True
        # What every record is guarded by: a node agent's incarnation (its membership), so a
        # node that lost its membership records nothing more; None on a single node.
        self.guard: Guard | None = None
        self._call_id = 0
        # Told (with what) when a result could not be stored in time: the controller stops acting.
        self.on_unstored: Callable[[str], None] = lambda what: None
        self._unstored: dict[object, str] = {}
        self._all_stored = asyncio.Event()
        self._all_stored.set()

    async def resume(self) -> None:
        """Number the next call after every one the store has seen, as a restarted executor does."""
        snapshot = await self.store.snapshot()
        last_logged = await self.store.operation_log(limit=1)
        self._call_id = max(
            [op.call_id for n in snapshot.cluster.status.nodes for h in n.resources for op in h.ops]
            + [entry.record.call_id for entry in last_logged]
            + [0]
        )

    def transition_key(self, number: int, index: int, task: str, interval_ms: int,
                       role: str | None = None) -> str:
        """``TRANSITION:ACTION:EXPECTED_RC:INSTANCE``: how the scheduler tells a failure from a success."""
        return f"{number}:{index}:{expected_rc(task, interval_ms, role)}:{self.instance}"

    def next_call_id(self) -> int:
        """A new call id: one per result, kept by every attempt to record that result."""
        self._call_id += 1
        return self._call_id

    @property
    def unstored(self) -> list[str]:
        """Results that happened and could not be stored within ``record_retry_s``, still being retried.

        While any is, this node starts no new action (the controller waits for :attr:`all_stored`).
        """
        return list(self._unstored.values())

    async def wait_all_stored(self) -> None:
        """Until every result that happened is in the store."""
        await self._all_stored.wait()

    async def record_pending(self, prepared: PreparedAction, meta: dict[str, str],
                             transition_key: str) -> None:
        """Record an action as in flight before it runs (the scheduler asks for it on a
        migrate_to: should the source be lost meanwhile, the next plan knows the
        migration may have reached the target, and stops it there).

        Best effort: a store that refuses only leaves the migration unrecorded
        until its result, as before; the action still runs.
        """
        request = prepared.request
        record = pending_record(prepared, RecordContext(-1, int(self.clock.time()), transition_key))
        prim = prepared.placement.primitive
        ref = ResourceRef(prepared.history_id, prim.cls, prim.provider, prim.type)
        try:
            await self.store.record_operation(request.node_name, ref, record, meta=meta, guard=self.guard)
        except GuardLost:
            raise
        except StoreError as error:
            self.health.failed(error, f"record {record.id} as pending on {request.node_name}")

    async def record(self, prepared: PreparedAction, result: ActionResult, meta: dict[str, str],
                     transition_key: str, *, counted: bool = True, call_id: int | None = None) -> bool:
        """Commit a result (and its fail-count) to the store; whether the transition may go on.

        Never gives up: the result happened, so it is recorded whatever it
        takes.  A store that refuses is asked again (the same record, the same
        call id, so a retry after an unclear commit counts nothing twice:
        ``record_operation`` is idempotent on the operation and its call id).
        After ``record_retry_s`` (:data:`RECORD_RETRY_S`) the node **stops
        acting**: the result is listed in :attr:`unstored`, ``on_unstored`` is
        told (the controller aborts its transition and starts nothing new),
        the failure is logged at critical level, and the attempts go on,
        doubling their interval up to :data:`~vigil.controller.health.STORE_RETRY_MAX_S`,
        until the store takes it.  Only :class:`~vigil.store.coord.GuardLost`
        (this writer was deposed) is raised.  ``call_id``: the id of an earlier
        attempt to record the same result (a recurring monitor reporting again).
        ``counted``: whether this run enters the action metrics (a recurring
        monitor's runs are counted as they run).
        """
        request = prepared.request
        node = request.node_name
        call_id = call_id if call_id is not None else self.next_call_id()
        now = self.clock.time()
        recorded = record_result(
            prepared, result,
            RecordContext(call_id, int(now), transition_key, self.start_failure_is_fatal),
        )
        prim = prepared.placement.primitive
        ref = ResourceRef(prepared.history_id, prim.cls, prim.provider, prim.type)
        what = f"{recorded.record.id} (call {call_id}) on {node}"
        deadline = self.clock.monotonic() + self.record_retry_s
        delay = STORE_RETRY_S
        token = object()
        try:
            while True:
                try:
                    await self.store.record_operation(
                        node, ref, recorded.record, failcount_delta=recorded.failcount_delta,
                        attributes=dict(recorded.attributes), meta=meta, also=recorded.also, guard=self.guard,
                    )
                    break
                except GuardLost:
                    raise
                except StoreError as error:
                    self.health.failed(error, f"record {what}")
                    if token not in self._unstored and self.clock.monotonic() + delay > deadline:
                        self._stop_acting(token, what, error)
                    await self.clock.sleep(delay)
                    delay = next_delay(delay)
        finally:
            if self._unstored.pop(token, None) is not None:
                self.log.warning("the result %s is stored at last", what)
                if not self._unstored:
                    self._all_stored.set()
        self.health.ok()
        try:
            self._after_recording(prepared, result, recorded, meta, counted)
        except Exception:  # the result is stored: a failing event sink must not make it look lost
            self.log.exception("%s: reporting the recorded result failed", what)
        return recorded.as_expected

    def _stop_acting(self, token: object, what: str, error: StoreError) -> None:
        """A result could not be stored in time: stop acting on this node until it is (loudly)."""
        self._unstored[token] = what
        self._all_stored.clear()
        self.log.critical(
            "the result %s could not be stored for %.0f s (%s): this node starts no new action until it is; "
            "still trying to store it", what, self.record_retry_s, error)
        self.on_unstored(what)

    def _after_recording(self, prepared: PreparedAction, result: ActionResult, recorded: Recorded,
                         meta: dict[str, str], counted: bool) -> None:
        request = prepared.request
        node = request.node_name
        if counted:
            self.stats.count(metrics_task(request.action, request.interval_ms), result.duration_ms / 1000,
                             recorded.is_failure)
        level = logging.WARNING if recorded.is_failure else logging.DEBUG
        self.log.log(level, "%s %s%s on %s: %s", request.resource_id, request.action,
                f" ({request.interval_ms} ms)" if request.interval_ms else "", node, result.describe())
        exec_time = result.duration_ms or (request.timeout_ms if result.status == ExecStatus.TIMEOUT else 0)
        self.events.emit(ResourceEvent(
            node, request.node_uuid or node, prepared.history_id, request.action, request.interval_ms,
            int(result.rc), int(result.status),
            expected_rc(request.action, request.interval_ms, role_of(request)), exec_time,
            self.clock.time(), result.exit_reason, context_items(meta)))
