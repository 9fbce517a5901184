"""A clock that moves only when told: the controller's time in tests and simulations.

It has what the controller asks of a clock (``time``, ``monotonic``,
``sleep``; see :class:`vigil.controller.clock.Clock`).  A ``sleep`` on it
returns only when :meth:`FakeClock.advance` moves the clock past its end, so
a test can step through a failure-timeout, a recheck timer or ten recurring
monitor intervals without waiting for any of them, and a simulation that
never advances it never sees a timer fire.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

# A plausible "now" (2023-11-14 22:13:20Z), the same start for every test.
DEFAULT_START = 1_700_000_000.0
# How many times advance() lets the event loop run after firing timers: enough
# for the woken tasks to reach their next wait when they do no real I/O.
_YIELDS = 200


class FakeClock:
    """Settable, advanceable time; its sleeps end when the clock passes them."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._start = start
        self._elapsed = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()

    def time(self) -> float:
        return self._start + self._elapsed

    def monotonic(self) -> float:
        return self._elapsed

    def __call__(self) -> float:
        """The wall time, for code that takes a plain ``Callable[[], float]``."""
        return self.time()

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._elapsed + seconds, next(self._sequence), future))
        await future

    @property
    def next_timer(self) -> float | None:
        """When (in :meth:`time`) the earliest pending sleep ends; None when nothing sleeps."""
        self._drop_cancelled()
        return self._start + self._timers[0][0] if self._timers else None

    async def advance(self, seconds: float) -> None:
        """Move time forward, ending every sleep due on the way, in order.

        Tasks ready to run do so first, at the present time.  After each due
        sleep ends, the event loop runs the woken tasks until they wait
        again, so what a timer sets off happens at its own time.
        """
        if seconds < 0:
            raise ValueError("a clock does not go back")
        # What is ready runs first, at the present time: a task just created sleeps from now.
        await self.run_ready()
        target = self._elapsed + seconds
        while True:
            self._drop_cancelled()
            if not self._timers or self._timers[0][0] > target:
                break
            due, _, future = heapq.heappop(self._timers)
            self._elapsed = max(self._elapsed, due)
            future.set_result(None)
            await self.run_ready()
        self._elapsed = target
        await self.run_ready()

    async def set(self, when: float) -> None:
        """Move the wall time to ``when`` (never back), as :meth:`advance` does."""
        await self.advance(when - self.time())

    @staticmethod
    async def run_ready() -> None:
        """Let every task that can run without time passing run until it waits."""
        for _ in range(_YIELDS):
            await asyncio.sleep(0)

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0][2].done():
            heapq.heappop(self._timers)
