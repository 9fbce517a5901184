"""vigil's own agents (``ocf:vigil:Service``, ``NovaCompute``, ``Flaky``), found and run by the executor.

They ship inside the package so that the quick start works on a machine
without resource-agents; these tests run them through the executor with an
empty OCF root, as on such a machine.  Every process a test starts is ended
by its pid (or its process group, whose id is that pid), never by name.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from vigil.cli.main import cli
from vigil.executor import ActionRequest, ActionResult, AgentSpec, Executor, Spawner
from vigil.executor.agenttest import AgentTest
from vigil.executor.metadata import missing_mandatory_actions, parse_metadata
from vigil.executor.ocf import BUNDLED_AGENTS_DIR, BUNDLED_SHELL, OcfClass
from vigil.model.results import ExecStatus, OcfRc

from .conftest import is_alive, run

BUNDLED = BUNDLED_AGENTS_DIR / "vigil"
AGENTS = ("Flaky", "NovaCompute", "Service")
# What the two copies of the process helpers are cut by (see the agents).
SHARED_BLOCK = re.compile(r"^# --- process helpers:.*?^# --- end of process helpers -+$", re.S | re.M)


@pytest.fixture
def empty_root(tmp_path: Path) -> Path:
    """An OCF root with nothing in it: a machine without resource-agents."""
    root = tmp_path / "ocf"
    root.mkdir()
    return root


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """The agents' state directory; whatever process its pid files name is ended afterwards."""
    directory = tmp_path / "state"
    yield directory
    for pidfile in directory.glob("*.pid"):
        fields = pidfile.read_text().split()
        if fields and fields[0].isdigit():
            end_group(int(fields[0]))


@pytest.fixture
def executor(empty_root: Path) -> Executor:
    return Executor(Spawner(kill_grace_s=0.5), ocf_root_dir=empty_root)


def end_group(pid: int) -> None:
    """Clean-up: SIGKILL the process group led by ``pid`` (a service this test started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            data = stat.read_bytes()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(stat.parent.name))
    return members


def act(
    executor: Executor,
    agent: str,
    action: str,
    params: Mapping[str, str],
    meta: Mapping[str, str] | None = None,
    resource: str = "web",
    interval_ms: int = 0,
) -> ActionResult:
    return run(
        executor.run(
            ActionRequest.create(
                resource,
                f"ocf:vigil:{agent}",
                action,
                params,
                meta or {},
                interval_ms=interval_ms,
                node_name="node1",
                node_uuid="1",
            )
        )
    )


def pid_of(state_dir: Path, resource: str = "web") -> int:
    return int((state_dir / f"{resource}.pid").read_text().split()[0])


def log_lines(log: Path) -> list[str]:
    """The log's lines without their time stamp."""
    return [line.split(" ", 1)[1] for line in log.read_text().splitlines()]


# --- lookup ---------------------------------------------------------------------------------------


def test_bundled_agents_are_found_under_an_empty_ocf_root(executor: Executor, empty_root: Path) -> None:
    installed = executor.installed_agents()
    assert installed.ocf == (("vigil", AGENTS),)
    assert installed.bundled == (("vigil", BUNDLED),)
    for name in AGENTS:
        assert executor.ocf.path(AgentSpec("ocf", name, "vigil")) == BUNDLED / name
    result = act(executor, "Flaky", "monitor", {"state_dir": str(empty_root / "state")})
    assert (result.rc, result.status) == (OcfRc.NOT_RUNNING, ExecStatus.DONE)
    # The agent is told the real OCF root, not the package's directory.
    assert dict(result.environment)["OCF_ROOT"] == str(empty_root)


def test_an_installed_copy_under_the_ocf_root_wins(executor: Executor, empty_root: Path) -> None:
    installed = empty_root / "resource.d" / "vigil" / "Service"
    installed.parent.mkdir(parents=True)
    installed.write_text("#!/bin/sh\necho installed copy\nexit 7\n")
    installed.chmod(0o755)
    assert executor.ocf.path(AgentSpec("ocf", "Service", "vigil")) == installed
    assert executor.ocf.path(AgentSpec("ocf", "Flaky", "vigil")) == BUNDLED / "Flaky"
    result = act(executor, "Service", "monitor", {})
    assert result.rc == OcfRc.NOT_RUNNING and "installed copy" in result.stdout
    assert executor.installed_agents().ocf == (("vigil", AGENTS),)


