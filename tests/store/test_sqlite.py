"""What only the SQLite store can show: persistence, its file, other processes, kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.store.conftest import run
from vigil.model.config import Config, Node
from vigil.model.status import NodeState, OpRecord
from vigil.store import Change, ResourceRef, RevisionConflict, SQLiteStore, StoreError, open_store
from vigil.store.sqlite.schema import SCHEMA_VERSION

HERE = Path(__file__).resolve().parent
RSC = ResourceRef(id="rsc1", cls="ocf", provider="pacemaker", type="Dummy")
CONFIG = Config(nodes=(Node(id="1", uname="node1"),))


def failure(call_id: int) -> OpRecord:
    return OpRecord(
        id="rsc1_last_failure_0", operation="monitor", interval_ms=0, rc=1, op_status=0, call_id=call_id
    )


def url(path: Path) -> str:
    return f"sqlite://{path}"


def test_everything_survives_closing_and_reopening(tmp_path: Path) -> None:
    async def main() -> None:
        async with open_store(url(tmp_path / "vigil.db")) as store:
            await store.put_config(CONFIG, 0)
            await store.set_node_state(NodeState(id="1", uname="node1", in_ccm="true", crmd="online"))
            await store.record_operation("node1", RSC, failure(3), failcount_delta=1, failed_at=99)
            await store.set_node_attribute("node1", "standby", "on")
            before = await store.snapshot()
        async with open_store(url(tmp_path / "vigil.db"), create=False) as store:
            after = await store.snapshot()
            assert after == before and after.revision == 4 and after.config_revision == 1
            assert await store.set_node_attribute("node1", "standby", "off") == 5  # revisions go on

    run(main())


def test_a_state_directory_holds_vigil_db(tmp_path: Path) -> None:
    async def main() -> None:
        async with open_store(url(tmp_path)) as store:
            assert isinstance(store, SQLiteStore) and store.path == tmp_path / "vigil.db"
            await store.set_node_attribute("n", "a", "b")
        assert (tmp_path / "vigil.db").is_file()

    run(main())


def test_the_file_is_wal_with_full_sync_and_versioned(tmp_path: Path) -> None:
    store = open_store(url(tmp_path / "vigil.db"))
    assert isinstance(store, SQLiteStore)
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x5649474C
    finally:
        conn.close()
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    run(store.close())


def test_two_store_objects_on_one_file_share_it(tmp_path: Path) -> None:
    """Another process's commits: compare-and-set holds, and a watcher sees them by polling."""

    async def main() -> None:
        async with open_store(url(tmp_path / "v.db")) as a, open_store(url(tmp_path / "v.db")) as b:
            assert isinstance(b, SQLiteStore)
            b.poll_interval = 0.05
            await a.put_config(CONFIG, 0)
            with pytest.raises(RevisionConflict):
                await b.put_config(Config(), 0)

            async def later() -> None:
                await asyncio.sleep(0.05)
                await a.set_node_attribute("node1", "x", "1")

            task = asyncio.create_task(later())
            assert await b.wait_for_change(1, timeout=5) == Change(2, 1)
            await task
            assert (await b.snapshot()).cluster.status.node("node1") is not None

    run(main())


# -- bad files: a clear StoreError, never a traceback ---------------------------------------------


