"""The store's health as the controller sees it: loud when it fails, quiet when it recovers.

A store that refuses to read or record is never given up on: the controller
tries again, waiting :data:`STORE_RETRY_S` and doubling up to
:data:`STORE_RETRY_MAX_S`, and says so at error level, in ``vigil status``
and in the metrics (``ControllerStats``) until it works again.
"""

from __future__ import annotations

import logging

from vigil.controller.clock import Clock
from vigil.model.activity import ControllerStats
from vigil.store.base import StoreError

log = logging.getLogger(__name__)

# A store that refuses to read or record is tried again after this long, doubling
# up to the maximum: the controller never stops trying, and says so at error level.
STORE_RETRY_S = 0.25
STORE_RETRY_MAX_S = 5.0


class StoreHealth:
    """Counts the store's failures in ``stats`` and logs the first of a run (and every 20th)."""

    def __init__(self, stats: ControllerStats, clock: Clock) -> None:
        self.stats = stats
        self.clock = clock

    def failed(self, error: StoreError, doing: str) -> None:
        """The store refused: loud in the log, the status and the metrics; the caller retries."""
        first = self.stats.store_failing_since is None
        self.stats.store_failed(error, self.clock.time())
        if first or self.stats.store_errors % 20 == 0:
            log.error("the store cannot %s (%d times so far; retrying until it can): %s", doing,
                      self.stats.store_errors, error)

    def ok(self) -> None:
        if self.stats.store_ok():
            log.warning("the store works again")


def next_delay(delay: float) -> float:
    """The wait before the next attempt: twice the last, at most :data:`STORE_RETRY_MAX_S`."""
    return min(delay * 2, STORE_RETRY_MAX_S)
