"""What one change costs the daemon's scheduler: incremental against from scratch.

    .venv/bin/python bench/scheduler/incremental.py [--size 16x5000] [--trials 10]
        [--results DIR] [--work DIR]

(or ``make bench-incremental``).

The daemon plans with ``IncrementalScheduler`` (vigil.scheduler.incremental),
which re-plans only the resources a change reaches and reuses the rest of
its last plan.  This measures, in one process, on the shared benchmark
cluster (``gen_cib.py --nodes N --resources M --seed 1``, the file
``make bench-scheduler`` uses; its generator as in bench/scheduler/run.py):

1. the first plan (from scratch, as when the daemon starts), then the plans
   while the cluster settles (each transition recorded as successful, as
   the controller records results), until nothing is left to do;
2. ``--trials`` times: a recurring monitor of a random running primitive
   fails (recorded with its fail-count, as the controller does), and the
   scheduler plans it.  That is a recovery in place (the resource has
   recoveries left), which is the common case.  The same cluster is also
   planned by ``schedule()`` from scratch, both times are kept, and the two
   plans must be identical (actions, order, summary, view, recheck time).
   Then the recovery is recorded as done and planned again (the plan the
   daemon makes when the recovery's results come in);
3. one resource is failed until it reaches its migration-threshold: it moves,
   which changes the node loads every later placement sees, so that plan is
   made from scratch (the fallback, measured and compared too).

Times are ``time.perf_counter`` around the call, in-process (no parsing:
the cluster is already in memory, as in the daemon).  Writes
``incremental.json`` and ``incremental.md`` into ``--results`` (default
bench/scheduler/results).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vigil.formats.cib.load import load_cib
from vigil.model.cluster import Cluster
from vigil.model.transition import Transition
from vigil.scheduler import schedule
from vigil.scheduler.incremental import IncrementalScheduler
from vigil.simulator.from_file import resolve_now
from vigil.simulator.steps import Failure, apply_transition, inject_failure

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, generator, machine, parse_size


@dataclass
class Plan:
    """One plan of the daemon's scheduler, and the same plan from scratch."""

    what: str
    mode: str
    seconds: float
    replanned: int = 0
    scratch_seconds: float | None = None
    identical: bool | None = None
    summary: list[str] = field(default_factory=list)


@dataclass
class Result:
    size: str
    top_level: int
    settle: list[Plan] = field(default_factory=list)
    failures: list[Plan] = field(default_factory=list)
    recorded: list[Plan] = field(default_factory=list)
    moves: list[Plan] = field(default_factory=list)


def _same(a: Transition, b: Transition) -> bool:
    return a == b and a.view == b.view and a.recheck_by == b.recheck_by and a.notes == b.notes


def _plan(scheduler: IncrementalScheduler, cluster: Cluster, now: int, what: str,
          compare: bool = False) -> tuple[Transition, Plan]:
    started = time.perf_counter()
    transition = scheduler.schedule(cluster, now)
    plan = Plan(what, scheduler.last_mode, time.perf_counter() - started, scheduler.last_replanned)
    if compare:
        started = time.perf_counter()
        scratch = schedule(cluster, now)
        plan.scratch_seconds = time.perf_counter() - started
        plan.identical = _same(transition, scratch)
        plan.summary = [line.render() for line in scratch.summary]
    print(f"{what}: {plan.mode}, {plan.replanned} re-planned, {plan.seconds:.3f} s"
          + (f" (from scratch {plan.scratch_seconds:.3f} s, identical: {plan.identical})" if compare else ""),
          flush=True)
    return transition, plan


def _candidates(cluster: Cluster, transition: Transition) -> list[tuple[str, str]]:
    """Running primitives without failures, outside clones (recovered in place on one failure)."""
    failed = {
        name.split("#", 1)[0][len("fail-count-"):]
        for state in cluster.status.nodes for name, _ in state.attributes if name.startswith("fail-count-")
    }
    assert transition.view is not None
    return [(v.id, v.nodes[0]) for v in transition.view.resources
            if v.nodes and v.role == "Started" and not v.failed and v.parent is None and v.id not in failed]


def _has_threshold(cluster: Cluster, rsc: str) -> bool:
    """Does ``rsc`` set a migration-threshold of its own (else it never leaves on failures)?"""
    for prim in cluster.config.primitives():
        if prim.id == rsc:
            return any(name == "migration-threshold" for nvset in prim.meta for name, _ in nvset.values)
    return False