def test_a_missing_store_is_not_created_when_told_not_to(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no vigil store there"):
        open_store(url(tmp_path / "typo.db"), create=False)
    assert not (tmp_path / "typo.db").exists()
    with pytest.raises(StoreError, match="does not exist; create it first"):
        open_store(url(tmp_path / "nowhere" / "vigil.db"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a database, just text\n" * 200, "not a vigil store, or it is damaged"),
        (b"SQLite format 3\x00" + b"\xff" * 4000, "not a vigil store, or it is damaged"),
    ],
)
def test_a_garbage_file_is_refused_clearly(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "vigil.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=message) as error:
        open_store(url(path))
    assert str(path) in str(error.value)


def test_another_sqlite_database_is_not_taken_for_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a vigil store"):
        open_store(url(path))


def test_a_store_from_a_newer_vigil_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vigil.db"
    run(open_store(url(path)).close())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    newer = SCHEMA_VERSION + 1
    with pytest.raises(StoreError, match=rf"newer vigil \(schema version {newer}.*upgrade vigil"):
        open_store(url(path))


def test_a_damaged_stored_value_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "vigil.db"

    async def write() -> None:
        async with open_store(url(path)) as store:
            await store.record_operation("node1", RSC, failure(1))
            await store.put_config(CONFIG, 0)

    run(write())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE operations SET record = '{\"nonsense\": 1}'")
    conn.execute("UPDATE config SET cib = X'3c6e6f742d6369622f3e'")  # <not-cib/>
    conn.commit()
    conn.close()

    async def read() -> None:
        async with open_store(url(path)) as store:
            with pytest.raises(StoreError, match=r"damaged|unknown fields"):
                await store.snapshot()

    run(read())


# -- kill -9 -------------------------------------------------------------------------------------


def _start_child(store_url: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, str(HERE / "record_loop.py"), store_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=HERE.parents[1],
    )
    assert child.stdout is not None and child.stderr is not None
    line = child.stdout.readline()
    if line != "ready\n":
        child.kill()
        child.wait()
        error = child.stderr.read()
        child.stdout.close()
        child.stderr.close()
        pytest.fail(f"the writer child did not start: {line!r} {error}")
    return child


def _kill_after(child: subprocess.Popen[str], commits: int) -> list[tuple[int, int]]:
    """Let ``child`` report ``commits`` commits, SIGKILL it by pid, return every reported commit."""
    assert child.stdout is not None
    reported: list[tuple[int, int]] = []
    for line in child.stdout:
        revision, call_id = map(int, line.split())
        reported.append((revision, call_id))
        if len(reported) >= commits:
            os.kill(child.pid, signal.SIGKILL)
            break
    for line in child.stdout:  # what it printed before dying was reported too
        parts = line.split()
        if len(parts) == 2:
            reported.append((int(parts[0]), int(parts[1])))
    assert child.wait(5) == -signal.SIGKILL
    return reported


async def _check_after_kill(
    store_url: str, reported: list[tuple[int, int]], all_reported: list[tuple[int, int]]
) -> None:
    """The reopened store holds every reported commit, each result with its fail-count."""
    async with open_store(store_url, create=False) as store:
        snapshot = await store.snapshot()
        last_revision, last_call = reported[-1]
        assert snapshot.revision >= last_revision
        node = snapshot.cluster.status.node("node1")
        assert node is not None
        calls = {record.id: record.call_id for record in node.resources[0].ops}
        newest = max(calls.values())
        assert newest >= last_call
        # Every reported commit is there (each op id holds its newest call) ...
        for _revision, call_id in all_reported:
            assert calls[f"rsc1_monitor_10000_{call_id % 5}"] >= call_id
        # ... and each result landed with its fail-count, never one without the other.
        assert node.attribute("fail-count-rsc1#monitor_10000") == str(newest)
        assert node.attribute("last-call") == str(newest)


def test_nothing_reported_as_committed_is_lost_after_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "vigil.db"
    store_url = url(path)
    started = time.monotonic()
    all_reported: list[tuple[int, int]] = []
    for round_number in range(3):
        child = _start_child(store_url)
        try:
            if round_number == 0:
                # Meanwhile this process sees the child's commits (cross-process polling).
                async def watch_child() -> Change | None:
                    async with open_store(store_url) as watcher:
                        return await watcher.wait_for_change(0, timeout=5)

                assert run(watch_child()) is not None
            reported = _kill_after(child, commits=40 + 17 * round_number)
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
                child.wait()
            for stream in (child.stdout, child.stderr):
                if stream is not None:
                    stream.close()
        assert reported
        all_reported += reported

        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()

        run(_check_after_kill(store_url, reported, all_reported))
    assert time.monotonic() - started < 15


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return sorted(
        (str(name), " ".join(str(sql).split()))
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    )


def test_a_version_1_store_is_migrated_in_place_and_keeps_everything(tmp_path: Path) -> None:
    """A file written before the tombstones (schema 1) opens, keeps its data, and reads incrementally."""
    from vigil.store.sqlite.schema import _SCHEMA

    path = tmp_path / "vigil.db"
    other = tmp_path / "other.db"

    async def write() -> None:
        async with open_store(url(path)) as store:
            await store.put_config(CONFIG, 0)
            await store.set_node_state(NodeState(id="1", uname="node1", crmd="online"))
            await store.record_operation("node1", RSC, failure(1), failcount_delta=1, failed_at=5)
            await store.record_operation("node2", RSC, failure(2))
            await store.set_node_attribute("node2", "standby", "on")

    run(write())
    # Turn it into what vigil with schema 1 wrote: the same tables, no tombstones, no indexes.
    conn = sqlite3.connect(path)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for table in ("nodes", "node_attributes", "resources", "operations"):
        conn.execute(f"DROP INDEX {table}_revision")
    conn.execute("DROP TABLE deletions")
    conn.execute("DROP TABLE deletions_horizon")
    conn.execute("DROP TABLE fence_history")
    conn.execute("DROP TABLE work_orders")
    conn.execute("DROP TABLE transition_reports")
    conn.execute("DROP TABLE tickets")
    conn.execute("UPDATE schema_version SET version = 1")
    conn.commit()
    reference = sqlite3.connect(other)
    for statement in _SCHEMA.split(";"):
        reference.execute(statement)
    assert _schema(conn) == _schema(reference)  # a true schema-1 file
    reference.close()
    conn.close()

    async def reopen() -> None:
        async with open_store(url(path)) as store:
            assert isinstance(store, SQLiteStore)
            before = await store.snapshot()
            assert before.revision == 5
            node1, node2 = before.cluster.status.nodes
            assert node1.crmd == "online"
            assert node1.attribute("fail-count-rsc1#monitor_0") == "1"
            assert node2.attribute("standby") == "on"
            assert before.cluster.config == CONFIG
            await store.clear_failcount("node1", "rsc1")
            await store.forget_resource("node2", "rsc1")
            after = await store.snapshot()
            assert after.cluster.status.nodes[0].attributes == ()
            assert after.cluster.status.nodes[1].resources == ()
            assert after.cluster.status.nodes[0].resources[0] is node1.resources[0]
            async with open_store(url(path)) as fresh:
                assert await fresh.snapshot() == after

    run(reopen())
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("SELECT revision FROM deletions_horizon").fetchall() == [(5,)]
        assert conn.execute("SELECT count(*) FROM deletions").fetchone()[0] == 4  # 2 attributes, rsc, op
    finally:
        conn.close()