def test_an_unknown_bundled_type_names_the_agents_there_are(executor: Executor) -> None:
    result = act(executor, "Nope", "monitor", {})
    assert (result.rc, result.status) == (OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED)
    assert "bundled with vigil (Flaky, NovaCompute, Service)" in result.exit_reason


def test_without_bundled_providers_only_the_root_counts(empty_root: Path) -> None:
    ocf = OcfClass(empty_root, bundled={})
    assert ocf.providers() == [] and ocf.path(AgentSpec("ocf", "Service", "vigil")).parent.parent == (
        empty_root / "resource.d"
    )


def test_a_bundled_agent_that_lost_its_mode_bit_runs_through_sh(tmp_path: Path, empty_root: Path) -> None:
    copy = tmp_path / "bundled" / "vigil"
    shutil.copytree(BUNDLED, copy)
    for agent in copy.iterdir():
        agent.chmod(0o644)
    executor = Executor(Spawner(kill_grace_s=0.5), ocf_root_dir=empty_root, bundled_ocf={"vigil": copy})
    assert executor.installed_agents().ocf == (("vigil", AGENTS),)
    assert executor.ocf.command(copy / "Flaky", "start") == [BUNDLED_SHELL, str(copy / "Flaky"), "start"]
    params = {"state_dir": str(tmp_path / "state")}
    assert [act(executor, "Flaky", a, params).rc for a in ("start", "monitor", "stop")] == [0, 0, 0]


def test_the_package_ships_the_agents_executable() -> None:
    for name in AGENTS:
        assert os.access(BUNDLED / name, os.X_OK), f"{name} lost its executable bit"


# --- the agents' text -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", AGENTS)
def test_meta_data_is_complete_ocf_1_1(executor: Executor, name: str) -> None:
    result = act(executor, name, "meta-data", {})
    metadata = parse_metadata(result.stdout)
    assert metadata.name == name and metadata.ocf_version == "1.1"
    assert metadata.problems == () and missing_mandatory_actions(metadata) == []
    assert metadata.has_action("validate-all")
    assert all(action.timeout_ms for action in metadata.actions)
    assert all(p.shortdesc and p.longdesc and p.default is not None for p in metadata.parameters)
    assert metadata.monitor_interval_ms() == 10_000


def test_meta_data_declares_each_agents_parameters(executor: Executor) -> None:
    names = {
        agent: [p.name for p in parse_metadata(act(executor, agent, "meta-data", {}).stdout).parameters]
        for agent in AGENTS
    }
    assert names == {
        "Service": ["command", "state_dir", "stop_grace", "log"],
        "NovaCompute": [
            "command",
            "disable_command",
            "enable_command",
            "teardown_timeout",
            "state_dir",
            "stop_grace",
            "log",
        ],
        "Flaky": ["fail_file", "state_dir", "log"],
    }


@pytest.mark.parametrize("name", AGENTS)
def test_agents_are_self_contained_posix_sh(name: str) -> None:
    text = (BUNDLED / name).read_text()
    assert text.startswith("#!/bin/sh\n")
    # Nothing sourced: ocf-shellfuncs is absent on a machine without resource-agents.
    assert not re.search(r"^\s*(\.|source)\s", text, re.M)
    subprocess.run(["/bin/sh", "-n", str(BUNDLED / name)], check=True)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_agents_are_shellcheck_clean() -> None:
    checked = subprocess.run(["shellcheck", "-s", "sh", *(str(BUNDLED / n) for n in AGENTS)],
                             capture_output=True, text=True, check=False)
    assert (checked.returncode, checked.stdout) == (0, ""), checked.stdout


def test_service_and_nova_compute_share_one_text_of_the_process_helpers() -> None:
    service = SHARED_BLOCK.search((BUNDLED / "Service").read_text())
    nova = SHARED_BLOCK.search((BUNDLED / "NovaCompute").read_text())
    assert service is not None and nova is not None
    assert service.group(0) == nova.group(0)


# --- Service --------------------------------------------------------------------------------------


def test_service_validate_all(executor: Executor, state_dir: Path, tmp_path: Path) -> None:
    assert act(executor, "Service", "validate-all", {"state_dir": str(state_dir)}).rc == OcfRc.SUCCESS
    for params, reason in (
        ({"stop_grace": "soon"}, "stop_grace must be a whole number"),
        ({"command": ""}, "command is empty"),
        ({"state_dir": str(tmp_path / "file")}, "is not a writable directory"),
    ):
        (tmp_path / "file").write_text("")
        result = act(executor, "Service", "validate-all", {"state_dir": str(state_dir), **params})
        assert result.rc == OcfRc.ERR_CONFIGURED and reason in result.exit_reason


