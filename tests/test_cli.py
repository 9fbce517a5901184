"""The command line: scenarios run, bad input gets a clear error and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from vigil.admin.errors import AdminError, BadConfiguration, NotFound
from vigil.cli.client import ClientError
from vigil.cli.main import LazyGroup, cli
from vigil.daemon.statedir import StateDirError
from vigil.errors import InputError, Problem, VigilError
from vigil.executor import MetadataError
from vigil.store import RevisionConflict, StoreError

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


def test_every_error_meant_for_the_user_is_a_vigil_error() -> None:
    user_errors = (InputError, AdminError, BadConfiguration, NotFound, StoreError, RevisionConflict,
                   StateDirError, ClientError, MetadataError)
    assert [error.__name__ for error in user_errors if not issubclass(error, VigilError)] == []


def test_a_vigil_error_is_printed_with_its_details_and_notes_and_exits_with_its_code() -> None:
    @click.group(cls=LazyGroup, lazy_subcommands={})
    def group() -> None:
        """A command line with one failing command."""

    @group.command()
    def refused() -> None:
        error = ClientError("the daemon refused", ["first reason", "second reason"], exit_code=3)
        error.add_note("nothing was changed")
        raise error

    @group.command()
    def bad_input() -> None:
        raise InputError([Problem("a.xml:3", "one problem"), Problem("", "another")])

    result = CliRunner().invoke(group, ["refused"])
    assert (result.exit_code, result.stdout) == (3, "")
    assert isinstance(result.exception, SystemExit)  # no traceback: a clean exit
    assert result.stderr == ("vigil: error: the daemon refused\n  first reason\n  second reason\n"
                             "vigil: nothing was changed\n")
    result = CliRunner().invoke(group, ["bad-input"])
    assert result.exit_code == 2
    assert result.stderr == "vigil: error: a.xml:3: one problem\nvigil: error: another\n"