def _moves(summary: list[str]) -> bool:
    return any(line.startswith(("* Move", "* Stop")) for line in summary)


def run(size: str, trials: int, work: Path) -> Result:
    nodes, resources = parse_size(size)
    work.mkdir(parents=True, exist_ok=True)
    xml = work / f"{size}.xml"
    if not xml.exists():
        subprocess.run([sys.executable, str(generator()), "--nodes", str(nodes), "--resources",
                        str(resources), "--seed", "1", "-o", str(xml)], check=True)
    cluster, _ = load_cib(xml)
    now = resolve_now(cluster, None)
    result = Result(size, len(cluster.config.resources))
    scheduler = IncrementalScheduler()
    for step in range(10):
        transition, plan = _plan(scheduler, cluster, now, f"settling {step}")
        result.settle.append(plan)
        if not [a for a in transition.actions if not a.pseudo]:
            break
        cluster = apply_transition(cluster, transition, now)
    rng = random.Random(1)
    for trial in range(trials):
        rsc, node = rng.choice(_candidates(cluster, transition))
        cluster = inject_failure(cluster, Failure(rsc, node), now)
        transition, plan = _plan(scheduler, cluster, now, f"failure {trial + 1} ({rsc} on {node})", True)
        result.failures.append(plan)
        cluster = apply_transition(cluster, transition, now)
        transition, plan = _plan(scheduler, cluster, now, "  its recovery recorded")
        result.recorded.append(plan)
    # One resource failed until it leaves its node.
    rsc, node = rng.choice([c for c in _candidates(cluster, transition) if _has_threshold(cluster, c[0])])
    for count in range(1, 12):
        cluster = inject_failure(cluster, Failure(rsc, node), now)
        transition, plan = _plan(scheduler, cluster, now, f"failure {count} of {rsc} on {node}", True)
        if _moves(plan.summary):
            result.moves.append(plan)
            break
        cluster = apply_transition(cluster, transition, now)
        scheduler.schedule(cluster, now)
    return result


def _row(label: str, plans: list[Plan]) -> str:
    seconds = [p.seconds for p in plans]
    modes = sorted({p.mode for p in plans})
    cells = [label, ", ".join(modes), f"{statistics.median(seconds):.3f} s", f"{min(seconds):.3f} s",
             f"{max(seconds):.3f} s"]
    scratch = [p.scratch_seconds for p in plans if p.scratch_seconds is not None]
    if scratch:
        ratio = statistics.median(seconds) / statistics.median(scratch)
        cells += [f"{statistics.median(scratch):.3f} s", f"{ratio:.3f}"]
    else:
        cells += ["", ""]
    return "| " + " | ".join(cells) + " |"


def table(result: Result) -> str:
    in_place = [p for p in result.failures if not _moves(p.summary)]
    compared = result.failures + result.moves
    replanned = [p.replanned for p in in_place if p.mode == "incremental"]
    lines = [
        f"Cluster: {result.size} (gen_cib.py --seed 1), {result.top_level} top-level resources.",
        "",
        "| plan | how | median | min | max | from scratch (median) | ratio |",
        "|---|---|---|---|---|---|---|",
        _row("first plan at start-up", result.settle[:1]),
        _row(f"one monitor failure, recovered in place ({len(in_place)} trials)", in_place),
        _row("the recovery's results recorded", result.recorded),
    ]
    if result.moves:
        lines.append(_row("a failure at migration-threshold (the resource moves)", result.moves))
    identical = all(p.identical for p in compared)
    lines += [
        "",
        f"Top-level resources re-planned per in-place failure: median "
        f"{statistics.median(replanned) if replanned else 0}, max {max(replanned, default=0)}.",
        f"Every compared plan identical to schedule() from scratch: {'yes' if identical else 'NO'}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="16x5000")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--results", default=str(REPO / "bench" / "scheduler" / "results"))
    parser.add_argument("--work", default="/tmp/vigil-bench")
    args = parser.parse_args()
    result = run(args.size, args.trials, Path(args.work))
    info = machine()
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "incremental.json").write_text(json.dumps({"machine": info, **asdict(result)}, indent=1) + "\n")
    text = table(result)
    (out / "incremental.md").write_text(f"Measured {info['date']} on {info['cpu']} ({info['cpus']} CPUs).\n\n"
                                        + text)
    print()
    print(text)


if __name__ == "__main__":
    main()
