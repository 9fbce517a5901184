"""Differential harness: the same random cluster through Pacemaker and through vigil.

Why: a scheduler "in the Pacemaker model" is only as good as its agreement
with Pacemaker on inputs nobody hand-picked.  For each seed this writes the
cluster of ``vigil.testing.gen_cluster`` to a file, runs Debian's
``crm_simulate -x FILE -S`` (Pacemaker 2.1.5) and vigil's simulator on it,
and compares the ``Transition Summary:`` lines (normalised as in
``pacemaker-corpus/README.md``: lines starting with ``*``, white space
collapsed) as ordered lists and as multisets.  A multiset disagreement is a
failure; the ordered figure is reported because Pacemaker's own regression
suite compares in order.

Shared by ``scripts/differential.py`` and the tests in ``tests/differential``
(pytest puts ``scripts/`` on the path), which is why it has no pytest in it.
Seeds run in a process pool: ``crm_simulate`` is a subprocess and vigil is
pure Python, so processes (not threads) are what keeps both cores busy; a
process also lets a vigil hang be cut off by an alarm without losing the
whole run.
"""

from __future__ import annotations

import difflib
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import threading
import traceback
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from vigil.simulator.from_file import render, simulate_file
from vigil.testing.gen_cluster import GENERATOR_VERSION, generate_cluster

SUMMARY_HEADER = "Transition Summary:"
PACEMAKER_TIMEOUT_S = 60.0
VIGIL_TIMEOUT_S = 30.0
REPO_ROOT = Path(__file__).resolve().parent.parent
KNOWN_DIFFERENCES = REPO_ROOT / "tests" / "differential" / "known_differences.txt"


def known_differences_file(preset: str | None) -> Path:
    """The known differences of the default knobs, or of a preset's seeds
    (``known_differences_PRESET.txt``: its seed numbers name other clusters)."""
    if preset is None:
        return KNOWN_DIFFERENCES
    return KNOWN_DIFFERENCES.with_name(f"known_differences_{preset}.txt")

_WS = re.compile(r"\s+")


def summary_lines(output: str) -> tuple[str, ...] | None:
    """The normalised ``Transition Summary:`` lines of a simulator's output.

    ``None`` when there is no such block at all (the simulator failed before
    printing it), which is different from an empty summary.  The block ends at
    the next unindented line (the next section header).
    """
    lines = output.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == SUMMARY_HEADER)
    except StopIteration:
        return None
    out: list[str] = []
    for line in lines[start + 1:]:
        if line and not line[0].isspace():
            break
        text = line.strip()
        if text.startswith("*"):
            out.append(_WS.sub(" ", text))
    return tuple(out)


@dataclass(frozen=True)
class SideResult:
    """One scheduler's answer for one seed: its summary lines, or why there are none."""

    lines: tuple[str, ...] | None
    error: str | None = None
    output: str = ""
    note: str | None = None  # something odd that did not prevent a summary

    @property
    def ok(self) -> bool:
        return self.lines is not None


@dataclass(frozen=True)
class SeedResult:
    seed: int
    cib: Path
    features: frozenset[str]
    pacemaker: SideResult
    vigil: SideResult

    @property
    def agrees(self) -> bool:
        """Same lines as multisets: the pass/fail criterion."""
        p, v = self.pacemaker.lines, self.vigil.lines
        return p is not None and v is not None and Counter(p) == Counter(v)

    @property
    def agrees_in_order(self) -> bool:
        return self.pacemaker.lines is not None and self.pacemaker.lines == self.vigil.lines


