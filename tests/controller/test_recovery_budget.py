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
import stat
from pathlib import Path

import pytest

from tests.controller.conftest import NODE, eventually, running_controller
from vigil.store.memory import MemoryStore


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


def test_a_monitor_that_times_out_every_time_is_recovered_until_migration_threshold(tmp_path: Path) -> None:
    provider = tmp_path / "ocf" / "resource.d" / "test"
    provider.mkdir(parents=True)
    agent = provider / "Hangs"
    state = tmp_path / "hangs.state"
    # Starts fine; its monitor hangs past its timeout whenever the resource runs.
    agent.write_text(f"""#!/bin/sh
case "$1" in
  meta-data) cat <<'EOF'
<?xml version="1.0"?>
<resource-agent name="Hangs" version="1.0"><version>1.1</version>
<shortdesc lang="en">monitor hangs</shortdesc><longdesc lang="en">monitor hangs</longdesc>
<parameters/><actions><action name="start" timeout="5s"/><action name="stop" timeout="5s"/>
<action name="monitor" timeout="5s" interval="10s"/><action name="meta-data" timeout="5s"/></actions>
</resource-agent>
EOF
  exit 0;;
  start) touch {state}; exit 0;;
  stop) rm -f {state}; exit 0;;
  monitor) [ -f {state} ] || exit 7; sleep 30; exit 0;;
  validate-all) exit 0;;
  *) exit 3;;
esac
""")
    agent.chmod(agent.stat().st_mode | stat.S_IXUSR)
    config = """
options:
  stonith-enabled: false
resources:
  - id: hangs
    agent: ocf:test:Hangs
    meta: {migration-threshold: 6}
    ops:
      - {name: monitor, interval: 2s, timeout: 1s}
"""

    async def scenario() -> None:
        store = MemoryStore()
        async with running_controller(config, store=store, ocf_root=tmp_path / "ocf") as controller:
            await eventually("the fail-count to reach migration-threshold (6)",
                             lambda: _at_least(store, "hangs", 6), timeout=6 * 2 + 10)
            await eventually("hangs stopped for good", lambda: _stopped(store, "hangs"), timeout=10)
            assert not controller.active_monitors()
            log = await _log(store, "hangs")
            timed_out = [e for e in log if e[0] == "monitor" and e[2] != 0]
            assert await _failcount(store, "hangs") == 6
            assert len(timed_out) == 6

    asyncio.run(scenario())


def test_a_plan_that_fails_without_counting_a_failure_waits_for_a_change(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Fencing that cannot work (a device that always fails) is tried a few times, not forever."""
    provider = tmp_path / "ocf" / "resource.d" / "test"
    provider.mkdir(parents=True)
    agent = provider / "StopFails"
    state = tmp_path / "stopfails.state"
    agent.write_text(f"""#!/bin/sh
case "$1" in
  meta-data) echo '<?xml version="1.0"?><resource-agent name="StopFails"><version>1.1</version>'\\
'<parameters/><actions/></resource-agent>'; exit 0;;
  start) touch {state}; exit 0;;
  stop) exit 1;;
  monitor) [ -f {state} ] || exit 7; [ -f {state}.fail ] && exit 1; exit 0;;
  *) exit 0;;
esac
""")
    agent.chmod(agent.stat().st_mode | stat.S_IXUSR)
    config = """
options:
  stonith-enabled: true
resources:
  - id: fence-fails
    agent: stonith:fence_dummy
    params: {type: fail, pcmk_host_list: node1, power_timeout: 1}
  - id: stuck
    agent: ocf:test:StopFails
    ops:
      - {name: monitor, interval: 1s, timeout: 5s}
"""

    async def scenario() -> None:
        store = MemoryStore()
        caplog.set_level(logging.INFO, logger="vigil")
        async with running_controller(config, store=store, ocf_root=tmp_path / "ocf") as controller:
            await eventually("stuck to start", lambda: bool(controller.active_monitors()), timeout=10)
            Path(f"{state}.fail").touch()
            await eventually("the controller to give up on a plan it cannot carry out",
                             lambda: "cannot reach its goal" in caplog.text, timeout=20)
            attempts = caplog.text.count("Fence (reboot) node1")
            await asyncio.sleep(2)
            assert caplog.text.count("Fence (reboot) node1") == attempts
            await controller.stop(leave_running=True)

    asyncio.run(scenario())
