"""The etcd store's watch-fed cache: everything under ``d/``, loaded once and kept up to date by a watch.

Its own module because it is the store's one long-lived reader: it loads
every data key in pages at one revision, then applies each watch event to
the per-node tables of :mod:`vigil.store.state`, so that a snapshot rebuilds
only what changed (the package docstring, "The watch-fed cache").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from vigil.model.status import OpRecord, Ticket
from vigil.store.base import Change, LogEntry, ResourceRef, StoreError
from vigil.store.codec import decode_node, decode_record, decode_resource, decode_ticket
from vigil.store.etcd.channel import CALL_TIMEOUT_S, Compacted, is_compacted, rpc
from vigil.store.etcd.client import EtcdClient
from vigil.store.etcd.keys import KeyLayout, name_of, prefix_end
from vigil.store.notify import LocalNotifier
from vigil.store.state import NodeData, adopt

# Keys per page of the first read; a page of history records stays well under gRPC's 4 MB.
PAGE_KEYS = 5000


@dataclass
class CachedData:
    """Everything under ``d/`` as of ``revision`` (the last applied event, or the first read's)."""

    revision: int = 0
    head: int = 0  # d/head's mod revision: the last data commit applied
    nodes: dict[str, NodeData] = field(default_factory=dict)
    meta: dict[str, Any] | None = None
    config_revision: int = 0
    blobs: dict[bytes, bytes] = field(default_factory=dict)
    # log key -> (create revision, the stored bytes), in commit order; decoded when first asked for
    log: dict[bytes, tuple[int, bytes]] = field(default_factory=dict)
    decoded: dict[bytes, LogEntry] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)



