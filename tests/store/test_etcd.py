"""What only the etcd store can show, against the session's real etcd server.

The watch-fed cache (equal to a full read after random writes, sharing what
did not change, surviving a compaction while it was cut off), the paged
first read, a configuration too large for one request written in chunks
with one deciding compare-and-set, the pruned operation log, several
endpoints in one URL, and a benchmark-shaped cluster read back equal.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

import pytest

import vigil.store.etcd.cache as etcd_cache_module
import vigil.store.etcd.config as etcd_config_module
import vigil.store.etcd.store as etcd_module
from tests.store.conftest import etcd_url, run
from tests.store.etcd_server import EtcdServer, free_port
from tests.store.test_incremental import Touched, check_sharing, random_write
from vigil.formats.cib.load import load_cib
from vigil.model.config import Config, Primitive
from vigil.model.status import OpRecord
from vigil.store import MemoryStore, ResourceRef, RevisionConflict, StoreError, open_store
from vigil.store.etcd import EtcdStore, prefix_end

FULL = Path(__file__).resolve().parents[1] / "data" / "cib" / "full.xml"
OTHER = FULL.with_name("group-restarts-after-its-first.xml")
BENCH = Path(__file__).resolve().parents[2] / "bench" / "store"


def etcd(server: EtcdServer, url: str | None = None) -> EtcdStore:
    store = open_store(url or etcd_url(server))
    assert isinstance(store, EtcdStore)
    return store


async def raw_keys(store: EtcdStore, prefix: bytes) -> list[bytes]:
    async def work() -> list[bytes]:
        found = await store._client.range(prefix, prefix_end(prefix), keys_only=True)
        return [bytes(kv.key) for kv in found.kvs]

    return await store._client.run("listing keys", work)


@pytest.mark.parametrize("seed", range(2))
def test_the_watch_fed_cache_equals_a_full_read_and_shares_the_unchanged(
    etcd_server: EtcdServer, seed: int
) -> None:
    async def main() -> None:
        rng = random.Random(seed)
        url = etcd_url(etcd_server)
        a, b, memory = etcd(etcd_server, url), etcd(etcd_server, url), MemoryStore()
        previous, previous_memory = await a.snapshot(), await memory.snapshot()
        touched = Touched()
        shared = 0
        try:
            for step in range(120):
                write = random_write(rng, step + 1, touched)
                await write(b if rng.random() < 0.3 else a)
                await write(memory)
                if rng.random() < 0.3:
                    continue
                current = await a.snapshot()
                async with etcd(etcd_server, url) as fresh_store:
                    fresh = await fresh_store.snapshot()
                assert current.cluster == fresh.cluster and current.revision == fresh.revision
                assert current.cluster == (await memory.snapshot()).cluster
                check_sharing(previous, current, touched)
                shared += sum(s is o for s, o in zip(current.cluster.status.nodes,
                                                     previous.cluster.status.nodes, strict=False))
                previous, touched = current, Touched()
            assert shared > 10
            assert [e.record for e in await a.operation_log(limit=10_000)] == [
                e.record for e in await memory.operation_log(limit=10_000)
            ]
        finally:
            for store in (a, b, memory):
                await store.close()
        del previous_memory

    run(main())


def test_a_cache_cut_off_across_a_compaction_reads_everything_again(etcd_server: EtcdServer) -> None:
    async def main() -> None:
        url = etcd_url(etcd_server)
        ref = ResourceRef("r1", "ocf", "pacemaker", "Dummy")
        async with etcd(etcd_server, url) as a, etcd(etcd_server, url) as b:
            await a.record_operation("n1", ref, OpRecord("r1_last_0", "start", 0, 0, 0, 1))
            await a.record_operation("n2", ref, OpRecord("r1_last_0", "start", 0, 0, 0, 2))
            before = await a.snapshot()

            async def cut() -> None:  # as a broken connection would
                assert a._data_cache._watch_task is not None
                a._data_cache._watch_task.cancel()

            await a._client._thread.call(cut())
            await b.record_operation("n1", ref, OpRecord("r1_last_0", "stop", 0, 0, 0, 3))
            await b.remove_node("n3")
            await b.set_node_attribute("n3", "x", "1")
            assert await b.compact_history(keep=0) > before.revision  # the cut-off revisions are gone

            async def resume() -> None:
                a._data_cache.restart_watch()  # the task above was cancelled: a new one

            await a._client._thread.call(resume())
            after = await a.snapshot()
            async with etcd(etcd_server, url) as fresh:
                assert after.cluster == (await fresh.snapshot()).cluster
            n2_before = before.cluster.status.node("n2")
            assert after.cluster.status.node("n2") is n2_before  # still shared after the re-read
            assert after.cluster.status.node("n1") != before.cluster.status.node("n1")

    run(main())


def test_the_first_read_comes_in_pages_at_one_revision(
    etcd_server: EtcdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(etcd_cache_module, "PAGE_KEYS", 3)

    async def main() -> None:
        url = etcd_url(etcd_server)
        ref = ResourceRef("r1", "ocf", "pacemaker", "Dummy")
        async with etcd(etcd_server, url) as writer:
            for i in range(12):
                await writer.record_operation(f"n{i % 4}", ref, OpRecord("r1_last_0", "start", 0, 0, 0, i))
            expected = await writer.snapshot()
        async with etcd(etcd_server, url) as reader:
            got = await reader.snapshot()
        assert got == expected and len(got.cluster.status.nodes) == 4

    run(main())


def test_a_configuration_too_large_for_one_request_is_chunked_and_one_compare_decides(
    etcd_server: EtcdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(etcd_config_module, "INLINE_MAX", 600)
    monkeypatch.setattr(etcd_config_module, "CHUNK_BYTES", 500)
    config = load_cib(FULL)[0].config

    async def main() -> None:
        url = etcd_url(etcd_server)
        async with etcd(etcd_server, url) as store:
            revision = await store.put_config(config, 0)
            blobs = await raw_keys(store, store._keys.blob)
            assert len(blobs) > 1  # several chunks
            async with etcd(etcd_server, url) as reader:
                assert await reader.get_config() == (config, revision)
            # A loser's staged chunks are removed again; the winner's configuration stays.
            smaller = load_cib(OTHER)[0].config
            with pytest.raises(RevisionConflict):
                await store.put_config(smaller, 0)
            assert await raw_keys(store, store._keys.blob) == blobs
            second = await store.put_config(smaller, revision)
            assert await store.get_config() == (smaller, second)
            # The previous configuration's chunks went in the same transaction.
            assert not set(blobs) & set(await raw_keys(store, store._keys.blob))

    run(main())


def test_the_operation_log_is_pruned_by_the_writes(
    etcd_server: EtcdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(etcd_module, "LOG_RETENTION", 5)
    ref = ResourceRef("r1", "ocf", "pacemaker", "Dummy")

    async def main() -> None:
        async with etcd(etcd_server) as store:
            for call in range(12):
                await store.record_operation("n1", ref, OpRecord("r1_last_0", "start", 0, 0, 0, call))
                await store.snapshot()  # the cache learns of each entry
            log = await store.operation_log(limit=100)
            assert 5 <= len(log) <= 6 and log[-1].record.call_id == 11
            assert [e.record.call_id for e in log] == sorted(e.record.call_id for e in log)
            assert len(await raw_keys(store, store._keys.log)) == len(log)
        # A store object that never reads (a CLI, a loader) still prunes, now and then.
        monkeypatch.setattr(etcd_module, "PRUNE_EVERY", 4)
        async with etcd(etcd_server) as writer:
            for call in range(40):
                await writer.record_operation("n1", ref, OpRecord("r1_last_0", "start", 0, 0, 0, call))
            assert writer._data_cache.cache is None
            assert 5 <= len(await raw_keys(writer, writer._keys.log)) <= 5 + 4
            assert [e.record.call_id for e in await writer.operation_log(limit=5)] == [35, 36, 37, 38, 39]

    run(main())


def test_several_endpoints_in_one_url_skip_a_dead_one(etcd_server: EtcdServer) -> None:
    async def main() -> None:
        url = f"etcd://127.0.0.1:{free_port()},{etcd_server.endpoint}/several"
        async with open_store(url) as store:
            revision = await store.set_node_attribute("n1", "a", "1")
            assert (await store.snapshot()).revision >= revision

    run(main())


def test_a_benchmark_shaped_cluster_loads_into_etcd_and_reads_back_equal(etcd_server: EtcdServer) -> None:
    """The bench's workload at 4 x 150 (the 16 x 5000 check is bench/store/etcd_vs_sqlite.py)."""
    sys.path.insert(0, str(BENCH))
    try:
        import etcd_vs_sqlite as bench  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(BENCH))
    cib = bench.generate_cib(4, 150)
    if cib is None:
        pytest.skip("the shared workload generator (../shared/bench/gen_cib.py) is not here")
    cluster = load_cib(cib)[0]

    async def main() -> None:
        url = etcd_url(etcd_server)
        async with etcd(etcd_server, url) as store:
            await bench.load(store, cluster)
        async with etcd(etcd_server, url) as reader:
            snapshot = await reader.snapshot()
        assert snapshot.cluster.config == cluster.config
        assert snapshot.cluster.status == bench.comparable(cluster.status)

    run(main())


