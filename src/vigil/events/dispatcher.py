"""The event dispatcher: takes events from the controller, delivers them on its own time.

``emit()`` puts an event on a bounded queue and returns: it never blocks
and never raises, so a slow or broken alert agent cannot delay the
controller.  A task of the dispatcher's own takes events in order and hands
each to the *lane* of every target that wants it (one lane per recipient of
each alert), at once: it never waits for a delivery.

A lane runs its target's deliveries as soon as they come, up to
:data:`MAX_IN_FLIGHT_PER_TARGET` at once, each under its own timeout; more
wait in that lane only, in event order, their timeout not yet running.  So
an alert agent never waits for another one, as in Pacemaker, which runs
every alert of every event at once: a 6 s agent taking every slot of a
shared pool once delayed every other agent's next events by 6 s.  A lane
holds at most ``queue_size`` events; beyond that it drops its newest, and
says so, without touching the other lanes.  Deliveries of one target may
end out of order when several run at once (in Pacemaker too); the
``CRM_alert_node_sequence`` they carry is given in event order.

Alert agents run through a spawner of their own, not the executor's: the
executor's slots are for resource actions, and a batch of slow alerts must
never make a recovery wait for one.

Listeners registered with :meth:`add_listener` see every event, synchronously,
as it is emitted (for in-process recipients; they must be quick).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from vigil.events.alerts import AlertTarget, resolve_alerts
from vigil.events.delivery import Delivery, Outcome, post_webhook, run_agent
from vigil.events.environment import inherited_environment
from vigil.events.model import Event, ResourceEvent
from vigil.executor.process import Spawner
from vigil.model.config import Config

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
# Deliveries of one target (an alert's recipient) running at once; more wait in its lane.
MAX_IN_FLIGHT_PER_TARGET = max(8, 2 * (os.cpu_count() or 1))
# The alert spawner's own limit, a safety net only: far above what the lanes of any
# sensible configuration run at once, so that it never makes one alert wait for another.
ALERT_PROCESSES = 1024
# At exit, wait for deliveries at most this long beyond the longest alert timeout.
FLUSH_GRACE_S = 5.0
MAX_FLUSH_S = 120.0

Listener = Callable[[Event], None]


@dataclass
class DispatchStats:
    emitted: int = 0
    dropped: int = 0
    delivered: int = 0
    failed: int = 0
    timed_out: int = 0


@dataclass
class _Lane:
    """One target's own queue: (event, sequence) in event order, and how many workers take from it."""

    pending: deque[tuple[Event, int]] = field(default_factory=deque)
    workers: int = 0
    dropped: int = 0


