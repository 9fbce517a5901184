"""Processes that leave their action's group: ended with a timed-out action, left to a finished one.

vigil is the child subreaper of what its agents start (as ``vigil run`` makes
it): what an agent orphans is re-parented to vigil, found with its action
when that action must end, and reaped by vigil when it dies.  Here the test
process plays vigil; the ``subreaper`` fixture gives the flag back after each
test.  Agents are in ``agents/resource.d/vigil-test`` (``escape``,
``daemonize``).  Tests kill only processes they started, by pid.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.executor import ActionRequest, Executor, Spawner
from vigil.executor.subreaper import (
    Subreaper,
    adopted_orphans,
    is_child_subreaper,
    read_proc,
    reap_orphans,
    set_child_subreaper,
    spawning,
)
from vigil.model.results import ExecStatus, OcfRc

from .conftest import is_alive, kill_if_alive, run


@pytest.fixture
def subreaper() -> Iterator[None]:
    assert set_child_subreaper(True) and is_child_subreaper()
    yield
    set_child_subreaper(False)
    reap_orphans()


def request(agent: str, action: str, pidfile: Path, timeout_ms: int = 10_000) -> ActionRequest:
    return ActionRequest.create("rsc", f"ocf:vigil-test:{agent}", action, {"pidfile": str(pidfile)},
                                timeout_ms=timeout_ms)


def pids_in(pidfile: Path) -> list[int]:
    return [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []


def exists(pid: int) -> bool:
    """Is there any process ``pid``, a zombie included?"""
    return read_proc(pid) is not None


def wait_until_dead(pid: int) -> None:
    for _ in range(500):
        info = read_proc(pid)
        if info is None or not info.live:
            return
        time.sleep(0.01)
    raise AssertionError(f"{pid} did not exit")


@pytest.fixture
def cleanup() -> Iterator[list[Path]]:
    """Pid files whose processes are killed after the test, whatever happened."""
    pidfiles: list[Path] = []
    yield pidfiles
    for pidfile in pidfiles:
        kill_if_alive(pids_in(pidfile))
    reap_orphans()


@pytest.mark.parametrize("as_subreaper", [True, False], ids=["subreaper", "not-subreaper"])
def test_a_timeout_ends_the_processes_that_left_the_group(
    executor: Executor, tmp_path: Path, cleanup: list[Path], as_subreaper: bool
) -> None:
    pidfile = tmp_path / "pids"
    cleanup.append(pidfile)
    if as_subreaper:
        assert set_child_subreaper(True)
    try:
        result = run(executor.run(request("escape", "monitor", pidfile, timeout_ms=1500)))
    finally:
        set_child_subreaper(False)
    pids = pids_in(pidfile)
    assert len(pids) == 4, f"the agent wrote {pids}"
    assert result.status == ExecStatus.TIMEOUT
    assert [pid for pid in pids if is_alive(pid)] == []
    assert "SIGKILL for 4 process(es)" in result.exit_reason  # the agent and its three escapees


def test_shutdown_ends_the_escaped_processes_of_an_action_in_flight(
    executor: Executor, tmp_path: Path, cleanup: list[Path], subreaper: None
) -> None:
    pidfile = tmp_path / "pids"
    cleanup.append(pidfile)

    async def scenario() -> ExecStatus:
        task = asyncio.create_task(executor.run(request("escape", "monitor", pidfile)))
        while len(pids_in(pidfile)) < 4:
            await asyncio.sleep(0.02)
        await executor.close()
        return (await task).status

    assert run(scenario()) == ExecStatus.CANCELLED
    assert [pid for pid in pids_in(pidfile) if is_alive(pid)] == []


def test_a_service_a_start_daemonized_is_adopted_and_outlives_other_timeouts_and_the_stop(
    executor: Executor, tmp_path: Path, cleanup: list[Path], subreaper: None
) -> None:
    service_pidfile, hung_pidfile = tmp_path / "service", tmp_path / "hung"
    cleanup.extend([service_pidfile, hung_pidfile])

    async def scenario() -> None:
        start = await executor.run(request("daemonize", "start", service_pidfile))
        assert (start.rc, start.status) == (OcfRc.SUCCESS, ExecStatus.DONE)
        [service] = pids_in(service_pidfile)
        assert is_alive(service), "the service a start launched is the resource"
        info = read_proc(service)
        assert info is not None and info.ppid == os.getpid(), "orphaned, it is adopted by vigil"
        assert service in adopted_orphans()
        hung = await executor.run(request("escape", "monitor", hung_pidfile, timeout_ms=1000))
        assert hung.status == ExecStatus.TIMEOUT
        assert [pid for pid in pids_in(hung_pidfile) if is_alive(pid)] == []
        assert is_alive(service), "another action's timeout ends that action's tree only"
        await executor.close()
        assert is_alive(service), "nor does vigil's stop end what a finished action left"

    run(scenario())


def test_a_dead_service_is_reaped_so_its_monitor_sees_it_stopped(
    executor: Executor, tmp_path: Path, cleanup: list[Path], subreaper: None
) -> None:
    pidfile = tmp_path / "service"
    cleanup.append(pidfile)

    async def scenario() -> OcfRc:
        assert (await executor.run(request("daemonize", "start", pidfile))).rc == OcfRc.SUCCESS
        [service] = pids_in(pidfile)
        info = read_proc(service)
        assert info is not None and info.ppid == os.getpid()
        kill_if_alive([service])  # the service crashes
        wait_until_dead(service)
        assert exists(service), "a zombie until reaped"
        return (await executor.run(request("daemonize", "monitor", pidfile))).rc

    # kill -0 passes on a zombie: unreaped, the dead service would look alive.
    assert run(scenario()) == OcfRc.NOT_RUNNING
    assert not exists(pids_in(pidfile)[0])


def test_the_daemons_reaper_leaves_no_zombie_between_actions(
    ocf_root: Path, tmp_path: Path, cleanup: list[Path]
) -> None:
    pidfile = tmp_path / "service"
    cleanup.append(pidfile)
    executor = Executor(Spawner(kill_grace_s=0.5), ocf_root_dir=ocf_root)
    reaper = Subreaper(interval_s=0.05)

    async def scenario() -> bool:
        assert reaper.start()
        try:
            assert (await executor.run(request("daemonize", "start", pidfile))).rc == OcfRc.SUCCESS
            [service] = pids_in(pidfile)
            assert service in adopted_orphans()
            kill_if_alive([service])
            for _ in range(200):  # no action runs: only the reaper can take the zombie
                if not exists(service):
                    return True
                await asyncio.sleep(0.02)
            return False
        finally:
            await reaper.close()

    assert run(scenario()), "the dead service was left a zombie"
    assert not is_child_subreaper(), "close gives the flag back"


def test_the_reaper_takes_only_zombies_vigil_did_not_spawn(subreaper: None) -> None:
    with spawning() as spawned:
        mine = subprocess.Popen(["sh", "-c", "exit 3"], start_new_session=True)
        spawned.add(mine.pid)
        same_session = subprocess.Popen(["sh", "-c", "exit 5"])
        unknown = subprocess.Popen(["sh", "-c", "exit 6"], start_new_session=True)
        for child in (mine, same_session, unknown):
            wait_until_dead(child.pid)
        assert reap_orphans() == [], "while a spawn is in progress, a zombie may be its child"
    try:
        assert reap_orphans() == [unknown.pid]
    finally:
        spawned.discard(mine.pid)
    # The statuses left to their owners are intact (waitpid fails for a taken one).
    assert (mine.wait(), same_session.wait()) == (3, 5)
    unknown.wait()  # taken: Popen finds no child and settles
