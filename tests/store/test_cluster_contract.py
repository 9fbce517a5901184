"""The store contract's cluster primitives: guarded writes, leases, membership, election.

Part of the contract suite: every test runs over memory, SQLite and a real
etcd server (the ``backend`` fixture).  A "second process" is a second store
object on the same URL where the backend is shared (SQLite, etcd), and the
same object for the memory store, which no other object can see.
Only the two tests that need a lease to expire wait for it (TTL 2 s, the
shortest etcd grants); the others end leases by revoking them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from tests.store.conftest import Backend, run
from vigil.model.config import Config, Node
from vigil.model.status import NodeState, OpRecord, Ticket
from vigil.store import Guard, GuardLost, NodeNameTaken, ResourceRef, RevisionConflict, Store

RSC = ResourceRef(id="rsc1", cls="ocf", provider="pacemaker", type="Dummy")
RECORD = OpRecord(id="rsc1_last_0", operation="start", interval_ms=0, rc=0, op_status=0, call_id=1)
CONFIG = Config(nodes=(Node(id="1", uname="node1"),))


def second(backend: Backend, store: Store) -> Store:
    """Another process's view of the same store (the same object for memory://)."""
    return backend.open() if backend.persistent else store


def writes(guard: Guard, config_revision: int) -> list[tuple[str, Callable[[Store], Awaitable[int]]]]:
    """Every write method, guarded by ``guard``; each would change the store."""
    return [
        ("put_config", lambda s: s.put_config(Config(), config_revision, guard=guard)),
        ("set_node_state", lambda s: s.set_node_state(NodeState(id="9", uname="node1"), guard=guard)),
        ("set_node_attribute", lambda s: s.set_node_attribute("node1", "standby", "on", guard=guard)),
        ("record_operation",
         lambda s: s.record_operation("node1", RSC, RECORD, failcount_delta=1, guard=guard)),
        ("clear_failcount", lambda s: s.clear_failcount("node1", "rsc1", guard=guard)),
        ("forget_operations", lambda s: s.forget_operations("node1", "rsc1", ["rsc1_last_0"], guard=guard)),
        ("forget_resource", lambda s: s.forget_resource("node1", "rsc1", guard=guard)),
        ("remove_node", lambda s: s.remove_node("node1", guard=guard)),
        ("set_ticket", lambda s: s.set_ticket(Ticket("ticketA", granted=True), guard=guard)),
        ("remove_ticket", lambda s: s.remove_ticket("ticketA", guard=guard)),
    ]


def test_a_ticket_granted_through_one_store_object_reaches_another(backend: Backend) -> None:
    """Another process (a node's daemon) sees a grant and a revoke in its next snapshot, and its
    change feed wakes for them (etcd: through its data watch)."""

    async def main() -> None:
        async with backend.open() as store:
            other = second(backend, store)
            seen = (await other.snapshot()).revision
            granted = await store.set_ticket(Ticket("ticketA", granted=True, last_granted=1_700_000_000))
            change = await other.wait_for_change(seen, timeout=5)
            assert change is not None and change.revision >= granted
            snapshot = await other.snapshot()
            assert snapshot.cluster.status.tickets == (Ticket("ticketA", True, last_granted=1_700_000_000),)
            await store.remove_ticket("ticketA")
            await other.wait_for_change(snapshot.revision, timeout=5)
            assert (await other.snapshot()).cluster.status.tickets == ()
            if other is not store:
                await other.close()

    run(main())