class EventDispatcher:
    """Delivers events to the configured alerts of one node (``origin``).

    ``queue_size`` bounds the queue from the controller and each target's
    lane; ``max_in_flight`` is how many deliveries of one target run at once.
    """

    def __init__(
        self,
        origin: str,
        *,
        spawner: Spawner | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        max_in_flight: int = MAX_IN_FLIGHT_PER_TARGET,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.origin = origin
        self.spawner = spawner if spawner is not None else Spawner(ALERT_PROCESSES)
        self.inherited = inherited_environment(environ)
        self.clock = clock
        self.targets: tuple[AlertTarget, ...] = ()
        self.stats = DispatchStats()
        self.deliveries: list[Delivery] = []  # the newest ones, for tests and status
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=queue_size)
        self._lane_size = queue_size
        self._max_in_flight = max_in_flight  # per target
        self._lanes: dict[AlertTarget, _Lane] = {}
        self._listeners: list[Listener] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._sequence = 0
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    # -- configuration -----------------------------------------------------------------------

    def configure(self, config: Config) -> None:
        """Take the alerts of ``config``: events not yet handed to a lane go to the new ones (a
        lane's backlog goes as it was configured when it was queued)."""
        targets = resolve_alerts(config, int(self.clock()))
        if targets != self.targets:
            log.info("alerts: %s", ", ".join(t.name for t in targets) if targets else "none configured")
            for path in sorted({t.path for t in targets if not t.is_webhook}):
                if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                    log.warning("alert agent %s is not an executable file: its alerts will fail", path)
        self.targets = targets
        for target in [t for t, lane in self._lanes.items() if t not in targets and lane.workers == 0]:
            del self._lanes[target]

    @property
    def max_timeout_s(self) -> float:
        """The longest a delivery may take (webhook retries included)."""
        longest = 0.0
        for target in self.targets:
            seconds = target.timeout_ms / 1000
            if target.is_webhook:
                backoff = target.retry_delay_ms / 1000 * (2 ** target.retries)
                seconds = seconds * (1 + target.retries) + backoff
            longest = max(longest, seconds)
        return longest

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # -- the controller's side ----------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Queue ``event`` for delivery; returns at once and never raises."""
        try:
            self.stats.emitted += 1
            for listener in self._listeners:
                try:
                    listener(event)
                except Exception:  # a listener's bug must not reach the controller
                    log.exception("an event listener failed on %s", event.kind)
            if self._closed or not any(target.wants(event) for target in self.targets):
                return
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.stats.dropped += 1
            if self.stats.dropped == 1 or self.stats.dropped % 100 == 0:
                log.warning("alerts: %d event(s) dropped so far: the queue of %d is full (alert agents too "
                            "slow?)", self.stats.dropped, self._queue.maxsize)
        except Exception:
            log.exception("could not queue a %s event", getattr(event, "kind", "?"))

    # -- running -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start delivering (needs a running event loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._consume(), name="events")

    async def _consume(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                self._dispatch(event)
            except Exception:
                log.exception("could not dispatch a %s event", event.kind)
            finally:
                self._queue.task_done()

    def _dispatch(self, event: Event) -> None:
        """Hand ``event`` to the lane of every target that wants it; waits for nothing."""
        if isinstance(event, ResourceEvent) and event.is_expected_probe:
            return  # Pacemaker sends no alert for a probe that found what it expected
        for target in self.targets:
            if not target.wants(event):
                continue
            lane = self._lanes.setdefault(target, _Lane())
            if len(lane.pending) >= self._lane_size:
                self._drop(target, lane)
                continue
            self._sequence += 1
            lane.pending.append((event, self._sequence))
            if lane.workers < self._max_in_flight:
                lane.workers += 1
                task = asyncio.create_task(self._work(target, lane), name=f"alert {target.name}")
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)

    def _drop(self, target: AlertTarget, lane: _Lane) -> None:
        self.stats.dropped += 1
        lane.dropped += 1
        if lane.dropped == 1 or lane.dropped % 100 == 0:
            log.warning("alert %s: %d event(s) dropped so far: %d are waiting for its agent (too slow?)",
                        target.name, lane.dropped, len(lane.pending))

    async def _work(self, target: AlertTarget, lane: _Lane) -> None:
        """Deliver from ``target``'s lane until it is empty; one of at most ``max_in_flight`` such workers."""
        try:
            while lane.pending:
                event, sequence = lane.pending.popleft()
                await self._deliver(event, target, sequence)
        finally:
            lane.workers -= 1
            if lane.workers == 0 and not lane.pending and target not in self.targets:
                self._lanes.pop(target, None)

    async def _deliver(self, event: Event, target: AlertTarget, sequence: int) -> None:
        try:
            if target.is_webhook:
                delivery = await post_webhook(self._http(), event, target, sequence, self.origin)
            else:
                delivery = await run_agent(self.spawner, event, target, sequence, self.inherited)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("alert %s: delivery failed", target.name)
            delivery = Delivery(target, Outcome.FAILED, "internal error")
        if delivery.outcome is Outcome.DELIVERED:
            self.stats.delivered += 1
        elif delivery.outcome is Outcome.TIMED_OUT:
            self.stats.timed_out += 1
        else:
            self.stats.failed += 1
        self.deliveries.append(delivery)
        del self.deliveries[:-200]

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, follow_redirects=False)
        return self._client

    # -- ending ------------------------------------------------------------------------------------

    async def flush(self, timeout: float) -> bool:
        """Wait until every queued event is delivered (or given up); False after ``timeout``."""
        async def drained() -> None:
            await self._queue.join()
            while self._in_flight:
                await asyncio.wait(set(self._in_flight))

        if self._task is None:
            return self._queue.empty() and not self._in_flight
        try:
            await asyncio.wait_for(drained(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float | None = None) -> None:
        """Take no more events, deliver what is queued within ``timeout`` (default:
        the longest alert timeout plus a grace, at most two minutes), end the rest."""
        self._closed = True
        bound = timeout if timeout is not None else min(MAX_FLUSH_S, self.max_timeout_s + FLUSH_GRACE_S)
        if not await self.flush(bound):
            waiting = self._queue.qsize() + sum(len(lane.pending) for lane in self._lanes.values())
            log.warning("alerts: %d event(s) left undelivered at exit, and %d delivery(ies) ended",
                        waiting, sum(lane.workers for lane in self._lanes.values()))
        tasks = [task for task in (self._task, *self._in_flight) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.spawner.shutdown()
        if self._client is not None:
            await self._client.aclose()
