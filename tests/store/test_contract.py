"""The store contract (vigil.store.base), checked on every backend.

Each test runs once per backend of the ``backend`` fixture; what only one
backend can show (persistence, the file format, kill -9) is in test_sqlite.py.
Revisions are compared to the revision a test starts from (an etcd store
does not start at 0).  Nothing else writes to a test's store, so each
commit moves the revision by exactly one.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from tests.store.conftest import Backend, run
from vigil.formats.cib.load import load_cib
from vigil.model.config import Config, Node, Primitive
from vigil.model.failcounts import failcount_attribute, last_failure_attribute
from vigil.model.scores import INFINITY
from vigil.model.status import NodeState, OpRecord, ResourceHistory, Ticket
from vigil.store import (
    Change,
    FenceEntry,
    ResourceRef,
    RevisionConflict,
    Store,
    StoreError,
    require,
)

FULL = Path(__file__).resolve().parents[1] / "data" / "cib" / "full.xml"
DUMMY = ResourceRef(id="rsc1", cls="ocf", provider="pacemaker", type="Dummy")
CONFIG = Config(
    nodes=(Node(id="1", uname="node1"), Node(id="2", uname="node2")),
    resources=(Primitive(id="rsc1", cls="ocf", provider="pacemaker", type="Dummy"),),
)


def op(
    call_id: int, operation: str = "monitor", interval_ms: int = 10_000, rc: int = 7, **kw: object
) -> OpRecord:
    op_id = f"rsc1_last_failure_{interval_ms}" if rc else f"rsc1_{operation}_{interval_ms}"
    return OpRecord(
        id=str(kw.pop("id", op_id)),
        operation=operation,
        interval_ms=interval_ms,
        rc=rc,
        op_status=0,
        call_id=call_id,
        last_rc_change=1_700_000_000 + call_id,
        **kw,  # type: ignore[arg-type]
    )


def attributes(store_snapshot_node: NodeState | None) -> dict[str, str]:
    assert store_snapshot_node is not None
    return dict(store_snapshot_node.attributes)


async def node_attributes(store: Store, node: str) -> dict[str, str]:
    return attributes((await store.snapshot()).cluster.status.node(node))


# -- empty store, capabilities ---------------------------------------------------------------


def test_an_empty_store_has_no_configuration_and_no_status(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            r0 = await store.revision()
            assert r0 == 0 if not store.capabilities.multi_node else r0 >= 0  # etcd: its own counter
            assert await store.get_config() == (Config(), 0)
            snapshot = await store.snapshot()
            assert (snapshot.revision, snapshot.config_revision) == (r0, 0)
            assert snapshot.cluster.config == Config() and snapshot.cluster.status.nodes == ()

    run(main())


def test_single_host_backends_refuse_a_multi_node_cluster(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            if backend.name == "etcd":
                assert store.capabilities.multi_node and store.capabilities.durable
                require(store, multi_node=True)  # what etcd is for
                return
            assert store.capabilities.multi_node is False
            assert store.capabilities.durable is backend.persistent
            require(store)  # a single node is fine
            with pytest.raises(StoreError, match=r"one machine only.*etcd://"):
                require(store, multi_node=True)

    run(main())


# -- configuration: compare-and-set -------------------------------------------------------------


def test_put_config_is_a_compare_and_set_on_the_config_revision(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            r0 = await store.revision()
            first = await store.put_config(CONFIG, expected_revision=0)
            assert first == r0 + 1 and await store.get_config() == (CONFIG, first)
            await store.set_node_attribute("node1", "site", "a")  # moves the store revision only
            assert (await store.get_config())[1] == first
            changed = Config(nodes=CONFIG.nodes)
            with pytest.raises(RevisionConflict) as conflict:
                await store.put_config(changed, expected_revision=0)
            assert (conflict.value.expected, conflict.value.actual) == (0, first)
            assert await store.revision() == r0 + 2 and await store.get_config() == (CONFIG, first)
            third = await store.put_config(changed, expected_revision=first)
            assert third == r0 + 3 and await store.get_config() == (changed, third)

    run(main())


def test_of_two_writers_that_read_the_same_revision_exactly_one_wins(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            r0 = await store.revision()
            configs = [Config(nodes=(Node(id=str(i), uname=f"node{i}"),)) for i in range(8)]
            results = await asyncio.gather(
                *(store.put_config(config, expected_revision=0) for config in configs), return_exceptions=True
            )
            winners = [i for i, result in enumerate(results) if isinstance(result, int)]
            assert len(winners) == 1
            assert all(isinstance(r, RevisionConflict) for i, r in enumerate(results) if i not in winners)
            assert await store.get_config() == (configs[winners[0]], r0 + 1)

    run(main())


def test_a_full_cib_configuration_round_trips(backend: Backend) -> None:
    config = load_cib(FULL)[0].config

    async def main() -> None:
        async with backend.open() as store:
            await store.put_config(config, 0)
            assert (await store.get_config())[0] == config
            assert (await store.snapshot()).cluster.config == config

    run(main())


# -- operation results and fail-counts -------------------------------------------------------------


def test_a_failure_is_recorded_with_its_fail_count(backend: Backend) -> None:
    fc = failcount_attribute("rsc1", "monitor", 10_000)
    lf = last_failure_attribute("rsc1", "monitor", 10_000)

    async def main() -> None:
        async with backend.open() as store:
            r0 = await store.revision()
            rev = await store.record_operation("node1", DUMMY, op(10), failcount_delta=1)
            assert rev == r0 + 1
            assert await node_attributes(store, "node1") == {fc: "1", lf: "1700000010"}
            await store.record_operation("node1", DUMMY, op(11), failcount_delta=1, failed_at=42)
            assert await node_attributes(store, "node1") == {fc: "2", lf: "42"}
            history = (await store.snapshot()).cluster.status.node("node1").resources  # type: ignore[union-attr]
            assert history == (
                ResourceHistory(id="rsc1", cls="ocf", provider="pacemaker", type="Dummy", ops=(op(11),)),
            )
            await store.record_operation("node1", DUMMY, op(12), failcount_delta=INFINITY)
            await store.record_operation("node1", DUMMY, op(13), failcount_delta=1)
            assert (await node_attributes(store, "node1"))[fc] == "INFINITY"

    run(main())


def test_record_operation_also_sets_other_attributes_in_the_same_commit(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            await store.set_node_attribute("node1", "gone", "x")
            before = await store.revision()
            rev = await store.record_operation(
                "node1", DUMMY, op(1, rc=0), attributes={"probe_complete": "true", "gone": None}
            )
            assert rev == before + 1
            assert await node_attributes(store, "node1") == {"probe_complete": "true"}

    run(main())


def test_records_replace_by_id_and_come_back_in_key_order(backend: Backend) -> None:
    other = ResourceRef(id="a-rsc", cls="ocf", provider="heartbeat", type="IPaddr2")

    async def main() -> None:
        async with backend.open() as store:
            await store.record_operation("node2", DUMMY, op(1, "start", 0, rc=0, id="rsc1_last_0"))
            await store.record_operation("node2", DUMMY, op(2, rc=0))
            await store.record_operation("node2", DUMMY, op(3, "stop", 0, rc=0, id="rsc1_last_0"))
            await store.record_operation("node2", other, op(4, "start", 0, rc=0, id="a-rsc_last_0"))
            await store.record_operation("node1", DUMMY, op(5, "start", 0, rc=0, id="rsc1_last_0"))
            status = (await store.snapshot()).cluster.status
            assert [n.uname for n in status.nodes] == ["node1", "node2"]
            node2 = status.node("node2")
            assert node2 is not None
            assert [h.id for h in node2.resources] == ["a-rsc", "rsc1"]
            assert [(r.id, r.call_id) for r in node2.resources[1].ops] == [
                ("rsc1_last_0", 3),
                ("rsc1_monitor_10000", 2),
            ]

    run(main())


@pytest.mark.parametrize("step", ["record_operation:recorded", "record_operation:failcount"])
def test_a_failure_inside_record_operation_leaves_neither_result_nor_fail_count(
    backend: Backend, step: str
) -> None:
    async def main() -> None:
        async with backend.open() as store:
            await store.record_operation("node1", DUMMY, op(1), failcount_delta=1)
            before = await store.snapshot()

            def crash(at: str) -> None:
                if at == step:
                    raise RuntimeError(f"crash at {at}")

            store.fault_hook = crash
            with pytest.raises(RuntimeError, match="crash at"):
                await store.record_operation(
                    "node1", DUMMY, op(2, id="other"), failcount_delta=1, attributes={"x": "1"}
                )
            with pytest.raises(RuntimeError, match="crash at"):
                await store.record_operation("node9", DUMMY, op(2), failcount_delta=1)
            store.fault_hook = None
            after = await store.snapshot()
            assert after.revision == before.revision and after.cluster == before.cluster
            # The store is still usable, and the next revision follows on.
            assert (
                await store.record_operation("node1", DUMMY, op(3), failcount_delta=1) == before.revision + 1
            )

    run(main())


def test_a_failure_inside_put_config_leaves_the_old_configuration(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            rev = await store.put_config(CONFIG, 0)

            def crash(at: str) -> None:
                raise RuntimeError(at)

            store.fault_hook = crash
            with pytest.raises(RuntimeError):
                await store.put_config(Config(), rev)
            store.fault_hook = None
            assert await store.get_config() == (CONFIG, rev) and await store.revision() == rev

    run(main())


# -- attributes, fail-count clearing, node state ---------------------------------------------------


def test_clear_failcount_removes_every_operation_and_instance_but_keeps_history(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            await store.record_operation("node1", DUMMY, op(1), failcount_delta=1)
            await store.record_operation("node1", DUMMY, op(2, "start", 0, rc=1), failcount_delta=INFINITY)
            await store.set_node_attribute("node1", failcount_attribute("rsc1:0", "stop", 0), "1")
            await store.set_node_attribute("node1", failcount_attribute("rsc10", "stop", 0), "1")
            await store.set_node_attribute("node1", "standby", "on")
            rev = await store.clear_failcount("node1", "rsc1", "start", 0)
            assert set(await node_attributes(store, "node1")) == {
                failcount_attribute("rsc1", "monitor", 10_000),
                last_failure_attribute("rsc1", "monitor", 10_000),
                failcount_attribute("rsc1:0", "stop", 0),
                failcount_attribute("rsc10", "stop", 0),
                "standby",
            }
            assert await store.clear_failcount("node1", "rsc1") == rev + 1
            assert await node_attributes(store, "node1") == {
                failcount_attribute("rsc10", "stop", 0): "1",
                "standby": "on",
            }
            # Nothing left to clear: no new revision.
            assert await store.clear_failcount("node1", "rsc1") == rev + 1
            assert await store.clear_failcount("nowhere", "rsc1") == rev + 1
            history = (await store.snapshot()).cluster.status.node("node1").resources  # type: ignore[union-attr]
            assert len(history[0].ops) == 2

    run(main())


def test_set_node_attribute_sets_removes_and_skips_no_ops(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            r0 = await store.revision()
            assert await store.set_node_attribute("node1", "standby", "on") == r0 + 1
            assert await store.set_node_attribute("node1", "standby", "on") == r0 + 1
            assert await store.set_node_attribute("node1", "standby", "off") == r0 + 2
            assert await node_attributes(store, "node1") == {"standby": "off"}
            assert await store.set_node_attribute("node1", "standby", None) == r0 + 3
            assert await store.set_node_attribute("node1", "standby", None) == r0 + 3
            assert (await store.snapshot()).cluster.status.nodes == ()

    run(main())


def test_node_state_keeps_membership_and_takes_ids_from_the_configuration(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            await store.put_config(CONFIG, 0)
            await store.set_node_attribute("node2", "site", "b")
            await store.set_node_attribute("stray", "site", "c")
            state = NodeState(id="1", uname="node1", in_ccm="true", crmd="online", join="member",
                              utilization=(("cpu", "2"),))
            rev = await store.set_node_state(state)
            assert await store.set_node_state(state) == rev
            status = (await store.snapshot()).cluster.status
            assert status.node("node1") == state
            assert status.node("node2") == NodeState(id="2", uname="node2", attributes=(("site", "b"),))
            assert status.node("stray") == NodeState(id="stray", uname="stray", attributes=(("site", "c"),))
            with pytest.raises(ValueError, match="set_node_attribute"):
                await store.set_node_state(NodeState(id="1", uname="node1", attributes=(("a", "b"),)))

    run(main())


def test_forget_resource_and_remove_node(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            await store.record_operation("node1", DUMMY, op(1), failcount_delta=1)
            await store.set_node_state(NodeState(id="1", uname="node1", in_ccm="true"))
            rev = await store.forget_resource("node1", "rsc1")
            assert await store.forget_resource("node1", "rsc1") == rev
            node = (await store.snapshot()).cluster.status.node("node1")
            assert node is not None and node.resources == () and node.attributes != ()
            rev = await store.remove_node("node1")
            assert await store.remove_node("node1") == rev
            assert (await store.snapshot()).cluster.status.nodes == ()

    run(main())


def test_tickets_are_the_clusters_state_set_and_removed_one_commit_each(backend: Backend) -> None:
    """A ticket's state is cluster-wide status: in every snapshot, by id, unchanged by node writes,
    kept across a reopening where the backend is persistent."""

    async def main() -> None:
        granted = Ticket("ticketB", granted=True, last_granted=1_700_000_000)
        async with backend.open() as store:
            r0 = await store.revision()
            assert await store.set_ticket(granted) == r0 + 1
            assert await store.set_ticket(granted) == r0 + 1  # the same state: no commit
            assert await store.set_ticket(Ticket("ticketA", standby=True)) == r0 + 2
            await store.record_operation("node1", DUMMY, op(1), failcount_delta=1)
            tickets = (await store.snapshot()).cluster.status.tickets
            assert tickets == (Ticket("ticketA", standby=True), granted)
            revoked = dataclasses.replace(granted, granted=False)
            assert await store.set_ticket(revoked) == r0 + 4
            assert await store.remove_ticket("ticketA") == r0 + 5
            assert await store.remove_ticket("ticketA") == r0 + 5
            assert (await store.snapshot()).cluster.status.tickets == (revoked,)
            rev = await store.remove_node("node1")
            assert (await store.snapshot()).cluster.status.tickets == (revoked,)
        if backend.persistent:
            async with backend.open() as store:
                snapshot = await store.snapshot()
                assert snapshot.revision == rev and snapshot.cluster.status.tickets == (revoked,)

    run(main())


# -- snapshots -----------------------------------------------------------------------------------


def test_a_snapshot_never_changes_after_it_is_taken(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            rev = await store.put_config(CONFIG, 0)
            await store.record_operation("node1", DUMMY, op(1), failcount_delta=1)
            snapshot = await store.snapshot()
            frozen = repr(snapshot)
            await store.record_operation("node1", DUMMY, op(2), failcount_delta=1)
            await store.set_node_attribute("node1", "standby", "on")
            await store.put_config(Config(), rev)
            assert repr(snapshot) == frozen
            later = await store.snapshot()
            assert later.revision == snapshot.revision + 3 and later.cluster != snapshot.cluster
            with pytest.raises(AttributeError):
                snapshot.cluster.status.nodes[0].attributes = ()  # type: ignore[misc]

    run(main())


def test_snapshots_are_consistent_under_concurrent_writes(backend: Backend) -> None:
    """A writer records failure N with fail-count N; every snapshot must agree with itself."""
    fc = failcount_attribute("rsc1", "monitor", 10_000)

    async def main() -> None:
        async with backend.open() as store:

            async def writer() -> None:
                for call_id in range(1, 41):
                    await store.record_operation("node1", DUMMY, op(call_id), failcount_delta=1)
                    await asyncio.sleep(0)

            task = asyncio.create_task(writer())
            seen = 0
            while not task.done() or seen < 40:
                snapshot = await store.snapshot()
                node = snapshot.cluster.status.node("node1")
                if node is not None:
                    (record,) = node.resources[0].ops
                    assert node.attribute(fc) == str(record.call_id)
                    assert record.call_id >= seen
                    seen = record.call_id
                await asyncio.sleep(0)
            await task

    run(main())


# -- watching -------------------------------------------------------------------------------------


def test_wait_for_change_returns_at_once_times_out_and_wakes_on_a_commit(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            r0 = await store.revision()
            r1 = await store.set_node_attribute("node1", "a", "1")
            assert await store.wait_for_change(r0, timeout=1) == Change(r1, 0)
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert await store.wait_for_change(r1, timeout=0.1) is None
            assert 0.09 <= loop.time() - started < 1
            started = loop.time()
            assert await store.wait_for_change(r1, timeout=0) is None
            assert loop.time() - started < 0.05  # no poll interval waited either

            async def later() -> None:
                await asyncio.sleep(0.05)
                await store.put_config(CONFIG, 0)

            task = asyncio.create_task(later())
            started = loop.time()
            assert await store.wait_for_change(r1, timeout=5) == Change(r1 + 1, r1 + 1)
            assert loop.time() - started < 0.2  # notified, not polled
            await task

    run(main())


def test_watch_yields_increasing_revisions_and_ends_on_close(backend: Backend) -> None:
    async def main() -> None:
        store = backend.open()
        r0 = await store.revision()
        seen: list[Change] = []

        async def watcher() -> None:
            async for change in store.watch(r0):
                seen.append(change)

        task = asyncio.create_task(watcher())
        for i in range(5):
            await store.set_node_attribute("node1", "a", str(i))
            while not seen:  # the watcher's first wait may take a round trip (etcd): let it see one
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.01)
        await store.put_config(CONFIG, 0)
        while not seen or seen[-1].revision < r0 + 6:
            await asyncio.sleep(0.01)
        await store.close()
        await asyncio.wait_for(task, 2)
        revisions = [c.revision for c in seen]
        assert revisions == sorted(set(revisions)) and revisions[0] > r0 and revisions[-1] == r0 + 6
        assert seen[-1].config_revision == r0 + 6 and seen[0].config_revision == 0

    run(main())


def test_watch_from_an_old_revision_reports_the_current_one_at_once(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            r0 = await store.revision()
            for i in range(3):
                await store.set_node_attribute("node1", "a", str(i))
            async with asyncio.timeout(1):
                async for change in store.watch(r0 + 1):
                    assert change == Change(r0 + 3, 0)
                    break

    run(main())


def test_a_closed_store_refuses_calls(backend: Backend) -> None:
    async def main() -> None:
        store = backend.open()
        await store.close()
        with pytest.raises(StoreError, match="closed"):
            await store.snapshot()
        with pytest.raises(StoreError, match="closed"):
            await store.set_node_attribute("n", "a", "b")
        await store.close()  # twice is fine

    run(main())


# -- the operation log and forgetting single records -----------------------------------------------


def test_every_recorded_result_is_logged_with_its_meta_and_outlives_a_cleanup(backend: Backend) -> None:
    clone_instance = ResourceRef(id="rsc1:2", cls="ocf", provider="pacemaker", type="Dummy")
    lookalike = ResourceRef(id="rsc10", cls="ocf", provider="pacemaker", type="Dummy")
    context = {"stop_reason": "failure", "stop_final": "false", "recoveries_left": "2"}

    async def main() -> None:
        async with backend.open() as store:
            await store.record_operation("node1", DUMMY, op(1, "start", 0, rc=0, id="rsc1_last_0"))
            rev = await store.record_operation(
                "node1", DUMMY, op(2, "stop", 0, rc=0, id="rsc1_last_0"), meta=context
            )
            await store.record_operation("node2", clone_instance, op(3, "start", 0, rc=0, id="x"))
            await store.record_operation("node2", lookalike, op(4, "start", 0, rc=0, id="y"))
            await store.forget_resource("node1", "rsc1")
            log = await store.operation_log("rsc1")
            assert [(e.node, e.resource, e.record.call_id) for e in log] == [
                ("node1", "rsc1", 1),
                ("node1", "rsc1", 2),
                ("node2", "rsc1:2", 3),
            ]
            assert log[1].revision == rev and dict(log[1].meta) == context and log[0].meta == ()
            assert [e.record.call_id for e in await store.operation_log(node="node2")] == [3, 4]
            assert [e.record.call_id for e in await store.operation_log(limit=2)] == [3, 4]
            assert await store.operation_log("nothing") == []

    run(main())


def test_forget_operations_removes_only_the_named_records(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            await store.record_operation("node1", DUMMY, op(1, "start", 0, rc=0, id="rsc1_last_0"))
            await store.record_operation("node1", DUMMY, op(2, rc=0))
            before = await store.revision()
            assert await store.forget_operations("node1", "rsc1", ["absent"]) == before
            assert await store.forget_operations("node9", "rsc1", ["rsc1_monitor_10000"]) == before
            rev = await store.forget_operations("node1", "rsc1", ["rsc1_monitor_10000", "absent"])
            assert rev == before + 1
            node = (await store.snapshot()).cluster.status.node("node1")
            assert node is not None and [r.id for r in node.resources[0].ops] == ["rsc1_last_0"]
            assert len(await store.operation_log("rsc1")) == 2

    run(main())


# -- idempotent recording, one-transaction cleanup, fencing (issue 14) ------------------------------


def _unclear_commit(at: str) -> None:
    """The write committed, the caller gets an error: a lost reply, a connection cut after the commit."""
    if at.endswith(":committed"):
        raise StoreError(f"connection lost after the commit ({at})")


def test_recording_again_after_an_unclear_commit_counts_once(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            record = op(7, operation_key="rsc1_monitor_10000")
            store.fault_hook = _unclear_commit
            with pytest.raises(StoreError, match="after the commit"):
                await store.record_operation("node1", DUMMY, record, failcount_delta=1, meta={"k": "v"})
            store.fault_hook = None
            committed = await store.revision()
            # The retry (same operation key, same call id) changes nothing and says where the store is.
            assert await store.record_operation("node1", DUMMY, record, failcount_delta=1,
                                                meta={"k": "v"}) == committed
            assert await store.revision() == committed
            assert await node_attributes(store, "node1") == {
                failcount_attribute("rsc1", "monitor", 10_000): "1",
                last_failure_attribute("rsc1", "monitor", 10_000): str(record.last_rc_change),
            }
            assert [e.record.call_id for e in await store.operation_log("rsc1")] == [7]
            # A new call of the same operation is a new result: it counts.
            await store.record_operation("node1", DUMMY, op(8, operation_key="rsc1_monitor_10000"),
                                         failcount_delta=1)
            counts = await node_attributes(store, "node1")
            assert counts[failcount_attribute("rsc1", "monitor", 10_000)] == "2"
            assert [e.record.call_id for e in await store.operation_log("rsc1")] == [7, 8]

    run(main())


async def _with_failures(store: Store) -> None:
    await store.record_operation("node1", DUMMY, op(1), failcount_delta=1)
    await store.record_operation("node1", ResourceRef("rsc1:0", "ocf", "pacemaker", "Dummy"),
                                 op(2, id="rsc1:0_last_failure_0"), failcount_delta=1)
    await store.record_operation("node1", ResourceRef("rsc10", "ocf", "pacemaker", "Dummy"),
                                 op(3, id="rsc10_last_failure_0"), failcount_delta=1)
    await store.set_node_attribute("node1", failcount_attribute("rsc1:0", "stop", 0), "1")
    await store.set_node_attribute("node1", "standby", "on")


def test_cleanup_resource_forgets_history_and_fail_counts_in_one_commit(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            await _with_failures(store)
            before = await store.revision()
            assert await store.cleanup_resource("node1", "rsc1") == before + 1
            node = (await store.snapshot()).cluster.status.node("node1")
            assert node is not None
            assert [h.id for h in node.resources] == ["rsc10"]
            assert set(dict(node.attributes)) == {
                failcount_attribute("rsc10", "monitor", 10_000),
                last_failure_attribute("rsc10", "monitor", 10_000),
                "standby",
            }
            # Nothing left: no commit.
            assert await store.cleanup_resource("node1", "rsc1") == before + 1
            assert await store.cleanup_resource("node9", "rsc1") == before + 1
            # The log keeps what happened.
            assert len(await store.operation_log("rsc1")) == 2

    run(main())


def test_a_failure_inside_cleanup_resource_leaves_everything_as_it_was(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            await _with_failures(store)
            before = await store.snapshot()

            def crash(at: str) -> None:
                if at == "cleanup_resource:failcount":
                    raise RuntimeError("crash between the fail-counts and the history")

            store.fault_hook = crash
            with pytest.raises(RuntimeError, match="crash between"):
                await store.cleanup_resource("node1", "rsc1")
            store.fault_hook = None
            after = await store.snapshot()
            assert after.revision == before.revision and after.cluster == before.cluster

    run(main())


FENCING = FenceEntry(target="node1", action="reboot", succeeded=True, completed=1_700_000_100,
                     executioner="node2", origin="node2", client="vigil.42", device="fence1")


def test_record_fencing_erases_the_node_marks_it_down_and_keeps_a_history(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            await store.put_config(CONFIG, 0)
            await store.set_node_state(NodeState(id="1", uname="node1", in_ccm="true", crmd="online",
                                                 join="member", expected="member"))
            await _with_failures(store)
            await store.record_operation("node2", DUMMY, op(9, rc=0))
            before = await store.snapshot()
            failed = dataclasses.replace(FENCING, target="node2", succeeded=False, completed=1_700_000_050)
            rev_failed = await store.record_fencing(failed)
            assert rev_failed == before.revision + 1
            assert (await store.snapshot()).cluster.status.nodes == before.cluster.status.nodes
            rev = await store.record_fencing(FENCING)
            assert rev == rev_failed + 1
            node = (await store.snapshot()).cluster.status.node("node1")
            assert node is not None
            assert (node.id, node.in_ccm, node.crmd, node.join, node.expected, node.node_fenced) == (
                "1", "false", "offline", "down", "down", "1700000100")
            assert node.attributes == () and node.resources == ()
            other = (await store.snapshot()).cluster.status.node("node2")
            assert other is not None and len(other.resources) == 1
            history = await store.fence_history()
            assert history == [dataclasses.replace(failed, revision=rev_failed),
                               dataclasses.replace(FENCING, revision=rev)]
            assert await store.fence_history("node1") == [dataclasses.replace(FENCING, revision=rev)]
            assert await store.fence_history(limit=1) == [dataclasses.replace(FENCING, revision=rev)]

    run(main())


def test_a_failure_inside_record_fencing_leaves_the_node_as_it_was(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            await _with_failures(store)
            before = await store.snapshot()

            def crash(at: str) -> None:
                if at == "record_fencing:erased":
                    raise RuntimeError("crash while erasing")

            store.fault_hook = crash
            with pytest.raises(RuntimeError, match="crash while erasing"):
                await store.record_fencing(FENCING)
            store.fault_hook = None
            after = await store.snapshot()
            assert after.revision == before.revision and after.cluster == before.cluster
            assert await store.fence_history() == []

    run(main())
