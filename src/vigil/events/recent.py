"""The newest events of this daemon, kept in memory for the web page.

The event dispatcher hands every event to its listeners as it is emitted
(:meth:`~vigil.events.dispatcher.EventDispatcher.add_listener`);
:class:`RecentEvents` is one such listener.  It keeps the last
:data:`DEFAULT_LIMIT` events (a bounded deque: memory does not grow with
uptime), each numbered, as plain data, and tells whoever follows it (the
page's live feed) that something new came, without blocking the emitter.

They are this daemon's events since it started: in a cluster the
controller's node sees the fencings, node losses and recoveries exhausted,
every node its own operations.  What must outlive a restart or be the same
on every node is in the store (the fence history, the operation log).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from vigil.events.model import Event, RecoveryExhausted, ResourceEvent, event_fields

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 200


@dataclass(frozen=True)
class RecentEvent:
    """One event as the page shows it: its number, time, kind, one sentence, and its fields."""

    seq: int
    at: float
    kind: str
    text: str
    fields: dict[str, object]


def _kind(event: Event) -> str:
    """``resource``, ``node``, ``fencing``, ``attribute``, or ``recovery-exhausted`` (a resource event
    of its own kind for people: the one that says the cluster gave up)."""
    return RecoveryExhausted.task if isinstance(event, RecoveryExhausted) else event.kind


class RecentEvents:
    """A bounded, numbered list of the newest events; a dispatcher listener (:meth:`add`)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._events: deque[RecentEvent] = deque(maxlen=limit)
        self._seq = 0
        self._followers: list[Callable[[], None]] = []

    @property
    def last_seq(self) -> int:
        """The number of the newest event (0 before the first)."""
        return self._seq

    def add(self, event: Event) -> None:
        """Keep ``event`` (a probe that found what was expected is not news) and tell the followers.

        Called by the dispatcher as the event is emitted: returns at once and never raises.
        """
        if isinstance(event, ResourceEvent) and event.is_expected_probe:
            return
        try:
            self._seq += 1
            self._events.append(RecentEvent(self._seq, event.at, _kind(event), event.describe(),
                                            event_fields(event)))
        except Exception:  # a listener must never raise into the controller
            log.exception("an event could not be kept for the web page")
            return
        for follower in list(self._followers):
            follower()

    def newest(self, limit: int = 50) -> list[RecentEvent]:
        """The newest ``limit`` events, newest first."""
        return list(reversed(self._events))[:limit]

    def follow(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` (quick, never raising) after each kept event; returns what stops it."""
        self._followers.append(wake)
        return lambda: self._followers.remove(wake) if wake in self._followers else None
