"""Incremental snapshots: always equal to a full read, and sharing what did not change.

Random (seeded) sequences of every kind of write, some through a second
store object on the same SQLite file, each mirrored on a memory store.
After each step (or a few steps, so that one snapshot catches up several
revisions): store A's snapshot equals the one a brand-new store object
reads from the file (and the memory store's), and every node state and
resource history that no write touched since A's previous snapshot is the
very same object as in that snapshot (the configuration too).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import vigil.store.sqlite.store as sqlite_module
from vigil.model.config import Config, Node
from vigil.model.scores import INFINITY
from vigil.model.status import NodeState, OpRecord, ResourceHistory
from vigil.store import MemoryStore, ResourceRef, Snapshot, SQLiteStore, Store, sqlite_url

NODES = ("n1", "n2", "n3", "n4")
RESOURCES = ("r1", "r2", "r3", "r1:0", "r1:1", "web")
OP_KEYS = (("last_0", "start", 0), ("last_0", "monitor", 0), ("monitor_10000", "monitor", 10_000),
           ("last_failure_0", "monitor", 10_000), ("stop_0", "stop", 0))
ATTRIBUTES = ("standby", "maintenance", "site", "#health")


@dataclass
class Touched:
    """What writes since the previous snapshot may have changed."""

    nodes: set[str] = field(default_factory=set)
    histories: set[tuple[str, str]] = field(default_factory=set)
    config: bool = False


Write = Callable[[Store], Awaitable[int]]


def random_write(rng: random.Random, call: int, touched: Touched) -> Write:
    node = rng.choice(NODES)
    rsc = rng.choice(RESOURCES)
    kind = rng.choices(
        ["record", "forget_ops", "forget_rsc", "clear", "attr", "state", "remove", "config"],
        weights=[40, 8, 5, 6, 12, 6, 3, 3],
    )[0]
    if kind == "config":
        touched.config = True
        nodes = tuple(Node(id=f"{name}-id{rng.randint(0, 2)}", uname=name)
                      for name in rng.sample(NODES, rng.randint(0, len(NODES))))
        wanted = Config(nodes=nodes)

        async def put_config(store: Store) -> int:
            _config, revision = await store.get_config()
            return await store.put_config(wanted, revision)

        return put_config
    touched.nodes.add(node)
    if kind == "record":
        touched.histories.add((node, rsc))
        key, operation, interval = rng.choice(OP_KEYS)
        rc = rng.choice([0, 0, 0, 7, 1])
        record = OpRecord(
            id=f"{rsc}_{key}", operation=operation, interval_ms=interval, rc=rc, op_status=0,
            call_id=call, on_node=node, op_digest=rng.choice([None, "abc", "def"]),
            last_rc_change=1_700_000_000 + call if rng.random() < 0.8 else None,
        )
        also = ()
        if rc and rng.random() < 0.5:
            also = (record._replace(id=f"{rsc}_last_failure_0"),)
        ref = ResourceRef(rsc, "ocf", rng.choice(["heartbeat", "pacemaker"]), "Dummy")
        delta = rng.choice([0, 0, 1, 1, 2, INFINITY]) if rc else 0
        attributes = {rng.choice(ATTRIBUTES): rng.choice([None, "on", "off"])} if rng.random() < 0.3 else None
        return lambda store: store.record_operation(
            node, ref, record, failcount_delta=delta, attributes=attributes, also=also,
            meta={"k": str(call)},
        )
    if kind == "forget_ops":
        touched.histories.add((node, rsc))
        doomed = [f"{rsc}_{key}" for key, _, _ in rng.sample(OP_KEYS, rng.randint(1, 3))] + ["nothing"]
        return lambda store: store.forget_operations(node, rsc, doomed)
    if kind == "forget_rsc":
        touched.histories.add((node, rsc))
        return lambda store: store.forget_resource(node, rsc)
    if kind == "clear":
        operation = rng.choice([None, "monitor", "start"])
        return lambda store: store.clear_failcount(node, rsc.split(":")[0], operation)
    if kind == "attr":
        name = rng.choice(ATTRIBUTES)
        value = rng.choice([None, None, "on", "off", "1"])
        return lambda store: store.set_node_attribute(node, name, value)
    if kind == "state":
        state = NodeState(
            id=rng.choice([node, f"{node}-x"]), uname=node, in_ccm=rng.choice([None, "true"]),
            crmd=rng.choice(["online", "offline"]), extra_attributes=(("shutdown", str(rng.randint(0, 1))),),
        )
        return lambda store: store.set_node_state(state)
    touched.histories.update((node, r) for r in RESOURCES)
    return lambda store: store.remove_node(node)


def check_sharing(previous: Snapshot, current: Snapshot, touched: Touched) -> None:
    if not touched.config:
        assert current.cluster.config is previous.cluster.config
    before = {state.uname: state for state in previous.cluster.status.nodes}
    for state in current.cluster.status.nodes:
        old = before.get(state.uname)
        if old is None:
            continue
        if state.uname not in touched.nodes and (not touched.config or state.id == old.id):
            assert state is old, state.uname
        old_histories: dict[str, ResourceHistory] = {h.id: h for h in old.resources}
        for history in state.resources:
            if (state.uname, history.id) not in touched.histories and history.id in old_histories:
                assert history is old_histories[history.id], (state.uname, history.id)


async def scenario(path: Path, seed: int, steps: int) -> tuple[int, int]:
    rng = random.Random(seed)
    url = sqlite_url(path)
    a = SQLiteStore(url, path)
    b = SQLiteStore(url, path)
    lagging = SQLiteStore(url, path)  # reads rarely, so it catches up many revisions at once
    memory = MemoryStore()
    previous = await a.snapshot()
    previous_memory = await memory.snapshot()
    touched = Touched()
    shared = 0
    try:
        for step in range(steps):
            write = random_write(rng, step + 1, touched)
            writer = b if rng.random() < 0.3 else a
            revision = await write(writer)
            assert await write(memory) == revision
            if rng.random() < 0.3:
                continue  # let the next snapshot catch up several writes
            current = await a.snapshot()
            fresh_store = SQLiteStore(url, path)
            try:
                fresh = await fresh_store.snapshot()
            finally:
                await fresh_store.close()
            assert current == fresh
            current_memory = await memory.snapshot()
            assert current_memory.cluster == current.cluster
            assert current_memory.revision == current.revision
            check_sharing(previous, current, touched)
            check_sharing(previous_memory, current_memory, touched)
            shared += sum(state is old for state, old in
                          zip(current.cluster.status.nodes, previous.cluster.status.nodes, strict=False))
            previous, previous_memory, touched = current, current_memory, Touched()
            if rng.random() < 0.1:
                assert await lagging.snapshot() == current
        return (await a.revision()), shared
    finally:
        for store in (a, b, lagging, memory):
            await store.close()


@pytest.mark.parametrize("seed", range(6))
def test_incremental_snapshots_equal_full_reads_and_share_the_unchanged(tmp_path: Path, seed: int) -> None:
    revision, shared = asyncio.run(scenario(tmp_path / "vigil.db", seed, 250))
    assert revision > 150
    assert shared > 20  # sharing did happen


def test_a_reader_older_than_the_kept_tombstones_reads_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With tombstones pruned after a few revisions, lagging readers fall back to a full read."""
    monkeypatch.setattr(sqlite_module, "DELETIONS_RETENTION", 3)
    asyncio.run(scenario(tmp_path / "vigil.db", 99, 250))
    conn = sqlite3.connect(tmp_path / "vigil.db")
    horizon = conn.execute("SELECT revision FROM deletions_horizon").fetchone()[0]
    oldest = conn.execute("SELECT min(revision) FROM deletions").fetchone()[0]
    conn.close()
    assert horizon > 100
    assert oldest is None or oldest > horizon