class DataCache:
    """A store object's :class:`CachedData`, its first read and the watch that follows it.

    Runs on the store's private loop.  ``on_reload`` runs when the cache was
    read whole again (after a compaction cut its watch off).
    """

    def __init__(self, client: EtcdClient, keys: KeyLayout, url: str, notifier: LocalNotifier,
                 on_reload: Callable[[], None]) -> None:
        self._client = client
        self._keys = keys
        self.url = url
        self._notifier = notifier
        self._on_reload = on_reload
        self.cache: CachedData | None = None
        self._applied: asyncio.Condition | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._loading: asyncio.Lock | None = None
        self._refs: dict[bytes, ResourceRef] = {}

    def start(self) -> None:
        """On the private loop, when the first channel opens."""
        self._applied = asyncio.Condition()
        self._loading = asyncio.Lock()

    def restart_watch(self) -> None:
        """After the channel moved to another member: the watch on the new channel."""
        if self._watch_task is not None:
            self._watch_task.cancel()  # it resumes from the cache's revision on the new channel
            self._watch_task = asyncio.get_running_loop().create_task(self._watch_loop())

    async def ensure(self) -> CachedData:
        if self.cache is not None:
            return self.cache
        assert self._loading is not None
        async with self._loading:
            if self.cache is None:
                self.cache = await self._load(None)
                self._watch_task = asyncio.get_running_loop().create_task(self._watch_loop())
        return self.cache

    async def _load(self, previous: CachedData | None) -> CachedData:
        """Every ``d/`` key in pages at one revision; the objects of ``previous`` reused where equal."""
        while True:
            cache = CachedData()
            key, end, revision = self._keys.data, prefix_end(self._keys.data), 0
            try:
                while True:
                    page = await self._client.range(key, end, limit=PAGE_KEYS, revision=revision)
                    if revision == 0:
                        revision = int(page.header.revision)
                    for kv in page.kvs:
                        self._apply_put(cache, kv)
                    if not page.more or not page.kvs:
                        break
                    key = bytes(page.kvs[-1].key) + b"\0"
            except Exception as error:
                if is_compacted(error):
                    continue  # compacted while reading: read again at a newer revision
                raise
            cache.revision = revision
            ordered = sorted(cache.log.items(), key=lambda item: item[1][0])
            cache.log = dict(ordered)
            if previous is not None:
                adopt(previous.nodes, cache.nodes)
            return cache

    async def _watch_loop(self) -> None:
        """Apply every event after the cache's revision, for as long as the store is open."""
        while not self._client.closed:
            cache = self.cache
            assert cache is not None
            try:
                await self._follow(cache)
            except asyncio.CancelledError:
                raise
            except Compacted:
                try:
                    self.cache = await self._load(cache)
                except Exception:
                    await asyncio.sleep(0.5)
                    continue
                self._on_reload()
                await self._announce(self.cache)
            except Exception:
                await asyncio.sleep(0.5)  # a cut: resume from the last applied revision

    async def _follow(self, cache: CachedData) -> None:
        start = cache.revision + 1
        stop = asyncio.Event()

        async def requests() -> AsyncIterator[Any]:
            create = rpc.WatchCreateRequest(
                key=self._keys.data, range_end=prefix_end(self._keys.data), start_revision=start
            )
            yield rpc.WatchRequest(create_request=create)
            await stop.wait()

        call = self._client.watch(requests())
        try:
            async for response in call:
                if response.compact_revision:
                    raise Compacted()
                if response.canceled:
                    raise StoreError(f"etcd cancelled the watch: {response.cancel_reason}")
                if not response.events:
                    continue
                for event in response.events:
                    if event.type == rpc.Event.DELETE:
                        self._apply_delete(cache, event.kv)
                    else:
                        self._apply_put(cache, event.kv)
                cache.revision = max(int(event.kv.mod_revision) for event in response.events)
                await self._announce(cache)
        finally:
            stop.set()
            call.cancel()

    async def _announce(self, cache: CachedData) -> None:
        assert self._applied is not None
        async with self._applied:
            self._applied.notify_all()
        self._notifier.publish(Change(cache.revision, cache.config_revision))

    async def sync(self) -> tuple[CachedData, int]:
        """The cache brought up to every data commit before this call; the revision it stands for."""
        cache = await self.ensure()
        head = await self._client.range(self._keys.head)
        wanted = int(head.kvs[0].mod_revision) if head.kvs else 0
        now = int(head.header.revision)
        assert self._applied is not None
        try:
            async with self._applied:
                await asyncio.wait_for(
                    self._applied.wait_for(lambda: self.current().head >= wanted), CALL_TIMEOUT_S
                )
        except TimeoutError:
            raise StoreError(
                f"the watch on etcd at {self._client.target} did not deliver revision {wanted} within "
                f"{CALL_TIMEOUT_S:.0f} s (the connection is down, or etcd is overloaded)"
            ) from None
        cache = self.current()
        return cache, max(now, cache.revision)

    def current(self) -> CachedData:
        assert self.cache is not None
        return self.cache

    def _apply_put(self, cache: CachedData, kv: Any) -> None:
        key = bytes(kv.key)
        value = bytes(kv.value)
        if key == self._keys.head:
            cache.head = int(kv.mod_revision)
        elif key == self._keys.meta:
            cache.meta = json.loads(value)
            cache.config_revision = int(kv.mod_revision)
        elif key.startswith(self._keys.blob):
            cache.blobs[key] = value
        elif key.startswith(self._keys.log):
            cache.log[key] = (int(kv.create_revision), value)
            cache.decoded.pop(key, None)
        elif key.startswith(self._keys.status):
            self._apply_status(cache, key, value)
        elif key.startswith(self._keys.tickets):
            ident = name_of(key[len(self._keys.tickets):])
            cache.tickets[ident] = decode_ticket(ident, value.decode(), f"{self.url} ticket {ident!r}")

    def _apply_delete(self, cache: CachedData, kv: Any) -> None:
        key = bytes(kv.key)
        if key == self._keys.meta:
            cache.meta, cache.config_revision = None, 0
        elif key.startswith(self._keys.blob):
            cache.blobs.pop(key, None)
        elif key.startswith(self._keys.log):
            cache.log.pop(key, None)
            cache.decoded.pop(key, None)
        elif key.startswith(self._keys.status):
            self._apply_status(cache, key, None)
        elif key.startswith(self._keys.tickets):
            cache.tickets.pop(name_of(key[len(self._keys.tickets):]), None)

    def _apply_status(self, cache: CachedData, key: bytes, value: bytes | None) -> None:
        parts = key[len(self._keys.status):].split(b"/")
        node = name_of(parts[0])
        kind = parts[1] if len(parts) > 1 else b""
        where = f"{self.url} node {node}"
        data = cache.nodes.get(node)
        if value is None and data is None:
            return
        if data is None:
            data = cache.nodes[node] = NodeData()
        if kind == b"n":
            data.state = None if value is None else decode_node(value.decode(), where)
            data.changed()
        elif kind == b"a":
            name = name_of(parts[2])
            if value is None:
                data.attributes.pop(name, None)
            else:
                data.attributes[name] = value.decode()
            data.changed()
        elif kind == b"h":
            rsc = name_of(parts[2])
            if value is None:
                data.remove_history(rsc)
            else:
                # The same reference is stored on every node that ran the resource: decoded once.
                ref = self._refs.get(value)
                if ref is None:
                    ref = decode_resource(value.decode(), f"{where} resource {rsc}")
                    if len(self._refs) > 100_000:
                        self._refs.clear()
                    self._refs[value] = ref
                data.cache_resource(rsc, ref)
        elif kind == b"o":
            rsc, op_id = name_of(parts[2]), name_of(parts[3])
            history = data.histories.get(rsc)
            if value is None:
                if history is not None and history.ops.pop(op_id, None) is not None:
                    data.history_changed(rsc)
            else:
                if history is None:  # written in the same transaction as its resource, after it
                    raise StoreError(f"{where}: operation {op_id} of {rsc} without its resource: damaged")
                # The cache is this store object's own: changed in place, as the SQLite cache is.
                history.ops[op_id] = decode_record(value.decode(), f"{where} resource {rsc} op {op_id}")
                data.history_changed(rsc)
        if data.is_empty():
            del cache.nodes[node]

    def log_entries(self, cache: CachedData) -> Iterable[LogEntry]:
        """The log in commit order, each entry decoded once (a first read decodes none of them)."""
        decoded = cache.decoded
        for key, (revision, value) in cache.log.items():
            entry = decoded.get(key)
            if entry is None:
                entry = decoded[key] = self._decode_log(value, revision)
            yield entry

    def _decode_log(self, value: bytes, revision: int) -> LogEntry:
        where = f"{self.url} operation log"
        try:
            fields = json.loads(value)
            record = OpRecord(**fields["record"])
            meta = tuple((str(k), str(v)) for k, v in sorted(fields.get("meta", {}).items()))
            return LogEntry(revision, str(fields["node"]), str(fields["rsc"]), record, meta)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise StoreError(f"{where}: an entry is damaged") from None
