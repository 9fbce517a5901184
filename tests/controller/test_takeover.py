"""A new controller and the work orders of earlier terms (vigil.controller.takeover).

One memory store stands for the cluster's etcd: node1 leads first and hands
orders to node2 and node3 (members, each with its incarnation); node1's term
ends and node4 leads.  What node4 finds of node1's orders is settled before it
plans: what is pending, done, or claimed by a node that is gone is removed;
what a live member is running is waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from vigil.controller.remote import encode_action
from vigil.controller.takeover import outstanding_orders, settle_earlier_orders
from vigil.model.transition import Action
from vigil.store import Guard, WorkOrder
from vigil.store.coord import Lease
from vigil.store.memory import MemoryStore

# Real seconds: the wait is on the store, not on a clock of the test's.
SHORT = 0.3


@dataclass
class Takeover:
    store: MemoryStore
    old: Guard
    new: Guard
    incarnations: dict[str, Guard]
    leases: dict[str, Lease]

    async def ids(self, node: str) -> dict[str, str]:
        """``node``'s orders: id -> state."""
        return {order.id: order.state for order in await self.store.work_orders(node)}


def order(node: str, order_id: str, term: Guard, task: str = "start") -> WorkOrder:
    action = Action(index=1, task=task, resource="web", node=node)
    return WorkOrder(node, order_id, term.revision, encode_action(1, action))


@contextlib.asynccontextmanager
async def taken_over() -> AsyncIterator[Takeover]:
    """node1's term left orders behind on node2 and node3; node4 leads now.

    node2: ``pending`` (never claimed), ``done`` (claimed and completed), ``running`` (claimed,
    running still); node3: ``orphan`` (claimed, then node3's lease ended).
    """
    store = MemoryStore()
    try:
        old = await store.campaign("node1", await store.grant_lease(30), timeout=5)
        assert old is not None
        leases = {node: await store.grant_lease(30) for node in ("node2", "node3")}
        incarnations = {node: await store.join(node, lease) for node, lease in leases.items()}
        for node, order_id in (("node2", "pending"), ("node2", "done"), ("node2", "running"),
                               ("node3", "orphan")):
            await store.put_work_order(order(node, order_id, old), guard=old)
        for node, order_id in (("node2", "done"), ("node2", "running"), ("node3", "orphan")):
            await store.claim_work_order(node, order_id, incarnation=incarnations[node])
        await store.complete_work_order("node2", "done", '{"expected": true}', guard=incarnations["node2"])
        await leases["node3"].revoke()
        await store.resign(old)
        new = await store.campaign("node4", await store.grant_lease(30), timeout=5)
        assert new is not None and new.revision > old.revision
        yield Takeover(store, old, new, incarnations, leases)
    finally:
        await store.close()


def test_outstanding_orders_removes_what_is_finished_or_dead_and_returns_what_runs() -> None:
    async def scenario() -> None:
        async with taken_over() as cluster:
            assert await cluster.store.members() == {"node2": cluster.incarnations["node2"].revision}
            running = await outstanding_orders(cluster.store, cluster.new, ["node2", "node3"])
            assert [(o.node, o.id, o.state) for o in running] == [("node2", "running", "claimed")]
            # pending and done removed; running kept (a start in progress there); node3's gone.
            assert await cluster.ids("node2") == {"running": "claimed"}
            assert await cluster.ids("node3") == {}

    asyncio.run(scenario())


def test_orders_of_the_current_term_and_of_nodes_not_named_are_left_alone() -> None:
    async def scenario() -> None:
        async with taken_over() as cluster:
            await cluster.store.put_work_order(order("node2", "mine", cluster.new), guard=cluster.new)
            assert await outstanding_orders(cluster.store, cluster.new, ["node3"]) == []
            # node2 was not asked about: all of its orders stay.
            assert await cluster.ids("node2") == {"pending": "pending", "done": "done", "running": "claimed",
                                                  "mine": "pending"}
            await outstanding_orders(cluster.store, cluster.new, ["node2"])
            assert await cluster.ids("node2") == {"running": "claimed", "mine": "pending"}

    asyncio.run(scenario())


def test_an_order_claimed_by_an_earlier_incarnation_of_a_member_is_removed() -> None:
    async def scenario() -> None:
        async with taken_over() as cluster:
            # node2 restarted: its old incarnation's claim can never be completed.
            await cluster.leases["node2"].revoke()
            again = await cluster.store.join("node2", await cluster.store.grant_lease(30))
            assert again.revision != cluster.incarnations["node2"].revision
            assert await outstanding_orders(cluster.store, cluster.new, ["node2", "node3"]) == []
            assert await cluster.ids("node2") == {}

    asyncio.run(scenario())


def test_settling_waits_until_the_running_order_is_completed() -> None:
    async def scenario() -> None:
        async with taken_over() as cluster:
            completed_at: list[float] = []

            async def complete_later() -> None:
                await asyncio.sleep(SHORT)
                completed_at.append(time.monotonic())
                await cluster.store.complete_work_order("node2", "running", '{"expected": true}',
                                                        guard=cluster.incarnations["node2"])

            began = time.monotonic()
            completer = asyncio.create_task(complete_later())
            await asyncio.wait_for(settle_earlier_orders(cluster.store, cluster.new, ["node2", "node3"]),
                                   timeout=10)
            ended = time.monotonic()
            await completer
            [done_at] = completed_at
            assert ended >= done_at, "the wait ended before the order was completed"
            assert ended - began < SHORT + 2  # woken by the completion (or the next poll), not the timeout
            assert await cluster.ids("node2") == {} and await cluster.ids("node3") == {}

    asyncio.run(scenario())


def test_settling_with_nothing_running_returns_at_once() -> None:
    async def scenario() -> None:
        async with taken_over() as cluster:
            await cluster.store.complete_work_order("node2", "running", '{"expected": true}',
                                                    guard=cluster.incarnations["node2"])
            began = time.monotonic()
            await settle_earlier_orders(cluster.store, cluster.new, ["node2", "node3"], timeout_s=30)
            assert time.monotonic() - began < 1
            assert await cluster.ids("node2") == {}

    asyncio.run(scenario())


def test_settling_gives_up_after_its_timeout_and_leaves_the_running_order() -> None:
    async def scenario() -> None:
        async with taken_over() as cluster:
            began = time.monotonic()
            await asyncio.wait_for(settle_earlier_orders(cluster.store, cluster.new, ["node2", "node3"],
                                                         timeout_s=SHORT), timeout=10)
            waited = time.monotonic() - began
            assert SHORT <= waited < SHORT + 1.5
            # Everything else was cleared; the order still running is not taken away from node2.
            assert await cluster.ids("node2") == {"running": "claimed"}
            assert await cluster.ids("node3") == {}

    asyncio.run(scenario())
