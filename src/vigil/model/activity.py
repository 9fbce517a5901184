"""What the controller did, as it reports it: transitions, action counts, monitors, store health.

Plain values the controller keeps in memory (they restart with the daemon)
and the API, the status and the metrics read; defined here, below both, so
that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MonitorKey:
    resource: str
    node: str
    interval_ms: int

    def __str__(self) -> str:
        return f"{self.resource}_monitor_{self.interval_ms} on {self.node}"


@dataclass
class TransitionReport:
    """One transition as the operator sees it."""

    number: int
    started: float
    summary: tuple[str, ...]
    actions: int
    trigger: str
    finished: float | None = None
    outcome: str = "running"
    # The transition's actions and order as JSON (vigil.output.graph), for the web page's graph;
    # None when it was too large to keep, or the report is older than the field.
    graph: str | None = None


@dataclass
class ActionStats:
    count: int = 0
    failed: int = 0
    seconds: float = 0.0


@dataclass
class ControllerStats:
    """Counters for /metrics, kept in memory (they restart with the daemon)."""

    transitions: int = 0
    aborted_transitions: int = 0
    actions: dict[str, ActionStats] = field(default_factory=dict)
    # Plans made, by how (incremental, unchanged, full), and the time they took.
    plans: dict[str, int] = field(default_factory=dict)
    scheduling_seconds: float = 0.0
    # The store refusing to read or record (a full disk, a lost server): since when, why,
    # and how many times it refused since the daemon started.
    store_failing_since: float | None = None
    store_error: str = ""
    store_errors: int = 0

    def store_failed(self, error: Exception, now: float) -> None:
        if self.store_failing_since is None:
            self.store_failing_since = now
        self.store_error = str(error)
        self.store_errors += 1

    def store_ok(self) -> bool:
        """Note that the store works again; whether it had been failing."""
        was_failing = self.store_failing_since is not None
        self.store_failing_since = None
        self.store_error = ""
        return was_failing

    def count_plan(self, mode: str, seconds: float) -> None:
        self.plans[mode] = self.plans.get(mode, 0) + 1
        self.scheduling_seconds += seconds

    def count(self, task: str, seconds: float, failed: bool) -> None:
        stats = self.actions.setdefault(task, ActionStats())
        stats.count += 1
        stats.failed += int(failed)
        stats.seconds += seconds