def test_primitive_names_with_slashes_stay_in_their_level(etcd_server: EtcdServer) -> None:
    async def main() -> None:
        config = Config(resources=(Primitive(id="a", cls="ocf", provider="pacemaker", type="Dummy"),))
        ref = ResourceRef("we/ird", "ocf", "pacemaker", "Dummy")
        async with etcd(etcd_server) as store:
            await store.put_config(config, 0)
            await store.record_operation("node/1", ref, OpRecord("we/ird_last_0", "start", 0, 0, 0, 1))
            await store.set_node_attribute("node/1", "a/b", "c")
            node = (await store.snapshot()).cluster.status.node("node/1")
            assert node is not None and node.attributes == (("a/b", "c"),)
            assert node.resources[0].id == "we/ird" and node.resources[0].ops[0].id == "we/ird_last_0"
            assert await store.remove_node("node/1") > 0
            assert (await store.snapshot()).cluster.status.nodes == ()

    run(main())


def test_the_store_compacts_etcd_history_by_itself(
    etcd_server: EtcdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monitor churn must not fill etcd's quota: old revisions are compacted away periodically."""
    monkeypatch.setattr(etcd_module, "COMPACT_INTERVAL_S", 0.2)
    monkeypatch.setattr(etcd_module, "COMPACT_KEEP", 5)

    async def main() -> None:
        async with etcd(etcd_server) as store:
            first = await store.set_node_attribute("n1", "a", "0")
            for i in range(1, 20):
                await store.set_node_attribute("n1", "a", str(i))
            await asyncio.sleep(0.6)

            async def old_read() -> None:
                await store._client.range(store._keys.head, revision=first)

            with pytest.raises(StoreError, match="compacted"):
                await store._client.run("reading an old revision", old_read)
            assert dict((await store.snapshot()).cluster.status.nodes[0].attributes) == {"a": "19"}

    run(main())
