"""The activity log, read back: who was active where, and when, by the agents' own account.

Why this is the ground truth of the audits: the store says what vigil
*recorded*; the activity log says what the agents *did* (``probe_agent``
writes every start and stop, ``fence_agent`` every fencing, the lab its own
faults and the nodes' boots), each line stamped with ``CLOCK_MONOTONIC``.  A
resource is taken as active on a node from the moment a start **began**
until a stop there **ended** successfully, or until the node was fenced
(nothing of a fenced node survives); everything in between counts, a start
that failed or hung included.  That is the strictest reading, so "never active
on two nodes at once" read from it holds on the real processes too.

The lines of several processes may reach the file slightly out of time order
(the time is taken just before the write); :class:`Timeline` takes events
in time order up to a cut-off the caller chooses (a few seconds behind the
present), so a late line is still put in its place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vigil.model.scores import INFINITY

# Lab events (written by the runner, not by an agent).
BOOT = "boot"          # the lab starts a node's vigil (a machine boots)
FAULT = "fault"        # a step begins (kind, target)
CLEANUP = "cleanup"    # an operator cleanup returned (t0: when it was asked)
DIED = "died"          # the lab made a resource die (its state file removed)
FENCE = "fence"        # fence_lab ended a node


class ActivityError(ValueError):
    """A line of the activity log that is not what the lab's agents write."""


@dataclass(frozen=True)
class Event:
    """One line of the activity log."""

    t: float
    ev: str
    node: str
    rsc: str | None = None
    clone: str | None = None
    pid: int | None = None
    op: str | None = None
    interval: int = 0
    rc: int | None = None
    line: str = field(default="", compare=False)
    extra: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def get(self, key: str, default: str = "") -> str:
        return dict(self.extra).get(key, default)


_KNOWN = frozenset({"t", "ev", "node", "rsc", "clone", "pid", "op", "interval", "rc"})


def parse_line(line: str) -> Event:
    """One JSON line as an :class:`Event`; :class:`ActivityError` when it is not one."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return Event(
            t=float(data["t"]), ev=str(data["ev"]), node=str(data.get("node") or ""),
            rsc=data.get("rsc"), clone=None if data.get("clone") is None else str(data["clone"]),
            pid=data.get("pid"), op=data.get("op"), interval=int(data.get("interval") or 0),
            rc=data.get("rc"), line=line.rstrip("\n"),
            extra=tuple(sorted((str(k), str(v)) for k, v in data.items() if k not in _KNOWN)))
    except (ValueError, KeyError, TypeError) as error:
        raise ActivityError(f"not an activity line ({error}): {line[:200]!r}") from None


def event_line(t: float, ev: str, node: str = "", **fields: object) -> str:
    """A lab event as a line of the activity log (the agents write theirs themselves)."""
    return json.dumps({"t": t, "ev": ev, "node": node, **fields}, separators=(",", ":")) + "\n"


class ActivityReader:
    """Reads the lines appended since the last call (a partial last line waits for its end)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def new_events(self) -> list[Event]:
        with open(self.path, "rb") as stream:
            stream.seek(self._offset)
            data = stream.read()
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        return [parse_line(raw.decode("utf-8", "replace")) for raw in lines if raw.strip()]


@dataclass(frozen=True)
class Violation:
    """An audit that failed, with the log lines that show it."""

    audit: str
    message: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failure:
    """A failure an agent lived through, as the store should count it (``delta`` on ``op_key``)."""

    t: float
    node: str
    rsc: str
    op_key: str  # monitor_3000, start_0, stop_0
    delta: int
    line: str


@dataclass(frozen=True)
class Reset:
    """What clears fail-counts: a fencing (``rsc`` None: every resource of ``node``) or a cleanup.

    A cleanup was asked at ``t0`` and had returned at ``t``: a failure in between may or may not
    have been cleared; ``failed``: the command failed, so any failure before it may or may not
    have been cleared."""

    t0: float
    t: float
    node: str | None
    rsc: frozenset[str] | None
    failed: bool = False


