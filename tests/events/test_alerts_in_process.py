"""Alert agents never hold the controller up: the real dispatcher and agents, the controller in-process.

The controller runs over a memory store with scripted resource agents and
a fake clock (``tests/controller/scripted.py``); the events go to the real
:class:`~vigil.events.dispatcher.EventDispatcher`, which runs real alert
agents in real time.  A recovery takes no real time at all here, so one
that waited for an alert agent would show as the agent's whole timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from tests.controller.scripted import NODE, Scripted
from tests.daemon.conftest import primitive
from tests.events.cibs import alert, events_cib
from vigil.admin.intake import install, parse_config, with_node
from vigil.controller.loop import Controller
from vigil.events.dispatcher import EventDispatcher
from vigil.executor.process import Spawner
from vigil.fencing.agent import FenceAgents
from vigil.fencing.fencer import Fencer
from vigil.model.results import OcfRc
from vigil.store.memory import MemoryStore
from vigil.testing import FakeClock, ScriptedExecutor

# The slow agent's timeout; a recovery must take well under it.
ALERT_TIMEOUT_S = 2


async def _real_wait(what: str, condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)


def test_a_slow_or_failing_alert_agent_never_delays_recovery(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    marker = tmp_path / "alert-ran"
    slow = tmp_path / "slow.sh"
    slow.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 600 &\nwait\n")
    slow.chmod(0o755)
    failing = tmp_path / "failing.sh"
    failing.write_text("#!/bin/sh\necho 'cannot reach the pager' >&2\nexit 3\n")
    failing.chmod(0o755)
    alerts = (alert("slow", str(slow), ("a", "b", "c"), meta={"timeout": f"{ALERT_TIMEOUT_S}s"})
              + alert("failing", str(failing)))
    svc = primitive("svc", "ocf:heartbeat:Dummy", {}, threshold=5, interval="10s")
    config, _ = parse_config(events_cib(svc, alerts).encode(), "alerts.xml")
    config = with_node(config, NODE)

    async def scenario() -> None:
        store = MemoryStore()
        await install(store, config)
        clock = FakeClock()
        executor = ScriptedExecutor(clock)
        events = EventDispatcher(NODE)
        events.configure(config)
        events.start()
        controller = Controller(store, executor, NODE, fencer=Fencer(FenceAgents(Spawner())), clock=clock,
                                events=events)
        task = asyncio.create_task(controller.run())
        cluster = Scripted(controller, store, executor, clock, None)  # type: ignore[arg-type]
        try:
            await cluster.settle()
            await _real_wait("the slow alert agent to run", marker.exists, timeout=10)
            for failure in (1, 2):
                executor.script("svc", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
                failed_at = time.monotonic()
                await clock.advance(10)
                await cluster.until(f"recovery {failure}",
                                    lambda n=failure: len(executor.ran("svc", "start")) == n + 1)
                recovered_in = time.monotonic() - failed_at
                # Alerts that hang until their timeout before they are ended would show here,
                # were they waited for.
                assert recovered_in < ALERT_TIMEOUT_S * 0.7, f"recovery {failure} took {recovered_in:.1f} s"
                await cluster.settle()
            ended = f"did not finish within its timeout of {ALERT_TIMEOUT_S * 1000} ms"
            await _real_wait("a slow alert to be ended at its timeout", lambda: ended in caplog.text,
                             timeout=30)
            assert "exited with 3 (stderr: cannot reach the pager)" in caplog.text
        finally:
            await controller.stop()
            await clock.advance(60)
            await asyncio.wait_for(task, timeout=30)
            await events.close()
        leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _runs(p, str(slow))]
        assert leftovers == [], "an alert agent outlived its timeout"

    asyncio.run(scenario())


def _runs(proc: Path, path: str) -> bool:
    try:
        return path.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False
