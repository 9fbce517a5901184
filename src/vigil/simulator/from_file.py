"""Run the scheduler on a CIB file and render the transition.

Shared by ``vigil simulate`` and the conformance runner.  All I/O of the
simulator (reading the file, reading the clock when no date is given) happens
here, never in the scheduler.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from vigil.errors import InputError, Problem
from vigil.formats.cib.load import load_cib
from vigil.model.cluster import Cluster
from vigil.model.isodate import parse_iso8601
from vigil.model.transition import Transition
from vigil.output.transition import render_json, render_pacemaker, render_text
from vigil.scheduler import schedule
from vigil.simulator.failures import Failure


@dataclass(frozen=True)
class Simulation:
    cluster: Cluster
    now: int
    transition: Transition
    warnings: tuple[str, ...]


def resolve_now(cluster: Cluster, date: str | None) -> int:
    """``-t DATE`` wins, then the CIB's ``execution-date``, then the clock."""
    if date is not None:
        try:
            return parse_iso8601(date)
        except ValueError as err:
            problem = Problem("-t/--date", f"{err} (use ISO 8601, e.g. 2026-11-25T12:00:00Z)")
            raise InputError([problem]) from None
    if cluster.status.execution_date is not None:
        return cluster.status.execution_date
    return int(time.time())


def simulate_file(path: str | os.PathLike[str], date: str | None = None) -> Simulation:
    """Load ``path`` and schedule it.  Raises ``InputError`` on bad input."""
    cluster, warnings = load_cib(path)
    now = resolve_now(cluster, date)
    transition = schedule(cluster, now, sanitized=True)
    return Simulation(cluster, now, transition, tuple(warnings))


def simulate_steps(path: str | os.PathLike[str], failures: Sequence[Failure], steps: int,
                   date: str | None = None) -> list[Simulation]:
    """Fail, schedule, apply — ``steps`` times — and return each transition.

    Each step injects every failure in ``failures`` into the status (as the
    controller records a failed monitor and its fail-count), schedules, and
    then runs the whole transition through the controller's graph runner,
    handlers and recorder with agents that all succeed, before the next step
    (see :mod:`vigil.simulator.steps`).
    """
    if steps < 1:
        raise InputError([Problem("--steps", f"{steps} is not a positive number of steps")])
    # Playing steps runs the controller's machinery (asyncio, the executor's types): loaded only
    # here, so that a plain `vigil simulate` (and the conformance runner) starts without it.
    from vigil.simulator.steps import apply_transition, inject_failure
    cluster, warnings = load_cib(path)
    now = resolve_now(cluster, date)
    results = []
    for _ in range(steps):
        for failure in failures:
            cluster = inject_failure(cluster, failure, now)
        transition = schedule(cluster, now, sanitized=True)
        results.append(Simulation(cluster, now, transition, tuple(warnings)))
        cluster = apply_transition(cluster, transition, now)
        warnings = []
    return results


def render(sim: Simulation, fmt: str) -> str:
    if fmt == "pacemaker":
        return render_pacemaker(sim.cluster, sim.transition, sim.now)
    if fmt == "json":
        return render_json(sim.transition)
    return render_text(sim.cluster, sim.transition, sim.now)
