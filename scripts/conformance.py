#!/usr/bin/env python3
"""Compare vigil's transition summaries with Pacemaker's regression corpus.

Each corpus test is a CIB (``xml/NAME.xml``) and the summary lines Pacemaker
printed for it (``index.json``'s ``expected_summary``).  vigil runs in-process
on every CIB, its ``--format pacemaker`` output is cut down to the normalised
``*`` lines of the Transition Summary block, and the two lists are compared:
in order (Pacemaker's own criterion) and as multisets (a second figure that
separates "wrong decision" from "right decisions, different order").

Pass counts are reported for the core subset, the wave-1 subset and the whole
corpus, with the tests that expect an empty summary counted apart: a
scheduler that does nothing passes those.

Usable as a script (``make conformance``) and as a module: the pytest ratchet
in ``tests/conformance`` imports :func:`run_corpus` and :func:`format_report`.

The corpus is read where it lies (``../shared/pacemaker-corpus`` beside the
repository, or ``$VIGIL_PACEMAKER_CORPUS``) and never copied.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from vigil.simulator.from_file import render, simulate_file

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_ENV = "VIGIL_PACEMAKER_CORPUS"
# Not in Pacemaker's test list any more (see the corpus README).
STALE_TESTS = frozenset({"bundle-interleave-down", "bundle-order-partial"})
SUBSETS = ("core", "wave1", "all")
DEFAULT_WORKERS = 2
DEFAULT_TIMEOUT = 20.0


class CorpusMissing(Exception):
    """The corpus directory, or a file it must hold, is not there."""


def corpus_dir() -> Path:
    """Where the corpus is: ``$VIGIL_PACEMAKER_CORPUS`` or ``../shared`` beside the repo."""
    configured = os.environ.get(CORPUS_ENV)
    if configured:
        return Path(configured)
    return REPO_ROOT.parent / "shared" / "pacemaker-corpus"


# ---------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusTest:
    name: str
    xml: Path
    date: str | None
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    root: Path
    tests: tuple[CorpusTest, ...]
    subsets: dict[str, frozenset[str]]
    skipped: tuple[str, ...]


def _read_list(path: Path) -> frozenset[str]:
    if not path.is_file():
        raise CorpusMissing(f"{path} is missing")
    return frozenset(line.strip() for line in path.read_text().splitlines() if line.strip())


def _date_argument(args: Sequence[str]) -> str | None:
    """The ``-t DATE`` of a test's crm_simulate arguments; others are refused."""
    date: str | None = None
    rest = list(args)
    while rest:
        flag = rest.pop(0)
        if flag == "-t" and rest:
            date = rest.pop(0)
        else:
            raise ValueError(f"unsupported crm_simulate argument {flag!r}")
    return date


def load_corpus(root: Path | None = None) -> Corpus:
    """Read ``index.json`` and the subset lists.  Raises :class:`CorpusMissing`."""
    root = root or corpus_dir()
    index_path = root / "index.json"
    if not index_path.is_file():
        raise CorpusMissing(
            f"the Pacemaker corpus is not at {root} (no index.json); set {CORPUS_ENV} "
            "or put the shared directory beside the repository"
        )
    index: dict[str, Any] = json.loads(index_path.read_text())
    tests: list[CorpusTest] = []
    skipped: list[str] = []
    for name, entry in sorted(index["tests"].items()):
        if name in STALE_TESTS:
            skipped.append(name)
            continue
        tests.append(
            CorpusTest(
                name=name,
                xml=root / "xml" / f"{name}.xml",
                date=_date_argument(entry.get("args", [])),
                expected=tuple(entry["expected_summary"]),
            )
        )
    known = {test.name for test in tests}
    subsets = {
        "core": _read_list(root / "core-tests.txt") & known,
        "wave1": _read_list(root / "wave1-tests.txt") & known,
        "all": frozenset(known),
    }
    return Corpus(root, tuple(tests), subsets, tuple(skipped))