class Timeline:
    """Intervals of activity per (resource, node), built from events taken in time order.

    ``clones``: the primitives that run as clone instances (active on several
    nodes at once is their point); every other primitive must never have two
    nodes' intervals overlap.
    """

    def __init__(self, clones: frozenset[str]) -> None:
        self.clones = clones
        self.pending: list[Event] = []
        self.done_until = 0.0
        # (resource, node) -> the start-begin that opened its interval
        self.open: dict[tuple[str, str], Event] = {}
        self.violations: list[Violation] = []
        self.failures: list[Failure] = []
        self.resets: list[Reset] = []
        self.fenced: dict[str, Event] = {}   # node -> its last fencing, until it boots
        self.fences: list[Event] = []
        self.boots: list[Event] = []
        self.starts: list[Event] = []  # every start-begin, in time order
        self.stops: list[Event] = []  # every stop-ok, in time order
        self.probes: list[Event] = []  # every probe (a monitor of interval 0), in time order
        # (node, resource) -> the last recurring monitor outcome since its last start or stop
        self._monitor: dict[tuple[str, str], str] = {}
        self.last_line: dict[str, str] = {}  # node -> its last line (for messages)

    def add(self, events: Iterable[Event]) -> None:
        self.pending.extend(events)

    def advance(self, cutoff: float) -> None:
        """Take every pending event with ``t <= cutoff``, in time order."""
        ready = sorted((e for e in self.pending if e.t <= cutoff), key=lambda e: e.t)
        self.pending = [e for e in self.pending if e.t > cutoff]
        for event in ready:
            self._take(event)
        self.done_until = max(self.done_until, cutoff)

    def active(self) -> set[tuple[str, str]]:
        """(resource, node) pairs active as of the cut-off."""
        return set(self.open)

    # -- one event ------------------------------------------------------------------------------

    def _take(self, event: Event) -> None:
        handler = {
            "start-begin": self._start_begin, "start-ok": self._start_end, "start-fail": self._start_failed,
            "stop-begin": self._stop_begin, "stop-ok": self._stop_ok, "stop-fail": self._stop_failed,
            "monitor": self._monitor_result, "hang": self._hang, FENCE: self._fence, BOOT: self._boot,
            CLEANUP: self._cleanup,
        }.get(event.ev)
        if event.rsc is not None and event.node in self.fenced and event.ev not in (FENCE, BOOT):
            fence = self.fenced[event.node]
            self.violations.append(Violation(
                "fenced means off", f"{event.node} acted after it was fenced and before it booted again",
                (fence.line, event.line)))
        if handler is not None:
            handler(event)
        if event.node:
            self.last_line[event.node] = event.line

    def _start_begin(self, event: Event) -> None:
        assert event.rsc is not None
        self.starts.append(event)
        self._monitor.pop((event.node, event.rsc), None)
        if event.rsc not in self.clones:
            for (rsc, node), began in self.open.items():
                if rsc == event.rsc and node != event.node:
                    self.violations.append(Violation(
                        "active on two nodes",
                        f"{rsc} started on {event.node} while still active on {node} (neither stopped nor"
                        f" fenced there)", (began.line, event.line)))
        self.open.setdefault((event.rsc, event.node), event)

    def _start_end(self, event: Event) -> None:
        assert event.rsc is not None
        self._monitor.pop((event.node, event.rsc), None)

    def _start_failed(self, event: Event) -> None:
        assert event.rsc is not None
        self.failures.append(Failure(event.t, event.node, event.rsc, "start_0", INFINITY, event.line))

    def _stop_begin(self, event: Event) -> None:
        assert event.rsc is not None
        self._monitor.pop((event.node, event.rsc), None)

    def _stop_ok(self, event: Event) -> None:
        assert event.rsc is not None
        self._monitor.pop((event.node, event.rsc), None)
        self.open.pop((event.rsc, event.node), None)
        self.stops.append(event)

    def _stop_failed(self, event: Event) -> None:
        assert event.rsc is not None
        self.failures.append(Failure(event.t, event.node, event.rsc, "stop_0", INFINITY, event.line))

    def _monitor_result(self, event: Event) -> None:
        """A recurring monitor's failure counts once per change of outcome (vigil records changes)."""
        if event.rsc is not None and event.interval == 0:
            self.probes.append(event)
        if event.rsc is None or event.interval <= 0:
            return
        key = (event.node, event.rsc)
        outcome = f"rc={event.rc}"
        if event.rc not in (0, None) and self._monitor.get(key) != outcome:
            self.failures.append(Failure(event.t, event.node, event.rsc, f"monitor_{event.interval}", 1,
                                         event.line))
        self._monitor[key] = outcome

    def _hang(self, event: Event) -> None:
        assert event.rsc is not None
        if event.op == "monitor":
            self._monitor[(event.node, event.rsc)] = "timeout"
            self.failures.append(Failure(event.t, event.node, event.rsc, f"monitor_{event.interval}", 1,
                                         event.line))
        elif event.op == "start":
            self.failures.append(Failure(event.t, event.node, event.rsc, "start_0", INFINITY, event.line))

    def _fence(self, event: Event) -> None:
        self.fenced[event.node] = event
        self.fences.append(event)
        self.resets.append(Reset(event.t, event.t, event.node, None))
        for key in [k for k in self.open if k[1] == event.node]:
            del self.open[key]
        for key in [k for k in self._monitor if k[0] == event.node]:
            del self._monitor[key]

    def _boot(self, event: Event) -> None:
        self.fenced.pop(event.node, None)
        self.boots.append(event)
        # A new vigil starts new recurring monitors: their first failure counts again.
        for key in [k for k in self._monitor if k[0] == event.node]:
            del self._monitor[key]

    def _cleanup(self, event: Event) -> None:
        members = event.get("members")
        rscs = frozenset(members.split(",")) if members else None
        t0 = float(event.get("t0") or event.t)
        self.resets.append(Reset(t0, event.t, event.node or None, rscs, failed=event.get("failed") == "1"))
