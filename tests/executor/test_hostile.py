"""Hostile agents: each misbehaviour becomes a clear result, and nothing is left running.

Every agent here is in ``agents/resource.d/vigil-test``.  No assertion is on
time: a timeout shows as the execution status, and "gone" is checked by
looking for the processes, not by a clock.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from vigil.executor import ActionRequest, AgentSpec, Executor, Recovery, Spawner
from vigil.executor.process import group_members
from vigil.fencing.agent import FenceAgents
from vigil.model.results import ExecStatus, OcfRc

from .conftest import is_alive, kill_if_alive, run


def request(agent: str, action: str = "monitor", **params: str) -> ActionRequest:
    return ActionRequest.create("rsc", f"ocf:vigil-test:{agent}", action, params, timeout_ms=10_000)


def read_pids(pidfile: Path, count: int) -> list[int]:
    pids = [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []
    assert len(pids) == count, f"the agent wrote {pids}"
    return pids


async def wait_for_pids(pidfile: Path, count: int) -> None:
    for _ in range(400):
        if pidfile.exists() and len(pidfile.read_text().split()) >= count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{pidfile} never got {count} pids")


def test_missing_agent_is_not_installed(executor: Executor) -> None:
    result = run(executor.run(request("no-such-agent")))
    assert (result.rc, result.status, result.pid) == (OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED, None)
    assert "no-such-agent not found" in result.exit_reason
    assert result.recovery is Recovery.HARD


def test_missing_provider_is_not_installed(executor: Executor) -> None:
    result = run(executor.run(ActionRequest.create("rsc", "ocf:nobody:Dummy", "start")))
    assert result.status == ExecStatus.NOT_INSTALLED


def test_agent_that_is_not_executable_is_a_permission_error(executor: Executor) -> None:
    result = run(executor.run(request("noexec")))
    assert (result.rc, result.status) == (OcfRc.ERR_PERM, ExecStatus.ERROR)
    assert "chmod +x" in result.exit_reason
    assert result.recovery is Recovery.HARD


def test_hung_agent_with_a_2s_timeout_is_timed_out_and_its_whole_tree_is_gone(
    ocf_root: Path, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    executor = Executor(ocf_root_dir=ocf_root)  # the default SIGTERM -> SIGKILL grace
    hung = ActionRequest.create(
        "rsc", "ocf:vigil-test:hang", "monitor", {"pidfile": str(pidfile)}, timeout_ms=2000
    )
    try:
        result = run(executor.run(hung))
        pids = read_pids(pidfile, 3)
        assert (result.status, result.rc, result.exit_code) == (ExecStatus.TIMEOUT, OcfRc.ERR_GENERIC, None)
        assert "did not exit within its timeout of 2000 ms" in result.exit_reason
        killed = re.search(r"SIGKILL for (\d+) process", result.exit_reason)
        assert killed is not None and int(killed[1]) >= 3  # they all ignored SIGTERM
        assert result.recovery is Recovery.SOFT
        assert [pid for pid in pids if is_alive(pid)] == []
        assert result.pid is not None and group_members(result.pid) == []
    finally:
        if pidfile.exists():
            kill_if_alive([int(p) for p in pidfile.read_text().split()])


def test_agent_killed_by_a_signal_is_an_error(executor: Executor) -> None:
    result = run(executor.run(request("crash")))
    assert (result.rc, result.status, result.signal, result.exit_code) == (
        OcfRc.ERR_GENERIC,
        ExecStatus.ERROR,
        11,
        None,
    )
    assert result.exit_reason == "killed by SIGSEGV"
    assert "about to crash" in result.stdout


def test_megabytes_of_output_are_capped_and_the_exit_reason_still_found(executor: Executor) -> None:
    result = run(executor.run(request("loud")))
    assert (result.rc, result.status) == (OcfRc.SUCCESS, ExecStatus.DONE)
    assert result.output_truncated
    cap = executor.spawner.output_cap
    assert len(result.stdout) < cap + 100 and len(result.stderr) < cap + 100
    assert (
        "vigil dropped" in result.stdout and result.stdout.startswith("ooo") and result.stdout.endswith("ooo")
    )
    assert result.exit_reason == "finished loudly"


def test_invalid_meta_data_is_reported_and_does_not_block_a_start(executor: Executor) -> None:
    fetch = run(executor.fetch_metadata(request("badmeta").agent))
    assert fetch.metadata is None and "not well-formed XML" in fetch.error
    result = run(executor.run(request("badmeta", "start")))
    assert (result.rc, result.status) == (OcfRc.SUCCESS, ExecStatus.DONE)
    assert any("parameters not checked" in w and "not well-formed XML" in w for w in result.warnings)


def test_unknown_exit_code_is_a_generic_error_that_keeps_the_code(executor: Executor) -> None:
    result = run(executor.run(request("weird-rc")))
    assert (result.rc, result.status, result.exit_code) == (OcfRc.ERR_GENERIC, ExecStatus.DONE, 42)
    assert result.exit_reason == "the answer"
    assert "exit code 42" in result.describe()


def test_daemon_holding_stdout_does_not_hold_the_action(executor: Executor, tmp_path: Path) -> None:
    pidfile = tmp_path / "daemon.pid"
    try:
        result = run(executor.run(request("daemon", "start", pidfile=str(pidfile))))
        [daemon] = read_pids(pidfile, 1)
        assert (result.rc, result.status) == (OcfRc.SUCCESS, ExecStatus.DONE)  # not TIMEOUT
        assert "daemon started" in result.stdout
        assert is_alive(daemon), "a daemon a start leaves behind is the resource: vigil must not kill it"
        run(executor.close())
        assert is_alive(daemon), "nor when vigil stops: only actions in flight are ended"
    finally:
        if pidfile.exists():
            kill_if_alive(read_pids(pidfile, 1))


def test_last_exit_reason_wins_and_is_cut_at_128_characters(executor: Executor) -> None:
    result = run(executor.run(request("reasons")))
    assert (result.rc, result.exit_reason) == (OcfRc.ERR_GENERIC, "the second reason")
    result = run(executor.run(request("reasons", "stop")))
    assert result.exit_reason == "0" * 128


def test_cancelled_action_ends_its_process_group(executor: Executor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"

    async def scenario() -> None:
        task = asyncio.create_task(executor.run(request("hang", pidfile=str(pidfile))))
        await wait_for_pids(pidfile, 3)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return
        raise AssertionError("the cancellation did not reach the caller")

    try:
        run(scenario())
        assert [pid for pid in read_pids(pidfile, 3) if is_alive(pid)] == []
    finally:
        if pidfile.exists():
            kill_if_alive([int(p) for p in pidfile.read_text().split()])


def test_shutdown_ends_every_action_in_flight(executor: Executor, tmp_path: Path) -> None:
    pidfiles = [tmp_path / "a", tmp_path / "b"]

    async def scenario() -> list[ExecStatus]:
        tasks = [asyncio.create_task(executor.run(request("hang", pidfile=str(p)))) for p in pidfiles]
        for pidfile in pidfiles:
            await wait_for_pids(pidfile, 3)
        await executor.close()
        statuses = [(await task).status for task in tasks]
        statuses.append((await executor.run(request("trivial"))).status)
        return statuses

    try:
        assert run(scenario()) == [ExecStatus.CANCELLED, ExecStatus.CANCELLED, ExecStatus.INVALID]
        for pidfile in pidfiles:
            assert [pid for pid in read_pids(pidfile, 3) if is_alive(pid)] == []
    finally:
        for pidfile in pidfiles:
            if pidfile.exists():
                kill_if_alive([int(p) for p in pidfile.read_text().split()])


def test_concurrent_actions_are_limited_per_node(ocf_root: Path) -> None:
    executor = Executor(Spawner(max_concurrent=2), ocf_root_dir=ocf_root)

    async def scenario() -> list[OcfRc]:
        results = await asyncio.gather(*(executor.run(request("sleeper", seconds="0.4")) for _ in range(4)))
        return [r.rc for r in results]

    assert run(scenario()) == [OcfRc.SUCCESS] * 4
    assert executor.spawner.peak_running == 2
    assert executor.spawner.running == 0


def _planted_agent(directory: Path) -> tuple[Path, Path]:
    """An executable outside every class directory that leaves a mark when anything runs it."""
    directory.mkdir()
    marker = directory / "RAN"
    agent = directory / "evil"
    agent.write_text(f"#!/bin/sh\necho \"$@\" >>{marker}\necho '<resource-agent name=\"evil\"/>'\n")
    agent.chmod(0o755)
    return agent, marker


def test_an_agent_name_that_leaves_its_class_directory_is_never_run(
    executor: Executor, ocf_root: Path, lsb_dir: Path, tmp_path: Path
) -> None:
    """Defence in depth for a stored configuration: ``ocf:../../x:evil`` is "not installed", not run."""
    agent, marker = _planted_agent(tmp_path / "x")
    provider = os.path.relpath(agent.parent, ocf_root / "resource.d")
    init_name = os.path.relpath(agent, lsb_dir)
    assert provider.startswith("..") and init_name.startswith("..")
    for spec in (AgentSpec("ocf", "evil", provider), AgentSpec("lsb", init_name)):
        result = run(executor.run(ActionRequest("rsc", spec, "start", timeout_ms=10_000)))
        assert result.rc == OcfRc.ERR_INSTALLED and result.status == ExecStatus.NOT_INSTALLED, spec
        assert "is not a plain name" in result.exit_reason, result.exit_reason
        fetch = run(executor.fetch_metadata(spec))
        assert fetch.metadata is None and "is not a plain name" in fetch.error
    assert not marker.exists()


def test_a_fence_agent_name_that_leaves_its_directory_is_never_run(tmp_path: Path) -> None:
    agent, marker = _planted_agent(tmp_path / "x")
    directory = tmp_path / "sbin"
    directory.mkdir()
    agents = FenceAgents(Spawner(), directory)
    name = os.path.relpath(agent, directory)
    assert not agents.is_installed(name)
    assert run(agents.raw_metadata(name)) is None
    assert not marker.exists()
