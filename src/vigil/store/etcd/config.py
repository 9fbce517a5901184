"""The etcd store's configuration: compressed, inline or in chunks, published by one compare-and-set.

Its own module because the configuration is the one value too large for a
single etcd request (the package docstring, "Large configurations"): it is
written as content-named chunks when it must be, and read back from the
chunks the cache holds, decoded once per config revision.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import zlib
from collections.abc import Callable

from vigil.model.config import Config
from vigil.store.base import Change, RevisionConflict, StoreError
from vigil.store.codec import decode_config, encode_config
from vigil.store.coord import Guard
from vigil.store.etcd.cache import CachedData
from vigil.store.etcd.client import EtcdClient, compare_op, delete_op, get_op, put_op
from vigil.store.etcd.coordination import EtcdCoordination
from vigil.store.etcd.keys import KeyLayout, prefix_end
from vigil.store.notify import LocalNotifier

# A compressed configuration up to this size is written inline, in the publishing transaction.
INLINE_MAX = 1024 * 1024
CHUNK_BYTES = 512 * 1024


class EtcdConfig:
    """The store's configuration: written by :meth:`put`, read from the cache by :meth:`of`.

    ``fault`` is the store's fault hook (tests stop a write at a named step).
    """

    def __init__(self, client: EtcdClient, keys: KeyLayout, coordination: EtcdCoordination, url: str,
                 notifier: LocalNotifier, fault: Callable[[str], None]) -> None:
        self._client = client
        self._keys = keys
        self._coordination = coordination
        self.url = url
        self._notifier = notifier
        self._fault = fault
        # The configuration as of a config revision, decoded (or written) once.
        self.cached: tuple[int, Config] = (0, Config())

    async def of(self, cache: CachedData) -> Config:
        revision = cache.config_revision
        if self.cached[0] == revision:
            return self.cached[1]
        meta = cache.meta
        if meta is None:
            config = Config()
        else:
            sha = str(meta["sha"])
            base = self._keys.blob + sha.encode() + b"/"
            try:
                data = b"".join(cache.blobs[base + b"%04d" % i] for i in range(int(meta["chunks"])))
            except KeyError:
                raise StoreError(f"{self.url}: a chunk of the configuration is missing: damaged") from None
            where = f"{self.url} (configuration revision {revision})"
            config = await asyncio.to_thread(_decode_blob, data, sha, where)
        self.cached = (revision, config)
        return config

    async def put(self, config: Config, expected_revision: int, *, guard: Guard | None = None) -> int:
        data = await asyncio.to_thread(_encode_blob, config)
        sha = hashlib.sha256(data).hexdigest()[:32]
        chunks = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
        base = self._keys.blob + sha.encode() + b"/"
        meta = json.dumps({"sha": sha, "chunks": len(chunks), "size": len(data)}).encode()

        async def work() -> int:
            current = await self._client.range(self._keys.meta)
            actual = int(current.kvs[0].mod_revision) if current.kvs else 0
            if actual != expected_revision:
                await self._coordination.check_guard(guard)
                raise RevisionConflict(expected_revision, actual)
            old_sha = str(json.loads(bytes(current.kvs[0].value))["sha"]) if current.kvs else None
            puts = [put_op(base + b"%04d" % i, chunk) for i, chunk in enumerate(chunks)]
            inline = len(data) <= INLINE_MAX
            if not inline:
                for put in puts:  # staged: invisible until the meta key points at them
                    await self._client.txn([], [put])
                puts = []
            ops = [*puts, put_op(self._keys.meta, meta)]
            if old_sha is not None and old_sha != sha:
                old = self._keys.blob + old_sha.encode() + b"/"
                ops.append(delete_op(old, prefix_end(old)))
            self._fault("put_config")
            response = await self._client.txn(
                [compare_op(self._keys.meta, "MOD", expected_revision),
                 *self._coordination.guard_compares(guard)],
                [*ops, put_op(self._keys.head, b"")],
                [get_op(self._keys.meta), *self._coordination.guard_failure(guard)],
            )
            revision = int(response.header.revision)
            if not response.succeeded:
                self._coordination.check_guard_response(guard, response, 1)
                kvs = response.responses[0].response_range.kvs
                if not inline and (not kvs or json.loads(bytes(kvs[0].value)).get("sha") != sha):
                    await self._client.txn([], [delete_op(base, prefix_end(base))])
                raise RevisionConflict(expected_revision, int(kvs[0].mod_revision) if kvs else 0)
            self.cached = (revision, config)
            self._notifier.publish(Change(revision, revision))
            return revision

        return await self._client.run("writing the configuration", work)


def _encode_blob(config: Config) -> bytes:
    return zlib.compress(encode_config(config), 6)


def _decode_blob(data: bytes, sha: str, where: str) -> Config:
    if hashlib.sha256(data).hexdigest()[:32] != sha:
        raise StoreError(f"{where}: the stored configuration does not match its checksum: damaged")
    try:
        return decode_config(zlib.decompress(data), where)
    except zlib.error:
        raise StoreError(f"{where}: the stored configuration does not decompress: damaged") from None
