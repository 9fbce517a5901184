"""The store contract's work orders: how a controller hands an action to another node.

Part of the contract suite: every test runs over memory, SQLite and a real
etcd server (the ``backend`` fixture).  A "second process" is a second store
object on the same URL where the backend is shared (SQLite, etcd), and the
same object for the memory store.  Leases are ended by revoking them, so no
test waits for one to expire.
"""

from __future__ import annotations

import pytest

from tests.store.conftest import Backend, run
from tests.store.test_cluster_contract import second
from vigil.store import Guard, GuardLost, Store, WorkOrder, WorkOrderConflict
from vigil.store.base import ORDER_CLAIMED, ORDER_DONE, ORDER_PENDING


async def leader_and_member(store: Store, other: Store) -> tuple[Guard, Guard]:
    """A controller's term (node1, on ``store``) and node2's incarnation (on ``other``)."""
    term = await store.campaign("node1", await store.grant_lease(10), timeout=5)
    assert term is not None
    incarnation = await other.join("node2", await other.grant_lease(10))
    return term, incarnation


def order(term: Guard, order_id: str = "t1-1", action: str = '{"task": "start"}') -> WorkOrder:
    return WorkOrder(node="node2", id=order_id, term=term.revision, action=action)


def test_an_order_goes_from_the_controller_to_its_node_and_back_with_its_result(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            other = second(backend, store)
            term, incarnation = await leader_and_member(store, other)
            before = await store.revision()
            put = await store.put_work_order(order(term), guard=term)
            assert put > before
            # Another process sees it, and is woken by it.
            assert await other.wait_for_change(before, timeout=5) is not None
            [seen] = await other.work_orders("node2")
            assert (seen.id, seen.term, seen.action, seen.state, seen.revision) == \
                ("t1-1", term.revision, '{"task": "start"}', ORDER_PENDING, put)
            assert await other.work_orders("node1") == []
            # The node claims it: the durable mark that the action may be running there.
            claimed = await other.claim_work_order("node2", "t1-1", incarnation=incarnation)
            assert (claimed.state, claimed.incarnation) == (ORDER_CLAIMED, incarnation.revision)
            assert claimed.revision > put
            with pytest.raises(WorkOrderConflict, match="claimed once"):
                await other.claim_work_order("node2", "t1-1", incarnation=incarnation)
            done = await other.complete_work_order("node2", "t1-1", '{"rc": 0}', guard=incarnation)
            # A retry after an unclear commit changes nothing.
            assert await other.complete_work_order("node2", "t1-1", '{"rc": 0}', guard=incarnation) == done
            [finished] = await store.work_orders("node2")
            assert (finished.state, finished.result, finished.revision) == (ORDER_DONE, '{"rc": 0}', done)
            # The controller takes the result in and removes the order; removing it again is nothing.
            removed = await store.remove_work_order("node2", "t1-1", guard=term)
            assert removed > done and await store.work_orders("node2") == []
            assert await store.remove_work_order("node2", "t1-1", guard=term) == await store.revision()
            if other is not store:
                await other.close()

    run(main())


def test_an_order_is_written_once_and_names_its_term(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            term, _ = await leader_and_member(store, second(backend, store))
            await store.put_work_order(order(term), guard=term)
            revision = await store.revision()
            with pytest.raises(WorkOrderConflict, match="written once"):
                await store.put_work_order(order(term, action="{}"), guard=term)
            with pytest.raises(Exception, match="names term"):
                await store.put_work_order(WorkOrder("node2", "t1-2", term.revision + 1, "{}"), guard=term)
            assert await store.revision() == revision
            [kept] = await store.work_orders("node2")
            assert kept.action == '{"task": "start"}'

    run(main())


def test_a_deposed_controller_can_neither_write_nor_remove_an_order_and_its_orders_never_run(
        backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            other = second(backend, store)
            old_lease = await store.grant_lease(10)
            old = await store.campaign("node1", old_lease, timeout=5)
            assert old is not None
            incarnation = await other.join("node2", await other.grant_lease(10))
            await store.put_work_order(order(old, "t1-1"), guard=old)
            await old_lease.revoke()
            new = await other.campaign("node3", await other.grant_lease(10), timeout=5)
            assert new is not None and new.revision > old.revision
            revision = await store.revision()
            with pytest.raises(GuardLost):
                await store.put_work_order(order(old, "t1-2"), guard=old)
            with pytest.raises(GuardLost):
                await store.remove_work_order("node2", "t1-1", guard=old)
            # The order of the old term is left, but no node may claim it any more.
            with pytest.raises(GuardLost, match="leader"):
                await other.claim_work_order("node2", "t1-1", incarnation=incarnation)
            assert await store.revision() == revision
            [left] = await other.work_orders("node2")
            assert left.state == ORDER_PENDING
            # The new term removes it.
            await other.remove_work_order("node2", "t1-1", guard=new)
            assert await other.work_orders("node2") == []
            if other is not store:
                await other.close()

    run(main())


def test_only_the_incarnation_that_claimed_an_order_completes_it(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            other = second(backend, store)
            term = await store.campaign("node1", await store.grant_lease(10), timeout=5)
            assert term is not None
            first_lease = await other.grant_lease(10)
            first = await other.join("node2", first_lease)
            await store.put_work_order(order(term, "t1-1"), guard=term)
            await store.put_work_order(order(term, "t1-2"), guard=term)
            await other.claim_work_order("node2", "t1-1", incarnation=first)
            # node2 restarts: its old incarnation can claim and complete nothing.
            await first_lease.revoke()
            again = await other.join("node2", await other.grant_lease(10))
            assert again.revision > first.revision
            with pytest.raises(GuardLost):
                await other.claim_work_order("node2", "t1-2", incarnation=first)
            with pytest.raises(GuardLost):
                await other.complete_work_order("node2", "t1-1", "{}", guard=first)
            # Nor does the new one finish what the old one began.
            with pytest.raises(WorkOrderConflict, match="only the incarnation"):
                await other.complete_work_order("node2", "t1-1", "{}", guard=again)
            with pytest.raises(WorkOrderConflict, match="does not exist"):
                await other.claim_work_order("node2", "t9-9", incarnation=again)
            states = {o.id: o.state for o in await store.work_orders("node2")}
            assert states == {"t1-1": ORDER_CLAIMED, "t1-2": ORDER_PENDING}
            if other is not store:
                await other.close()

    run(main())
