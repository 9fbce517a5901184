"""Two nodes in one process: a controller hands node2's actions to node2's agent through work orders.

One memory store stands for the cluster's etcd (the contract is the same on
every backend: tests/store/test_work_orders.py); node1 runs the real
:class:`~vigil.controller.loop.Controller` holding the leader's term, node2 a
:class:`~vigil.controller.node_agent.NodeAgent` holding its membership, each
with its own scripted executor, both on one fake clock.  See docs/cluster.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from vigil.admin.intake import install, parse_config
from vigil.controller.loop import Controller
from vigil.controller.node_agent import NodeAgent
from vigil.controller.remote import encode_action
from vigil.executor.process import Spawner
from vigil.fencing.agent import FenceAgents
from vigil.fencing.fencer import Fencer
from vigil.model.activity import MonitorKey
from vigil.model.transition import Action
from vigil.store import Guard, GuardLost, WorkOrder
from vigil.store.memory import MemoryStore
from vigil.testing import FakeClock, ScriptedExecutor

CONFIG = """
options:
  stonith-enabled: false
nodes:
  - name: node1
  - name: node2
resources:
  - id: web
    agent: ocf:heartbeat:Dummy
    ops:
      - {name: monitor, interval: 10s, timeout: 20s}
constraints:
  - location: web-on-node2
    resource: web
    node: node2
    score: INFINITY
