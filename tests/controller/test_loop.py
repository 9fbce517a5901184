"""The controller's loop in-process and in fake time: recovery, timers, commands, monitors, shutdown.

Each test runs the real controller over a memory store with scripted agents
and a fake clock (see ``scripted.py``): no process is started, nothing
sleeps, and each test takes milliseconds.  What only a real process shows
(signals, ``kill -9``, real agents) stays in ``tests/daemon``.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.controller.scripted import NODE, scripted_controller
from vigil.admin.intake import install, parse_config, with_node
from vigil.events.model import RecoveryExhausted
from vigil.model.activity import MonitorKey
from vigil.model.results import OcfRc

DUMMY = "ocf:heartbeat:Dummy"


def one_resource(*, threshold: int | None = None, meta: str = "", interval: str = "10s",
                 options: str = "") -> str:
    meta_items = [f"migration-threshold: {threshold}"] if threshold is not None else []
    meta_items += [meta] if meta else []
    return f"""
options:
  stonith-enabled: false
{options}
resources:
  - id: web
    agent: {DUMMY}
    meta: {{{", ".join(meta_items)}}}
    ops:
      - {{name: monitor, interval: {interval}, timeout: 20s}}
"""


def test_a_resource_is_probed_started_and_monitored_at_its_interval() -> None:
    async def scenario() -> None:
        async with scripted_controller(one_resource()) as cluster:
            assert [(r, a) for r, a, _ in cluster.ran("web")] == [("web", "monitor"), ("web", "start"),
                                                                  ("web", "monitor")]
            assert cluster.ran("web", "start")[0][2]["start_reason"] == "initial"
            assert cluster.controller.active_monitors() == [MonitorKey("web", NODE, 10_000)]
            await cluster.advance(9.9)
            assert len(cluster.ran("web", "monitor", 10_000)) == 1
            await cluster.advance(0.1)
            assert len(cluster.ran("web", "monitor", 10_000)) == 2
            await cluster.advance(30)
            assert len(cluster.ran("web", "monitor", 10_000)) == 5
            # An unchanged result is not recorded again: one record of the recurring monitor.
            assert [r for r in await cluster.records("web") if r[1] == 10_000] == [("monitor", 10_000, 0)]
            assert cluster.controller.stats.actions["monitor (recurring)"].count == 5

    asyncio.run(scenario())


def test_a_failed_monitor_is_recovered_in_place() -> None:
    async def scenario() -> None:
        async with scripted_controller(one_resource(threshold=3)) as cluster:
            cluster.executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
            await cluster.advance(10)
            await cluster.settle()
            await cluster.until("web recovered", lambda: len(cluster.ran("web", "start")) == 2)
            await cluster.settle()
            assert await cluster.failcount("web") == 1
            stop = cluster.ran("web", "stop")[0][2]
            assert (stop["stop_reason"], stop["stop_final"], stop["recoveries_left"],
                    stop["stop_next_node"]) == ("failure", "false", "2", NODE)
            assert cluster.ran("web", "start")[1][2]["start_reason"] == "recovery"
            assert cluster.controller.transitions[-1].summary == ("Recover web ( node1 )",)
            assert cluster.controller.active_monitors() == [MonitorKey("web", NODE, 10_000)]
            # The failure stays visible (last_failure_0) after the recovery.
            state = await cluster.node()
            history = next(h for h in state.resources if h.id == "web")
            assert {op.id for op in history.ops} == {"web_last_0", "web_monitor_10000", "web_last_failure_0"}

    asyncio.run(scenario())


def test_migration_threshold_counts_down_and_the_last_stop_is_final() -> None:
    async def scenario() -> None:
        async with scripted_controller(one_resource(threshold=3)) as cluster:
            for failure in (1, 2, 3):
                cluster.executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
                await cluster.advance(10)
                await cluster.until(f"stop {failure}", lambda n=failure: len(cluster.ran("web", "stop")) == n)
                await cluster.settle()
            stops = [meta for _, _, meta in cluster.ran("web", "stop")]
            assert [(s["stop_reason"], s["recoveries_left"], s["retries_left"], s["stop_final"])
                    for s in stops] == [("failure", "2", "2", "false"), ("failure", "1", "1", "false"),
                                        ("failure", "0", "0", "true")]
            assert [s.get("stop_next_node", "") for s in stops] == [NODE, NODE, ""]
            starts = [meta for _, _, meta in cluster.ran("web", "start")]
            assert [(s["start_reason"], s.get("recoveries_left", "")) for s in starts] == [
                ("initial", ""), ("recovery", "2"), ("recovery", "1")]
            assert await cluster.failcount("web") == 3
            # One node and no budget left: it stays stopped.
            assert (await cluster.records("web"))[-1] == ("stop", 0, 0)
            assert cluster.controller.active_monitors() == []
            # Given up: nothing more runs however long one waits.
            ran = len(cluster.executor.requests)
            await cluster.advance(3600)
            assert len(cluster.executor.requests) == ran
            # A cleanup (fail-count and history forgotten) from elsewhere brings it back.
            await cluster.store.clear_failcount(NODE, "web")
            await cluster.store.forget_resource(NODE, "web")
            await cluster.until("web started again", lambda: len(cluster.ran("web", "start")) == 4)
            assert cluster.ran("web", "start")[-1][2]["start_reason"] == "initial"

    asyncio.run(scenario())


def test_a_definition_change_clears_a_failure_once_with_its_last_failure_record(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        async with scripted_controller(one_resource(threshold=3)) as cluster:
            cluster.executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
            await cluster.advance(10)
            await cluster.until("web recovered", lambda: len(cluster.ran("web", "start")) == 2)
            await cluster.settle()
            assert await cluster.failcount("web") == 1
            changed, _ = parse_config(one_resource(threshold=3).replace(
                "meta:", "params: {state: /tmp/vigil-test-changed}\n    meta:").encode(), "test.yaml")
            await install(cluster.store, with_node(changed, NODE))
            await cluster.until("web restarted", lambda: len(cluster.ran("web", "start")) == 3)
            await cluster.settle()
            await cluster.advance(30)
            await cluster.settle()
            assert await cluster.failcount("web") == 0
            history = next(h for h in (await cluster.node()).resources if h.id == "web")
            assert "web_last_failure_0" not in {op.id for op in history.ops}

    asyncio.run(scenario())
    # Planned once: not again on every later plan (the controller gave up after three before).
    clears = [r for r in caplog.records if r.getMessage() == "cleared the fail-count of web on node1"]
    assert len(clears) == 1
    assert not [r for r in caplog.records if "cannot reach its goal" in r.getMessage()]


def test_an_expired_failure_timeout_brings_a_given_up_resource_back_by_the_timer() -> None:
    async def scenario() -> None:
        config = one_resource(threshold=1, meta="failure-timeout: 60s")
        async with scripted_controller(config) as cluster:
            cluster.executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
            await cluster.advance(10)
            await cluster.until("web given up", lambda: len(cluster.ran("web", "stop")) == 1)
            await cluster.settle()
            assert cluster.ran("web", "stop")[0][2]["stop_final"] == "true"
            failed_at = cluster.clock.time()
            await cluster.advance(59)
            assert len(cluster.ran("web", "start")) == 1, "started again before the failure expired"
            await cluster.advance(2)
            await cluster.until("web started again", lambda: len(cluster.ran("web", "start")) == 2)
            await cluster.settle()
            assert len(cluster.ran("web", "start")) == 2
            assert cluster.clock.time() - failed_at >= 60
            assert await cluster.failcount("web") == 0
            woken = [t.trigger for t in cluster.controller.transitions]
            assert "timer (failure-timeout or cluster-recheck-interval)" in woken

    asyncio.run(scenario())


def test_the_recheck_interval_plans_again_with_nothing_changed() -> None:
    async def scenario() -> None:
        config = one_resource(options="  cluster-recheck-interval: 5min")
        async with scripted_controller(config) as cluster:
            def plans() -> int:
                return sum(cluster.controller.stats.plans.values())

            before = plans()
            await cluster.advance(299)
            await cluster.clock.run_ready()
            assert plans() == before
            await cluster.advance(1)
            await cluster.until("a plan at the recheck", lambda: plans() == before + 1)

    asyncio.run(scenario())


def test_a_command_aborts_the_transition_in_flight_and_the_next_plan_sees_it() -> None:
    async def scenario() -> None:
        config = """
