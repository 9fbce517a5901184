"""A resource with recoveries left is always being recovered or monitored.

A monitor that fails right after every start (or times out every time) makes
the same plan again and again: stop, start, monitor.  Each attempt raises the
fail-count, so each is progress towards migration-threshold, as in
Pacemaker; the controller may not take it for a plan that "cannot reach its
goal" and stop recovering with recoveries left.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.controller.conftest import NODE, eventually, running_controller
from tests.controller.scripted import Scripted as ScriptedCluster
from tests.controller.scripted import scripted_controller
from vigil.model.results import ExecStatus, OcfRc
from vigil.store.memory import MemoryStore
from vigil.testing import ScriptedExecutor


async def _failcount(store: MemoryStore, resource: str) -> int:
    snapshot = await store.snapshot()
    state = snapshot.cluster.status.node(NODE)
    if state is None:
        return 0
    total = 0
    for name, value in state.attributes:
        if name.startswith(f"fail-count-{resource}#"):
            total += 1_000_000 if value == "INFINITY" else int(value)
    return total


async def _at_least(store: MemoryStore, resource: str, count: int) -> bool:
    return await _failcount(store, resource) >= count


async def _stopped(store: MemoryStore, resource: str) -> bool:
    log = await _log(store, resource)
    return bool(log) and log[-1][0] == "stop"


async def _log(store: MemoryStore, resource: str) -> list[tuple[str, int, int]]:
    entries = await store.operation_log(resource, NODE, limit=1000)
    return [(e.record.operation, e.record.rc, e.record.op_status) for e in entries]


def test_a_monitor_failing_after_every_start_is_recovered_until_migration_threshold(tmp_path: Path) -> None:
    fail_file = tmp_path / "flaky.fail"
    fail_file.touch()
    config = f"""
options:
  stonith-enabled: false
resources:
  - id: flaky
    agent: ocf:vigil:Flaky
    params: {{state_dir: "{tmp_path}", fail_file: "{fail_file}"}}
    meta: {{migration-threshold: 10}}
    ops:
      - {{name: monitor, interval: 5s, timeout: 10s}}
"""

    async def scenario() -> None:
        store = MemoryStore()
        async with running_controller(config, store=store) as controller:
            # About threshold x monitor interval at most; each failure is found by the
            # monitor that follows its start.
            await eventually("the fail-count to reach migration-threshold (10)",
                             lambda: _at_least(store, "flaky", 10), timeout=50)
            await eventually("flaky stopped for good", lambda: _stopped(store, "flaky"), timeout=10)
            assert not controller.active_monitors()
            log = await _log(store, "flaky")
            failed_monitors = [e for e in log if e[0] == "monitor" and e[1] == 1]
            starts = [e for e in log if e[0] == "start" and e[1] == 0]
            # Every failure recorded once, every recovery a real start, and no more
            # than the budget allows.
            assert await _failcount(store, "flaky") == 10
            assert len(failed_monitors) == 10
            assert len(starts) == 10

    asyncio.run(scenario())


def test_a_monitor_that_times_out_every_time_is_recovered_until_migration_threshold() -> None:
    """In fake time: each recovery's first monitor times out, and each timeout is counted."""
    config = """
options:
  stonith-enabled: false
resources:
  - id: hangs
    agent: ocf:heartbeat:Dummy
    meta: {migration-threshold: 6}
    ops:
      - {name: monitor, interval: 2s, timeout: 1s}
"""

    async def scenario() -> None:
        executor = ScriptedExecutor()
        executor.script("hangs", "monitor", interval_ms=2000, status=ExecStatus.TIMEOUT, rc=OcfRc.UNKNOWN)
        async with scripted_controller(config, executor=executor, settle=False) as cluster:
            await cluster.until("the fail-count to reach migration-threshold (6)",
                                lambda: _scripted_at_least(cluster, "hangs", 6))
            await cluster.until("hangs stopped for good", lambda: _scripted_stopped(cluster, "hangs"))
            assert not cluster.controller.active_monitors()
            timed_out = [r for r in await cluster.records("hangs") if r[0] == "monitor" and r[1] == 2000]
            assert await cluster.failcount("hangs") == 6
            assert len(timed_out) == 6
            assert len(cluster.ran("hangs", "start")) == 6

    asyncio.run(scenario())


async def _scripted_at_least(cluster: ScriptedCluster, resource: str, count: int) -> bool:
    return await _failcount(cluster.store, resource) >= count


async def _scripted_stopped(cluster: ScriptedCluster, resource: str) -> bool:
    records = await cluster.records(resource)
    return bool(records) and records[-1][0] == "stop"


def test_a_plan_that_fails_without_counting_a_failure_waits_for_a_change(
        caplog: pytest.LogCaptureFixture) -> None:
    """Fencing that cannot work (its device's agent is missing) is tried a few times, not forever."""
    config = """
options:
  stonith-enabled: true
resources:
  - id: fence-fails
    agent: stonith:fence_vigil_missing_agent
    params: {pcmk_host_list: node1}
  - id: stuck
    agent: ocf:heartbeat:Dummy
    ops:
      - {name: monitor, interval: 1s, timeout: 5s}
"""

    async def scenario() -> None:
        caplog.set_level(logging.INFO, logger="vigil")
        executor = ScriptedExecutor()
        async with scripted_controller(config, executor=executor) as cluster:
            # The monitor fails and the stop fails: the node must be fenced, and cannot be.
            executor.script("stuck", "monitor", interval_ms=1000, rc=OcfRc.ERR_GENERIC)
            executor.script("stuck", "stop", rc=OcfRc.ERR_GENERIC)
            await cluster.advance(1)
            await cluster.until("the controller to give up on a plan it cannot carry out",
                                lambda: "cannot reach its goal" in caplog.text)
            attempts = caplog.text.count("Fence (reboot) node1")
            assert attempts >= 3
            await cluster.advance(60)
            assert caplog.text.count("Fence (reboot) node1") == attempts
            await cluster.controller.stop(leave_running=True)

    asyncio.run(scenario())
