"""The etcd store: :class:`~vigil.store.base.Store`'s contract on etcd (the package docstring says how)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, TypeVar

from vigil.model.activity import TransitionReport
from vigil.model.config import Config
from vigil.model.failcounts import failure_attribute_matcher
from vigil.model.resources import belongs_to
from vigil.model.status import NodeState, OpRecord, Ticket
from vigil.store.base import (
    FENCE_RETENTION,
    LOG_RETENTION,
    Capabilities,
    Change,
    FenceEntry,
    LogEntry,
    ResourceRef,
    RevisionConflict,
    Snapshot,
    Store,
    StoreError,
    WorkOrder,
    already_recorded,
    check_report_key,
    claimed_order,
    completed_order,
    fenced_state,
    kept_report_keys,
    log_matches,
    new_order,
    order_exists,
)
from vigil.store.codec import (
    decode_config,
    decode_fence_entry,
    decode_node,
    decode_record,
    decode_resource,
    decode_ticket,
    decode_transition_report,
    decode_work_order,
    encode_config,
    encode_fence_entry,
    encode_node,
    encode_record,
    encode_resource,
    encode_ticket,
    encode_transition_report,
    encode_work_order,
)
from vigil.store.coord import (
    LEADER_KEY,
    MEMBER_KEY,
    Guard,
    GuardLost,
    Lease,
    NodeNameTaken,
    check_ttl,
    holder_description,
)
from vigil.store.etcd.channel import (
    CALL_TIMEOUT_S,
    CHANNEL_OPTIONS,
    READ_TRY_S,
    Compacted,
    MemberSilent,
    channel_target,
    grpc,
    grpc_error,
    is_compacted,
    member_count,
    parse_url,
    require_client,
    rotated_target,
    rpc,
)
from vigil.store.etcd.keys import key_part, name_of, prefix_end
from vigil.store.etcd.lease import EtcdLease
from vigil.store.etcd.loop_thread import LoopGone, LoopThread
from vigil.store.notify import LocalNotifier
from vigil.store.state import NodeData, adopt, build_cluster, failure_updates

T = TypeVar("T")

# Keys per page of the first read; a page of history records stays well under gRPC's 4 MB.
PAGE_KEYS = 5000
# A compressed configuration up to this size is written inline, in the publishing transaction.
INLINE_MAX = 1024 * 1024
CHUNK_BYTES = 512 * 1024
# How long a channel left for another member stays open for the calls still running on it.
RETIRED_CHANNEL_S = CALL_TIMEOUT_S
COMPACT_INTERVAL_S = 300.0
COMPACT_KEEP = 10_000
# Log entries pruned per write at most (etcd allows 128 operations per transaction), and, for a
# store object without a cache, how often it looks for entries to prune and how many it prunes then.
PRUNE_PER_WRITE = 32
PRUNE_EVERY = 16
PRUNE_WITHOUT_CACHE = 64


# -- the cache -----------------------------------------------------------------------------------


@dataclass
class _Cache:
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


class EtcdStore(Store):
    capabilities: ClassVar[Capabilities] = Capabilities(
        backend="etcd", multi_node=True, durable=True, shared_between_processes=True
    )

    def __init__(self, url: str) -> None:
        super().__init__(url)
        require_client()
        self.endpoints, self.cluster, options = parse_url(url)
        self.target = channel_target(self.endpoints)
        self.compact = options.get("compact", "1") not in ("0", "no", "false")
        root = b"/vigil/" + key_part(self.cluster) + b"/"
        self._data = root + b"d/"
        self._head = self._data + b"head"
        self._meta_key = self._data + b"config/meta"
        self._blob = self._data + b"config/blob/"
        self._status = self._data + b"s/"
        self._log = self._data + b"log/"
        self._fences = self._data + b"fence/"
        # Work orders: under d/ so the data watch wakes their readers; the cache skips them.
        self._orders = self._data + b"w/"
        self._tickets = self._data + b"t/"
        self._coord = root + b"c/"
        # Transition reports: outside d/, so writing one wakes no watcher (see the key layout).
        self._reports = root + b"r/"
        self._closed = False
        self._thread = LoopThread(f"vigil-etcd-{self.cluster}")
        self._notifier = LocalNotifier(Change(0, 0))
        # Owned by the private loop from here on.
        self._channel: Any = None
        self._kv: Any = None
        self._watch_stub: Any = None
        self._lease_stub: Any = None
        # Which member the channel asks first (an offset into the endpoints), and how many times
        # the channel was replaced: a failure seen on an old channel does not replace a new one.
        self._member_shift = 0
        self._channel_generation = 0
        self._retired: set[asyncio.Task[None]] = set()
        self._cache: _Cache | None = None
        self._applied: asyncio.Condition | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._compact_task: asyncio.Task[None] | None = None
        self._loading: asyncio.Lock | None = None
        self._config: tuple[int, Config] = (0, Config())
        self._snapshot: Snapshot | None = None
        self._snapshot_head = -1
        self._leases: list[EtcdLease] = []
        self._writes = 0
        self._pruning: set[bytes] = set()
        self._refs: dict[bytes, ResourceRef] = {}

    # -- plumbing (on the private loop) ------------------------------------------------------------

    def _fault(self, step: str) -> None:
        if self.fault_hook is not None:
            self.fault_hook(step)

    async def _run(self, doing: str, work: Callable[[], Awaitable[T]], *, read: bool = False) -> T:
        """Run ``work`` on the private loop, its gRPC failures as StoreError.

        A member that does not answer (unreachable, or frozen: no answer within READ_TRY_S)
        makes the channel move to another member for every later call.  A ``read`` is then tried
        once more there; a write is not, since it may have been applied: its caller decides.
        """
        if self._closed:
            raise StoreError(f"the store {self.url} is closed")

        async def attempt(limit: float | None) -> T:
            self._connect()
            generation = self._channel_generation
            try:
                async with asyncio.timeout(limit) as deadline:
                    return await work()
            except (StoreError, asyncio.CancelledError, RevisionConflict):
                raise
            except TimeoutError:
                if not deadline.expired():
                    raise
                self._switch_member(generation)
                raise MemberSilent(
                    f"etcd at {self.target} did not answer within {limit:.1f} s while {doing}"
                ) from None
            except Exception as error:
                if grpc is not None and isinstance(error, grpc.aio.AioRpcError):
                    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                        self._switch_member(generation)
                        raise MemberSilent(str(grpc_error(error, self.target, doing))) from None
                    raise grpc_error(error, self.target, doing) from None
                raise

        async def guarded() -> T:
            if not read:
                return await attempt(None)
            # Each member once for READ_TRY_S, then the one the channel asks now without a limit:
            # pick_first may be connected to another member than the first it names, so a single
            # move can land on the silent member again.
            for _ in range(member_count(self.target)):
                with contextlib.suppress(MemberSilent):
                    return await attempt(READ_TRY_S)
            return await attempt(None)

        try:
            return await self._thread.call(guarded())
        except LoopGone:
            raise StoreError(f"the store {self.url} is closed") from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._closed and task is not None and not task.cancelling():
                raise StoreError(f"the store {self.url} is closed") from None
            raise

    def _switch_member(self, generation: int) -> None:
        """A new channel whose first address is the next member's, and the data watch on it.

        Only once per channel (``generation``): concurrent calls failing on the same silent
        member must not skip past a good one.  The old channel is closed after RETIRED_CHANNEL_S,
        so calls still running on it (a write may yet answer) are not cut.
        """
        if generation != self._channel_generation or self._closed or self._channel is None:
            return
        self._channel_generation += 1
        self._member_shift += 1
        old = self._channel
        self._open_channel()
        if self._watch_task is not None:
            self._watch_task.cancel()  # it resumes from the cache's revision on the new channel
            self._watch_task = asyncio.get_running_loop().create_task(self._watch_loop())

        async def retire() -> None:
            await asyncio.sleep(RETIRED_CHANNEL_S)
            await old.close()

        task = asyncio.get_running_loop().create_task(retire())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    def _open_channel(self) -> None:
        target = rotated_target(self.target, self._member_shift)
        self._channel = grpc.aio.insecure_channel(target, options=list(CHANNEL_OPTIONS))
        self._kv = rpc.KVStub(self._channel)
        self._watch_stub = rpc.WatchStub(self._channel)
        self._lease_stub = rpc.LeaseStub(self._channel)

    def _connect(self) -> None:
        if self._channel is not None:
            return
        self._open_channel()
        self._applied = asyncio.Condition()
        self._loading = asyncio.Lock()
        if self.compact:
            self._compact_task = asyncio.get_running_loop().create_task(self._compact_loop())

    async def _range(self, key: bytes, end: bytes | None = None, **kw: Any) -> Any:
        request = rpc.RangeRequest(key=key, range_end=end or b"", **kw)
        return await self._kv.Range(request, timeout=CALL_TIMEOUT_S)

    async def _txn(self, compare: Sequence[Any], success: Sequence[Any], failure: Sequence[Any] = ()) -> Any:
        request = rpc.TxnRequest(compare=list(compare), success=list(success), failure=list(failure))
        return await self._kv.Txn(request, timeout=CALL_TIMEOUT_S)

    @staticmethod
    def _put(key: bytes, value: bytes, lease: int = 0) -> Any:
        return rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value, lease=lease))

    @staticmethod
    def _delete(key: bytes, end: bytes | None = None) -> Any:
        return rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key, range_end=end or b""))

    @staticmethod
    def _get_op(key: bytes) -> Any:
        return rpc.RequestOp(request_range=rpc.RangeRequest(key=key))

    @staticmethod
    def _compare(key: bytes, target: str, value: int) -> Any:
        compare = rpc.Compare(key=key, result=rpc.Compare.EQUAL, target=getattr(rpc.Compare, target))
        if target == "MOD":
            compare.mod_revision = value
        elif target == "CREATE":
            compare.create_revision = value
        return compare

    def _guard_key(self, guard: Guard) -> bytes:
        return self._coord + guard.key.encode()

    def _guard_compares(self, guard: Guard | None) -> list[Any]:
        return [] if guard is None else [self._compare(self._guard_key(guard), "CREATE", guard.revision)]

    def _guard_failure(self, guard: Guard | None) -> list[Any]:
        return [] if guard is None else [self._get_op(self._guard_key(guard))]

    def _check_guard_response(self, guard: Guard | None, response: Any, index: int = 0) -> None:
        """After a failed transaction: raise GuardLost when the guard was what failed."""
        if guard is None:
            return
        kvs = response.responses[index].response_range.kvs
        if not kvs or kvs[0].create_revision != guard.revision:
            raise GuardLost(guard)

    async def _check_guard(self, guard: Guard | None) -> None:
        """For a write that changes nothing: still tell a deposed writer so."""
        if guard is None:
            return
        found = await self._range(self._guard_key(guard))
        if not found.kvs or found.kvs[0].create_revision != guard.revision:
            raise GuardLost(guard)

    async def _write(
        self,
        ops: list[Any],
        guard: Guard | None,
        compare: Sequence[Any] = (),
    ) -> tuple[bool, int]:
        """One transaction: ``ops`` and the head put if ``compare`` (and the guard) hold.

        Returns (committed, revision).  A failed guard raises GuardLost.
        """
        response = await self._txn(
            [*self._guard_compares(guard), *compare],
            [*ops, self._put(self._head, b"")],
            self._guard_failure(guard),
        )
        revision = int(response.header.revision)
        if not response.succeeded:
            self._check_guard_response(guard, response)
            return False, revision
        self._notifier.publish(Change(revision, self._known_config_revision()))
        return True, revision

    def _known_config_revision(self) -> int:
        return self._cache.config_revision if self._cache is not None else self._config[0]

    def _node_prefix(self, node: str) -> bytes:
        return self._status + key_part(node) + b"/"

    # -- the cache -------------------------------------------------------------------------------

    async def _ensure_cache(self) -> _Cache:
        if self._cache is not None:
            return self._cache
        assert self._loading is not None
        async with self._loading:
            if self._cache is None:
                self._cache = await self._load(None)
                self._watch_task = asyncio.get_running_loop().create_task(self._watch_loop())
        return self._cache

    async def _load(self, previous: _Cache | None) -> _Cache:
        """Every ``d/`` key in pages at one revision; the objects of ``previous`` reused where equal."""
        while True:
            cache = _Cache()
            key, end, revision = self._data, prefix_end(self._data), 0
            try:
                while True:
                    page = await self._range(key, end, limit=PAGE_KEYS, revision=revision)
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
        while not self._closed:
            cache = self._cache
            assert cache is not None
            try:
                await self._follow(cache)
            except asyncio.CancelledError:
                raise
            except Compacted:
                try:
                    self._cache = await self._load(cache)
                except Exception:
                    await asyncio.sleep(0.5)
                    continue
                self._snapshot = None
                await self._announce(self._cache)
            except Exception:
                await asyncio.sleep(0.5)  # a cut: resume from the last applied revision

    async def _follow(self, cache: _Cache) -> None:
        start = cache.revision + 1
        stop = asyncio.Event()

        async def requests() -> AsyncIterator[Any]:
            create = rpc.WatchCreateRequest(
                key=self._data, range_end=prefix_end(self._data), start_revision=start
            )
            yield rpc.WatchRequest(create_request=create)
            await stop.wait()

        call = self._watch_stub.Watch(requests())
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

    async def _announce(self, cache: _Cache) -> None:
        assert self._applied is not None
        async with self._applied:
            self._applied.notify_all()
        self._notifier.publish(Change(cache.revision, cache.config_revision))

    async def _sync(self) -> tuple[_Cache, int]:
        """The cache brought up to every data commit before this call; the revision it stands for."""
        cache = await self._ensure_cache()
        head = await self._range(self._head)
        wanted = int(head.kvs[0].mod_revision) if head.kvs else 0
        now = int(head.header.revision)
        assert self._applied is not None
        try:
            async with self._applied:
                await asyncio.wait_for(
                    self._applied.wait_for(lambda: self._current().head >= wanted), CALL_TIMEOUT_S
                )
        except TimeoutError:
            raise StoreError(
                f"the watch on etcd at {self.target} did not deliver revision {wanted} within "
                f"{CALL_TIMEOUT_S:.0f} s (the connection is down, or etcd is overloaded)"
            ) from None
        cache = self._current()
        return cache, max(now, cache.revision)

    def _current(self) -> _Cache:
        assert self._cache is not None
        return self._cache

    def _apply_put(self, cache: _Cache, kv: Any) -> None:
        key = bytes(kv.key)
        value = bytes(kv.value)
        if key == self._head:
            cache.head = int(kv.mod_revision)
        elif key == self._meta_key:
            cache.meta = json.loads(value)
            cache.config_revision = int(kv.mod_revision)
        elif key.startswith(self._blob):
            cache.blobs[key] = value
        elif key.startswith(self._log):
            cache.log[key] = (int(kv.create_revision), value)
            cache.decoded.pop(key, None)
        elif key.startswith(self._status):
            self._apply_status(cache, key, value)
        elif key.startswith(self._tickets):
            ident = name_of(key[len(self._tickets):])
            cache.tickets[ident] = decode_ticket(ident, value.decode(), f"{self.url} ticket {ident!r}")

    def _apply_delete(self, cache: _Cache, kv: Any) -> None:
        key = bytes(kv.key)
        if key == self._meta_key:
            cache.meta, cache.config_revision = None, 0
        elif key.startswith(self._blob):
            cache.blobs.pop(key, None)
        elif key.startswith(self._log):
            cache.log.pop(key, None)
            cache.decoded.pop(key, None)
        elif key.startswith(self._status):
            self._apply_status(cache, key, None)
        elif key.startswith(self._tickets):
            cache.tickets.pop(name_of(key[len(self._tickets):]), None)

    def _apply_status(self, cache: _Cache, key: bytes, value: bytes | None) -> None:
        parts = key[len(self._status):].split(b"/")
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
                history = data.histories.get(rsc)
                if history is None:
                    data.edit_history(rsc, ref)
                elif history.resource != ref:
                    history.resource = ref
                    data.history_changed(rsc)
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

    def _log_entries(self, cache: _Cache) -> Iterable[LogEntry]:
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

    async def _config_of(self, cache: _Cache) -> Config:
        revision = cache.config_revision
        if self._config[0] == revision:
            return self._config[1]
        meta = cache.meta
        if meta is None:
            config = Config()
        else:
            sha = str(meta["sha"])
            base = self._blob + sha.encode() + b"/"
            try:
                data = b"".join(cache.blobs[base + b"%04d" % i] for i in range(int(meta["chunks"])))
            except KeyError:
                raise StoreError(f"{self.url}: a chunk of the configuration is missing: damaged") from None
            where = f"{self.url} (configuration revision {revision})"
            config = await asyncio.to_thread(_decode_blob, data, sha, where)
        self._config = (revision, config)
        return config

    async def _compact_loop(self) -> None:
        """Bound etcd's history: compact to ``current - COMPACT_KEEP`` now and then."""
        while not self._closed:
            await asyncio.sleep(COMPACT_INTERVAL_S)
            # A failure is retried next time; an old revision is harmless meanwhile.
            with contextlib.suppress(Exception):
                await self.compact_history(COMPACT_KEEP, on_loop=True)

    async def compact_history(self, keep: int = COMPACT_KEEP, *, on_loop: bool = False) -> int:
        """Compact etcd's history to ``current revision - keep``; the revision compacted to (0: none)."""

        async def work() -> int:
            now = int((await self._range(self._head)).header.revision)
            target = now - keep
            if target <= 0:
                return 0
            try:
                await self._kv.Compact(rpc.CompactionRequest(revision=target), timeout=CALL_TIMEOUT_S)
            except Exception as error:
                if is_compacted(error):
                    return 0
                raise
            return target

        if on_loop:
            return await work()
        return await self._run("compacting its history", work)

    # -- reading ---------------------------------------------------------------------------------

    async def revision(self) -> int:
        async def work() -> int:
            return int((await self._range(self._head, count_only=True)).header.revision)

        return await self._run("reading the revision", work, read=True)

    async def get_config(self) -> tuple[Config, int]:
        async def work() -> tuple[Config, int]:
            cache, _ = await self._sync()
            revision = cache.config_revision
            return await self._config_of(cache), revision

        return await self._run("reading the configuration", work, read=True)

    async def snapshot(self) -> Snapshot:
        async def work() -> Snapshot:
            cache, revision = await self._sync()
            previous = self._snapshot
            if previous is not None and self._snapshot_head == cache.revision:
                if previous.revision == revision:
                    return previous
                snapshot = Snapshot(previous.cluster, revision, previous.config_revision)
            else:
                while True:
                    seen, config_revision = cache.revision, cache.config_revision
                    config = await self._config_of(cache)  # may decode off the loop: events may land
                    if self._cache is cache and cache.revision == seen:
                        break
                    cache = self._current()
                revision = max(revision, cache.revision)
                # No await from here on: the cache cannot move under the build.
                cluster = build_cluster(config, cache.nodes, cache.tickets)
                snapshot = Snapshot(cluster, revision, config_revision)
            self._snapshot, self._snapshot_head = snapshot, cache.revision
            return snapshot

        return await self._run("reading a snapshot", work, read=True)

    # -- writing the configuration -----------------------------------------------------------------

    async def put_config(self, config: Config, expected_revision: int, *, guard: Guard | None = None) -> int:
        data = await asyncio.to_thread(_encode_blob, config)
        sha = hashlib.sha256(data).hexdigest()[:32]
        chunks = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
        base = self._blob + sha.encode() + b"/"
        meta = json.dumps({"sha": sha, "chunks": len(chunks), "size": len(data)}).encode()

        async def work() -> int:
            current = await self._range(self._meta_key)
            actual = int(current.kvs[0].mod_revision) if current.kvs else 0
            if actual != expected_revision:
                await self._check_guard(guard)
                raise RevisionConflict(expected_revision, actual)
            old_sha = str(json.loads(bytes(current.kvs[0].value))["sha"]) if current.kvs else None
            puts = [self._put(base + b"%04d" % i, chunk) for i, chunk in enumerate(chunks)]
            inline = len(data) <= INLINE_MAX
            if not inline:
                for put in puts:  # staged: invisible until the meta key points at them
                    await self._txn([], [put])
                puts = []
            ops = [*puts, self._put(self._meta_key, meta)]
            if old_sha is not None and old_sha != sha:
                old = self._blob + old_sha.encode() + b"/"
                ops.append(self._delete(old, prefix_end(old)))
            self._fault("put_config")
            response = await self._txn(
                [self._compare(self._meta_key, "MOD", expected_revision), *self._guard_compares(guard)],
                [*ops, self._put(self._head, b"")],
                [self._get_op(self._meta_key), *self._guard_failure(guard)],
            )
            revision = int(response.header.revision)
            if not response.succeeded:
                self._check_guard_response(guard, response, 1)
                kvs = response.responses[0].response_range.kvs
                if not inline and (not kvs or json.loads(bytes(kvs[0].value)).get("sha") != sha):
                    await self._txn([], [self._delete(base, prefix_end(base))])
                raise RevisionConflict(expected_revision, int(kvs[0].mod_revision) if kvs else 0)
            self._config = (revision, config)
            self._notifier.publish(Change(revision, revision))
            return revision

        return await self._run("writing the configuration", work)

    # -- writing the status ------------------------------------------------------------------------

    async def set_node_state(self, state: NodeState, *, guard: Guard | None = None) -> int:
        text = encode_node(state).encode()
        key = self._node_prefix(state.uname) + b"n"

        async def work() -> int:
            found = await self._range(key)
            if found.kvs and bytes(found.kvs[0].value) == text:
                await self._check_guard(guard)
                return int(found.header.revision)
            return (await self._write([self._put(key, text)], guard))[1]

        return await self._run("writing a node state", work)

    async def set_node_attribute(
        self, node: str, name: str, value: str | None, *, guard: Guard | None = None
    ) -> int:
        key = self._node_prefix(node) + b"a/" + key_part(name)

        async def work() -> int:
            found = await self._range(key)
            present = bytes(found.kvs[0].value).decode() if found.kvs else None
            if present == value:
                await self._check_guard(guard)
                return int(found.header.revision)
            op = self._delete(key) if value is None else self._put(key, value.encode())
            return (await self._write([op], guard))[1]

        return await self._run("writing a node attribute", work)

    async def _attributes(self, node: str) -> tuple[dict[str, str], dict[str, int], int]:
        prefix = self._node_prefix(node) + b"a/"
        found = await self._range(prefix, prefix_end(prefix))
        values: dict[str, str] = {}
        revisions: dict[str, int] = {}
        for kv in found.kvs:
            name = name_of(bytes(kv.key)[len(prefix):])
            values[name] = bytes(kv.value).decode()
            revisions[name] = int(kv.mod_revision)
        return values, revisions, int(found.header.revision)

    async def record_operation(
        self,
        node: str,
        resource: ResourceRef,
        record: OpRecord,
        *,
        failcount_delta: int = 0,
        failed_at: int | None = None,
        attributes: Mapping[str, str | None] | None = None,
        meta: Mapping[str, str] | None = None,
        also: Sequence[OpRecord] = (),
        guard: Guard | None = None,
    ) -> int:
        prefix = self._node_prefix(node)
        ops_prefix = prefix + b"o/" + key_part(resource.id) + b"/"
        resource_text = encode_resource(resource).encode()
        # One put per record id (etcd refuses a key twice in a transaction); a later one wins, as in a dict.
        records = list({r.id: r for r in (record, *also)}.values())
        entry = json.dumps(
            {"node": node, "rsc": resource.id, "record": record._asdict(), "meta": dict(meta or {})},
            sort_keys=True,
        ).encode()
        log_key = self._log + uuid.uuid4().hex.encode()

        record_key = ops_prefix + key_part(record.id)

        async def work() -> int:
            while True:
                found = await self._range(record_key)
                stored = (decode_record(bytes(found.kvs[0].value).decode(), f"{self.url} record {record.id}")
                          if found.kvs else None)
                if already_recorded(stored, record):
                    await self._check_guard(guard)
                    return int(found.header.revision)  # a retry of a committed write: nothing twice
                record_revision = int(found.kvs[0].mod_revision) if found.kvs else 0
                current, revisions, _ = await self._attributes(node)
                ops = [self._put(prefix + b"h/" + key_part(resource.id), resource_text)]
                ops += [self._put(ops_prefix + key_part(r.id), encode_record(r).encode()) for r in records]
                self._fault("record_operation:recorded")
                updates = failure_updates(current, resource.id, record, failcount_delta, failed_at)
                # The fail-count is read-modify-write: it must not have moved since it was read.
                compare = [
                    self._compare(prefix + b"a/" + key_part(name), "MOD", revisions.get(name, 0))
                    for name in updates
                ]
                # And the record must not have been written meanwhile (the same retry, twice at once).
                compare.append(self._compare(record_key, "MOD", record_revision))
                merged: dict[str, str | None] = {**updates, **(attributes or {})}
                self._fault("record_operation:failcount")
                for name, value in merged.items():
                    key = prefix + b"a/" + key_part(name)
                    if value is None:
                        if name in current:
                            ops.append(self._delete(key))
                    elif current.get(name) != value:
                        ops.append(self._put(key, value.encode()))
                ops.append(self._put(log_key, entry))
                pruned = await self._prunable()
                ops += [self._delete(key) for key in pruned]
                try:
                    committed, revision = await self._write(ops, guard, compare)
                finally:
                    self._pruning.difference_update(pruned)
                if committed:
                    self._fault("record_operation:committed")
                    return revision

        return await self._run("recording an operation", work)

    async def _prunable(self) -> list[bytes]:
        """The oldest log keys beyond the retention, a few per write.

        From the cache when this store object has one (no request); else,
        on every :data:`PRUNE_EVERY`-th write, from a range read of the
        oldest keys (a CLI or a loader that never takes a snapshot still
        keeps the log bounded).
        """
        cache = self._cache
        if cache is None:
            self._writes += 1
            if self._writes % PRUNE_EVERY:
                return []
            found = await self._range(
                self._log, prefix_end(self._log), keys_only=True, limit=PRUNE_WITHOUT_CACHE,
                sort_order=rpc.RangeRequest.ASCEND, sort_target=rpc.RangeRequest.CREATE,
            )
            excess = int(found.count) - LOG_RETENTION
            return [bytes(kv.key) for kv in found.kvs[:max(excess, 0)]]
        # Writes in flight have chosen keys the watch has not reported deleted yet: skip those.
        pruning = self._pruning
        count = min(len(cache.log) - len(pruning) - LOG_RETENTION, PRUNE_PER_WRITE)
        keys: list[bytes] = []
        if count <= 0:
            return keys
        for key in cache.log:
            if key not in pruning:
                keys.append(key)
                if len(keys) >= count:
                    break
        pruning.update(keys)
        return keys

    async def clear_failcount(
        self,
        node: str,
        rsc: str,
        operation: str | None = None,
        interval_ms: int | None = None,
        *,
        guard: Guard | None = None,
    ) -> int:
        matches = failure_attribute_matcher(rsc, operation, interval_ms)
        prefix = self._node_prefix(node) + b"a/"

        async def work() -> int:
            current, _, revision = await self._attributes(node)
            doomed = [name for name in current if matches(name)]
            if not doomed:
                await self._check_guard(guard)
                return revision
            return (await self._write([self._delete(prefix + key_part(name)) for name in doomed], guard))[1]

        return await self._run("clearing a fail-count", work)

    async def forget_operations(
        self, node: str, rsc: str, op_ids: Iterable[str], *, guard: Guard | None = None
    ) -> int:
        doomed = set(op_ids)
        prefix = self._node_prefix(node) + b"o/" + key_part(rsc) + b"/"

        async def work() -> int:
            found = await self._range(prefix, prefix_end(prefix), keys_only=True)
            present = [bytes(kv.key) for kv in found.kvs if name_of(bytes(kv.key)[len(prefix):]) in doomed]
            if not present:
                await self._check_guard(guard)
                return int(found.header.revision)
            return (await self._write([self._delete(key) for key in present], guard))[1]

        return await self._run("forgetting operations", work)

    async def forget_resource(self, node: str, rsc: str, *, guard: Guard | None = None) -> int:
        key = self._node_prefix(node) + b"h/" + key_part(rsc)
        ops_prefix = self._node_prefix(node) + b"o/" + key_part(rsc) + b"/"

        async def work() -> int:
            found = await self._range(key, count_only=True)
            if not found.count:
                await self._check_guard(guard)
                return int(found.header.revision)
            self._fault("forget_resource")
            ops = [self._delete(ops_prefix, prefix_end(ops_prefix)), self._delete(key)]
            return (await self._write(ops, guard))[1]

        return await self._run("forgetting a resource", work)

    async def cleanup_resource(self, node: str, rsc: str, *, guard: Guard | None = None) -> int:
        matches = failure_attribute_matcher(rsc)
        prefix = self._node_prefix(node)

        async def work() -> int:
            current, _, _ = await self._attributes(node)
            ops = [self._delete(prefix + b"a/" + key_part(name)) for name in current if matches(name)]
            self._fault("cleanup_resource:failcount")
            histories = await self._range(prefix + b"h/", prefix_end(prefix + b"h/"), keys_only=True)
            for kv in histories.kvs:
                history = name_of(bytes(kv.key)[len(prefix) + 2:])
                if belongs_to(history, rsc):
                    ops_prefix = prefix + b"o/" + key_part(history) + b"/"
                    ops += [self._delete(ops_prefix, prefix_end(ops_prefix)), self._delete(bytes(kv.key))]
            if not ops:
                await self._check_guard(guard)
                return int(histories.header.revision)
            revision = (await self._write(ops, guard))[1]
            self._fault("cleanup_resource:committed")
            return revision

        return await self._run("cleaning up a resource", work)

    async def record_fencing(self, entry: FenceEntry, *, guard: Guard | None = None) -> int:
        node = entry.target
        prefix = self._node_prefix(node)
        text = encode_fence_entry(entry).encode()

        async def work() -> int:
            ops = []
            if entry.succeeded:
                found = await self._range(prefix + b"n")
                state = decode_node(bytes(found.kvs[0].value).decode(), f"{self.url} node {node}") \
                    if found.kvs else None
                fenced = encode_node(fenced_state(state, node, entry.completed)).encode()
                ops = [self._delete(prefix + b"a/", prefix_end(prefix + b"a/")),
                       self._delete(prefix + b"o/", prefix_end(prefix + b"o/")),
                       self._delete(prefix + b"h/", prefix_end(prefix + b"h/")),
                       self._put(prefix + b"n", fenced)]
                self._fault("record_fencing:erased")
            old = await self._range(self._fences, prefix_end(self._fences), keys_only=True,
                                    sort_order=rpc.RangeRequest.ASCEND, sort_target=rpc.RangeRequest.CREATE)
            excess = len(old.kvs) + 1 - FENCE_RETENTION
            ops += [self._delete(bytes(kv.key)) for kv in old.kvs[:max(excess, 0)]]
            ops.append(self._put(self._fences + uuid.uuid4().hex.encode(), text))
            revision = (await self._write(ops, guard))[1]
            self._fault("record_fencing:committed")
            return revision

        return await self._run("recording a fencing", work)

    async def fence_history(self, node: str | None = None, limit: int = 100) -> list[FenceEntry]:
        async def work() -> list[FenceEntry]:
            found = await self._range(self._fences, prefix_end(self._fences),
                                      sort_order=rpc.RangeRequest.ASCEND, sort_target=rpc.RangeRequest.CREATE)
            entries = [decode_fence_entry(bytes(kv.value).decode(), int(kv.create_revision),
                                          f"{self.url} fence history") for kv in found.kvs]
            entries = [e for e in entries if node is None or e.target == node]
            return entries[-limit:] if limit > 0 else []

        return await self._run("reading the fence history", work, read=True)

    # -- transition reports ----------------------------------------------------------------------

    def _report_key(self, term: int, number: int) -> bytes:
        return self._reports + b"%020d/%020d" % (term, number)

    def _report_id(self, key: bytes) -> tuple[int, int] | None:
        """(term, number) of a report key; None for a key that is not one (left alone)."""
        term, _, number = key[len(self._reports):].partition(b"/")
        return (int(term), int(number)) if term.isdigit() and number.isdigit() else None

    async def put_transition_report(
        self, report: TransitionReport, *, term: int, guard: Guard | None = None
    ) -> None:
        check_report_key(report, term, guard)
        text = encode_transition_report(report).encode()
        key = self._report_key(term, report.number)

        async def work() -> None:
            found = await self._range(self._reports, prefix_end(self._reports), keys_only=True)
            present = {ident: bytes(kv.key) for kv in found.kvs
                       if (ident := self._report_id(bytes(kv.key))) is not None}
            kept = kept_report_keys([*present, (term, report.number)])
            if (term, report.number) not in kept:
                await self._check_guard(guard)  # older than every kept one: nothing to keep
                return
            doomed = [self._delete(k) for ident, k in sorted(present.items()) if ident not in kept]
            # No d/head put: a report is not data, and no notification either.
            response = await self._txn([*self._guard_compares(guard)], [self._put(key, text), *doomed],
                                       self._guard_failure(guard))
            if not response.succeeded:
                self._check_guard_response(guard, response)

        await self._run("writing a transition report", work)

    async def transition_reports(self, limit: int = 20) -> list[TransitionReport]:
        async def work() -> list[TransitionReport]:
            if limit <= 0:
                return []
            found = await self._range(self._reports, prefix_end(self._reports),
                                      sort_order=rpc.RangeRequest.DESCEND, sort_target=rpc.RangeRequest.KEY,
                                      limit=limit)
            where = f"{self.url} transition report"
            return [decode_transition_report(bytes(kv.value).decode(), where) for kv in reversed(found.kvs)
                    if self._report_id(bytes(kv.key)) is not None]

        return await self._run("reading the transition reports", work, read=True)

    # -- work orders ----------------------------------------------------------------------------

    def _order_key(self, node: str, order_id: str) -> bytes:
        return self._orders + key_part(node) + b"/" + key_part(order_id)

    async def _read_order(self, key: bytes) -> tuple[WorkOrder | None, int, int]:
        """The order at ``key``, its mod revision (0: absent) and the revision read at."""
        found = await self._range(key)
        if not found.kvs:
            return None, 0, int(found.header.revision)
        kv = found.kvs[0]
        order = decode_work_order(bytes(kv.value).decode(), int(kv.mod_revision), f"{self.url} work order")
        return order, int(kv.mod_revision), int(found.header.revision)

    async def _order_txn(self, guards: Sequence[Guard], key: bytes, mod_revision: int, ops: list[Any]) -> int:
        """``ops`` if every guard holds and ``key`` is still at ``mod_revision``; the new revision.

        GuardLost for the first guard that no longer holds; 0 when only the order moved.
        """
        compares = [c for guard in guards for c in self._guard_compares(guard)]
        compares.append(self._compare(key, "MOD", mod_revision))
        response = await self._txn(compares, [*ops, self._put(self._head, b"")],
                                   [self._get_op(self._guard_key(guard)) for guard in guards])
        if not response.succeeded:
            for index, guard in enumerate(guards):
                self._check_guard_response(guard, response, index)
            return 0
        revision = int(response.header.revision)
        self._notifier.publish(Change(revision, self._known_config_revision()))
        return revision

    async def put_work_order(self, order: WorkOrder, *, guard: Guard) -> int:
        stored = new_order(order, guard)
        key = self._order_key(order.node, order.id)

        async def work() -> int:
            text = encode_work_order(stored).encode()
            revision = await self._order_txn([guard], key, 0, [self._put(key, text)])
            if not revision:
                raise order_exists(order.node, order.id)
            return revision

        return await self._run("writing a work order", work)

    async def work_orders(self, node: str) -> list[WorkOrder]:
        prefix = self._orders + key_part(node) + b"/"

        async def work() -> list[WorkOrder]:
            found = await self._range(prefix, prefix_end(prefix))
            where = f"{self.url} work order"
            orders = [decode_work_order(bytes(kv.value).decode(), int(kv.mod_revision), where)
                      for kv in found.kvs]
            return sorted(orders, key=lambda order: order.id)

        return await self._run("reading work orders", work, read=True)

    async def claim_work_order(self, node: str, order_id: str, *, incarnation: Guard) -> WorkOrder:
        key = self._order_key(node, order_id)

        async def work() -> WorkOrder:
            while True:
                stored, mod_revision, _ = await self._read_order(key)
                if stored is None:
                    await self._check_guard(incarnation)
                claimed = claimed_order(stored, node, order_id, incarnation.revision)
                term = Guard(LEADER_KEY, claimed.term)
                revision = await self._order_txn([term, incarnation], key, mod_revision,
                                                 [self._put(key, encode_work_order(claimed).encode())])
                if revision:
                    return replace(claimed, revision=revision)
                # The order moved between the read and the claim: read it again.

        return await self._run("claiming a work order", work)

    async def complete_work_order(self, node: str, order_id: str, result: str, *, guard: Guard) -> int:
        key = self._order_key(node, order_id)

        async def work() -> int:
            while True:
                stored, mod_revision, now = await self._read_order(key)
                done = completed_order(stored, node, order_id, result, guard.revision)
                if done is None:
                    await self._check_guard(guard)
                    return now
                revision = await self._order_txn([guard], key, mod_revision,
                                                 [self._put(key, encode_work_order(done).encode())])
                if revision:
                    return revision

        return await self._run("completing a work order", work)

    async def remove_work_order(self, node: str, order_id: str, *, guard: Guard) -> int:
        key = self._order_key(node, order_id)

        async def work() -> int:
            while True:
                stored, mod_revision, now = await self._read_order(key)
                if stored is None:
                    await self._check_guard(guard)
                    return now
                revision = await self._order_txn([guard], key, mod_revision, [self._delete(key)])
                if revision:
                    return revision

        return await self._run("removing a work order", work)

    async def remove_node(self, node: str, *, guard: Guard | None = None) -> int:
        prefix = self._node_prefix(node)

        async def work() -> int:
            found = await self._range(prefix, prefix_end(prefix), count_only=True)
            if not found.count:
                await self._check_guard(guard)
                return int(found.header.revision)
            return (await self._write([self._delete(prefix, prefix_end(prefix))], guard))[1]

        return await self._run("removing a node", work)

    # -- tickets ---------------------------------------------------------------------------------------

    async def set_ticket(self, ticket: Ticket, *, guard: Guard | None = None) -> int:
        text = encode_ticket(ticket).encode()
        key = self._tickets + key_part(ticket.id)

        async def work() -> int:
            found = await self._range(key)
            if found.kvs and bytes(found.kvs[0].value) == text:
                await self._check_guard(guard)
                return int(found.header.revision)
            return (await self._write([self._put(key, text)], guard))[1]

        return await self._run("writing a ticket", work)

    async def remove_ticket(self, ticket_id: str, *, guard: Guard | None = None) -> int:
        key = self._tickets + key_part(ticket_id)

        async def work() -> int:
            found = await self._range(key, count_only=True)
            if not found.count:
                await self._check_guard(guard)
                return int(found.header.revision)
            return (await self._write([self._delete(key)], guard))[1]

        return await self._run("removing a ticket", work)

    # -- the operation log ---------------------------------------------------------------------------

    async def operation_log(
        self, resource: str | None = None, node: str | None = None, limit: int = 200
    ) -> list[LogEntry]:
        async def work() -> list[LogEntry]:
            cache, _ = await self._sync()
            found = [
                entry
                for entry in self._log_entries(cache)
                if log_matches(entry.resource, resource) and (node is None or entry.node == node)
            ]
            return found[-limit:] if limit > 0 else []

        return await self._run("reading the operation log", work, read=True)

    # -- watching ---------------------------------------------------------------------------------

    async def wait_for_change(self, since_revision: int, timeout: float | None = None) -> Change | None:
        async def work() -> Change | None:
            cache, revision = await self._sync()
            if revision > since_revision:
                return Change(revision, cache.config_revision)
            return None

        if self._closed:
            raise StoreError(f"the store {self.url} is closed")
        try:
            change = await self._run("watching", work, read=True)
        except StoreError:
            if self._closed:
                return None
            raise
        if change is not None:
            return change
        return await self._notifier.wait(since_revision, timeout)

    # -- leases, membership, election -------------------------------------------------------------------

    async def grant_lease(self, ttl: int) -> Lease:
        check_ttl(ttl)
        if self._closed:
            raise StoreError(f"the store {self.url} is closed")
        lease = EtcdLease(self.target, ttl)
        try:
            await lease.start()
        except BaseException:
            lease.close()
            raise
        self._leases.append(lease)
        return lease

    async def join(self, node: str, lease: Lease) -> Guard:
        key = self._coord + (MEMBER_KEY + node).encode()
        value = json.dumps({"node": node, "holder": holder_description()}).encode()

        async def work() -> Guard:
            response = await self._txn(
                [self._compare(key, "CREATE", 0)], [self._put(key, value, lease.id)], [self._get_op(key)]
            )
            if not response.succeeded:
                kvs = response.responses[0].response_range.kvs
                holder = "another process"
                if kvs:
                    with contextlib.suppress(ValueError, KeyError):
                        holder = str(json.loads(bytes(kvs[0].value))["holder"])
                raise NodeNameTaken(node, holder)
            return Guard(MEMBER_KEY + node, int(response.header.revision), node)

        return await self._run("joining the cluster", work)

    async def members(self) -> dict[str, int]:
        prefix = self._coord + MEMBER_KEY.encode()

        async def work() -> dict[str, int]:
            found = await self._range(prefix, prefix_end(prefix))
            return {bytes(kv.key)[len(prefix):].decode(): int(kv.create_revision) for kv in found.kvs}

        return await self._run("listing the members", work, read=True)

    async def campaign(self, candidate: str, lease: Lease, timeout: float | None = None) -> Guard | None:
        key = self._coord + LEADER_KEY.encode()

        async def attempt() -> tuple[Guard | None, int]:
            response = await self._txn(
                [self._compare(key, "CREATE", 0)],
                [self._put(key, candidate.encode(), lease.id)],
                [self._get_op(key)],
            )
            if response.succeeded:
                return Guard(LEADER_KEY, int(response.header.revision), candidate), 0
            kvs = response.responses[0].response_range.kvs
            if kvs and int(kvs[0].lease) == lease.id:
                return Guard(LEADER_KEY, int(kvs[0].create_revision), bytes(kvs[0].value).decode()), 0
            return None, int(response.header.revision)

        async def work() -> Guard | None:
            while True:
                guard, seen = await attempt()
                if guard is not None:
                    return guard
                await self._wait_deleted(key, seen + 1)

        try:
            async with asyncio.timeout(timeout):
                return await self._run("campaigning", work)
        except TimeoutError:
            return None

    async def _wait_deleted(self, key: bytes, start: int) -> None:
        """Until ``key`` is deleted after revision ``start`` (on the private loop)."""
        stop = asyncio.Event()

        async def requests() -> AsyncIterator[Any]:
            yield rpc.WatchRequest(create_request=rpc.WatchCreateRequest(key=key, start_revision=start))
            await stop.wait()

        call = self._watch_stub.Watch(requests())
        try:
            async for response in call:
                if response.compact_revision:
                    return  # look again
                if any(event.type == rpc.Event.DELETE for event in response.events):
                    return
        finally:
            stop.set()
            call.cancel()

    async def leader(self) -> Guard | None:
        key = self._coord + LEADER_KEY.encode()

        async def work() -> Guard | None:
            found = await self._range(key)
            if not found.kvs:
                return None
            return Guard(LEADER_KEY, int(found.kvs[0].create_revision), bytes(found.kvs[0].value).decode())

        return await self._run("reading the leader", work, read=True)

    async def resign(self, guard: Guard) -> None:
        key = self._guard_key(guard)

        async def work() -> None:
            await self._txn([self._compare(key, "CREATE", guard.revision)], [self._delete(key)])

        await self._run("resigning", work)

    async def guard_holds(self, guard: Guard) -> bool:
        async def work() -> bool:
            found = await self._range(self._guard_key(guard))
            return bool(found.kvs) and int(found.kvs[0].create_revision) == guard.revision

        return await self._run("checking a guard", work, read=True)

    async def wait_guard_lost(self, guard: Guard, timeout: float | None = None) -> bool:
        key = self._guard_key(guard)

        async def work() -> bool:
            while True:
                found = await self._range(key)
                if not found.kvs or int(found.kvs[0].create_revision) != guard.revision:
                    return True
                await self._wait_deleted(key, int(found.header.revision) + 1)

        try:
            async with asyncio.timeout(timeout):
                return await self._run("watching a guard", work)
        except TimeoutError:
            return False

    # -- lifetime ------------------------------------------------------------------------------------

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for lease in self._leases:
            with contextlib.suppress(StoreError):
                await lease.revoke()

        async def shutdown() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            if self._channel is not None:
                await self._channel.close()

        with contextlib.suppress(TimeoutError, RuntimeError, LoopGone):
            await asyncio.wait_for(self._thread.call(shutdown()), 5)
        self._thread.stop()
        self._notifier.close()


def _encode_blob(config: Config) -> bytes:
    return zlib.compress(encode_config(config), 6)


def _decode_blob(data: bytes, sha: str, where: str) -> Config:
    if hashlib.sha256(data).hexdigest()[:32] != sha:
        raise StoreError(f"{where}: the stored configuration does not match its checksum: damaged")
    try:
        return decode_config(zlib.decompress(data), where)
    except zlib.error:
        raise StoreError(f"{where}: the stored configuration does not decompress: damaged") from None