def test_service_start_monitor_stop_leave_nothing_behind(executor: Executor, state_dir: Path) -> None:
    params = {"state_dir": str(state_dir)}
    assert act(executor, "Service", "monitor", params).rc == OcfRc.NOT_RUNNING  # probe while stopped
    assert act(executor, "Service", "start", params).rc == OcfRc.SUCCESS
    pid = pid_of(state_dir)
    assert is_alive(pid) and os.getpgid(pid) == pid  # in a session of its own
    assert "vigil-Service:web" in Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    assert act(executor, "Service", "monitor", params, interval_ms=10_000).rc == OcfRc.SUCCESS
    assert act(executor, "Service", "start", params).rc == OcfRc.SUCCESS  # idempotent
    assert pid_of(state_dir) == pid
    assert act(executor, "Service", "stop", params).rc == OcfRc.SUCCESS
    assert not is_alive(pid) and group_members(pid) == []
    assert not (state_dir / "web.pid").exists()
    assert act(executor, "Service", "stop", params).rc == OcfRc.SUCCESS  # idempotent
    assert act(executor, "Service", "monitor", params).rc == OcfRc.NOT_RUNNING


def test_killing_the_service_makes_monitor_report_it_not_running(executor: Executor, state_dir: Path) -> None:
    params = {"state_dir": str(state_dir)}
    assert act(executor, "Service", "start", params).rc == OcfRc.SUCCESS
    pid = pid_of(state_dir)
    os.kill(pid, signal.SIGKILL)  # the operator's kill, of the process this test started
    for _ in range(100):
        if not is_alive(pid):
            break
        time.sleep(0.02)
    result = act(executor, "Service", "monitor", params, interval_ms=10_000)
    assert result.rc == OcfRc.NOT_RUNNING
    assert f"the process started as pid {pid} is gone" in result.exit_reason
    # The recovery: stop ends what is left of its group (the loop's sleep), start runs a new one.
    assert act(executor, "Service", "stop", params).rc == OcfRc.SUCCESS
    assert group_members(pid) == []
    assert act(executor, "Service", "start", params).rc == OcfRc.SUCCESS
    assert pid_of(state_dir) != pid and act(executor, "Service", "monitor", params).rc == OcfRc.SUCCESS
    assert act(executor, "Service", "stop", params).rc == OcfRc.SUCCESS


def test_service_stop_sends_sigkill_after_the_grace(executor: Executor, state_dir: Path) -> None:
    params = {
        "state_dir": str(state_dir),
        "command": "trap '' TERM; while :; do sleep 1; done",
        "stop_grace": "1",
    }
    assert act(executor, "Service", "start", params).rc == OcfRc.SUCCESS
    pid = pid_of(state_dir)
    assert act(executor, "Service", "stop", params).rc == OcfRc.SUCCESS
    assert not is_alive(pid) and group_members(pid) == []


def test_a_service_command_that_exits_at_once_fails_its_start(executor: Executor, state_dir: Path) -> None:
    params = {"state_dir": str(state_dir), "command": "exit 3"}
    result = act(executor, "Service", "start", params)
    assert result.rc == OcfRc.ERR_GENERIC and "exited right after it started" in result.exit_reason
    assert act(executor, "Service", "monitor", params).rc == OcfRc.NOT_RUNNING


def test_a_stale_pid_file_naming_another_process_is_left_alone(executor: Executor, state_dir: Path) -> None:
    state_dir.mkdir()
    (state_dir / "web.pid").write_text(f"{os.getpid()} 1 group\n")  # this pytest, with a wrong start time
    params = {"state_dir": str(state_dir)}
    assert act(executor, "Service", "monitor", params).rc == OcfRc.NOT_RUNNING
    assert act(executor, "Service", "stop", params).rc == OcfRc.SUCCESS  # and pytest still runs
    assert not (state_dir / "web.pid").exists()


def test_stop_ends_the_process_of_a_start_cut_short(executor: Executor, state_dir: Path) -> None:
    """A start cancelled before it read the start time leaves "PID - group": the stop still ends it."""
    state_dir.mkdir()
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        (state_dir / "web.pid").write_text(f"{process.pid} - group\n")
        params = {"state_dir": str(state_dir)}
        assert act(executor, "Service", "monitor", params).rc == OcfRc.SUCCESS
        assert act(executor, "Service", "stop", params).rc == OcfRc.SUCCESS
        assert process.wait(timeout=10) == -signal.SIGTERM
    finally:
        end_group(process.pid)
        process.wait()


