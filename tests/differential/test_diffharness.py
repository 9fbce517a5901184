"""The differential harness's own logic, without running any simulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import diffharness as dh
import pytest

from vigil.testing.gen_cluster import GENERATOR_VERSION

CRM_OUTPUT = """\
Current cluster status:
  * Node List:
    * Online: [ node1 node2 ]

Transition Summary:
  * Recover    rsc4        ( node1 )
  * Restart    rsc5        ( node1 )  due to required rsc4 start
  * Move       rsc6        ( node1 -> node2 )

Executing Cluster Transition:
  * Resource action: rsc4            stop on node1
"""


def _result(seed: int, pm: tuple[str, ...] | None, vg: tuple[str, ...] | None,
            features: frozenset[str] = frozenset()) -> dh.SeedResult:
    return dh.SeedResult(seed, Path(f"/x/{seed}.xml"), features,
                         dh.SideResult(pm, None if pm is not None else "boom"),
                         dh.SideResult(vg, None if vg is not None else "boom"))


def test_summary_lines_are_normalised() -> None:
    assert dh.summary_lines(CRM_OUTPUT) == (
        "* Recover rsc4 ( node1 )",
        "* Restart rsc5 ( node1 ) due to required rsc4 start",
        "* Move rsc6 ( node1 -> node2 )",
    )


def test_empty_summary_differs_from_missing_summary() -> None:
    assert dh.summary_lines("Transition Summary:\n\nExecuting Cluster Transition:\n") == ()
    assert dh.summary_lines("Error: no cib\n") is None


def test_parse_seeds() -> None:
    assert dh.parse_seeds("0-3,7, 9-10") == [0, 1, 2, 3, 7, 9, 10]
    assert dh.parse_seeds("5") == [5]


def test_multiset_and_order_agreement() -> None:
    same = _result(1, ("* A", "* B"), ("* A", "* B"))
    swapped = _result(2, ("* A", "* B"), ("* B", "* A"))
    other = _result(3, ("* A",), ("* A", "* A"))
    crashed = _result(4, ("* A",), None)
    assert same.agrees and same.agrees_in_order
    assert swapped.agrees and not swapped.agrees_in_order
    assert not other.agrees
    assert not crashed.agrees


def test_known_differences_file_parses(tmp_path: Path) -> None:
    f = tmp_path / "known.txt"
    f.write_text(f"# header\n# generator-version: {GENERATOR_VERSION}\n\n"
                 "17  reason one\nfeature:unclean-node  fencing not done yet\nbogus reason\n18\n")
    known = dh.load_known(f)
    assert known.seeds == {17: "reason one"}
    assert known.features == {"unclean-node": "fencing not done yet"}
    assert len(known.problems) == 2  # "bogus" key, "18" without a reason


def test_seed_entries_need_the_current_generator_version(tmp_path: Path) -> None:
    f = tmp_path / "known.txt"
    f.write_text(f"# generator-version: {GENERATOR_VERSION + 1}\n17  reason\n")
    assert any("generator-version" in p for p in dh.load_known(f).problems)


def test_shipped_known_differences_file_is_well_formed() -> None:
    assert dh.load_known().problems == []


def test_judge_explains_flags_stale_and_ignores_unrun_entries() -> None:
    known = dh.KnownDifferences(GENERATOR_VERSION, {1: "a", 2: "b", 99: "not run"},
                                {"fencing": "c", "standby": "d"})
    results = [
        _result(1, ("* A",), ("* B",)),  # explained by seed
        _result(2, ("* A",), ("* A",)),  # listed but agrees: stale
        _result(3, ("* A",), ("* B",), frozenset({"fencing"})),  # explained by feature
        _result(4, ("* A",), ("* A",), frozenset({"standby"})),  # standby: all agree -> stale
        _result(5, ("* A",), ("* C",)),  # unexplained
        _result(6, None, ("* C",)),  # crm_simulate failed
    ]
    v = dh.judge(results, known)
    assert [r.seed for r in v.unexplained] == [5]
    assert [r.seed for r, _ in v.explained] == [1, 3]
    assert [r.seed for r in v.harness_errors] == [6]
    assert len(v.stale) == 2
    assert any(s.startswith("2 ") for s in v.stale)
    assert any(s.startswith("feature:standby") for s in v.stale)
    assert not v.ok


def test_report_shows_both_sides_and_groups_causes() -> None:
    results = [_result(5, ("* Start rsc1 ( node1 )",), ("* Start rsc1 ( node2 )",)),
               _result(6, ("* Start rsc1 ( node1 )",), None)]
    report = dh.format_report(dh.judge(results, dh.KnownDifferences(GENERATOR_VERSION)))
    assert "pacemaker-only: Start; vigil-only: Start" in report
    assert "vigil error: boom" in report
    assert "! * Start rsc1 ( node1 )" in report
    assert "| * Start rsc1 ( node2 )" in report


def test_cause_key_ignores_which_resource_or_instance() -> None:
    a = _result(7, ("* Stop rsc3:1 ( node2 ) due to unrunnable grp2-clone stop",), ())
    b = _result(8, ("* Stop rsc11 ( node5 ) due to unrunnable rsc4-clone stop",), ())
    assert dh.cause_key(a) == dh.cause_key(b) == (
        "pacemaker-only: Stop (due to unrunnable X stop); vigil-only: -")


def _fake_vigil(behaviour: str) -> Callable[[Path], str]:
    """Stands in for vigil's simulator to check that vigil failing never stops a run."""

    def output(cib: Path) -> str:
        if behaviour == "hang":
            time.sleep(10)
        if behaviour == "raise":
            raise KeyError("rsc1")
        return "Transition Summary:\n  * Start   rsc1  ( node1 )\n"

    return output


def test_vigil_exception_and_hang_become_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cib = tmp_path / "c.xml"
    monkeypatch.setattr(dh, "vigil_output", _fake_vigil("raise"))
    raised = dh.run_vigil(cib)
    assert raised.lines is None and raised.error is not None
    assert raised.error.startswith("KeyError: 'rsc1' [at test_diffharness.py:")
    monkeypatch.setattr(dh, "vigil_output", _fake_vigil("hang"))
    hung = dh.run_vigil(cib, timeout=0.2)
    assert hung.error == "vigil timed out after 0.2s"
    monkeypatch.setattr(dh, "vigil_output", _fake_vigil("ok"))
    assert dh.run_vigil(cib).lines == ("* Start rsc1 ( node1 )",)
