"""Golden stop contexts for the compute-node scenarios.

For every scenario, ``NAME.context.json`` holds the meta of each stop and
start vigil plans — exactly what each agent will be told.  Unlike the
summaries there is no Pacemaker oracle for these values (Pacemaker has no
stop context): the golden files were checked by hand against DESIGN.md's
table and pin the behaviour against regressions.  ``VIGIL_BLESS=1 pytest
tests/golden/test_context_golden.py`` rewrites them after an intended change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from make_scenarios import SCENARIOS, Scenario

from vigil.simulator.from_file import simulate_file

HERE = Path(__file__).resolve().parent


def context_of(scenario: Scenario) -> list[dict[str, object]]:
    transition = simulate_file(scenario.path).transition
    return [
        {"task": a.task, "resource": a.resource, "node": a.node, "meta": dict(a.meta)}
        for a in transition.actions
        if a.task in ("stop", "start") and a.interval_ms == 0 and a.meta
    ]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_stop_context_matches_golden(scenario: Scenario) -> None:
    golden = HERE / f"{scenario.name}.context.json"
    actual = context_of(scenario)
    if os.environ.get("VIGIL_BLESS") == "1":
        golden.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    assert actual == json.loads(golden.read_text())


def test_threshold_reached_is_final_for_the_whole_stack() -> None:
    # The headline case, spelled out: at migration-threshold, nova-compute's
    # stop is final, caused by neutron-agent, with no recoveries left.
    [scenario] = [s for s in SCENARIOS if s.name == "compute-neutron-fail3"]
    stops = {entry["resource"]: entry["meta"] for entry in context_of(scenario) if entry["task"] == "stop"}
    assert stops["nova-compute:0"] == {
        "stop_reason": "dependency", "stop_cause": "neutron-agent", "stop_final": "true",
        "recoveries_left": "0", "recovery_left": "0", "retries_left": "0",
    }
