"""Change notification for the single-host backends (memory, SQLite).

Commits made through a store object wake its waiters at once, from any
thread, on any event loop.  Commits made elsewhere (another process on the
same SQLite file) are found by polling the store's revision, which the
backend makes cheap (one row).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

from vigil.store.base import Change

Poll = Callable[[], Awaitable[Change]]


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class LocalNotifier:
    """The latest known :class:`Change` and the tasks waiting for a newer one."""

    def __init__(self, latest: Change) -> None:
        self._lock = threading.Lock()
        self._latest = latest
        self._closed = False
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()

    @property
    def latest(self) -> Change:
        with self._lock:
            return self._latest

    def publish(self, change: Change) -> None:
        """Make ``change`` the latest if it is newer, and wake every waiter."""
        with self._lock:
            if change.revision <= self._latest.revision:
                return
            self._latest = change
            waiters = list(self._waiters)
        self._wake_all(waiters)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            waiters = list(self._waiters)
        self._wake_all(waiters)

    @staticmethod
    def _wake_all(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
        for loop, future in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_wake, future)

    async def wait(
        self,
        since_revision: int,
        timeout: float | None,
        poll: Poll | None = None,
        poll_interval: float = 0.25,
    ) -> Change | None:
        """The first change after ``since_revision``; ``None`` on timeout or close.

        With ``poll``, the store's revision is also read every
        ``poll_interval`` seconds, to see other processes' commits.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            with self._lock:
                if self._closed:
                    return None
                if self._latest.revision > since_revision:
                    return self._latest
                future: asyncio.Future[None] = loop.create_future()
                waiter = (loop, future)
                self._waiters.add(waiter)
            remaining = None if deadline is None else deadline - loop.time()
            step = remaining
            if poll is not None:
                step = poll_interval if remaining is None else min(poll_interval, remaining)
            woken = step is None or step > 0
            try:
                if woken:
                    await asyncio.wait_for(future, step)
            except TimeoutError:
                woken = False
            finally:
                with self._lock:
                    self._waiters.discard(waiter)
            if not woken and poll is not None and not self._closed:
                self.publish(await poll())
            if not woken and deadline is not None and loop.time() >= deadline:
                with self._lock:
                    latest = self._latest
                return latest if latest.revision > since_revision and not self._closed else None
