"""How long the SQLite store takes to read a snapshot at 16 nodes x 5000 resources.

    .venv/bin/python bench/store/snapshot.py [--nodes 16] [--resources 5000] [--rounds 7]
                                             [--db PATH] [--json]

Builds (or, with ``--db`` naming an existing file, reuses) a SQLite store
whose status is a steady cluster written through vigil's own store API:
every node has a membership state; each resource runs on one node (a start
as ``RSC_last_0`` and a recurring monitor ``RSC_monitor_10000``) and has a
probe result (``RSC_last_0``, monitor rc 7) on every other node.  At
16 x 5000 that is 80 000 resource histories and 85 000 operation records.
Writing it takes a while (one commit per record; ``synchronous`` is turned
off on the generating connection only, to spare the fsyncs), so keep the
file with ``--db`` to time several code versions on the same data.  No
configuration is stored: this times the status, which is what grows.

Then it times, as the median of ``--rounds`` rounds (milliseconds):

* **full read**: the first ``snapshot()`` of a new store object on the file
  (every row decoded, every object built);
* **after one record_operation**: one monitor failure (rc 7, with its
  fail-count and last-failure) recorded through the same store object, then
  the next ``snapshot()`` (only the ``snapshot()`` is timed);
* **after a write by another store object**: the same, written through a
  second store object on the file (what the CLI does while the daemon runs).

Prints one line per measurement (or one JSON object with ``--json``); the
figures go in docs/benchmarks.md, "Store snapshots".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vigil.model.status import NodeState, OpRecord
from vigil.store import ResourceRef, SQLiteStore, sqlite_url


def node_name(index: int) -> str:
    return f"node{index + 1:03d}"


def resource_id(index: int) -> str:
    return f"rsc{index + 1:05d}"


def ref(rsc: str) -> ResourceRef:
    return ResourceRef(rsc, "ocf", "pacemaker", "Dummy")


def record(
    rsc: str, key: str, operation: str, interval_ms: int, rc: int, call_id: int, node: str
) -> OpRecord:
    return OpRecord(
        id=f"{rsc}_{key}", operation=operation, interval_ms=interval_ms, rc=rc, op_status=0,
        call_id=call_id, on_node=node, op_digest="f2317cad3d54cec5d7d7aa7d0bf35cf8",
        last_rc_change=1_700_000_000, last_run=1_700_000_000, exec_time_ms=12, queue_time_ms=0,
        transition_key=f"1:0:{7 if rc == 7 else 0}:00000000-0000-0000-0000-000000000000",
    )


async def build(path: Path, nodes: int, resources: int) -> None:
    store = SQLiteStore(sqlite_url(path), path)
    store._conn.execute("PRAGMA synchronous = OFF")  # generation only: no fsync per commit
    try:
        for n in range(nodes):
            name = node_name(n)
            await store.set_node_state(NodeState(id=str(n + 1), uname=name, in_ccm="true",
                                                 crmd="online", join="member", expected="member"))
        call = 0
        for r in range(resources):
            rsc = resource_id(r)
            home = r % nodes
            for n in range(nodes):
                name = node_name(n)
                call += 1
                if n == home:
                    started = record(rsc, "last_0", "start", 0, 0, call, name)
                    await store.record_operation(name, ref(rsc), started)
                    monitor = record(rsc, "monitor_10000", "monitor", 10_000, 0, call + 1, name)
                    await store.record_operation(name, ref(rsc), monitor)
                else:
                    probe = record(rsc, "last_0", "monitor", 0, 7, call, name)
                    await store.record_operation(name, ref(rsc), probe)
            if r % 500 == 499:
                print(f"  ... {r + 1} resources written", file=sys.stderr)
    finally:
        await store.close()


async def timed_snapshot(store: SQLiteStore) -> float:
    start = time.perf_counter()
    await store.snapshot()
    return (time.perf_counter() - start) * 1000


async def measure(path: Path, nodes: int, resources: int, rounds: int) -> dict[str, float]:
    url = sqlite_url(path)
    full: list[float] = []
    for _ in range(rounds):
        store = SQLiteStore(url, path)
        full.append(await timed_snapshot(store))
        await store.close()

    async def failures(writer: SQLiteStore, reader: SQLiteStore, salt: int) -> list[float]:
        times = []
        await reader.snapshot()
        for i in range(rounds):
            r = (salt * 7919 + i * 104_729) % resources
            rsc, name = resource_id(r), node_name(r % nodes)
            failed = record(rsc, "monitor_10000", "monitor", 10_000, 7, 10_000_000 + salt * 1000 + i, name)
            await writer.record_operation(name, ref(rsc), failed, failcount_delta=1,
                                          failed_at=1_700_000_100 + i)
            times.append(await timed_snapshot(reader))
        return times

    daemon = SQLiteStore(url, path)
    other = SQLiteStore(url, path)
    try:
        same = await failures(daemon, daemon, 1)
        cross = await failures(other, daemon, 2)
    finally:
        await other.close()
        await daemon.close()
    return {
        "full read": statistics.median(full),
        "after one record_operation": statistics.median(same),
        "after a write by another store object": statistics.median(cross),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--resources", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--db", type=Path, help="the store file (built there if missing, reused if present)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.db or Path(scratch) / "vigil.db"
        if not path.exists():
            print(f"building {args.nodes} nodes x {args.resources} resources in {path}", file=sys.stderr)
            started = time.perf_counter()
            asyncio.run(build(path, args.nodes, args.resources))
            print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        results = asyncio.run(measure(path, args.nodes, args.resources, args.rounds))
    if args.json:
        print(json.dumps({key: round(value, 2) for key, value in results.items()}))
    else:
        for key, value in results.items():
            print(f"{key:40s} {value:10.2f} ms  (median of {args.rounds})")


if __name__ == "__main__":
    main()
