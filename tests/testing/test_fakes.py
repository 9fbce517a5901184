"""The fakes vigil ships for tests: a clock that moves when told, agents that answer from a script."""

from __future__ import annotations

import asyncio

import pytest

from vigil.executor.request import ActionRequest, AgentSpec
from vigil.model.results import ExecStatus, OcfRc
from vigil.testing import FakeClock, ScriptedExecutor

DUMMY = AgentSpec("ocf", "Dummy", "heartbeat")


def request(resource: str, action: str, interval_ms: int = 0, node: str = "node1") -> ActionRequest:
    return ActionRequest(resource, DUMMY, action, interval_ms=interval_ms, node_name=node)


def test_sleeps_end_in_order_when_the_clock_passes_them_and_not_before() -> None:
    async def scenario() -> list[tuple[str, float]]:
        clock = FakeClock(start=1000.0)
        woke: list[tuple[str, float]] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append((name, clock.time()))

        tasks = [asyncio.create_task(sleeper("late", 30)), asyncio.create_task(sleeper("early", 10))]
        await clock.run_ready()
        assert clock.next_timer == 1010.0
        await clock.advance(9)
        assert woke == []
        await clock.advance(25)
        await asyncio.gather(*tasks)
        assert clock.time() == 1034.0 and clock.monotonic() == 34.0
        return woke

    assert asyncio.run(scenario()) == [("early", 1010.0), ("late", 1030.0)]


def test_a_cancelled_sleep_is_forgotten_and_the_clock_never_goes_back() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        task = asyncio.create_task(clock.sleep(5))
        await clock.run_ready()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert clock.next_timer is None
        await clock.set(clock.time() + 1)
        with pytest.raises(ValueError, match="does not go back"):
            await clock.advance(-1)

    asyncio.run(scenario())


def test_unscripted_actions_give_what_the_controller_expects() -> None:
    executor = ScriptedExecutor()
    probe = asyncio.run(executor.run(request("web", "monitor")))
    start = asyncio.run(executor.run(request("web", "start")))
    assert (probe.rc, probe.status) == (OcfRc.NOT_RUNNING, ExecStatus.DONE)
    assert (start.rc, start.status) == (OcfRc.SUCCESS, ExecStatus.DONE)
    assert [r.action for r in executor.requests] == ["monitor", "start"]


def test_the_latest_matching_script_answers_as_many_times_as_it_was_told() -> None:
    executor = ScriptedExecutor()
    executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.ERR_GENERIC)
    executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
    executor.script("db", status=ExecStatus.TIMEOUT, node="node2")
    answers = [asyncio.run(executor.run(request("web", "monitor", 10_000))).rc for _ in range(3)]
    assert answers == [OcfRc.NOT_RUNNING, OcfRc.ERR_GENERIC, OcfRc.ERR_GENERIC]
    assert asyncio.run(executor.run(request("db", "start", node="node1"))).status == ExecStatus.DONE
    assert asyncio.run(executor.run(request("db", "start", node="node2"))).status == ExecStatus.TIMEOUT
    # A clone instance is matched by its primitive's id.
    executor.script("ping", "start", rc=OcfRc.ERR_INSTALLED)
    assert asyncio.run(executor.run(request("ping:2", "start"))).rc == OcfRc.ERR_INSTALLED
    assert [r.resource_id for r in executor.ran("ping")] == ["ping:2"]


def test_an_answer_that_takes_time_waits_on_the_clock() -> None:
    with pytest.raises(ValueError, match="needs the executor's clock"):
        ScriptedExecutor().script("web", "start", duration_s=5)

    async def scenario() -> None:
        clock = FakeClock()
        executor = ScriptedExecutor(clock)
        executor.script("web", "start", duration_s=5)
        running = asyncio.create_task(executor.run(request("web", "start")))
        await clock.advance(4.9)
        assert not running.done()
        await clock.advance(0.1)
        result = await running
        assert result.duration_ms == 5000

    asyncio.run(scenario())