def run_pacemaker(cib: Path, timeout: float = PACEMAKER_TIMEOUT_S) -> SideResult:
    """``crm_simulate -x CIB -S``; a failure here means the generator wrote bad input."""
    try:
        proc = subprocess.run(
            ["crm_simulate", "-x", str(cib), "-S"],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        return SideResult(None, f"crm_simulate timed out after {timeout:g}s")
    lines = summary_lines(proc.stdout)
    err = " | ".join(proc.stderr.strip().splitlines()[-3:])
    if lines is None:
        return SideResult(None, f"crm_simulate exit {proc.returncode}: {err}", proc.stdout)
    # The summary is printed before the transition is simulated; when that
    # simulation gets stuck ("An invalid transition was produced", exit 1)
    # the summary is still Pacemaker's decision, so it counts -- with a note.
    note = f"crm_simulate exit {proc.returncode}: {err}" if proc.returncode != 0 else None
    return SideResult(lines, None, proc.stdout, note)


class _VigilTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _VigilTimeout


def _short_traceback(exc: BaseException) -> str:
    """``Type: message`` and the innermost frames, enough to group failures by cause."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")][-3:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {msg} [at {where}]" if where else f"{type(exc).__name__}: {msg}"


def vigil_output(cib: Path) -> str:
    """What ``vigil simulate --format pacemaker CIB`` prints."""
    return render(simulate_file(cib), "pacemaker")


def run_vigil(cib: Path, timeout: float = VIGIL_TIMEOUT_S) -> SideResult:
    """vigil's simulator in-process; any exception or a hang becomes an error result."""
    use_alarm = threading.current_thread() is threading.main_thread()
    old: Any = None
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        out = vigil_output(cib)
    except _VigilTimeout:
        return SideResult(None, f"vigil timed out after {timeout:g}s")
    except Exception as exc:
        return SideResult(None, _short_traceback(exc))
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    lines = summary_lines(out)
    if lines is None:
        return SideResult(None, "vigil printed no 'Transition Summary:' block", out)
    return SideResult(lines, None, out)


def cib_path(workdir: Path, seed: int) -> Path:
    return workdir / f"seed-{seed:04d}.xml"


def compare_seed(seed: int, workdir: Path, knobs: dict[str, Any] | None = None) -> SeedResult:
    """Generate, write and run one seed through both schedulers."""
    gen = generate_cluster(seed, **(knobs or {}))
    path = cib_path(workdir, seed)
    path.write_bytes(gen.xml)
    return SeedResult(seed, path, gen.features, run_pacemaker(path), run_vigil(path))


def run_seeds(
    seeds: Iterable[int],
    workdir: Path,
    jobs: int = 2,
    knobs: dict[str, Any] | None = None,
) -> list[SeedResult]:
    """All seeds, ``jobs`` at a time (``jobs <= 1`` runs inline).

    The pool's workers are new interpreters (spawn), never forks: the test
    suite calls this from a process that may already run threads (a store's,
    a gRPC channel's), whose locks a forked child could inherit held.
    """
    seeds = list(seeds)
    workdir.mkdir(parents=True, exist_ok=True)
    task = partial(compare_seed, workdir=workdir, knobs=knobs)
    if jobs <= 1 or len(seeds) <= 1:
        return [task(s) for s in seeds]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        return list(pool.map(task, seeds, chunksize=4))


def have_crm_simulate() -> bool:
    return shutil.which("crm_simulate") is not None


def default_jobs() -> int:
    """``VIGIL_DIFF_JOBS``, else the CPUs this process may use (the brief's 2 here)."""
    env = os.environ.get("VIGIL_DIFF_JOBS")
    if env:
        return max(1, int(env))
    return max(1, len(os.sched_getaffinity(0)))


def parse_seeds(spec: str) -> list[int]:
    """``"0-199"``, ``"5,17,40-45"``; a bare ``"N"`` is the single seed N."""
    seeds: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        if sep:
            seeds.extend(range(int(lo), int(hi) + 1))
        else:
            seeds.append(int(part))
    return seeds


# --------------------------------------------------------------------------
# known differences


@dataclass
class KnownDifferences:
    """The accepted disagreements of ``known_differences.txt`` (format in its header)."""

    generator_version: int | None = None
    seeds: dict[int, str] = field(default_factory=dict)
    features: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def reason(self, result: SeedResult) -> str | None:
        if result.seed in self.seeds:
            return self.seeds[result.seed]
        for tag in sorted(result.features & self.features.keys()):
            return f"feature:{tag}: {self.features[tag]}"
        return None


def load_known(path: Path = KNOWN_DIFFERENCES) -> KnownDifferences:
    known = KnownDifferences()
    if not path.exists():
        known.problems.append(f"{path} is missing")
        return known
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            m = re.match(r"#\s*generator-version:\s*(\d+)", line)
            if m:
                known.generator_version = int(m.group(1))
            continue
        if not line:
            continue
        key, _, reason = line.partition(" ")
        reason = reason.strip()
        if not reason:
            known.problems.append(f"{path.name}:{n}: entry without a reason: {line!r}")
        elif key.startswith("feature:"):
            known.features[key.removeprefix("feature:")] = reason
        elif key.isdigit():
            known.seeds[int(key)] = reason
        else:
            known.problems.append(f"{path.name}:{n}: key is neither a seed nor feature:TAG: {key!r}")
    if known.seeds and known.generator_version != GENERATOR_VERSION:
        known.problems.append(
            f"{path.name} lists seeds for generator-version {known.generator_version}, but the "
            f"generator is at version {GENERATOR_VERSION}: re-check each seed entry, then update "
            f"the '# generator-version:' header line"
        )
    return known


@dataclass
class Verdict:
    """How a run measures against the known differences."""

    results: list[SeedResult]
    unexplained: list[SeedResult] = field(default_factory=list)
    explained: list[tuple[SeedResult, str]] = field(default_factory=list)
    harness_errors: list[SeedResult] = field(default_factory=list)  # crm_simulate failed
    stale: list[str] = field(default_factory=list)
    known_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unexplained or self.harness_errors or self.stale or self.known_problems)


