"""Golden transition summaries for the OpenStack compute-node layouts.

Each scenario (``make_scenarios.SCENARIOS``) has a CIB and a golden file,
``NAME.summary``, holding the normalised ``*`` lines of the Transition
Summary that Pacemaker's ``crm_simulate`` prints for it (``bless.py`` writes
them).  vigil must print exactly those lines, in that order; when
crm_simulate is installed it must still print them too, so the golden files
cannot drift from Pacemaker.

A scenario where vigil is known to disagree goes into ``KNOWN_DIFFERENCES``
(name -> the exact difference); its vigil test is then a strict xfail and
the golden file stays as Pacemaker prints it.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner
from make_scenarios import (
    EXAMPLES,
    SCENARIOS,
    Scenario,
    extract_summary,
    find_crm_simulate,
    read_golden,
    render_all,
)

from vigil.cli.main import cli
from vigil.simulator.from_file import render, simulate_file

# Scenario name -> how vigil's summary differs from Pacemaker's.  Empty: vigil
# agrees with crm_simulate 2.1.5 on every compute scenario.
KNOWN_DIFFERENCES: dict[str, str] = {}

COMPUTE = EXAMPLES / "compute.xml"
HEALTHY = [scenario for scenario in SCENARIOS if scenario.failure is None]


def _vigil_param(scenario: Scenario) -> object:
    reason = KNOWN_DIFFERENCES.get(scenario.name)
    if reason is None:
        return pytest.param(scenario, id=scenario.name)
    return pytest.param(scenario, id=scenario.name, marks=pytest.mark.xfail(reason=reason, strict=True))


def _crm_simulate_output(scenario: Scenario) -> str:
    crm_simulate = find_crm_simulate()
    if crm_simulate is None:
        pytest.skip("crm_simulate is not installed (make test installs pacemaker-cli-utils)")
    done = subprocess.run(
        [crm_simulate, "-x", str(scenario.path), "-S"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_scenario_has_its_files() -> None:
    for scenario in SCENARIOS:
        assert scenario.path.is_file(), f"{scenario.path}: run tests/golden/make_scenarios.py"
        assert scenario.golden.is_file(), f"{scenario.golden}: run tests/golden/bless.py"


def test_scenario_cibs_are_what_the_generator_writes() -> None:
    stale = [
        str(path)
        for path, text in render_all().items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run tests/golden/make_scenarios.py (then bless.py): {stale}"


@pytest.mark.parametrize("scenario", [_vigil_param(scenario) for scenario in SCENARIOS])
def test_vigil_prints_the_golden_summary(scenario: Scenario) -> None:
    output = render(simulate_file(scenario.path), "pacemaker")
    assert extract_summary(output) == read_golden(scenario)


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.name) for s in SCENARIOS])
def test_crm_simulate_still_prints_the_golden_summary(scenario: Scenario) -> None:
    assert extract_summary(_crm_simulate_output(scenario)) == read_golden(scenario)


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.name) for s in HEALTHY])
def test_vigil_plans_nothing_when_nothing_failed(scenario: Scenario) -> None:
    sim = simulate_file(scenario.path)
    assert sim.warnings == ()
    assert sim.transition.summary == ()
    assert sim.transition.actions == ()
    assert sim.transition.order == ()


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.name) for s in HEALTHY])
def test_crm_simulate_plans_nothing_when_nothing_failed(scenario: Scenario) -> None:
    output = _crm_simulate_output(scenario)
    assert extract_summary(output) == []
    executing = output.split("Executing Cluster Transition:", 1)[1].split("Revised Cluster Status:", 1)[0]
    assert "action:" not in executing, executing


def test_json_output_of_the_compute_example() -> None:
    result = CliRunner().invoke(cli, ["simulate", str(COMPUTE), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert isinstance(document, dict)
    assert {"actions", "order", "summary"} <= document.keys()
    assert document["actions"] == []
    assert document["order"] == []
    assert document["summary"] == []
