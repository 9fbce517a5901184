"""``vigil agent``: list, info, run and test, as an agent author uses them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from vigil.cli.main import cli

from .conftest import is_alive, kill_if_alive, needs_debian_agents


def vigil(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def agent_args(ocf_root: Path, lsb_dir: Path) -> list[str]:
    return ["agent", "--ocf-root", str(ocf_root), "--lsb-dir", str(lsb_dir)]


def test_list_shows_classes_providers_and_agents(agent_args: list[str]) -> None:
    code, out, _ = vigil(*agent_args, "list")
    assert code == 0
    assert "vigil-test (" in out and "minimal" in out and "vigil-test-service" in out
    assert "systemd  units, run through systemd's D-Bus API" in out
    code, out, _ = vigil(*agent_args, "list", "--format", "names")
    assert "ocf:vigil-test:minimal" in out.splitlines() and "lsb:vigil-test-service" in out.splitlines()
    assert "ocf:vigil-test:noexec" not in out  # not executable: not an agent
    code, out, _ = vigil(*agent_args, "list", "--format", "json", "--class", "ocf")
    assert "minimal" in json.loads(out)["ocf"]["providers"]["vigil-test"]


def test_info_shows_parameters_and_actions(agent_args: list[str]) -> None:
    code, out, _ = vigil(*agent_args, "info", "ocf:vigil-test:minimal")
    assert code == 0
    assert "OCF 1.1" in out
    assert any(line.split()[:5] == ["state", "string", "-", "yes", "state"] for line in out.splitlines())
    assert any(line.split()[:2] == ["mode", "select"] for line in out.splitlines())
    code, out, _ = vigil(*agent_args, "info", "--format", "json", "ocf:vigil-test:minimal")
    document = json.loads(out)
    assert [p["name"] for p in document["parameters"]] == ["state", "log", "mode", "count"]
    assert {
        "name": "monitor",
        "timeout_ms": 10_000,
        "interval_ms": 5000,
        "depth": 0,
        "role": None,
        "start_delay_ms": None,
    } in document["actions"]


def test_info_on_broken_meta_data_says_why(agent_args: list[str]) -> None:
    code, _, err = vigil(*agent_args, "info", "ocf:vigil-test:badmeta")
    assert code == 1 and "not well-formed XML" in err


def test_run_prints_the_result_and_exits_with_the_rc(agent_args: list[str], tmp_path: Path) -> None:
    state = f"state={tmp_path / 'm.state'}"
    code, out, _ = vigil(*agent_args, "run", "ocf:vigil-test:minimal", "monitor", "-p", state, "--show-env")
    assert code == 7
    assert "rc:          7 (OCF_NOT_RUNNING): not running" in out
    assert "status:      done" in out
    assert f"OCF_RESKEY_{state}" in out and "OCF_RESKEY_CRM_meta_timeout=10000" in out
    code, out, _ = vigil(
        *agent_args,
        "run",
        "ocf:vigil-test:minimal",
        "start",
        "-p",
        state,
        "-m",
        "start_reason=initial",
        "--format",
        "json",
    )
    document = json.loads(out)
    assert (code, document["rc"], document["status"]) == (0, 0, "done")
    assert document["environment"]["OCF_RESKEY_CRM_meta_start_reason"] == "initial"


def test_run_checks_parameters_before_a_start(agent_args: list[str]) -> None:
    code, out, _ = vigil(*agent_args, "run", "ocf:vigil-test:minimal", "start", "-p", "count=many")
    assert code == 6
    assert "required parameter 'state' (State file) is missing" in out
    assert "warning: parameter 'count' is declared an integer, but is 'many'" in out
    code, out, _ = vigil(*agent_args, "run", "ocf:vigil-test:minimal", "start", "--no-check")
    assert code == 6 and "exit reason: the state parameter is required" in out  # the agent's own answer


def test_run_reports_a_timeout(agent_args: list[str], tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    try:
        code, out, _ = vigil(
            *agent_args,
            "run",
            "ocf:vigil-test:hang",
            "monitor",
            "-p",
            f"pidfile={pidfile}",
            "--timeout",
            "0.5",
        )
        assert code == 1
        assert "status:      timed out" in out
        assert "did not exit within its timeout of 500 ms" in out
        assert [int(p) for p in pidfile.read_text().split() if is_alive(int(p))] == []
    finally:
        if pidfile.exists():
            kill_if_alive([int(p) for p in pidfile.read_text().split()])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "Dummy", "start"), "use ocf:PROVIDER:TYPE"),
        (("run", "ocf:vigil-test:minimal", "start", "-p", "state"), "'state' is not NAME=VALUE"),
        (("run", "ocf:vigil-test:minimal", "start", "--timeout", "soon"), "invalid interval 'soon'"),
        (("run", "ocf:vigil-test:minimal", "start", "--timeout", "0"), "not a positive duration"),
        (("test", "upstart:sshd"), "use ocf:PROVIDER:TYPE"),
    ],
)
def test_bad_arguments_are_usage_errors(agent_args: list[str], args: tuple[str, ...], message: str) -> None:
    code, out, err = vigil(*agent_args, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


@needs_debian_agents
def test_agent_test_passes_on_heartbeat_dummy(tmp_path: Path) -> None:
    code, out, _ = vigil(
        "agent", "test", "ocf:heartbeat:Dummy", "--param", f"state={tmp_path / 'dummy.state'}"
    )
    assert code == 0, out
    assert "PASSED: 28 of 28 checks passed." in out
    assert "FAIL" not in out


@needs_debian_agents
def test_agent_test_passes_on_stateful_with_promotion(tmp_path: Path) -> None:
    code, out, _ = vigil(
        "agent", "test", "ocf:pacemaker:Stateful", "-p", f"state={tmp_path / 's.state'}", "--no-drill"
    )
    assert code == 0, out
    assert "probe while promoted  -> rc 8 (OCF_RUNNING_PROMOTED)" in out
    assert "OCF_RESKEY_CRM_meta_promotable=true" in out


def test_agent_test_with_a_broken_stop_says_which_step_and_why(agent_args: list[str], tmp_path: Path) -> None:
    code, out, _ = vigil(*agent_args, "test", "ocf:vigil-test:broken-stop", "-p", f"state={tmp_path / 'b'}")
    assert code == 1
    assert out.splitlines()[-1] == (
        "FAILED at step 9 'stop': expected rc 0 (OCF_SUCCESS), got rc=1 (OCF_ERR_GENERIC) status=done: "
        "cannot release the widget (stop must succeed and leave nothing running)"
    )
    assert "cleanup stop (after the failure)" in out
    assert "Recovery drill" not in out


def test_agent_test_on_broken_meta_data_fails_at_the_first_step(agent_args: list[str]) -> None:
    code, out, _ = vigil(*agent_args, "test", "ocf:vigil-test:badmeta")
    assert code == 1
    assert "FAILED at step 1 'meta-data is valid'" in out and "not well-formed XML" in out


def test_agent_test_drill_tells_the_agent_what_vigil_would(agent_args: list[str], tmp_path: Path) -> None:
    log = tmp_path / "actions.log"
    code, out, _ = vigil(
        *agent_args,
        "test",
        "ocf:vigil-test:minimal",
        "-p",
        f"state={tmp_path / 'm'}",
        "-p",
        f"log={log}",
        "--node",
        "node7",
    )
    assert code == 0, out
    stops = [line.split(" ", 2)[2] for line in log.read_text().splitlines() if line.startswith("stop ")]
    assert stops == [
        "reason= final= left= cause= next=",  # the sequence: plain stops
        "reason= final= left= cause= next=",
        "reason=failure final=false left=2 cause=minimal next=node7",
        "reason=failure final=false left=1 cause=minimal next=node7",
        "reason=failure final=true left=0 cause=minimal next=",
        "reason=dependency final=false left=2 cause=upstream next=node7",
        "reason=admin final=true left= cause=minimal next=",
    ]
    starts = [line.split()[2] for line in log.read_text().splitlines() if line.startswith("start ")]
    assert starts == [
        "reason=",
        "reason=",
        "reason=initial",
        "reason=recovery",
        "reason=recovery",
        "reason=initial",
        "reason=dependency",
    ]


def test_agent_test_json_has_each_steps_environment(agent_args: list[str], tmp_path: Path) -> None:
    code, out, _ = vigil(
        *agent_args, "test", "--format", "json", "ocf:vigil-test:minimal", "-p", f"state={tmp_path / 'm'}"
    )
    document = json.loads(out)
    assert code == 0 and document["passed"]
    final = next(s for s in document["steps"] if "final admin stop" in s["title"])
    assert final["result"]["environment"]["OCF_RESKEY_CRM_meta_stop_final"] == "true"
    assert final["result"]["environment"]["OCF_RESKEY_CRM_meta_stop_reason"] == "admin"


def test_agent_test_takes_an_agent_by_its_path(ocf_root: Path, tmp_path: Path) -> None:
    path = os.path.relpath(ocf_root / "resource.d" / "vigil-test" / "minimal")
    code, out, _ = vigil("agent", "test", path, "-p", f"state={tmp_path / 'm'}", "--no-drill")
    assert code == 0, out
    assert "OCF_RESOURCE_PROVIDER=vigil-test" in out


def test_agent_test_on_an_init_script(agent_args: list[str]) -> None:
    code, out, _ = vigil(*agent_args, "test", "lsb:vigil-test-service")
    assert code == 0, out
    assert "SKIP  recovery drill" in out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_vigil_ends_the_agents_it_runs(ocf_root: Path, tmp_path: Path, signum: int) -> None:
    pidfile = tmp_path / "pids"
    command = [
        sys.executable,
        "-c",
        "from vigil.cli.main import main; main()",
        "agent",
        "--ocf-root",
        str(ocf_root),
        "run",
        "ocf:vigil-test:hang",
        "monitor",
        "-p",
        f"pidfile={pidfile}",
        "--timeout",
        "120",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    pids: list[int] = []
    try:
        # Generous: on a loaded machine starting Python and the agent can take seconds.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if pidfile.exists() and len(pidfile.read_text().split()) >= 3:
                break
            time.sleep(0.025)
        pids = [int(p) for p in pidfile.read_text().split()]
        assert len(pids) == 3
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 128 + signum
        assert b"the agent's processes were ended" in err
        assert [pid for pid in pids if is_alive(pid)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        kill_if_alive(pids)