def judge(results: Sequence[SeedResult], known: KnownDifferences) -> Verdict:
    """Sort results into agreements, explained and unexplained disagreements, stale entries.

    A seed entry is stale when that seed ran and agreed; a feature entry when
    some seed that ran has the feature and none of them disagreed.  Entries
    for seeds or features this run did not reach are left alone, so a short
    run (``VIGIL_DIFF_SEEDS=20``) never calls the list stale.
    """
    v = Verdict(list(results), known_problems=list(known.problems))
    for r in results:
        if not r.pacemaker.ok:
            v.harness_errors.append(r)
        elif not r.agrees:
            reason = known.reason(r)
            if reason is None:
                v.unexplained.append(r)
            else:
                v.explained.append((r, reason))
    by_seed = {r.seed: r for r in results}
    for seed, reason in sorted(known.seeds.items()):
        ran = by_seed.get(seed)
        if ran is not None and ran.pacemaker.ok and ran.agrees:
            v.stale.append(f"{seed}  {reason}  (seed {seed} now agrees: delete the entry)")
    for tag, reason in sorted(known.features.items()):
        having = [r for r in results if tag in r.features and r.pacemaker.ok]
        if having and all(r.agrees for r in having):
            v.stale.append(f"feature:{tag}  {reason}  (all {len(having)} seeds with it agree)")
    return v


# --------------------------------------------------------------------------
# reporting


def side_by_side(left: Sequence[str], right: Sequence[str], titles: tuple[str, str]) -> str:
    """Two summaries aligned line by line; ``!`` marks lines the other side lacks."""
    width = max([len(titles[0]), *(len(x) for x in left)]) + 2
    rows = [f"    {titles[0]:<{width}} | {titles[1]}"]
    extra_l = Counter(left) - Counter(right)
    extra_r = Counter(right) - Counter(left)
    matcher = difflib.SequenceMatcher(a=list(left), b=list(right), autojunk=False)
    for _tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            lt = left[i1 + k] if i1 + k < i2 else ""
            rt = right[j1 + k] if j1 + k < j2 else ""
            mark = "!" if (lt and extra_l[lt]) or (rt and extra_r[rt]) else " "
            rows.append(f"  {mark} {lt:<{width}} | {rt}")
    if len(rows) == 1:
        rows.append(f"    {'(empty)':<{width}} | (empty)")
    return "\n".join(rows)


# Generated names: primitives rsc1, groups grp1, clones rsc1-clone/grp1-clone,
# instances rsc1:0; a cause key should not depend on which of them it was.
_NAMES = re.compile(r"\b(?:(?:rsc|grp)\d+(?:-clone)?(?::\d+)?|node\d+|fencing)\b")


def _anonymise(text: str) -> str:
    return _NAMES.sub("X", text)


def cause_key(r: SeedResult) -> str:
    """A rough grouping key for a disagreement: an error, or the verbs that differ."""
    if not r.vigil.ok:
        err = r.vigil.error or "?"
        return "vigil error: " + _anonymise(err)[:160]
    left, right = Counter(r.pacemaker.lines or ()), Counter(r.vigil.lines or ())

    def verbs(c: Counter[str]) -> str:
        return ",".join(sorted({_verb(line) for line in c.elements()})) or "-"

    return f"pacemaker-only: {verbs(left - right)}; vigil-only: {verbs(right - left)}"


