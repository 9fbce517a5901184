"""Recurring monitors: each one runs at its interval and reports only what changed.

A transition runs a recurring monitor once (its first result is recorded
like any action's); from then on it belongs here, as it belongs to
Pacemaker's executor: it keeps running at its interval until a stop or a
cancel of the resource ends it, and a result is reported only when it
differs from the previous one, so a failed monitor counts one failure, not
one per interval, and a resource that comes back by itself is noticed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from vigil.controller.requests import PreparedAction
from vigil.executor.results import ActionResult
from vigil.model.activity import MonitorKey
from vigil.model.results import ExecStatus
from vigil.store.base import StoreError

log = logging.getLogger(__name__)


Run = Callable[[PreparedAction], Awaitable[ActionResult]]
Report = Callable[[MonitorKey, PreparedAction, ActionResult], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]

# How soon a change that could not be recorded is tried again (at most the interval).
REPORT_RETRY_S = 1.0


def outcome(result: ActionResult) -> tuple[int, int, str]:
    """What makes two results "the same" for reporting: status, exit code, and
    whether the agent said it is degraded (worth showing even if it still runs)."""
    return int(result.status), int(result.rc), result.exit_reason if result.status != ExecStatus.DONE else ""


class RecurringMonitors:
    """The recurring monitors running on this node, one task each; ``sleep`` is the clock's."""

    def __init__(self, run: Run, report: Report, sleep: Sleep) -> None:
        self._run = run
        self._report = report
        self._sleep = sleep
        self._tasks: dict[MonitorKey, asyncio.Task[None]] = {}

    def start(self, key: MonitorKey, prepared: PreparedAction, first: ActionResult) -> None:
        """Take over ``key`` after its first run gave ``first`` (replacing an older one)."""
        self.cancel(key)
        self._tasks[key] = asyncio.create_task(self._loop(key, prepared, outcome(first)), name=str(key))

    def cancel(self, key: MonitorKey) -> bool:
        task = self._tasks.pop(key, None)
        if task is None:
            return False
        task.cancel()
        return True

    def cancel_resource(self, resource: str, node: str,
                        same: Callable[[str], bool] | None = None) -> list[MonitorKey]:
        """End every monitor of ``resource`` on ``node`` (before it is stopped).

        ``same``: which other names are the same resource there (an anonymous
        clone's instance is numbered anew by each transition: ``web:2``
        started, ``web:0`` stopped, one history).
        """
        def matches(key: MonitorKey) -> bool:
            return key.resource == resource or (same is not None and same(key.resource))

        keys = [key for key in self._tasks if key.node == node and matches(key)]
        for key in keys:
            self.cancel(key)
        return keys

    def active(self) -> list[MonitorKey]:
        return sorted(self._tasks, key=lambda k: (k.resource, k.node, k.interval_ms))

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, key: MonitorKey, prepared: PreparedAction, last: tuple[int, int, str]) -> None:
        interval_s = key.interval_ms / 1000
        while True:
            await self._sleep(interval_s)
            result = await self._run(prepared)
            now = outcome(result)
            if now == last:
                continue
            log.debug("%s: result changed: %s", key, result.describe())
            await self._report_until_recorded(key, prepared, result)
            last = now

    async def _report_until_recorded(self, key: MonitorKey, prepared: PreparedAction,
                                     result: ActionResult) -> None:
        """Report one result, again and again until it is recorded.

        The result is what happened, so it is the one reported, even if the
        resource has changed since: a failure is never skipped because an
        earlier attempt to record it failed (a full disk, a brief outage),
        and the monitor does not run on while its last result is unknown to
        the cluster.
        """
        while True:
            try:
                await self._report(key, prepared, result)
                return
            except asyncio.CancelledError:
                raise
            except StoreError as error:
                log.error("%s: could not record the result (%s); trying again", key, error)
            except Exception:  # a bug in reporting must not end the monitor either
                log.exception("%s: could not record the result; trying again", key)
            await self._sleep(min(key.interval_ms / 1000, REPORT_RETRY_S))
