"""The lab's results: per fault kind, how long the cluster took to settle again, and every failed audit.

Recovery time is measured from the moment the fault was injected until the
cluster was settled again (the start of the quiet window the runner waits
for: every node up and serving, the controller's plan empty and its last
transition complete, every resource where the store says): it includes what
the fault itself held (a pause, a cut, a restart delay), which is reported
beside it.  p95 is the nearest-rank percentile (with few runs it is the max).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from vigil.testing.lab.activity import Violation


@dataclass
class StepResult:
    """One step as it ran."""

    number: int
    kind: str
    planned: str
    target: str = ""
    notes: list[str] = field(default_factory=list)
    held_s: float = 0.0
    recovery_s: float | None = None
    violations: list[Violation] = field(default_factory=list)
    skipped: str = ""
    # Failed audits explained by a tolerated known issue (their names).
    known: list[str] = field(default_factory=list)
    # Whether the cluster settled in the end (late, when recovery_s is None): a run may go on.
    settled: bool = True

    @property
    def passed(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class KindFigures:
    kind: str
    runs: int
    median_s: float | None
    p95_s: float | None
    max_s: float | None
    held_median_s: float | None
    failed: int


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def figures(results: Sequence[StepResult]) -> list[KindFigures]:
    """Per kind, in the order kinds first appear."""
    kinds: list[str] = []
    for result in results:
        if result.kind not in kinds:
            kinds.append(result.kind)
    table = []
    for kind in kinds:
        rows = [r for r in results if r.kind == kind and not r.skipped]
        times = [r.recovery_s for r in rows if r.recovery_s is not None]
        held = [r.held_s for r in rows]
        table.append(KindFigures(
            kind=kind, runs=len(rows),
            median_s=round(statistics.median(times), 2) if times else None,
            p95_s=round(percentile(times, 0.95), 2) if times else None,
            max_s=round(max(times), 2) if times else None,
            held_median_s=round(statistics.median(held), 2) if held else None,
            failed=sum(1 for r in rows if not r.passed)))
    return table


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table_text(rows: Sequence[KindFigures]) -> str:
    lines = [f"{'fault kind':<18} {'runs':>4} {'median s':>9} {'p95 s':>7} {'max s':>7} {'held s':>7}"
             f" {'failed':>6}"]
    for row in rows:
        lines.append(f"{row.kind:<18} {row.runs:>4} {seconds(row.median_s):>9} {seconds(row.p95_s):>7}"
                     f" {seconds(row.max_s):>7} {seconds(row.held_median_s):>7} {row.failed:>6}")
    return "\n".join(lines)


def as_json(seed: int, results: Sequence[StepResult], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "seed": seed,
        **extra,
        "figures": [asdict(row) for row in figures(results)],
        "steps": [{**asdict(r), "passed": r.passed} for r in results],
    }