# ---------------------------------------------------------------------------
# Running one test (in a worker process)
# ---------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def extract_summary(output: str) -> list[str]:
    """The normalised ``*`` lines of the ``Transition Summary:`` block.

    The block ends at the first line that is neither indented nor empty
    (crm_simulate's next heading).  Runs of white space collapse to one.
    """
    lines: list[str] = []
    inside = False
    for line in output.splitlines():
        if line.strip() == "Transition Summary:":
            inside = True
            continue
        if not inside:
            continue
        if line and not line[0].isspace():
            break
        stripped = line.strip()
        if stripped.startswith("*"):
            lines.append(_SPACES.sub(" ", stripped))
    return lines


@dataclass
class TestResult:
    name: str
    status: str  # pass, fail, error, timeout
    expected: list[str]
    got: list[str] = field(default_factory=list)
    multiset_pass: bool = False
    reason: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "pass"


class _TestTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _TestTimeout()


def _run_vigil(xml: Path, date: str | None) -> str:
    return render(simulate_file(xml, date), "pacemaker")


# What runs one CIB: vigil's simulator (tests/conformance/test_runner.py puts a fake here).
_runner: Callable[[Path, str | None], str] = _run_vigil


Runner = Callable[[Path, str | None], str]


def run_test(test: CorpusTest, timeout: float, runner: Runner | None = None) -> TestResult:
    """Run vigil (or ``runner``) on one CIB with a time limit; never raises."""
    result = TestResult(test.name, "error", list(test.expected))
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        output = (runner or _runner)(test.xml, test.date)
    except _TestTimeout:
        result.status = "timeout"
        result.reason = f"took longer than {timeout:g} s"
    except Exception as err:  # every failure becomes a reason
        frame = traceback.extract_tb(err.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        result.reason = f"{type(err).__name__}: {err} ({where})"
    else:
        result.got = extract_summary(output)
        result.multiset_pass = Counter(result.got) == Counter(result.expected)
        result.status = "pass" if result.got == result.expected else "fail"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    result.seconds = time.monotonic() - started
    return result


# ---------------------------------------------------------------------------
# Running the corpus
# ---------------------------------------------------------------------------


@dataclass
class Run:
    corpus: Corpus
    results: dict[str, TestResult]
    seconds: float
    workers: int

    def count(self, subset: str) -> SubsetCount:
        names = self.corpus.subsets[subset]
        chosen = [self.results[name] for name in sorted(names) if name in self.results]
        empty = [result for result in chosen if not result.expected]
        return SubsetCount(
            subset=subset,
            total=len(chosen),
            passed=sum(result.passed for result in chosen),
            multiset=sum(result.multiset_pass for result in chosen),
            empty_total=len(empty),
            empty_passed=sum(result.passed for result in empty),
            errors=sum(result.status == "error" for result in chosen),
            timeouts=sum(result.status == "timeout" for result in chosen),
        )

    def failures(self, subset: str) -> list[TestResult]:
        names = self.corpus.subsets[subset]
        return [self.results[name] for name in sorted(names) if not self.results[name].passed]


@dataclass(frozen=True)
class SubsetCount:
    subset: str
    total: int
    passed: int
    multiset: int
    empty_total: int
    empty_passed: int
    errors: int
    timeouts: int


def run_corpus(
    corpus: Corpus,
    *,
    workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_TIMEOUT,
    only: Iterable[str] | None = None,
    runner: Runner | None = None,
) -> Run:
    """Run every test (or those in ``only``) in a pool of ``workers`` processes.

    ``runner`` replaces vigil's simulator (a module-level function: the
    workers are new interpreters and receive it by reference).
    """
    wanted = set(only) if only is not None else None
    tests = [test for test in corpus.tests if wanted is None or test.name in wanted]
    started = time.monotonic()
    results: dict[str, TestResult] = {}
    # spawn, not fork: a fresh interpreter per worker.  The test suite calls
    # this from a process that may already run threads (a store's, a gRPC
    # channel's), and a child forked from those can inherit a lock held by a
    # thread that no longer exists, or a gRPC channel it must not use.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {test.name: pool.submit(run_test, test, timeout, runner) for test in tests}
        for test in tests:
            try:
                results[test.name] = futures[test.name].result()
            except BrokenProcessPool as err:
                # A worker died (crash, out of memory): the test it ran and
                # any still queued are reported, not lost.
                results[test.name] = TestResult(
                    test.name, "error", list(test.expected), reason=f"worker died: {err}"
                )
    if wanted is not None:
        subsets = {name: names & wanted for name, names in corpus.subsets.items()}
        corpus = Corpus(corpus.root, corpus.tests, subsets, corpus.skipped)
    return Run(corpus, results, time.monotonic() - started, workers)


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


def format_count(count: SubsetCount) -> str:
    line = (
        f"{count.subset}: {count.passed}/{count.total} pass "
        f"(of which {count.empty_total} expect an empty summary: {count.empty_passed}/{count.empty_total}); "
        f"as multisets {count.multiset}/{count.total}"
    )
    if count.errors or count.timeouts:
        line += f"; {count.errors} errors, {count.timeouts} timeouts"
    return line


def format_report(run: Run) -> str:
    lines = [format_count(run.count(subset)) for subset in SUBSETS]
    if run.corpus.skipped:
        lines.append(f"skipped as stale: {', '.join(run.corpus.skipped)}")
    lines.append(f"{len(run.results)} tests in {run.seconds:.1f} s with {run.workers} workers")
    reasons = Counter(
        result.reason.split(" (", 1)[0] for result in run.results.values() if result.status == "error"
    )
    if reasons:
        lines.append("most frequent errors:")
        lines += [f"  {number:4d}  {reason}" for reason, number in reasons.most_common(5)]
    return "\n".join(lines)


def format_failures(run: Run, subset: str) -> str:
    blocks: list[str] = []
    for result in run.failures(subset):
        head = f"== {result.name}: {result.status}"
        if result.multiset_pass:
            head += " (same lines, other order)"
        if result.reason:
            head += f": {result.reason}"
        block = [head, "  expected:"]
        block += [f"    {line}" for line in result.expected] or ["    (empty)"]
        if result.status in ("pass", "fail"):
            block.append("  got:")
            block += [f"    {line}" for line in result.got] or ["    (empty)"]
        blocks.append("\n".join(block))
    return "\n".join(blocks)


def write_json(run: Run, path: Path) -> None:
    document = {
        "counts": {subset: asdict(run.count(subset)) for subset in SUBSETS},
        "seconds": round(run.seconds, 2),
        "tests": {
            name: {
                **asdict(result),
                "subsets": [subset for subset in SUBSETS if name in run.corpus.subsets[subset]],
            }
            for name, result in sorted(run.results.items())
        },
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=None, help=f"corpus directory (default: ${CORPUS_ENV} "
                        "or ../shared/pacemaker-corpus beside the repository)")
    parser.add_argument("--list-failures", nargs="?", const="core", choices=SUBSETS, default=None,
                        help="show each failing test of the subset (default: core) with expected vs got")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="write per-test results")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per test")
    parser.add_argument("tests", nargs="*", help="run only these tests (default: all)")
    args = parser.parse_args(argv)

    try:
        corpus = load_corpus(args.corpus)
        run = run_corpus(corpus, workers=args.workers, timeout=args.timeout, only=args.tests or None)
    except CorpusMissing as err:
        print(f"conformance: {err}", file=sys.stderr)
        return 2
    if args.list_failures:
        failures = format_failures(run, args.list_failures)
        if failures:
            print(failures, end="\n\n")
    print(format_report(run))
    if args.json is not None:
        write_json(run, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
