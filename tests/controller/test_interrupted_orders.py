"""Work orders a node abandons, and store calls a caller abandons, never leave anyone waiting.

Found by the fault lab (docs/reliability.md):

- F3: a node self-fenced during an etcd leader election while it ran a work
  order; stopping everything cancelled the order's task, the lease was then
  renewed and the node joined again under the same incarnation, and the
  controller waited for that order forever (the node was still a member).
  Now the node completes what it abandoned as not done when it is back, and a
  controller also stops waiting for an order claimed by an incarnation that
  is no longer the node's.
- F2: a call on the etcd store's private loop went on after its caller gave
  up (a campaign's 1 s timeout): one leaked campaign per second per node, and
  "Future exception was never retrieved" once it failed unheard.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.controller.test_self_fencing import CONFIG, wait_for
from vigil.admin.intake import install, parse_config
from vigil.controller.node_agent import NodeAgent
from vigil.controller.remote import decode_result, encode_action
from vigil.model.transition import Action
from vigil.store import StoreError, WorkOrder
from vigil.store.etcd.loop_thread import LoopThread
from vigil.store.memory import MemoryStore
from vigil.testing import FakeClock, ScriptedExecutor


def test_an_order_abandoned_by_a_self_fencing_is_completed_as_not_done_when_the_node_is_back() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        config, _ = parse_config(CONFIG.encode(), "test.yaml")
        await install(store, config)
        clock = FakeClock()
        term = await store.campaign("node1", await store.grant_lease(30), timeout=5)
        assert term is not None
        incarnation = await store.join("node2", await store.grant_lease(30))
        executor = ScriptedExecutor(clock)
        executor.script("web", "start", duration_s=600)  # still starting when the node self-fences
        agent = NodeAgent(store, executor, "node2", incarnation, clock=clock)
        task = asyncio.create_task(agent.run())
        try:
            await wait_for(agent.ready.is_set, timeout=3)
            action = Action(index=1, task="start", resource="web", node="node2")
            await store.put_work_order(WorkOrder("node2", "o1", term.revision, encode_action(1, action)),
                                       guard=term)
            await wait_for(lambda: executor.ran("web", "start") != [], timeout=3)
            [claimed] = await store.work_orders("node2")
            assert claimed.state == "claimed"

            await agent.stop_everything_here()  # self-fencing: the start is abandoned
            [abandoned] = await store.work_orders("node2")
            assert abandoned.state == "claimed"  # the store could not be told (it was unreachable)

            await agent.rejoin()  # the lease held: back under the same incarnation
            [done] = await store.work_orders("node2")
            assert done.state == "done" and decode_result(done.result) is False
        finally:
            agent.stop()
            await asyncio.wait_for(task, timeout=5)
            await store.close()

    asyncio.run(scenario())


def test_a_call_abandoned_by_its_caller_is_cancelled_on_the_private_loop() -> None:
    async def scenario() -> None:
        thread = LoopThread("test-loop")
        started, ended = asyncio.Event(), []
        caller_loop = asyncio.get_running_loop()

        async def slow() -> None:
            caller_loop.call_soon_threadsafe(started.set)
            try:
                await asyncio.sleep(30)
                ended.append("finished")
            except asyncio.CancelledError:
                ended.append("cancelled")
                raise

        try:
            call = asyncio.create_task(thread.call(slow()))
            await started.wait()
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await call
            for _ in range(100):
                if ended:
                    break
                await asyncio.sleep(0.01)
            assert ended == ["cancelled"]
        finally:
            thread.stop()

    asyncio.run(scenario())


class FailingForAWhile(MemoryStore):
    """A memory store whose reads of work orders fail a few times (an etcd election, a frozen
    member): a test double for a store that is briefly unreachable."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def work_orders(self, node: str) -> list[WorkOrder]:
        if self.failures > 0:
            self.failures -= 1
            raise StoreError("etcd is unreachable (test double)")
        return await super().work_orders(node)


def test_a_store_that_fails_for_a_while_does_not_end_the_node_agent() -> None:
    """F7: a transient store error ended the node agent; the node left with its resources running."""
    async def scenario() -> None:
        store = FailingForAWhile(failures=3)
        config, _ = parse_config(CONFIG.encode(), "test.yaml")
        await install(store, config)
        clock = FakeClock()
        term = await store.campaign("node1", await store.grant_lease(30), timeout=5)
        assert term is not None
        incarnation = await store.join("node2", await store.grant_lease(30))
        agent = NodeAgent(store, ScriptedExecutor(clock), "node2", incarnation, clock=clock)
        task = asyncio.create_task(agent.run())
        try:
            await wait_for(lambda: store.failures == 0, timeout=10)
            assert not task.done() and not agent.lost.is_set()
            action = Action(index=1, task="start", resource="web", node="node2")
            await store.put_work_order(WorkOrder("node2", "o1", term.revision, encode_action(1, action)),
                                       guard=term)
            await wait_for(lambda: "o1" in agent.completed, timeout=10)
        finally:
            agent.stop()
            await asyncio.wait_for(task, timeout=5)
            await store.close()

    asyncio.run(scenario())