"""


async def until(what: str, condition: Callable[[], object]) -> None:
    """Let the loop run until ``condition`` holds (a coroutine function too); no fake time passes."""
    for _ in range(20_000):
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{what}: never happened without time passing")


@dataclass
class TwoNodes:
    store: MemoryStore
    clock: FakeClock
    node1: ScriptedExecutor
    node2: ScriptedExecutor
    term: Guard
    incarnation: Guard
    agent: NodeAgent

    def ran(self, executor: ScriptedExecutor) -> list[tuple[str, str, int]]:
        return [(r.resource_id, r.action, r.interval_ms) for r in executor.requests]

    def controller(self, term: Guard | None = None) -> Controller:
        return Controller(self.store, self.node1, "node1", fencer=Fencer(FenceAgents(Spawner())),
                          clock=self.clock, term=term or self.term)


@contextlib.asynccontextmanager
async def two_nodes() -> AsyncIterator[TwoNodes]:
    """node1 leading (term), node2 a member (incarnation) whose agent runs; the agent ended on exit."""
    store = MemoryStore()
    config, _ = parse_config(CONFIG.encode(), "test.yaml")
    await install(store, config)
    clock = FakeClock()
    term = await store.campaign("node1", await store.grant_lease(30), timeout=5)
    assert term is not None
    incarnation = await store.join("node2", await store.grant_lease(30))
    node2 = ScriptedExecutor(clock)
    agent = NodeAgent(store, node2, "node2", incarnation, clock=clock)
    task = asyncio.create_task(agent.run())
    try:
        await until("node2's agent to join", agent.ready.is_set)
        yield TwoNodes(store, clock, ScriptedExecutor(clock), node2, term, incarnation, agent)
    finally:
        agent.stop()
        await asyncio.wait_for(task, timeout=5)
        await store.close()


async def stop(controller: Controller, task: asyncio.Task[None], clock: FakeClock) -> None:
    await controller.stop()
    for _ in range(100):
        if task.done():
            break
        await clock.advance(60)
    await asyncio.wait_for(task, timeout=5)


def test_an_action_planned_on_node2_is_run_by_node2s_agent_and_recorded() -> None:
    async def scenario() -> None:
        async with two_nodes() as cluster:
            controller = cluster.controller()
            task = asyncio.create_task(controller.run())
            await until("the cluster to settle", controller.settled.is_set)
            # node1 probed web itself; node2's agent probed, started and monitored it there.
            assert cluster.ran(cluster.node1) == [("web", "monitor", 0)]
            assert cluster.ran(cluster.node2) == [("web", "monitor", 0), ("web", "start", 0),
                                                  ("web", "monitor", 10_000)]
            # Each result was recorded (by node2, guarded by its membership) before its order was done.
            log = await cluster.store.operation_log("web", "node2")
            assert [(e.record.operation, e.record.interval_ms, e.record.rc) for e in log] == \
                [("monitor", 0, 7), ("start", 0, 0), ("monitor", 10_000, 0)]
            state = (await cluster.store.snapshot()).cluster.status.node("node2")
            assert state is not None and state.in_ccm == "true"
            [history] = state.resources
            assert {op.id: op.operation for op in history.ops} == \
                {"web_last_0": "start", "web_monitor_10000": "monitor"}
            # The controller took every result in and removed the orders; its transition completed.
            assert await cluster.store.work_orders("node2") == []
            assert len(cluster.agent.completed) == 3
            assert controller.last_transition is not None and controller.last_transition.outcome == "complete"
            # node2 keeps its recurring monitor: it fires on node2's executor as the clock passes.
            assert cluster.agent.actions.monitors.active() == [MonitorKey("web", "node2", 10_000)]
            assert controller.active_monitors() == []
            await cluster.clock.advance(10)
            assert cluster.ran(cluster.node2)[-1] == ("web", "monitor", 10_000)
            assert cluster.ran(cluster.node1) == [("web", "monitor", 0)]
            await stop(controller, task, cluster.clock)

    asyncio.run(scenario())


def test_a_resource_moves_from_node2_to_the_controllers_node_with_its_stop_context() -> None:
    async def scenario() -> None:
        async with two_nodes() as cluster:
            controller = cluster.controller()
            task = asyncio.create_task(controller.run())
            await until("the cluster to settle", controller.settled.is_set)
            controller.settled.clear()
            await cluster.store.set_node_attribute("node2", "standby", "on")
            await until("web to start on node1", lambda: cluster.node1.ran("web", "start"))
            await until("the cluster to settle again", controller.settled.is_set)
            # node2's agent stopped web, told why and where it goes next, and ended its monitor there.
            stop_request = cluster.node2.requests[-1]
            assert (stop_request.action, dict(stop_request.meta)["stop_reason"],
                    dict(stop_request.meta)["stop_next_node"]) == ("stop", "standby", "node1")
            assert cluster.agent.actions.monitors.active() == []
            # The controller started it on its own node, as on one node.
            assert cluster.ran(cluster.node1) == [("web", "monitor", 0), ("web", "start", 0),
                                                  ("web", "monitor", 10_000)]
            assert controller.active_monitors() == [MonitorKey("web", "node1", 10_000)]
            assert [t.summary for t in controller.transitions] == [("Start web ( node2 )",),
                                                                   ("Move web ( node2 -> node1 )",)]
            assert [t.outcome for t in controller.transitions] == ["complete", "complete"]
            assert await cluster.store.work_orders("node2") == []
            await stop(controller, task, cluster.clock)

    asyncio.run(scenario())


def test_a_deposed_controller_writes_no_order_and_stops_acting_as_controller() -> None:
    async def scenario() -> None:
        async with two_nodes() as cluster:
            # node1's term ends (its lease lost) and node3 leads before node1 plans.
            await cluster.store.resign(cluster.term)
            new = await cluster.store.campaign("node3", await cluster.store.grant_lease(30), timeout=5)
            assert new is not None and new.revision > cluster.term.revision
            controller = cluster.controller(cluster.term)
            task = asyncio.create_task(controller.run())
            await until("the controller to learn it was deposed", controller.deposed.is_set)
            await asyncio.wait_for(task, timeout=5)  # it ends by itself, stopping nothing
            assert await cluster.store.work_orders("node2") == []
            assert cluster.ran(cluster.node2) == []
            assert len(controller.transitions) == 1
            # It did not even record its own node as gone: that is the new controller's business.
            state = (await cluster.store.snapshot()).cluster.status.node("node1")
            assert state is not None and state.in_ccm == "true"

    asyncio.run(scenario())


def test_a_controller_deposed_while_waiting_for_an_order_stops_and_the_order_still_completes() -> None:
    async def scenario() -> None:
        async with two_nodes() as cluster:
            cluster.node2.script("web", "start", duration_s=30)
            controller = cluster.controller()
            task = asyncio.create_task(controller.run())
            await until("node2 to start web", lambda: cluster.node2.ran("web", "start"))
            await cluster.store.resign(cluster.term)
            # Nothing in the store changed: the controller finds out by checking its term.
            await asyncio.wait_for(controller.deposed.wait(), timeout=5)
            await asyncio.wait_for(task, timeout=5)
            assert controller.last_transition is not None
            assert controller.last_transition.outcome.startswith("aborted")
            # What node2 began, it finishes and records: the next controller needs to know it.
            await cluster.clock.advance(30)
            async def start_recorded() -> bool:
                return [e.record.operation for e in await cluster.store.operation_log("web", "node2")] == \
                    ["monitor", "start"]

            await until("the start to be recorded", start_recorded)
            await until("the order to be done", lambda: len(cluster.agent.completed) == 2)
            [left] = await cluster.store.work_orders("node2")
            assert left.state == "done" and '"expected": true' in left.result

    asyncio.run(scenario())


def test_an_agent_never_runs_an_order_of_a_deposed_controller() -> None:
    async def scenario() -> None:
        async with two_nodes() as cluster:
            # Written while node1 led, and left behind when it was deposed.
            action = Action(index=3, task="start", resource="web", node="node2")
            stale = WorkOrder("node2", "stale", cluster.term.revision, encode_action(1, action))
            await cluster.store.put_work_order(stale, guard=cluster.term)
            await cluster.store.resign(cluster.term)
            with contextlib.suppress(GuardLost):
                await cluster.store.put_work_order(
                    WorkOrder("node2", "late", cluster.term.revision, encode_action(1, action)),
                    guard=cluster.term)
            # The new controller's order is run; the stale one never is.
            new = await cluster.store.campaign("node3", await cluster.store.grant_lease(30), timeout=5)
            assert new is not None
            probe = Action(index=1, task="monitor", resource="web", node="node2")
            fresh = WorkOrder("node2", "fresh", new.revision, encode_action(1, probe))
            await cluster.store.put_work_order(fresh, guard=new)
            await until("the fresh order to be done", lambda: "fresh" in cluster.agent.completed)
            assert cluster.ran(cluster.node2) == [("web", "monitor", 0)]
            states = {o.id: o.state for o in await cluster.store.work_orders("node2")}
            assert states == {"stale": "pending", "fresh": "done"}
            assert not cluster.agent.lost.is_set()

    asyncio.run(scenario())