options:
  stonith-enabled: false
resources:
  - group: stack
    members:
      - {id: first, agent: ocf:heartbeat:Dummy}
      - {id: second, agent: ocf:heartbeat:Dummy}
"""
        async with scripted_controller(config, settle=False) as cluster:
            cluster.executor.script("first", "start", duration_s=5)
            await cluster.until("first starting", lambda: cluster.ran("first", "start"))
            cluster.controller.poke("a command")
            await cluster.advance(5)
            await cluster.settle()
            first, later = cluster.controller.transitions[0], cluster.controller.transitions[-1]
            assert first.outcome == "aborted: a change arrived while it ran"
            # What ran finished, nothing new started in that transition; the next plan did the rest.
            assert [r for r, _, _ in cluster.ran(action="start")] == ["first", "second"]
            assert "a command" in [t.trigger for t in list(cluster.controller.transitions)[1:]]
            assert later.outcome == "complete"
            assert cluster.controller.stats.aborted_transitions == 1

    asyncio.run(scenario())


def test_a_removed_monitor_is_cancelled_and_its_record_dropped() -> None:
    async def scenario() -> None:
        async with scripted_controller(one_resource()) as cluster:
            assert cluster.controller.active_monitors() == [MonitorKey("web", NODE, 10_000)]
            config, revision = await cluster.store.get_config()
            web = config.resources[0]
            await cluster.store.put_config(
                config.__class__(**{**config.__dict__, "resources": (web.__class__(
                    **{**web.__dict__, "ops": ()}),)}), revision)
            cluster.controller.poke("configuration changed")
            await cluster.until("the monitor cancelled", lambda: not cluster.controller.active_monitors())
            await cluster.settle()
            state = await cluster.node()
            history = next(h for h in state.resources if h.id == "web")
            assert "web_monitor_10000" not in {op.id for op in history.ops}
            ran = len(cluster.ran("web", "monitor", 10_000))
            await cluster.advance(60)
            assert len(cluster.ran("web", "monitor", 10_000)) == ran

    asyncio.run(scenario())


def test_a_stop_cancels_the_monitors_first() -> None:
    async def scenario() -> None:
        async with scripted_controller(one_resource(threshold=3)) as cluster:
            cluster.executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
            await cluster.advance(10)
            await cluster.until("web stopped", lambda: cluster.ran("web", "stop"))
            actions = [(r.action, r.interval_ms) for r in cluster.executor.requests]
            stop_at = actions.index(("stop", 0))
            # No monitor of the old run after the stop; the next one belongs to the new start.
            assert ("start", 0) in actions[stop_at:]
            after_stop = actions[stop_at + 1:]
            assert after_stop.index(("start", 0)) < after_stop.index(("monitor", 10_000))
            await cluster.settle()

    asyncio.run(scenario())


def test_shutdown_stops_a_group_in_reverse_order_telling_each_stop_why() -> None:
    async def scenario() -> None:
        config = """
