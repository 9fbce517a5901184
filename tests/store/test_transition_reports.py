"""The store contract's transition reports: what the controller did, readable on every node.

Part of the contract suite: every test runs over memory, SQLite and a real
etcd server (the ``backend`` fixture).  A "second process" is a second store
object on the same URL where the backend is shared (SQLite, etcd), and the
same object for the memory store.  Reports are not the cluster's state: they
are not in the snapshot and writing one wakes no watcher, which is what keeps
a controller that writes one after each transition from planning for ever.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from tests.store.conftest import Backend, run
from tests.store.test_cluster_contract import second
from vigil.model.activity import TransitionReport
from vigil.model.status import NodeState
from vigil.store import GuardLost, Store, StoreError, open_store, sqlite_url
from vigil.store.base import REPORT_RETENTION
from vigil.store.sqlite.schema import SCHEMA_VERSION


def report(number: int, outcome: str = "running", finished: float | None = None) -> TransitionReport:
    return TransitionReport(number, 1_700_000_000.5 + number, (f"Start web{number} ( node1 )",), 2,
                            "a change in the store", finished, outcome)


async def numbers(store: Store, limit: int = 20) -> list[int]:
    return [r.number for r in await store.transition_reports(limit)]


def test_a_report_is_kept_by_term_and_number_and_rewritten_when_it_ends(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            other = second(backend, store)
            assert await other.transition_reports() == []
            started = report(1)
            await store.put_transition_report(started, term=0)
            # The controller goes on changing its own report: what is stored is as it was written.
            started.outcome = "complete"
            [seen] = await other.transition_reports()
            assert seen == report(1)
            await store.put_transition_report(report(1, "complete", 1_700_000_009.25), term=0)
            await store.put_transition_report(report(2), term=0)
            first, running = await other.transition_reports()
            assert (first.number, first.outcome, first.finished) == (1, "complete", 1_700_000_009.25)
            assert first.summary == ("Start web1 ( node1 )",) and first.trigger == "a change in the store"
            assert (running.number, running.outcome, running.finished) == (2, "running", None)
            # What a reader gets is a copy too.
            first.outcome = "changed by a reader"
            assert (await store.transition_reports())[0].outcome == "complete"
            if other is not store:
                await other.close()

    run(main())


def test_reports_sort_by_term_then_number_and_only_the_newest_are_kept(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            # A later term restarts its numbers: it still sorts after every report of the earlier one.
            for number in range(1, 16):
                await store.put_transition_report(report(number), term=7)
            for number in (3, 1, 2, 4, 5, 6, 7, 8):
                await store.put_transition_report(report(number), term=12)
            kept = await store.transition_reports(100)
            assert len(kept) == REPORT_RETENTION
            assert [r.number for r in kept] == [*range(4, 16), *range(1, 9)]
            assert await numbers(store, 3) == [6, 7, 8]
            assert await store.transition_reports(0) == []
            # A report older than every kept one is not kept (the write trims it at once)...
            await store.put_transition_report(report(1), term=2)
            assert await numbers(store, 100) == [*range(4, 16), *range(1, 9)]
            # ...and a new one pushes the oldest out.
            await store.put_transition_report(report(9), term=12)
            assert await numbers(store, 100) == [*range(5, 16), *range(1, 10)]

    run(main())


def test_a_report_is_written_under_the_term_and_a_deposed_controller_writes_none(backend: Backend) -> None:
    async def main() -> None:
        async with backend.open() as store:
            other = second(backend, store)
            old_lease = await store.grant_lease(10)
            old = await store.campaign("node1", old_lease, timeout=5)
            assert old is not None
            await store.put_transition_report(report(1), term=old.revision, guard=old)
            with pytest.raises(StoreError, match="names term"):
                await store.put_transition_report(report(2), term=old.revision + 1, guard=old)
            with pytest.raises(StoreError, match="0 or more"):
                await store.put_transition_report(report(2), term=-1)
            await old_lease.revoke()
            new = await other.campaign("node2", await other.grant_lease(10), timeout=5)
            assert new is not None and new.revision > old.revision
            # Neither a new report nor the end of the running one: nothing changes.
            for written in (report(2), report(1, "complete", 1_700_000_099.0)):
                with pytest.raises(GuardLost):
                    await store.put_transition_report(written, term=old.revision, guard=old)
            assert await store.transition_reports() == [report(1)]
            await other.put_transition_report(report(1), term=new.revision, guard=new)
            assert [(r.number, r.outcome) for r in await store.transition_reports()] == \
                [(1, "running"), (1, "running")]
            if other is not store:
                await other.close()

    run(main())


def test_a_report_is_not_data_it_wakes_no_watcher_and_leaves_the_snapshot_alone(backend: Backend) -> None:
    """What keeps an idle controller idle: it waits for a change after its snapshot's revision,
    and the report it wrote after its last transition is not one."""
    async def main() -> None:
        async with backend.open() as store:
            other = second(backend, store)
            await store.set_node_state(NodeState(id="1", uname="node1", in_ccm="true", crmd="online"))
            before = await store.snapshot()
            waiters = [asyncio.create_task(s.wait_for_change(before.revision, timeout=1.0))
                       for s in {id(store): store, id(other): other}.values()]
            await asyncio.sleep(0.3)  # both are waiting (SQLite's other store object polls meanwhile)
            await store.put_transition_report(report(1), term=0)
            await store.put_transition_report(report(1, "complete", 1_700_000_009.0), term=0)
            assert await asyncio.gather(*waiters) == [None] * len(waiters)
            after = await store.snapshot()
            assert after.cluster == before.cluster
            if backend.name != "etcd":  # etcd's revision counts every key; memory's and SQLite's data only
                assert after.revision == before.revision == await store.revision()
            # And the next wait, from the snapshot taken after the report, waits too.
            assert await store.wait_for_change(after.revision, timeout=0.3) is None
            if other is not store:
                await other.close()

    run(main())


def test_a_closed_store_refuses_reports(backend: Backend) -> None:
    async def main() -> None:
        store = backend.open()
        await store.close()
        with pytest.raises(StoreError, match="closed"):
            await store.put_transition_report(report(1), term=0)
        with pytest.raises(StoreError, match="closed"):
            await store.transition_reports()

    run(main())


# -- SQLite: the table, its migration, a damaged row ----------------------------------------------


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return sorted((str(name), " ".join(str(sql).split()))
                  for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))


def test_a_version_4_sqlite_store_gains_the_reports_table_in_place_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "vigil.db"

    async def write() -> None:
        async with open_store(sqlite_url(path)) as store:
            await store.set_node_state(NodeState(id="1", uname="node1", in_ccm="true", crmd="online"))
            await store.set_node_attribute("node1", "standby", "on")

    run(write())
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE transition_reports")
    conn.execute("DROP TABLE tickets")  # (schema 6)
    conn.execute("UPDATE schema_version SET version = 4")
    conn.commit()
    conn.close()
    fresh = tmp_path / "fresh.db"
    run(open_store(sqlite_url(fresh)).close())  # a store created at the current version

    async def reopen() -> None:
        async with open_store(sqlite_url(path)) as store:
            snapshot = await store.snapshot()
            assert snapshot.revision == 2
            [node1] = snapshot.cluster.status.nodes
            assert (node1.crmd, node1.attribute("standby")) == ("online", "on")
            assert await store.transition_reports() == []
            await store.put_transition_report(report(1), term=0)
            assert await store.transition_reports() == [report(1)]
            assert await store.revision() == 2

    run(reopen())
    migrated, reference = sqlite3.connect(path), sqlite3.connect(fresh)
    try:
        assert migrated.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert SCHEMA_VERSION >= 5
        assert _schema(migrated) == _schema(reference)
    finally:
        migrated.close()
        reference.close()


def test_a_version_4_file_must_be_upgraded_before_a_read_only_open(tmp_path: Path) -> None:
    path = tmp_path / "vigil.db"
    run(open_store(sqlite_url(path)).close())
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE transition_reports")
    conn.execute("DROP TABLE tickets")  # (schema 6)
    conn.execute("UPDATE schema_version SET version = 4")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 4 and must be upgraded"):
        open_store(sqlite_url(path), read_only=True)


def test_a_damaged_stored_report_is_an_error_that_says_so(tmp_path: Path) -> None:
    path = tmp_path / "vigil.db"

    async def main() -> None:
        async with open_store(sqlite_url(path)) as store:
            await store.put_transition_report(report(1), term=0)
            conn = sqlite3.connect(path)
            conn.execute("UPDATE transition_reports SET report = '{\"number\": \"one\"}'")
            conn.commit()
            conn.close()
            with pytest.raises(StoreError, match="transition report is damaged"):
                await store.transition_reports()

    run(main())


def test_a_report_from_another_store_object_is_a_copy_of_what_was_written(tmp_path: Path) -> None:
    """The JSON round trip keeps every field, a summary of several lines and no ``finished`` included."""
    path = tmp_path / "vigil.db"
    written = replace(report(3), summary=("Stop a ( n1 )", "Start a ( n2 )"), actions=0)

    async def main() -> None:
        async with open_store(sqlite_url(path)) as store:
            await store.put_transition_report(written, term=4)
        async with open_store(sqlite_url(path)) as again:
            assert await again.transition_reports() == [written]

    run(main())
