"""The etcd store beside the SQLite store, on the benchmark cluster: what a controller pays.

    .venv/bin/python bench/store/etcd_vs_sqlite.py [--size 16x1000 --size 16x5000] [--rounds 5]
                                                   [--etcd HOST:PORT] [--json]

For each size, generates the shared workload (``../shared/bench/gen_cib.py
--nodes N --resources M --seed 1``: configuration and a steady status), loads
it into a fresh SQLite store and a fresh etcd cluster name through vigil's
own store API (the configuration with ``put_config``, then every node state,
attribute and resource history, one ``record_operation`` per history with
its records), checks that what each store reads back equals the generated
cluster (the configuration, and the status against a memory store loaded the
same way), and then times, as medians of ``--rounds`` (milliseconds):

* **first read**: the first ``snapshot()`` of a new store object (etcd: the
  paged read at one revision; SQLite: every row);
* **snapshot after one change**: one monitor failure with its fail-count
  recorded through the same store object, then the next ``snapshot()``
  (only the snapshot is timed: what the controller pays per cycle);
* **configuration write**: ``put_config`` of the whole configuration
  (etcd: compressed, one compare-and-set; SQLite: one transaction).

Without ``--etcd`` it starts its own etcd (Debian's ``etcd-server``) on
127.0.0.1 with free ports and a temporary data directory, and stops it by
PID at the end.  Loading is the slow part (SQLite: one fsync per commit is
turned off on the loading connection; etcd: 64 writes in flight).  The
figures go in docs/benchmarks.md, "The etcd store beside SQLite".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GEN = REPO.parent / "shared" / "bench" / "gen_cib.py"
sys.path.insert(0, str(REPO))

from vigil.formats.cib.load import load_cib  # noqa: E402
from vigil.model.cluster import Cluster  # noqa: E402
from vigil.model.status import OpRecord, Status  # noqa: E402
from vigil.store import MemoryStore, ResourceRef, SQLiteStore, Store, open_store, sqlite_url  # noqa: E402

IN_FLIGHT = 64


def generate_cib(nodes: int, resources: int, directory: Path | None = None) -> Path | None:
    """The shared workload's CIB at this size, or None when the generator is not there."""
    if not GEN.exists():
        return None
    where = directory or Path(tempfile.gettempdir())
    out = where / f"vigil-bench-{nodes}x{resources}.xml"
    if not out.exists():
        subprocess.run(
            [sys.executable, str(GEN), "--nodes", str(nodes), "--resources", str(resources), "--seed", "1",
             "-o", str(out)],
            check=True,
        )
    return out


async def load(store: Store, cluster: Cluster, in_flight: int = IN_FLIGHT) -> None:
    """Write ``cluster`` through the store API: what a real cluster's writes would leave."""
    await store.put_config(cluster.config, (await store.get_config())[1])
    gate = asyncio.Semaphore(in_flight)

    async def bounded(write: asyncio.Future[int] | object) -> None:
        async with gate:
            await write  # type: ignore[misc]

    jobs = []
    for state in cluster.status.nodes:
        await store.set_node_state(replace(state, attributes=(), resources=()))
        for name, value in state.attributes:
            jobs.append(store.set_node_attribute(state.uname, name, value))
        for history in state.resources:
            if not history.ops:
                continue
            ref = ResourceRef(history.id, history.cls, history.provider, history.type, history.container)
            first, *rest = history.ops
            jobs.append(store.record_operation(state.uname, ref, first, also=tuple(rest)))
    await asyncio.gather(*(bounded(job) for job in jobs))


def comparable(status: Status) -> Status:
    """The status as a store keeps it: node states only (the ``<cib>`` attributes such as the DC
    are not status records), in key order (nodes, attributes, histories, records), no empty history."""
    return Status(nodes=tuple(
        replace(
            node,
            attributes=tuple(sorted(node.attributes)),
            resources=tuple(
                h._replace(ops=tuple(sorted(h.ops, key=lambda op: op.id)))
                for h in sorted(node.resources, key=lambda h: h.id) if h.ops
            ),
        )
        for node in sorted(status.nodes, key=lambda n: n.uname)
    ))


async def timed(coro: object) -> float:
    start = time.perf_counter()
    await coro  # type: ignore[misc]
    return (time.perf_counter() - start) * 1000


