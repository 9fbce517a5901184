"""The command line: scenarios run, bad input gets a clear error and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from vigil.cli.main import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
COMPUTE = str(EXAMPLES / "compute.xml")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_steps_print_each_transition_with_its_context() -> None:
    code, out, _ = run("simulate", "--steps", "3", "--fail", "nova-compute:node1", COMPUTE)
    assert code == 0
    assert out.count("=== Step") == 3
    assert "recoveries_left=2" in out and "recoveries_left=1" in out and "recoveries_left=0" in out


def test_steps_as_json_is_one_list_of_transitions() -> None:
    code, out, _ = run("simulate", "--format", "json", "--steps", "2", "--fail", "nova-compute:node1",
                       COMPUTE)
    assert code == 0
    steps = json.loads(out)
    assert len(steps) == 2
    stops = [a for a in steps[0]["actions"] if a["task"] == "stop"]
    assert stops[0]["meta"]["stop_reason"] == "failure"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--fail", "nova-compute"), "is not RSC:NODE"),
        (("--fail", "no-such-rsc:node1"), "no resource 'no-such-rsc'"),
        (("--fail", "nova-compute:node9"), "node 'node9' has no status"),
        (("--steps", "0"), "not a positive number of steps"),
        (("-t", "yesterday"), "-t/--date"),
    ],
)
def test_bad_scenario_arguments_are_clear_errors(args: tuple[str, ...], message: str) -> None:
    code, out, err = run("simulate", *args, COMPUTE)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_malformed_cib_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<cib><configuration>")
    code, out, err = run("simulate", str(broken))
    assert code == 2
    assert err.startswith("vigil: error: ")
    assert "Traceback" not in err + out


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run("simulate", str(tmp_path / "nope.xml"))
    assert code == 2
    assert "nope.xml" in err


def test_simulate_starts_without_the_agent_tooling() -> None:
    # `vigil simulate` is a one-shot process: its start-up is part of every
    # run's time and memory, so what only `vigil agent` or writing a CIB needs
    # stays out of it (the agent group is loaded when it is used).
    code = (
        "import sys, vigil.cli.main; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('asyncio', 'vigil.executor', "
        "'vigil.cli.agent', 'vigil.formats.cib.dump', 'xml.sax', 'urllib.request', 'hashlib')))))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.split() == []
    code, out, _ = run("agent", "--help")
    assert code == 0 and "run" in out
