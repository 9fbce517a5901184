"""Run the scheduler on a CIB file and render the transition.

Shared by ``vigil simulate`` and the conformance runner.  All I/O of the
simulator (reading the file, reading the clock when no date is given) happens
here, never in the scheduler.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from vigil.isodate import parse_iso8601
from vigil.model.cib import load_cib
from vigil.model.cluster import Cluster
from vigil.model.transition import Transition
from vigil.render import render_json, render_pacemaker, render_text
from vigil.scheduler import schedule


@dataclass(frozen=True)
class Simulation:
    cluster: Cluster
    now: int
    transition: Transition
    warnings: tuple[str, ...]


def resolve_now(cluster: Cluster, date: str | None) -> int:
    """``-t DATE`` wins, then the CIB's ``execution-date``, then the clock."""
    if date is not None:
        return parse_iso8601(date)
    if cluster.status.execution_date is not None:
        return cluster.status.execution_date
    return int(time.time())


def simulate_file(path: str | Path, date: str | None = None) -> Simulation:
    """Load ``path`` and schedule it.  Raises ``InputError`` on bad input."""
    cluster, warnings = load_cib(Path(path))
    now = resolve_now(cluster, date)
    transition = schedule(cluster, now, sanitized=True)
    return Simulation(cluster, now, transition, tuple(warnings))


def render(sim: Simulation, fmt: str) -> str:
    if fmt == "pacemaker":
        return render_pacemaker(sim.cluster, sim.transition, sim.now)
    if fmt == "json":
        return render_json(sim.transition)
    return render_text(sim.cluster, sim.transition, sim.now)