async def measure(url: str, cluster: Cluster, rounds: int, expected: Status) -> dict[str, float]:
    first: list[float] = []
    for _ in range(rounds):
        store = open_store(url)
        first.append(await timed(store.snapshot()))
        snapshot = await store.snapshot()
        await store.close()
    assert snapshot.cluster.config == cluster.config, "the configuration did not read back equal"
    assert snapshot.cluster.status == expected, "the status did not read back equal"

    store = open_store(url)
    after: list[float] = []
    writes: list[float] = []
    try:
        await store.snapshot()
        node = cluster.status.nodes[0]
        history = next(h for h in node.resources if h.ops)
        ref = ResourceRef(history.id, history.cls, history.provider, history.type)
        for i in range(rounds):
            failed = OpRecord(f"{history.id}_monitor_10000", "monitor", 10_000, 7, 0, 9_000_000 + i,
                              last_rc_change=1_700_000_100 + i)
            await store.record_operation(node.uname, ref, failed, failcount_delta=1)
            after.append(await timed(store.snapshot()))
        for _ in range(rounds):
            _, revision = await store.get_config()
            writes.append(await timed(store.put_config(cluster.config, revision)))
    finally:
        await store.close()
    return {
        "first read": statistics.median(first),
        "snapshot after one change": statistics.median(after),
        "configuration write": statistics.median(writes),
    }


async def bench_size(
    nodes: int, resources: int, rounds: int, etcd_endpoint: str, work: Path
) -> dict[str, object]:
    cib = generate_cib(nodes, resources, work)
    if cib is None:
        raise SystemExit(f"the workload generator {GEN} is missing")
    cluster = load_cib(cib)[0]
    reference = MemoryStore()
    await load(reference, cluster)
    expected = (await reference.snapshot()).cluster.status
    assert expected == comparable(cluster.status), "the workload does not fit the store contract"
    result: dict[str, object] = {"size": f"{nodes}x{resources}", "cib_bytes": cib.stat().st_size}
    db = work / f"bench-{nodes}x{resources}.db"
    db.unlink(missing_ok=True)
    sqlite = SQLiteStore(sqlite_url(db), db)
    sqlite._conn.execute("PRAGMA synchronous = OFF")  # loading only
    started = time.perf_counter()
    await load(sqlite, cluster, in_flight=1)
    await sqlite.close()
    result["sqlite load s"] = round(time.perf_counter() - started, 1)
    result["sqlite"] = await measure(sqlite_url(db), cluster, rounds, expected)
    url = f"etcd://{etcd_endpoint}/bench-{uuid.uuid4().hex[:8]}"
    store = open_store(url)
    started = time.perf_counter()
    await load(store, cluster)
    await store.close()
    result["etcd load s"] = round(time.perf_counter() - started, 1)
    result["etcd"] = await measure(url, cluster, rounds, expected)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", action="append",
                        help="NODESxRESOURCES (repeatable; default 16x1000 and 16x5000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--etcd", help="HOST:PORT of an etcd to use (default: start one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in s.lower().split("x")) for s in (args.size or ["16x1000", "16x5000"])]
    server = None
    if args.etcd is None:
        from tests.store.etcd_server import etcd_binary, start_etcd

        binary = etcd_binary()
        if binary is None:
            raise SystemExit("no etcd binary: run scripts/install-test-deps.sh or pass --etcd HOST:PORT")
        # A bigger quota than the 2 GiB default is not needed: the bench compacts nothing and stays small.
        server = start_etcd(binary)
        endpoint = server.endpoint
    else:
        endpoint = args.etcd
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="vigil-bench-store-") as tmp:
            for nodes, resources in sizes:
                result = asyncio.run(bench_size(nodes, resources, args.rounds, endpoint, Path(tmp)))
                results.append(result)
                if not args.json:
                    size_mb = float(str(result["cib_bytes"])) / 1e6
                    print(f"{result['size']} (CIB {size_mb:.1f} MB; loaded in SQLite "
                          f"{result['sqlite load s']} s, etcd {result['etcd load s']} s; "
                          "both read back equal)")
                    for backend in ("sqlite", "etcd"):
                        figures = result[backend]
                        assert isinstance(figures, dict)
                        print(f"  {backend:7s}" + "".join(f"  {k}: {v:9.1f} ms" for k, v in figures.items()))
    finally:
        if server is not None:
            server.stop()
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