options:
  stonith-enabled: false
resources:
  - group: stack
    members:
      - {id: first, agent: ocf:heartbeat:Dummy}
      - {id: second, agent: ocf:heartbeat:Dummy}
      - {id: third, agent: ocf:heartbeat:Dummy}
"""
        async with scripted_controller(config) as cluster:
            assert [r for r, _, _ in cluster.ran(action="start")] == ["first", "second", "third"]
            await cluster.controller.stop()
            await cluster.until("every stop", lambda: len(cluster.ran(action="stop")) == 3)
            stops = cluster.ran(action="stop")
            assert [r for r, _, _ in stops] == ["third", "second", "first"]
            assert {(m["stop_reason"], m["stop_final"]) for _, _, m in stops} == {("shutdown", "true")}
        state = (await cluster.store.snapshot()).cluster.status.node(NODE)
        assert state is not None and state.crmd == "offline"

    asyncio.run(scenario())


def test_exhausted_recovery_is_reported_once_and_its_policy_applied() -> None:
    async def scenario() -> None:
        config = one_resource(threshold=1, meta="on-recovery-exhausted: standby")
        async with scripted_controller(config) as cluster:
            cluster.executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
            await cluster.advance(10)
            await cluster.until("web given up", lambda: cluster.ran("web", "stop"))
            await cluster.settle()
            exhausted = cluster.events.of(RecoveryExhausted)
            assert len(exhausted) == 1
            event = exhausted[0]
            assert (event.resource, event.node, event.policy) == ("web", NODE, "standby")
            assert event.next_node is None
            assert await cluster.attribute("standby") == "on"
            await cluster.advance(3600)
            assert len(cluster.events.of(RecoveryExhausted)) == 1

    asyncio.run(scenario())
