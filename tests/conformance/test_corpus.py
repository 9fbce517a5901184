"""The conformance ratchet: vigil against Pacemaker's regression corpus.

The whole corpus runs once per session (two worker processes).  Pass counts
may only go up: each subset's count must reach the figure in
``ratchet.json``, which is raised by hand as the scheduler improves, so a
change that loses a passing case fails here.  ``known_differences.txt``
documents core tests that fail on purpose; an entry that passes again is
stale and fails the suite so that the list stays true.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
RATCHET = HERE / "ratchet.json"
KNOWN_DIFFERENCES = HERE / "known_differences.txt"


def read_known_differences(path: Path = KNOWN_DIFFERENCES) -> dict[str, str]:
    """``NAME  reason`` per line, ``#`` comments and blank lines ignored."""
    entries: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, *rest = line.split(None, 1)
        reason = rest[0].strip() if rest else ""
        if not reason:
            raise AssertionError(f"{path.name}:{number}: {name!r} has no reason")
        entries[name] = reason
    return entries


@pytest.fixture(scope="module")
def corpus_run(conformance: ModuleType, report_conformance: Callable[[str], None]) -> Any:
    try:
        corpus = conformance.load_corpus()
    except conformance.CorpusMissing as err:
        pytest.skip(f"Pacemaker corpus not available: {err}")
    run = conformance.run_corpus(corpus)
    report = conformance.format_report(run)
    ratchet = json.loads(RATCHET.read_text())
    raise_to = {subset: run.count(subset).passed for subset in conformance.SUBSETS}
    if any(raise_to[subset] > ratchet.get(subset, 0) for subset in raise_to):
        report += f"\nratchet.json can be raised to {json.dumps(raise_to)}"
    report_conformance(report)
    return run


@pytest.mark.parametrize("subset", ["core", "wave1", "all"])
def test_pass_count_reaches_the_ratchet(corpus_run: Any, conformance: ModuleType, subset: str) -> None:
    floor = json.loads(RATCHET.read_text())[subset]
    count = corpus_run.count(subset)
    assert count.passed >= floor, (
        f"{subset} conformance fell below the ratchet ({floor}): {conformance.format_count(count)}; "
        f"run `python scripts/conformance.py --list-failures {subset}` to see what changed"
    )


def test_known_differences_are_failing_core_tests(corpus_run: Any) -> None:
    known = read_known_differences()
    core = corpus_run.corpus.subsets["core"]
    not_core = sorted(name for name in known if name not in core)
    stale = sorted(name for name in known if name in core and corpus_run.results[name].passed)
    assert not not_core, f"known_differences.txt lists tests that are not core tests: {not_core}"
    assert not stale, f"known_differences.txt lists core tests that pass now (delete them): {stale}"


def test_known_differences_format(tmp_path: Path) -> None:
    listing = tmp_path / "known.txt"
    listing.write_text("# comment\n\nsimple4  stops FAILED resources differently  # why\nsimple7\tclock\n")
    assert read_known_differences(listing) == {
        "simple4": "stops FAILED resources differently",
        "simple7": "clock",
    }
    listing.write_text("simple4\n")
    with pytest.raises(AssertionError, match="no reason"):
        read_known_differences(listing)