def test_a_forgotten_operation_and_attribute_leave_the_rest_shared(tmp_path: Path) -> None:
    async def body() -> None:
        path = tmp_path / "vigil.db"
        async with SQLiteStore(sqlite_url(path), path) as store:
            ref = ResourceRef("r1", "ocf", "pacemaker", "Dummy")
            other = ResourceRef("r2", "ocf", "pacemaker", "Dummy")
            monitor = OpRecord("r1_monitor_10000", "monitor", 10_000, 7, 0, 2, last_rc_change=5)
            await store.record_operation("n1", ref, OpRecord("r1_last_0", "start", 0, 0, 0, 1))
            await store.record_operation("n1", ref, monitor, failcount_delta=1)
            await store.record_operation("n1", other, OpRecord("r2_last_0", "start", 0, 0, 0, 3))
            await store.record_operation("n2", other, OpRecord("r2_last_0", "monitor", 0, 7, 0, 4))
            first = await store.snapshot()
            await store.forget_operations("n1", "r1", ["r1_monitor_10000"])
            await store.clear_failcount("n1", "r1")
            second = await store.snapshot()
            n1_before, n2_before = first.cluster.status.nodes
            n1_after, n2_after = second.cluster.status.nodes
            assert n2_after is n2_before
            assert n1_after is not n1_before
            assert n1_after.attributes == ()
            assert n1_after.resources[1] is n1_before.resources[1]  # r2 untouched
            assert [op.id for op in n1_after.resources[0].ops] == ["r1_last_0"]
            assert second.cluster.config is first.cluster.config

    asyncio.run(body())