def test_service_logs_the_context_each_action_received(
    executor: Executor, state_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "web.log"
    params = {"state_dir": str(state_dir), "log": str(log)}
    act(executor, "Service", "start", params, {"start_reason": "initial"})
    act(executor, "Service", "monitor", params, interval_ms=10_000)
    stop = {
        "stop_reason": "failure",
        "stop_final": "false",
        "stop_cause": "web",
        "stop_next_node": "node1",
        "recoveries_left": "2",
    }
    act(executor, "Service", "stop", params, stop)
    act(executor, "Service", "start", params, {"start_reason": "recovery", "recoveries_left": "2"})
    admin = {"stop_reason": "admin", "stop_final": "true", "stop_cause": "web"}
    act(executor, "Service", "stop", params, admin)
    assert log_lines(log) == [
        "web start rc=0 start_reason=initial",
        "web monitor rc=0",
        "web stop rc=0 stop_reason=failure stop_final=false stop_cause=web stop_next_node=node1 "
        "recoveries_left=2",
        "web start rc=0 start_reason=recovery recoveries_left=2",
        "web stop rc=0 stop_reason=admin stop_final=true stop_cause=web",
    ]


def test_vigil_agent_test_passes_on_service(empty_root: Path, state_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "agent",
            "--ocf-root",
            str(empty_root),
            "test",
            "ocf:vigil:Service",
            "-p",
            f"state_dir={state_dir}",
            "-p",
            f"log={tmp_path / 'service.log'}",
        ],
    )
    assert result.exit_code == 0, result.stdout
    assert "PASSED: 28 of 28 checks passed." in result.stdout
    assert "stop_final=true" in (tmp_path / "service.log").read_text()


# --- NovaCompute ----------------------------------------------------------------------------------


@pytest.fixture
def nova(state_dir: Path, tmp_path: Path) -> dict[str, str]:
    """NovaCompute's parameters: its tear-down and bring-up append to files the tests read."""
    return {
        "state_dir": str(state_dir),
        "log": str(tmp_path / "nova.log"),
        "disable_command": f'echo "disable $OCF_RESKEY_CRM_meta_stop_reason" >>{tmp_path / "calls"}',
        "enable_command": f'echo "enable $OCF_RESKEY_CRM_meta_start_reason" >>{tmp_path / "calls"}',
    }


def failure_stop(left: int, final: bool, cause: str = "nova-compute") -> dict[str, str]:
    meta = {
        "stop_reason": "failure" if cause == "nova-compute" else "dependency",
        "stop_final": "true" if final else "false",
        "stop_cause": cause,
        "recoveries_left": str(left),
    }
    if not final:
        meta["stop_next_node"] = "node1"
    return meta


def nova_act(executor: Executor, action: str, params: dict[str, str], meta: dict[str, str]) -> OcfRc:
    return act(executor, "NovaCompute", action, params, meta, resource="nova-compute").rc


def calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_nova_compute_stops_light_until_the_stop_is_final(
    executor: Executor, nova: dict[str, str], state_dir: Path, tmp_path: Path
) -> None:
    assert nova_act(executor, "start", nova, {"start_reason": "initial"}) == OcfRc.SUCCESS
    for left in (2, 1):
        pid = pid_of(state_dir, "nova-compute")
        assert nova_act(executor, "stop", nova, failure_stop(left, final=False)) == OcfRc.SUCCESS
        assert not is_alive(pid) and group_members(pid) == []
        start = {"start_reason": "recovery", "recoveries_left": str(left)}
        assert nova_act(executor, "start", nova, start) == OcfRc.SUCCESS
    assert calls(tmp_path) == []  # restarts in place: nova never told
    pid = pid_of(state_dir, "nova-compute")
    assert nova_act(executor, "stop", nova, failure_stop(0, final=True)) == OcfRc.SUCCESS
    assert not is_alive(pid) and group_members(pid) == []
    assert calls(tmp_path) == ["disable failure"]
    assert (state_dir / "nova-compute.disabled").exists()
    # A second final stop (idempotent) does not disable again.
    assert nova_act(executor, "stop", nova, failure_stop(0, final=True)) == OcfRc.SUCCESS
    # The start after a final stop re-enables, once.
    assert nova_act(executor, "start", nova, {"start_reason": "initial"}) == OcfRc.SUCCESS
    assert nova_act(executor, "monitor", nova, {}) == OcfRc.SUCCESS
    assert calls(tmp_path) == ["disable failure", "enable initial"]
    assert not (state_dir / "nova-compute.disabled").exists()
    assert nova_act(executor, "stop", nova, failure_stop(2, final=False, cause="neutron-agent")) == 0
    assert nova_act(executor, "start", nova, {"start_reason": "dependency"}) == OcfRc.SUCCESS
    assert calls(tmp_path) == ["disable failure", "enable initial"]
    assert log_lines(Path(nova["log"])) == [
        "nova-compute start reason=initial enable=skipped",
        "nova-compute stop light reason=failure cause=nova-compute recoveries_left=2",
        "nova-compute start reason=recovery recoveries_left=2 enable=skipped",
        "nova-compute stop light reason=failure cause=nova-compute recoveries_left=1",
        "nova-compute start reason=recovery recoveries_left=1 enable=skipped",
        "nova-compute stop final reason=failure cause=nova-compute recoveries_left=0 disable=ok",
        "nova-compute stop final reason=failure cause=nova-compute recoveries_left=0 disable=already",
        "nova-compute start reason=initial enable=ok",
        "nova-compute stop light reason=dependency cause=neutron-agent recoveries_left=2",
        "nova-compute start reason=dependency enable=skipped",
    ]
    assert nova_act(executor, "stop", nova, {"stop_reason": "admin", "stop_final": "true"}) == 0
    assert nova_act(executor, "monitor", nova, {}) == OcfRc.NOT_RUNNING


