"""The audits the lab runs after every step, as CTS audits its cluster after every test.

Each audit returns :class:`~.activity.Violation` objects (empty: it passed):

- ``active on two nodes`` and ``fenced means off``: from the
  :class:`~.activity.Timeline` (no non-clone resource ever active on two nodes
  at once; nothing of a fenced node acts before it boots again);
- :func:`placement`: every lab resource runs where the store says it runs,
  read three ways that must agree: the controller's status, the agents'
  state files on each node, the activity log's open intervals;
- :func:`fenced_before_moved`: a node the controller recorded lost (the
  step made it silent: kill -9, SIGSTOP, a cut) was fenced before any
  resource it ran started elsewhere;
- :func:`failcounts`: the store's fail-counts against the failures the
  agents lived through (none lost, none counted twice), and every failed
  action the store shows was really a failure of that agent on that node;
- :func:`tracebacks`: no ``Traceback`` in any node's log;
- the settle bound is checked by the runner (it is a wait, not a reading).
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.model.scores import INFINITY
from vigil.testing.lab.activity import Failure, Reset, Timeline, Violation
from vigil.testing.lab.faults import placement as store_placement

TRACEBACK = "Traceback (most recent call last)"
# A failure this close before a cleanup was asked may be recorded after it (seconds).
RECORD_LAG_S = 2.0


@dataclass(frozen=True)
class Window:
    """A span in which ``nodes`` may have lost what they tried to record (the step disturbed them)."""

    t0: float
    t1: float
    nodes: frozenset[str]


def placement(report: dict[str, Any], files: set[tuple[str, str]], active: set[tuple[str, str]],
              lab_primitives: Iterable[str]) -> list[Violation]:
    """The store, the state files and the activity log agree on what runs where."""
    known = set(lab_primitives)
    stored = {(rsc, node) for rsc, nodes in store_placement(report).items() if rsc in known for node in nodes}
    logged = {pair for pair in active if pair[0] in known}
    files = {pair for pair in files if pair[0] in known}
    found: list[Violation] = []
    if stored != files:
        found.append(Violation("runs where the store says", describe_difference("the store shows", stored,
                                                                                "the agents run", files)))
    if logged != files:
        found.append(Violation("runs where the store says", describe_difference(
            "the activity log has active", logged, "the agents' state files show", files)))
    return found


def describe_difference(left_name: str, left: set[tuple[str, str]], right_name: str,
                        right: set[tuple[str, str]]) -> str:
    only_left = ", ".join(f"{r} on {n}" for r, n in sorted(left - right)) or "nothing"
    only_right = ", ".join(f"{r} on {n}" for r, n in sorted(right - left)) or "nothing"
    return f"{left_name} {only_left} that {right_name} not; {right_name} {only_right} that {left_name} not"


def fenced_before_moved(timeline: Timeline, lost: str, lost_at: Sequence[float],
                        active_before: set[tuple[str, str]], clones: frozenset[str]) -> list[Violation]:
    """Once the controller recorded ``lost`` lost (at each of ``lost_at``), every non-clone resource
    active there at that moment starts elsewhere only once the cluster knows it is off there: after
    a fencing of ``lost`` that followed the loss, or after ``lost`` came back (it self-fenced and
    joined again) and a probe there answered.

    ``active_before``: what was active when the step began; the activity log since then says what
    was still active at the loss (a resource moved away before it is not the lost node's).  A node
    that stopped its resources by itself and kept its membership was never lost: nothing is asked
    of it here (that nothing ran twice is :class:`Timeline`'s audit)."""
    found: list[Violation] = []
    for since in lost_at:
        fences = [f.t for f in timeline.fences if f.node == lost and f.t >= since]
        for rsc in sorted(active_at(timeline, lost, since, active_before) - clones):
            start = next((e for e in timeline.starts if e.rsc == rsc and e.node != lost and e.t >= since),
                         None)
            if start is None or any(t < start.t for t in fences):
                continue
            if any(p.rsc == rsc and p.node == lost and since <= p.t < start.t for p in timeline.probes):
                continue
            found.append(Violation(
                "fenced before moved",
                f"{rsc} started on {start.node} after {lost} was recorded lost, before {lost} was fenced"
                f" or probed again", (start.line,)))
    return found


def active_at(timeline: Timeline, node: str, t: float, active_before: set[tuple[str, str]]) -> set[str]:
    """The resources active on ``node`` at ``t``: the last start, stop or fencing there before
    ``t`` decides; a resource with none of them keeps its state from ``active_before``."""
    last: dict[str, bool] = {rsc: True for rsc, where in active_before if where == node}
    events = [(e.t, e.rsc, True) for e in timeline.starts if e.node == node and e.t < t]
    events += [(e.t, e.rsc, False) for e in timeline.stops if e.node == node and e.t < t]
    fences = [e.t for e in timeline.fences if e.node == node and e.t < t]
    for _, rsc, started in sorted(events, key=lambda item: item[0]):
        if rsc is not None:
            last[rsc] = started
    if fences:
        fenced_at = max(fences)
        for rsc in list(last):
            if not any(when > fenced_at and name == rsc and started for when, name, started in events):
                last[rsc] = False
    return {rsc for rsc, active in last.items() if active}


def lost_records(text: str, node: str, epoch: float) -> list[float]:
    """When (time.monotonic(), through ``epoch`` = time.time() - time.monotonic()) the controller
    logged ``node`` lost, from a node's log."""
    found = []
    for line in text.splitlines():
        if f" node {node} is lost (" in line and is_log_line(line):
            with contextlib.suppress(ValueError):
                stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                found.append(stamp - epoch)
    return found


def expected_failcounts(failures: Sequence[Failure], resets: Sequence[Reset], windows: Sequence[Window],
                        known: Iterable[str]) -> dict[tuple[str, str, str], tuple[int, int, list[str]]]:
    """(node, resource, op) -> (count surely recorded, count perhaps recorded, the lines behind them)."""
    names = set(known)
    result: dict[tuple[str, str, str], tuple[int, int, list[str]]] = {}
    for failure in failures:
        if failure.rsc not in names:
            continue
        cleared, doubtful = False, False
        for reset in resets:
            if reset.node is not None and reset.node != failure.node:
                continue
            if reset.rsc is not None and failure.rsc not in reset.rsc:
                continue
            if reset.rsc is None:  # a fencing: everything before it on that node is gone
                if reset.t >= failure.t:
                    cleared = True
            elif reset.failed:  # a cleanup command that failed may have cleared it, or not
                if reset.t >= failure.t:
                    doubtful = True
            elif reset.t0 - RECORD_LAG_S > failure.t:
                cleared = True
            elif reset.t >= failure.t:
                doubtful = True
        if cleared:
            continue
        if any(w.t0 <= failure.t <= w.t1 and failure.node in w.nodes for w in windows):
            doubtful = True
        key = (failure.node, failure.rsc, failure.op_key)
        sure, maybe, lines = result.get(key, (0, 0, []))
        if doubtful:
            maybe = min(INFINITY, maybe + failure.delta)
        else:
            sure = min(INFINITY, sure + failure.delta)
        result[key] = (sure, maybe, [*lines, failure.line])
    return result


def stored_failcounts(report: dict[str, Any], known: Iterable[str]) -> dict[tuple[str, str, str], int]:
    """(node, resource, op) -> the fail-count the store holds, clone instances under their base id."""
    names = set(known)
    found: dict[tuple[str, str, str], int] = {}
    for entry in report.get("failcounts") or []:
        rsc = str(entry.get("resource", "")).split(":")[0]
        if rsc not in names:
            continue
        for op in entry.get("operations") or []:
            key = (str(entry.get("node")), rsc, str(op.get("operation")))
            found[key] = min(INFINITY, found.get(key, 0) + int(op.get("count") or 0))
    return found


def failcounts(report: dict[str, Any], timeline: Timeline, windows: Sequence[Window],
               known: Iterable[str]) -> list[Violation]:
    """No failure lost, none counted twice: sure <= stored <= sure + perhaps, per node, resource, op."""
    names = set(known)
    expected = expected_failcounts(timeline.failures, timeline.resets, windows, names)
    stored = stored_failcounts(report, names)
    found: list[Violation] = []
    for key in sorted(set(expected) | set(stored)):
        sure, maybe, lines = expected.get(key, (0, 0, []))
        value = stored.get(key, 0)
        if sure <= value <= min(INFINITY, sure + maybe):
            continue
        node, rsc, op = key
        what = "lost" if value < sure else "counted twice (or invented)"
        found.append(Violation(
            "fail-counts", f"{rsc} {op} on {node}: the store counts {value}, the agents lived through"
            f" {sure} (and perhaps {maybe} more): a failure {what}", tuple(lines[-6:])))
    found.extend(failed_actions(report, timeline, names))
    return found


def failed_actions(report: dict[str, Any], timeline: Timeline, names: set[str]) -> list[Violation]:
    """Every failed action the store shows is a failure its agent had on that node."""
    found: list[Violation] = []
    for action in report.get("failed_actions") or []:
        rsc = str(action.get("resource", "")).split(":")[0]
        if rsc not in names:
            continue
        node = str(action.get("node"))
        op_key = f"{action.get('operation')}_{action.get('interval_ms', 0)}"
        fenced = [f.t for f in timeline.fences if f.node == node]
        since = max(fenced) if fenced else 0.0
        if not any(f.node == node and f.rsc == rsc and f.op_key == op_key and f.t >= since
                   for f in timeline.failures):
            found.append(Violation("fail-counts", f"the store shows a failed {op_key} of {rsc} on {node}"
                                   f" (rc {action.get('rc')}, {action.get('status')})"
                                   " that its agent never had"))
    return found


class LogWatch:
    """New text of the nodes' logs since the last look: searched for tracebacks (each one reported)
    and kept for the step's other audits (:attr:`text`)."""

    def __init__(self) -> None:
        self._offsets: dict[Path, int] = {}
        self.text: dict[Path, str] = {}

    def read(self, logs: Iterable[Path]) -> None:
        """The text each log gained since the last call (only whole lines) into :attr:`text`."""
        self.text = {}
        for path in logs:
            try:
                with open(path, "rb") as stream:
                    stream.seek(self._offsets.get(path, 0))
                    data = stream.read()
            except OSError:
                continue
            cut = data.rfind(b"\n") + 1  # a line still being written is read next time
            self._offsets[path] = self._offsets.get(path, 0) + cut
            self.text[path] = data[:cut].decode("utf-8", "replace")

    def tracebacks(self, logs: Iterable[Path]) -> list[Violation]:
        self.read(logs)
        return [Violation("no traceback", f"a traceback in {path}", lines)
                for path, text in self.text.items() for lines in traceback_blocks(text)]


def traceback_blocks(text: str) -> list[tuple[str, ...]]:
    """Each traceback in a log: the log line that introduced it, then its lines up to the next log line."""
    lines = text.splitlines()
    blocks: list[tuple[str, ...]] = []
    for index, line in enumerate(lines):
        if TRACEBACK not in line:
            continue
        begin = index
        while begin > 0 and not is_log_line(lines[begin]):
            begin -= 1
        end = index + 1
        while end < len(lines) and not is_log_line(lines[end]):
            end += 1
        blocks.append(tuple(lines[begin:end][:80]))
    return blocks


def is_log_line(line: str) -> bool:
    """vigil's log lines begin with their time: ``2026-01-31 12:00:00,123 LEVEL ...``."""
    return len(line) > 23 and line[4] == "-" and line[10] == " " and line[19] == ","