def test_a_deposed_writer_changes_nothing_and_learns_it_lost_its_guard(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            other = second(backend, store)
            old_lease = await store.grant_lease(10)
            old = await store.campaign("node1", old_lease, timeout=5)
            assert old is not None and old.holder == "node1"
            # While it holds, the guard lets every write through.
            config_revision = await store.put_config(CONFIG, 0, guard=old)
            await store.record_operation("node1", RSC, RECORD, failcount_delta=1, guard=old)
            assert await store.guard_holds(old)
            # It loses the lease (revoked here; expiry is tested below); another node takes over.
            await old_lease.revoke()
            new_lease = await other.grant_lease(10)
            new = await other.campaign("node2", new_lease, timeout=5)
            assert new is not None and new.revision > old.revision  # a new, greater term
            assert await store.leader() == new and not await store.guard_holds(old)
            before = await store.snapshot()
            for name, write in writes(old, config_revision):
                with pytest.raises(GuardLost, match="no longer holds") as lost:
                    await write(store)
                assert not isinstance(lost.value, RevisionConflict), name
            after = await store.snapshot()
            assert (after.revision, after.cluster) == (before.revision, before.cluster)
            # A write that would change nothing still tells the deposed writer.
            with pytest.raises(GuardLost):
                await store.set_node_attribute("node1", "absent", None, guard=old)
            # The new term writes; a stale expected revision is a conflict, not a lost guard.
            await other.set_node_attribute("node1", "standby", "on", guard=new)
            with pytest.raises(RevisionConflict):
                await other.put_config(Config(), 0, guard=new)
            assert await other.put_config(Config(), config_revision, guard=new) > config_revision
            await other.resign(new)
            assert await other.leader() is None
            if other is not store:
                await other.close()

    run(main())


def test_a_second_process_with_the_same_node_name_is_refused(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            other = second(backend, store)
            lease = await store.grant_lease(10)
            first = await store.join("node1", lease)
            assert first.key == "members/node1" and first.holder == "node1"
            intruder_lease = await other.grant_lease(10)
            with pytest.raises(NodeNameTaken, match=r"'node1' is already in use .*pid \d+"):
                await other.join("node1", intruder_lease)
            joined = await other.join("node2", intruder_lease)
            assert await store.members() == {"node1": first.revision, "node2": joined.revision}
            # The first holder leaves cleanly: its key goes with its lease, and the name is free.
            await lease.revoke()
            assert await other.members() == {"node2": joined.revision}
            again = await other.join("node1", intruder_lease)
            assert again.revision > first.revision  # a new incarnation
            with pytest.raises(GuardLost):
                await store.set_node_attribute("node1", "a", "b", guard=first)
            await store.set_node_attribute("node1", "a", "b", guard=again)
            if other is not store:
                await other.close()  # revokes its lease: both members leave
                assert await store.members() == {}

    run(main())


def test_a_lease_outlives_a_blocked_event_loop(backend: Backend) -> None:
    """The keepalive runs on its own thread: a loop blocked longer than the TTL keeps the lease."""
    if backend.name == "sqlite":
        pytest.skip("the same single-host lease as memory://, already shown there (saves 3 s)")

    async def main() -> None:
        async with backend.open() as store:
            lease = await store.grant_lease(2)
            guard = await store.join("node1", lease)
            now = time.monotonic()
            assert now < lease.valid_until <= now + 2
            time.sleep(3)  # blocks this event loop; the lease is 2 s
            assert lease.alive and await store.guard_holds(guard)
            assert await store.members() == {"node1": guard.revision}

    run(main())


def test_lease_expiry_removes_the_member_and_hands_the_election_over(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            other = second(backend, store)
            frozen = await store.grant_lease(2)
            member = await store.join("node1", frozen)
            old = await store.campaign("node1", frozen, timeout=5)
            assert old is not None
            lost = asyncio.create_task(store.wait_guard_lost(old, timeout=10))
            live = await other.grant_lease(10)
            assert await other.campaign("node2", live, timeout=0.2) is None  # node1 leads
            frozen.suspend_keepalive()  # as if node1 froze
            started = time.monotonic()
            new = await other.campaign("node2", live, timeout=10)
            took = time.monotonic() - started
            assert new is not None and new.revision > old.revision and new.holder == "node2"
            assert took < 6, f"the handover took {took:.1f} s with a 2 s lease"
            assert await lost is True  # the old leader learns it was deposed
            assert not frozen.alive
            assert "node1" not in await other.members()
            assert not await store.guard_holds(member)
            assert await store.leader() == new
            if other is not store:
                await other.close()

    run(main())


def test_closing_the_store_revokes_its_leases(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip("a memory store is gone with its object")

    async def main() -> None:
        store = backend.open()
        observer = backend.open()
        lease = await store.grant_lease(30)
        await store.join("node1", lease)
        assert list(await observer.members()) == ["node1"]
        await store.close()
        assert not lease.alive
        assert await observer.members() == {}  # at once, not after 30 s
        await observer.close()

    run(main())