def test_nova_compute_without_a_stop_context_takes_every_stop_as_final(
    executor: Executor, nova: dict[str, str], tmp_path: Path
) -> None:
    """Under plain Pacemaker: disable on every stop, enable on every start (safe, not light)."""
    for _ in range(2):
        assert nova_act(executor, "start", nova, {}) == OcfRc.SUCCESS
        assert nova_act(executor, "stop", nova, {}) == OcfRc.SUCCESS
    assert calls(tmp_path) == ["disable ", "enable ", "disable "]
    assert log_lines(Path(nova["log"]))[1] == "nova-compute stop final context=none disable=ok"


def test_nova_compute_tear_down_is_best_effort_and_bounded(
    executor: Executor, nova: dict[str, str], state_dir: Path, tmp_path: Path
) -> None:
    final = failure_stop(0, final=True)
    failing = {**nova, "disable_command": "echo nova-api unreachable >&2; exit 4"}
    assert nova_act(executor, "start", failing, {}) == OcfRc.SUCCESS
    result = act(executor, "NovaCompute", "stop", failing, final, resource="nova-compute")
    assert result.rc == OcfRc.SUCCESS and "nova-api unreachable" in result.stderr
    assert log_lines(Path(nova["log"]))[-1].endswith("disable=failed(rc=4)")

    # A tear-down that hangs is ended after teardown_timeout; the stop still succeeds.
    hung_pid = tmp_path / "hung.pid"
    hanging = {**nova, "disable_command": f"echo $$ >{hung_pid}; exec sleep 60", "teardown_timeout": "1"}
    (state_dir / "nova-compute.disabled").unlink()
    assert nova_act(executor, "start", hanging, {}) == OcfRc.SUCCESS
    assert nova_act(executor, "stop", hanging, final) == OcfRc.SUCCESS
    assert log_lines(Path(nova["log"]))[-1].endswith("disable=timeout")
    pid = int(hung_pid.read_text())
    try:
        assert not is_alive(pid)
    finally:
        end_group(pid)


def test_nova_compute_retries_a_failed_enable_at_the_next_start(
    executor: Executor, nova: dict[str, str], state_dir: Path, tmp_path: Path
) -> None:
    assert nova_act(executor, "stop", nova, failure_stop(0, final=True)) == OcfRc.SUCCESS  # never started
    assert calls(tmp_path) == ["disable failure"]
    failing = {**nova, "enable_command": "exit 1"}
    assert nova_act(executor, "start", failing, {"start_reason": "recovery"}) == OcfRc.SUCCESS
    assert log_lines(Path(nova["log"]))[-1].endswith("enable=failed(rc=1)")
    assert (state_dir / "nova-compute.disabled").exists()
    assert nova_act(executor, "start", nova, {"start_reason": "recovery"}) == OcfRc.SUCCESS  # idempotent
    assert calls(tmp_path) == ["disable failure", "enable recovery"]
    assert nova_act(executor, "stop", nova, failure_stop(2, final=False)) == OcfRc.SUCCESS


