"""The conformance runner's own behaviour, independent of the scheduler.

A fake runner stands in for vigil so that these tests do not depend on the
scheduler's decisions, and so that time-outs and crashes can be provoked on
purpose.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SUMMARY_OUTPUT = """\
Current cluster status:
  * Node List:
    * Online: [ node1 node2 ]

Transition Summary:
  * Recover    rsc4    (          node1 )
  * Restart    rsc5    (          node1 )  due to required rsc4 start
  * Move       rsc6    ( node1 -> node2 )

Executing Cluster Transition:
  * Resource action: rsc4            stop on node1
"""


def test_extract_summary_normalises_the_block(conformance: ModuleType) -> None:
    assert conformance.extract_summary(SUMMARY_OUTPUT) == [
        "* Recover rsc4 ( node1 )",
        "* Restart rsc5 ( node1 ) due to required rsc4 start",
        "* Move rsc6 ( node1 -> node2 )",
    ]


def test_extract_summary_of_an_empty_block(conformance: ModuleType) -> None:
    text = "Transition Summary:\n\nExecuting Cluster Transition:\n  * Pseudo action:   x\n"
    assert conformance.extract_summary(text) == []
    assert conformance.extract_summary("no summary at all\n") == []


def test_date_argument(conformance: ModuleType) -> None:
    assert conformance._date_argument([]) is None
    assert conformance._date_argument(["-t", "2005-020T12:30"]) == "2005-020T12:30"
    with pytest.raises(ValueError, match="unsupported"):
        conformance._date_argument(["-X"])


def make_corpus(root: Path) -> Path:
    """A three-test corpus in the real layout, written from scratch."""
    (root / "xml").mkdir(parents=True)
    tests = {
        "starts": {"args": [], "expected_summary": ["* Start rsc1 ( node1 )"]},
        "idle": {"args": [], "expected_summary": []},
        "dated": {"args": ["-t", "2005-020"], "expected_summary": ["* Stop rsc1 ( node1 )"]},
        "bundle-order-partial": {"args": [], "expected_summary": []},
    }
    for name in tests:
        (root / "xml" / f"{name}.xml").write_text("<cib/>\n")
    (root / "index.json").write_text(json.dumps({"meta": {}, "tests": tests}))
    (root / "core-tests.txt").write_text("starts\nidle\n")
    (root / "wave1-tests.txt").write_text("starts\nidle\ndated\n")
    return root


def fake_vigil(xml: Path, date: str | None) -> str:
    """Prints what each fake test expects, except for 'dated', which fails."""
    if xml.stem == "starts":
        return "Transition Summary:\n  * Start      rsc1    ( node1 )\n\nExecuting Cluster Transition:\n"
    if xml.stem == "idle":
        return "Transition Summary:\n\nExecuting Cluster Transition:\n"
    if xml.stem == "hangs":
        while True:
            pass
    if xml.stem == "crashes":
        raise KeyError("rsc9")
    return f"Transition Summary:\n  * Stop rsc{0 if date else 1} ( node1 )\n"


def test_load_corpus_skips_stale_tests_and_reads_dates(conformance: ModuleType, tmp_path: Path) -> None:
    corpus = conformance.load_corpus(make_corpus(tmp_path))
    assert [test.name for test in corpus.tests] == ["dated", "idle", "starts"]
    assert corpus.skipped == ("bundle-order-partial",)
    assert corpus.tests[0].date == "2005-020"
    assert corpus.subsets["core"] == {"starts", "idle"}


def test_missing_corpus_is_reported(conformance: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(conformance.CorpusMissing, match="VIGIL_PACEMAKER_CORPUS"):
        conformance.load_corpus(tmp_path / "nowhere")


def test_run_test_reports_pass_fail_error_and_timeout(
    conformance: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conformance, "_runner", fake_vigil)

    def case(name: str, expected: tuple[str, ...] = ()) -> Any:
        test = conformance.CorpusTest(name, tmp_path / f"{name}.xml", None, expected)
        return conformance.run_test(test, 0.3)

    assert case("starts", ("* Start rsc1 ( node1 )",)).status == "pass"

    reordered = conformance.CorpusTest("x", tmp_path / "x.xml", None, ("* B", "* A"))
    monkeypatch.setattr(conformance, "_runner", lambda xml, date: "Transition Summary:\n * A\n * B\n")
    result = conformance.run_test(reordered, 1.0)
    assert (result.status, result.multiset_pass) == ("fail", True)

    monkeypatch.setattr(conformance, "_runner", fake_vigil)
    crashed = case("crashes")
    assert crashed.status == "error"
    assert crashed.reason.startswith("KeyError: 'rsc9'")
    hung = case("hangs")
    assert hung.status == "timeout"
    assert "0.3 s" in hung.reason


def test_run_corpus_counts_each_subset(conformance: ModuleType, tmp_path: Path) -> None:
    corpus = conformance.load_corpus(make_corpus(tmp_path))
    run = conformance.run_corpus(corpus, workers=2, timeout=5, runner=fake_vigil)
    assert run.results["dated"].got == ["* Stop rsc0 ( node1 )"]  # -t reached the runner
    assert conformance.format_count(run.count("core")) == (
        "core: 2/2 pass (of which 1 expect an empty summary: 1/1); as multisets 2/2"
    )
    assert run.count("wave1").passed == 2
    assert [result.name for result in run.failures("all")] == ["dated"]
    assert "== dated: fail" in conformance.format_failures(run, "all")
    out = tmp_path / "results.json"
    conformance.write_json(run, out)
    document = json.loads(out.read_text())
    assert document["counts"]["all"]["passed"] == 2
    assert document["tests"]["idle"]["subsets"] == ["core", "wave1", "all"]
