"""The controller's time: what it reads and how it waits, passed in (STYLE.md, "injected time").

Every wait of the controller (a timer until the next recheck, a pause before
trying a failing store again, a recurring monitor's interval, the deadline
for recording a result) goes through one :class:`Clock`, so a test can hand
it :class:`vigil.testing.FakeClock` and run hours of the loop in
milliseconds.  The daemon uses :data:`SYSTEM_CLOCK`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Wall time for records and timers, monotonic time for deadlines, and sleeping."""

    def time(self) -> float:
        """Seconds since the epoch: what records and failure-timeouts are measured in."""
        ...

    def monotonic(self) -> float:
        """Seconds that only move forward: what deadlines are measured in."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...


class SystemClock:
    """The machine's clocks and asyncio's sleep."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()
