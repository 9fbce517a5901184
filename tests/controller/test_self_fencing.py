"""Self-fencing (vigil.controller.self_fencing): what a node at risk stops, in which order, and
that it starts nothing.

The cluster views are CIBs written with tests/stop_context/cibs.py (real
digests: no spurious restarts); the stops run through a
:class:`~vigil.testing.ScriptedExecutor`, which remembers every request in
order.  The node agent's start gate runs a real
:class:`~vigil.controller.node_agent.NodeAgent` over a memory store.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest

from tests.stop_context.cibs import NOW, History, NodeStatus, cib, group, primitive
from vigil.admin.intake import install, parse_config
from vigil.controller.actions import AgentActions
from vigil.controller.node_agent import NodeAgent
from vigil.controller.remote import decode_result, encode_action
from vigil.controller.self_fencing import (
    AT_RISK_MIN_S,
    AT_RISK_SHARE,
    LeaseWatch,
    stop_everything_here,
    stop_plan,
    with_shutdown,
)
from vigil.formats.cib.load import load_cib
from vigil.model.cluster import Cluster
from vigil.model.results import OcfRc
from vigil.model.transition import Action, Transition
from vigil.scheduler import IncrementalScheduler
from vigil.store import Guard, WorkOrder
from vigil.store.coord import Lease
from vigil.store.memory import MemoryStore
from vigil.testing import FakeClock, ScriptedExecutor


class SettableLease(Lease):
    """A fake lease whose validity the test sets (no refresher thread, no store): it lets a test put
    a lease at risk, or back to healthy, at once instead of waiting real seconds for it."""

    def __init__(self, ttl: int, remaining_s: float) -> None:
        self.id = 0
        self.ttl = ttl
        self._valid_until = 0.0
        self.set_remaining(remaining_s)

    def set_remaining(self, seconds: float) -> None:
        self._valid_until = time.monotonic() + seconds

    @property
    def valid_until(self) -> float:
        return self._valid_until

    async def revoke(self) -> None:
        self._valid_until = 0.0

    def suspend_keepalive(self) -> None:
        """Nothing refreshes this lease anyway."""


def group_on_node2() -> Cluster:
    """Group g (a, b, c) running on node2; x running on node1."""
    cluster, _warnings = load_cib(cib(group("g", "a", "b", "c") + primitive("x"),
                                      [NodeStatus("node1", [History("x")]),
                                       NodeStatus("node2", [History("a"), History("b"), History("c")])]))
    return cluster


def precedes(plan: Transition, first: int, then: int) -> bool:
    """Whether action ``first`` must end before ``then`` begins (through any chain of the graph's edges)."""
    after: dict[int, set[int]] = {}
    for before, later in plan.order:
        after.setdefault(before, set()).add(later)
    seen, todo = set(), [first]
    while todo:
        for nxt in after.get(todo.pop(), set()):
            if nxt == then:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


# -- with_shutdown, stop_plan ---------------------------------------------------------------------


def test_with_shutdown_asks_only_that_node_to_shut_down() -> None:
    cluster = group_on_node2()
    asked = with_shutdown(with_shutdown(cluster, "node2", NOW - 5), "node2", NOW)
    node2, node1 = asked.status.node("node2"), asked.status.node("node1")
    assert node2 is not None and node1 is not None
    assert [value for name, value in node2.attributes if name == "shutdown"] == [str(NOW)]  # once, latest
    assert node1.attribute("shutdown") is None
    assert node2.resources == group_on_node2().status.node("node2").resources  # type: ignore[union-attr]
    assert cluster.status.node("node2").attribute("shutdown") is None  # type: ignore[union-attr]


def test_the_stop_plan_stops_the_group_in_reverse_order_and_nothing_elsewhere() -> None:
    plan = stop_plan(group_on_node2(), "node2", NOW)
    stops = {action.resource: action for action in plan.actions
             if not action.pseudo and action.task in ("stop", "demote")}
    assert {(a.resource, a.node) for a in stops.values()} == {("a", "node2"), ("b", "node2"), ("c", "node2")}
    assert precedes(plan, stops["c"].index, stops["b"].index)
    assert precedes(plan, stops["b"].index, stops["a"].index)
    assert not precedes(plan, stops["a"].index, stops["c"].index)
    assert all(dict(a.meta).get("stop_reason") == "shutdown" for a in stops.values())


def test_without_the_shutdown_the_same_view_plans_no_stop() -> None:
    """What makes the plan stop node2's resources is the shutdown request, not the view itself."""
    plan = IncrementalScheduler().schedule(group_on_node2(), NOW)
    assert [a for a in plan.actions if a.task == "stop" and not a.pseudo] == []


# -- stop_everything_here -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def agent_actions(executor: ScriptedExecutor) -> AsyncIterator[AgentActions]:
    """node2's agent actions over a memory store (nothing of them is recorded by a self-fencing)."""
    store = MemoryStore()
    try:
        incarnation = await store.join("node2", await store.grant_lease(30))
        agent = NodeAgent(store, executor, "node2", incarnation, clock=executor.clock or FakeClock())
        yield agent.actions
    finally:
        await store.close()


def test_stop_everything_here_runs_the_stops_in_order_and_counts_them() -> None:
    async def scenario() -> None:
        executor = ScriptedExecutor(FakeClock())
        async with agent_actions(executor) as actions:
            count = await stop_everything_here(actions, group_on_node2(), "node2", NOW)
            assert count == 3
            # Only node2's stops: not the starts on node1 nor the probes the same plan has.
            assert [(r.resource_id, r.action) for r in executor.requests] == \
                [("c", "stop"), ("b", "stop"), ("a", "stop")]
            assert all(dict(r.meta).get("stop_reason") == "shutdown" for r in executor.requests)

    asyncio.run(scenario())


def test_a_failed_stop_does_not_keep_the_others_from_running() -> None:
    async def scenario() -> None:
        executor = ScriptedExecutor(FakeClock())
        executor.script("b", "stop", rc=OcfRc.ERR_GENERIC)
        async with agent_actions(executor) as actions:
            assert await stop_everything_here(actions, group_on_node2(), "node2", NOW) == 3
            assert [r.resource_id for r in executor.requests] == ["c", "b", "a"]

    asyncio.run(scenario())


def test_a_node_with_no_view_stops_nothing() -> None:
    async def scenario() -> None:
        executor = ScriptedExecutor(FakeClock())
        async with agent_actions(executor) as actions:
            assert await stop_everything_here(actions, None, "node2", NOW) == 0
            assert executor.requests == []
            # A node the view shows running nothing stops nothing (x on node1 is not node3's).
            assert await stop_everything_here(actions, group_on_node2(), "node3", NOW) == 0
            assert executor.requests == []

    asyncio.run(scenario())


# -- LeaseWatch -----------------------------------------------------------------------------------


def test_a_lease_is_at_risk_once_less_than_a_tenth_of_its_ttl_remains() -> None:
    lease = SettableLease(ttl=4, remaining_s=3.0)
    watch = LeaseWatch(lease)
    assert watch.threshold_s == pytest.approx(4 * AT_RISK_SHARE) == pytest.approx(0.4)
    assert 2.9 < watch.remaining_s() <= 3.0
    assert not watch.at_risk() and watch.may_start()
    lease.set_remaining(1.0)  # an etcd leader election: nothing acknowledged for 3 s, still a member
    assert not watch.at_risk() and watch.may_start()
    lease.set_remaining(0.3)  # the lease may expire within a tenth of its TTL
    assert watch.at_risk() and not watch.may_start()
    lease.set_remaining(3.0)  # refreshed again
    assert watch.may_start()


def test_a_short_lease_is_at_risk_with_at_least_the_minimum_left() -> None:
    lease = SettableLease(ttl=2, remaining_s=0.25)
    watch = LeaseWatch(lease)
    assert watch.threshold_s == pytest.approx(AT_RISK_MIN_S)
    assert watch.at_risk()


def test_a_revoked_lease_is_at_risk_with_negative_time_left() -> None:
    async def scenario() -> None:
        lease = SettableLease(ttl=4, remaining_s=3.0)
        await lease.revoke()
        watch = LeaseWatch(lease)
        assert watch.remaining_s() < 0 and watch.at_risk() and not watch.may_start()

    asyncio.run(scenario())


def test_a_local_lease_whose_keepalive_stopped_is_at_risk_before_it_expires() -> None:
    """A real lease (its refresher thread): healthy while refreshed; once the refreshes stop, the
    node stops starting while the lease still lives (~1.5 s of real time with a TTL of 2 s)."""

    async def scenario() -> None:
        store = MemoryStore()
        try:
            lease = await store.grant_lease(2)
            watch = LeaseWatch(lease)
            assert watch.remaining_s() > watch.threshold_s and watch.may_start()
            lease.suspend_keepalive()
            await wait_for(lambda: watch.at_risk(), timeout=3)
            assert not watch.may_start()
            assert lease.alive and watch.remaining_s() > 0, "at risk only once the lease had expired"
        finally:
            await store.close()

    asyncio.run(scenario())


async def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


# -- the node agent's start gate ------------------------------------------------------------------

CONFIG = """
options:
  stonith-enabled: false
nodes:
  - name: node1
  - name: node2
resources:
  - id: web
    agent: ocf:heartbeat:Dummy
"""


async def run_order(store: MemoryStore, agent: NodeAgent, term: Guard, order_id: str, task: str) -> bool:
    """Hand node2 one ``task`` of web; the result its agent completed the order with."""
    action = Action(index=1, task=task, resource="web", node="node2")
    await store.put_work_order(WorkOrder("node2", order_id, term.revision, encode_action(1, action)),
                               guard=term)
    await wait_for(lambda: order_id in agent.completed, timeout=3)
    [done] = [o for o in await store.work_orders("node2") if o.id == order_id]
    assert done.state == "done"
    return decode_result(done.result)


def test_a_node_agent_whose_lease_is_at_risk_refuses_a_start_but_runs_a_stop() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        config, _ = parse_config(CONFIG.encode(), "test.yaml")
        await install(store, config)
        clock = FakeClock()
        term = await store.campaign("node1", await store.grant_lease(30), timeout=5)
        assert term is not None
        incarnation = await store.join("node2", await store.grant_lease(30))
        lease = SettableLease(ttl=4, remaining_s=0.2)  # at risk
        executor = ScriptedExecutor(clock)
        agent = NodeAgent(store, executor, "node2", incarnation, clock=clock, lease_watch=LeaseWatch(lease))
        task = asyncio.create_task(agent.run())
        try:
            await wait_for(agent.ready.is_set, timeout=3)
            assert await run_order(store, agent, term, "o1-start", "start") is False
            assert executor.requests == []  # refused before the executor was asked
            assert await store.operation_log("web", "node2") == []
            assert await run_order(store, agent, term, "o2-stop", "stop") is True
            assert [(r.resource_id, r.action) for r in executor.requests] == [("web", "stop")]
            # The lease is refreshed again: the same start is run.
            lease.set_remaining(3.5)
            assert await run_order(store, agent, term, "o3-start", "start") is True
            assert [(r.resource_id, r.action) for r in executor.requests] == \
                [("web", "stop"), ("web", "start")]
            assert not agent.lost.is_set()
        finally:
            agent.stop()
            await asyncio.wait_for(task, timeout=5)
            await store.close()

    asyncio.run(scenario())