def _verb(line: str) -> str:
    parts = line.split()
    verb = parts[1] if len(parts) > 1 else line
    if "due to" in line:
        verb += " (due to " + _anonymise(line.split("due to", 1)[1].strip()) + ")"
    return verb


def format_result(r: SeedResult, reason: str | None = None) -> str:
    head = f"seed {r.seed}"
    if reason:
        head += f"  [known: {reason}]"
    elif r.agrees:
        head += "  [order only]"
    out = [head, f"  cib: {r.cib}   (or: python -m vigil.testing.gen_cluster {r.seed} -o cib.xml)",
           f"  features: {' '.join(sorted(r.features)) or '-'}"]
    if not r.pacemaker.ok:
        out.append(f"  PACEMAKER FAILED: {r.pacemaker.error}")
    if r.pacemaker.note:
        out.append(f"  pacemaker note: {r.pacemaker.note}")
    if not r.vigil.ok:
        out.append(f"  VIGIL FAILED: {r.vigil.error}")
    out.append(side_by_side(r.pacemaker.lines or (), r.vigil.lines or (), ("pacemaker 2.1.5", "vigil")))
    return "\n".join(out)


def format_report(v: Verdict, elapsed: float | None = None, show_explained: bool = False) -> str:
    """The whole run: totals, groups of disagreements by likely cause, then each seed."""
    n = len(v.results)
    ok_pm = [r for r in v.results if r.pacemaker.ok]
    agree = sum(r.agrees for r in ok_pm)
    in_order = sum(r.agrees_in_order for r in ok_pm)
    vigil_err = sum(not r.vigil.ok for r in ok_pm)
    empty = sum(r.agrees and not r.pacemaker.lines for r in ok_pm)
    timing = f" in {elapsed:.1f}s" if elapsed is not None else ""
    out = [
        f"differential run: {n} seeds{timing} (generator version {GENERATOR_VERSION})",
        f"  agree as multisets: {agree}/{len(ok_pm)} ({empty} of them with an empty summary)",
        f"  agree in order:     {in_order}/{len(ok_pm)}",
        f"  disagree:           {len(ok_pm) - agree} ({len(v.explained)} known, "
        f"{len(v.unexplained)} unexplained; vigil raised or timed out on {vigil_err})",
    ]
    if v.harness_errors:
        out.append(f"  crm_simulate failed: {len(v.harness_errors)} (generator bug?)")
    noted = [r.seed for r in ok_pm if r.pacemaker.note]
    if noted:
        out.append(f"  crm_simulate printed a summary but exited non-zero (invalid transition) on "
                   f"seeds {', '.join(map(str, noted))}; their summaries are compared as usual")
    disagreements = [r for r in ok_pm if not r.agrees]
    if disagreements:
        groups: dict[str, list[SeedResult]] = {}
        for r in disagreements:
            groups.setdefault(cause_key(r), []).append(r)
        out.append("\ndisagreements by likely cause:")
        for key, rs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            common = frozenset.intersection(*(r.features for r in rs))
            seeds = ", ".join(str(r.seed) for r in rs[:15]) + (" ..." if len(rs) > 15 else "")
            out.append(f"  {len(rs):4d}  {key}\n        seeds: {seeds}")
            if len(rs) > 1 and common:
                out.append(f"        common features: {' '.join(sorted(common))}")
    for msg in v.known_problems:
        out.append(f"\nKNOWN-DIFFERENCES FILE: {msg}")
    for msg in v.stale:
        out.append(f"\nSTALE known difference: {msg}")
    for r in v.harness_errors:
        out.append("\n" + format_result(r))
    for r in v.unexplained:
        out.append("\n" + format_result(r))
    if show_explained:
        for r, reason in v.explained:
            out.append("\n" + format_result(r, reason))
    return "\n".join(out)


def keep_outputs(results: Iterable[SeedResult]) -> None:
    """Write both simulators' full output beside each disagreeing seed's CIB."""
    for r in results:
        if r.agrees:
            continue
        base = r.cib.with_suffix("")
        for name, side in (("pacemaker", r.pacemaker), ("vigil", r.vigil)):
            base.with_name(f"{base.name}.{name}.txt").write_text(side.output or side.error or "")