def test_nova_compute_without_commands_only_says_what_it_would_do(
    executor: Executor, state_dir: Path, tmp_path: Path
) -> None:
    params = {"state_dir": str(state_dir), "log": str(tmp_path / "nova.log")}
    assert nova_act(executor, "start", params, {}) == OcfRc.SUCCESS
    assert nova_act(executor, "stop", params, failure_stop(0, final=True)) == OcfRc.SUCCESS
    assert nova_act(executor, "start", params, {}) == OcfRc.SUCCESS
    assert nova_act(executor, "stop", params, failure_stop(2, final=False)) == OcfRc.SUCCESS
    lines = log_lines(tmp_path / "nova.log")
    assert "disable=none (no disable_command: would disable the compute service)" in lines[1]
    assert "enable=none (no enable_command: would enable the compute service)" in lines[2]


def test_nova_compute_passes_vigil_agent_test(
    executor: Executor, nova: dict[str, str], tmp_path: Path
) -> None:
    report = run(AgentTest(executor, AgentSpec.parse("ocf:vigil:NovaCompute"), nova, node_name="node1").run())
    assert report.passed, report.first_failure
    # Final stops disable: the sequence's (no context: final), the drill's third failure and its
    # admin stop; the start after each re-enables.  The drill's light stops touch nothing.
    assert calls(tmp_path) == [
        "disable ",
        "enable initial",
        "disable failure",
        "enable initial",
        "disable admin",
    ]


# --- Flaky ----------------------------------------------------------------------------------------


def test_flaky_monitor_fails_while_its_fail_file_exists(executor: Executor, state_dir: Path) -> None:
    fail_file = state_dir / "fail-now"
    params = {"state_dir": str(state_dir), "fail_file": str(fail_file)}
    assert act(executor, "Flaky", "validate-all", params).rc == OcfRc.SUCCESS
    assert act(executor, "Flaky", "monitor", params).rc == OcfRc.NOT_RUNNING
    assert act(executor, "Flaky", "start", params).rc == OcfRc.SUCCESS
    assert act(executor, "Flaky", "monitor", params, interval_ms=10_000).rc == OcfRc.SUCCESS
    fail_file.touch()
    result = act(executor, "Flaky", "monitor", params, interval_ms=10_000)
    assert result.rc == OcfRc.ERR_GENERIC and f"failure injected: {fail_file} exists" in result.exit_reason
    fail_file.write_text("7\n")
    assert act(executor, "Flaky", "monitor", params, interval_ms=10_000).rc == OcfRc.NOT_RUNNING
    fail_file.unlink()
    assert act(executor, "Flaky", "monitor", params, interval_ms=10_000).rc == OcfRc.SUCCESS
    assert act(executor, "Flaky", "stop", params).rc == OcfRc.SUCCESS
    assert act(executor, "Flaky", "stop", params).rc == OcfRc.SUCCESS
    fail_file.touch()  # a stopped resource is stopped, failure injected or not
    assert act(executor, "Flaky", "monitor", params).rc == OcfRc.NOT_RUNNING


def test_flaky_passes_vigil_agent_test(executor: Executor, state_dir: Path) -> None:
    report = run(AgentTest(executor, AgentSpec.parse("ocf:vigil:Flaky"), {"state_dir": str(state_dir)}).run())
    assert report.passed, report.first_failure


@pytest.mark.parametrize("agent", ["Service", "Flaky", "NovaCompute"])
def test_an_instance_name_that_is_a_path_writes_nothing_outside_the_state_directory(
    agent: str, tmp_path: Path
) -> None:
    """The instance name is a file name in state_dir: ``../x`` is refused (6), nothing is written."""
    state = tmp_path / "state"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OCF_ROOT": str(tmp_path),
           "OCF_RESOURCE_INSTANCE": "../PWNED", "OCF_RESKEY_state_dir": str(state),
           "OCF_RESKEY_command": "true"}
    for action in ("start", "monitor", "stop"):
        result = subprocess.run([BUNDLED_SHELL, str(BUNDLED / agent), action], env=env, capture_output=True,
                                text=True, timeout=30, check=False)
        assert result.returncode == int(OcfRc.ERR_CONFIGURED), (action, result.stderr)
        assert "resource instance name '../PWNED' is not a plain name" in result.stderr
    assert not any(path.name.startswith("PWNED") for path in tmp_path.iterdir())
    result = subprocess.run([BUNDLED_SHELL, str(BUNDLED / agent), "meta-data"], env=env, capture_output=True,
                            timeout=30, check=False)
    assert result.returncode == 0
