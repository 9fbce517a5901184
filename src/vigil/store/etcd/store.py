"""The etcd store: :class:`~vigil.store.base.Store`'s contract on etcd (the package docstring says how)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

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
    Snapshot,
    Store,
    StoreError,
    WorkOrder,
    already_recorded,
    fenced_state,
    log_matches,
)
from vigil.store.codec import (
    decode_fence_entry,
    decode_node,
    decode_record,
    encode_fence_entry,
    encode_node,
    encode_record,
    encode_resource,
    encode_ticket,
)
from vigil.store.coord import Guard, Lease
from vigil.store.etcd.cache import DataCache
from vigil.store.etcd.channel import (
    CALL_TIMEOUT_S,
    channel_target,
    is_compacted,
    parse_url,
    require_client,
    rpc,
)
from vigil.store.etcd.client import EtcdClient, compare_op, delete_op, put_op
from vigil.store.etcd.config import EtcdConfig
from vigil.store.etcd.coordination import EtcdCoordination
from vigil.store.etcd.keys import KeyLayout, key_part, name_of, prefix_end
from vigil.store.etcd.orders import EtcdWorkOrders
from vigil.store.etcd.reports import EtcdTransitionReports
from vigil.store.notify import LocalNotifier
from vigil.store.state import build_cluster, failure_updates

COMPACT_INTERVAL_S = 300.0
COMPACT_KEEP = 10_000
# Log entries pruned per write at most (etcd allows 128 operations per transaction), and, for a
# store object without a cache, how often it looks for entries to prune and how many it prunes then.
PRUNE_PER_WRITE = 32
PRUNE_EVERY = 16
PRUNE_WITHOUT_CACHE = 64


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
        self._keys = KeyLayout(self.cluster)
        self._client = EtcdClient(url, self.target, f"vigil-etcd-{self.cluster}",
                                  on_connect=self._connected, on_switch=self._switched_member)
        self._notifier = LocalNotifier(Change(0, 0))
        self._data_cache = DataCache(self._client, self._keys, url, self._notifier, self._forget_snapshot)
        self._coordination = EtcdCoordination(self._client, self._keys)
        self._orders = EtcdWorkOrders(self._client, self._keys, self._coordination, url, self._committed)
        self._configuration = EtcdConfig(self._client, self._keys, self._coordination, url, self._notifier,
                                         self._fault)
        self._reports = EtcdTransitionReports(self._client, self._keys, self._coordination, url)
        # Owned by the private loop from here on.
        self._compact_task: asyncio.Task[None] | None = None
        self._snapshot: Snapshot | None = None
        self._snapshot_head = -1
        self._writes = 0
        self._pruning: set[bytes] = set()

    # -- plumbing (on the private loop) ------------------------------------------------------------

    def _fault(self, step: str) -> None:
        if self.fault_hook is not None:
            self.fault_hook(step)

    async def _write(
        self,
        ops: list[Any],
        guard: Guard | None,
        compare: Sequence[Any] = (),
    ) -> tuple[bool, int]:
        """One transaction: ``ops`` and the head put if ``compare`` (and the guard) hold.

        Returns (committed, revision).  A failed guard raises GuardLost.
        """
        response = await self._client.txn(
            [*self._coordination.guard_compares(guard), *compare],
            [*ops, put_op(self._keys.head, b"")],
            self._coordination.guard_failure(guard),
        )
        revision = int(response.header.revision)
        if not response.succeeded:
            self._coordination.check_guard_response(guard, response)
            return False, revision
        self._committed(revision)
        return True, revision

    def _known_config_revision(self) -> int:
        cache = self._data_cache.cache
        return cache.config_revision if cache is not None else self._configuration.cached[0]

    def _committed(self, revision: int) -> None:
        """A data write committed at ``revision``: wake this process's waiters."""
        self._notifier.publish(Change(revision, self._known_config_revision()))

    def _connected(self) -> None:
        """On the private loop, when the first channel opens: the cache's loop objects, compaction."""
        self._data_cache.start()
        if self.compact:
            self._compact_task = asyncio.get_running_loop().create_task(self._compact_loop())

    def _switched_member(self) -> None:
        self._data_cache.restart_watch()

    def _forget_snapshot(self) -> None:
        """The cache was read whole again: the next snapshot is built anew."""
        self._snapshot = None

    # -- bounded history ---------------------------------------------------------------------------

    async def _compact_loop(self) -> None:
        """Bound etcd's history: compact to ``current - COMPACT_KEEP`` now and then."""
        while not self._client.closed:
            await asyncio.sleep(COMPACT_INTERVAL_S)
            # A failure is retried next time; an old revision is harmless meanwhile.
            with contextlib.suppress(Exception):
                await self.compact_history(COMPACT_KEEP, on_loop=True)

    async def compact_history(self, keep: int = COMPACT_KEEP, *, on_loop: bool = False) -> int:
        """Compact etcd's history to ``current revision - keep``; the revision compacted to (0: none)."""

        async def work() -> int:
            now = int((await self._client.range(self._keys.head)).header.revision)
            target = now - keep
            if target <= 0:
                return 0
            try:
                await self._client.kv.Compact(rpc.CompactionRequest(revision=target), timeout=CALL_TIMEOUT_S)
            except Exception as error:
                if is_compacted(error):
                    return 0
                raise
            return target

        if on_loop:
            return await work()
        return await self._client.run("compacting its history", work)

    # -- reading ---------------------------------------------------------------------------------

    async def revision(self) -> int:
        async def work() -> int:
            return int((await self._client.range(self._keys.head, count_only=True)).header.revision)

        return await self._client.run("reading the revision", work, read=True)

    async def get_config(self) -> tuple[Config, int]:
        async def work() -> tuple[Config, int]:
            cache, _ = await self._data_cache.sync()
            revision = cache.config_revision
            return await self._configuration.of(cache), revision

        return await self._client.run("reading the configuration", work, read=True)

    async def snapshot(self) -> Snapshot:
        async def work() -> Snapshot:
            cache, revision = await self._data_cache.sync()
            previous = self._snapshot
            if previous is not None and self._snapshot_head == cache.revision:
                if previous.revision == revision:
                    return previous
                snapshot = Snapshot(previous.cluster, revision, previous.config_revision)
            else:
                while True:
                    seen, config_revision = cache.revision, cache.config_revision
                    config = await self._configuration.of(cache)  # may decode off the loop: events may land
                    if self._data_cache.cache is cache and cache.revision == seen:
                        break
                    cache = self._data_cache.current()
                revision = max(revision, cache.revision)
                # No await from here on: the cache cannot move under the build.
                cluster = build_cluster(config, cache.nodes, cache.tickets)
                snapshot = Snapshot(cluster, revision, config_revision)
            self._snapshot, self._snapshot_head = snapshot, cache.revision
            return snapshot

        return await self._client.run("reading a snapshot", work, read=True)

    # -- writing the configuration (EtcdConfig) ------------------------------------------------------

    async def put_config(self, config: Config, expected_revision: int, *, guard: Guard | None = None) -> int:
        return await self._configuration.put(config, expected_revision, guard=guard)

    # -- writing the status ------------------------------------------------------------------------

    async def set_node_state(self, state: NodeState, *, guard: Guard | None = None) -> int:
        key = self._keys.node_prefix(state.uname) + b"n"
        return await self._put_unless_there(key, encode_node(state).encode(), guard, "writing a node state")

    async def _put_unless_there(self, key: bytes, value: bytes, guard: Guard | None, doing: str) -> int:
        """Write ``value`` at ``key``, unless it is there already: then nothing is committed (the
        guard is still checked) and the answer is the current revision."""

        async def work() -> int:
            found = await self._client.range(key)
            if found.kvs and bytes(found.kvs[0].value) == value:
                await self._coordination.check_guard(guard)
                return int(found.header.revision)
            return (await self._write([put_op(key, value)], guard))[1]

        return await self._client.run(doing, work)

    async def set_node_attribute(
        self, node: str, name: str, value: str | None, *, guard: Guard | None = None
    ) -> int:
        key = self._keys.node_prefix(node) + b"a/" + key_part(name)

        async def work() -> int:
            found = await self._client.range(key)
            present = bytes(found.kvs[0].value).decode() if found.kvs else None
            if present == value:
                await self._coordination.check_guard(guard)
                return int(found.header.revision)
            op = delete_op(key) if value is None else put_op(key, value.encode())
            return (await self._write([op], guard))[1]

        return await self._client.run("writing a node attribute", work)

    async def _attributes(self, node: str) -> tuple[dict[str, str], dict[str, int], int]:
        prefix = self._keys.node_prefix(node) + b"a/"
        found = await self._client.range(prefix, prefix_end(prefix))
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
        prefix = self._keys.node_prefix(node)
        ops_prefix = prefix + b"o/" + key_part(resource.id) + b"/"
        resource_text = encode_resource(resource).encode()
        # One put per record id (etcd refuses a key twice in a transaction); a later one wins, as in a dict.
        records = list({r.id: r for r in (record, *also)}.values())
        entry = json.dumps(
            {"node": node, "rsc": resource.id, "record": record._asdict(), "meta": dict(meta or {})},
            sort_keys=True,
        ).encode()
        log_key = self._keys.log + uuid.uuid4().hex.encode()

        record_key = ops_prefix + key_part(record.id)

        async def work() -> int:
            while True:
                found = await self._client.range(record_key)
                stored = (decode_record(bytes(found.kvs[0].value).decode(), f"{self.url} record {record.id}")
                          if found.kvs else None)
                if already_recorded(stored, record):
                    await self._coordination.check_guard(guard)
                    return int(found.header.revision)  # a retry of a committed write: nothing twice
                record_revision = int(found.kvs[0].mod_revision) if found.kvs else 0
                current, revisions, _ = await self._attributes(node)
                ops = [put_op(prefix + b"h/" + key_part(resource.id), resource_text)]
                ops += [put_op(ops_prefix + key_part(r.id), encode_record(r).encode()) for r in records]
                self._fault("record_operation:recorded")
                updates = failure_updates(current, resource.id, record, failcount_delta, failed_at)
                # The fail-count is read-modify-write: it must not have moved since it was read.
                compare = [
                    compare_op(prefix + b"a/" + key_part(name), "MOD", revisions.get(name, 0))
                    for name in updates
                ]
                # And the record must not have been written meanwhile (the same retry, twice at once).
                compare.append(compare_op(record_key, "MOD", record_revision))
                merged: dict[str, str | None] = {**updates, **(attributes or {})}
                self._fault("record_operation:failcount")
                for name, value in merged.items():
                    key = prefix + b"a/" + key_part(name)
                    if value is None:
                        if name in current:
                            ops.append(delete_op(key))
                    elif current.get(name) != value:
                        ops.append(put_op(key, value.encode()))
                ops.append(put_op(log_key, entry))
                pruned = await self._prunable()
                ops += [delete_op(key) for key in pruned]
                try:
                    committed, revision = await self._write(ops, guard, compare)
                finally:
                    self._pruning.difference_update(pruned)
                if committed:
                    self._fault("record_operation:committed")
                    return revision

        return await self._client.run("recording an operation", work)

    async def _prunable(self) -> list[bytes]:
        """The oldest log keys beyond the retention, a few per write.

        From the cache when this store object has one (no request); else,
        on every :data:`PRUNE_EVERY`-th write, from a range read of the
        oldest keys (a CLI or a loader that never takes a snapshot still
        keeps the log bounded).
        """
        cache = self._data_cache.cache
        if cache is None:
            self._writes += 1
            if self._writes % PRUNE_EVERY:
                return []
            found = await self._client.range(
                self._keys.log, prefix_end(self._keys.log), keys_only=True, limit=PRUNE_WITHOUT_CACHE,
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
        prefix = self._keys.node_prefix(node) + b"a/"

        async def work() -> int:
            current, _, revision = await self._attributes(node)
            doomed = [name for name in current if matches(name)]
            if not doomed:
                await self._coordination.check_guard(guard)
                return revision
            return (await self._write([delete_op(prefix + key_part(name)) for name in doomed], guard))[1]

        return await self._client.run("clearing a fail-count", work)

    async def forget_operations(
        self, node: str, rsc: str, op_ids: Iterable[str], *, guard: Guard | None = None
    ) -> int:
        doomed = set(op_ids)
        prefix = self._keys.node_prefix(node) + b"o/" + key_part(rsc) + b"/"

        async def work() -> int:
            found = await self._client.range(prefix, prefix_end(prefix), keys_only=True)
            present = [bytes(kv.key) for kv in found.kvs if name_of(bytes(kv.key)[len(prefix):]) in doomed]
            if not present:
                await self._coordination.check_guard(guard)
                return int(found.header.revision)
            return (await self._write([delete_op(key) for key in present], guard))[1]

        return await self._client.run("forgetting operations", work)

    async def forget_resource(self, node: str, rsc: str, *, guard: Guard | None = None) -> int:
        key = self._keys.node_prefix(node) + b"h/" + key_part(rsc)
        ops_prefix = self._keys.node_prefix(node) + b"o/" + key_part(rsc) + b"/"

        async def work() -> int:
            found = await self._client.range(key, count_only=True)
            if not found.count:
                await self._coordination.check_guard(guard)
                return int(found.header.revision)
            self._fault("forget_resource")
            ops = [delete_op(ops_prefix, prefix_end(ops_prefix)), delete_op(key)]
            return (await self._write(ops, guard))[1]

        return await self._client.run("forgetting a resource", work)

    async def cleanup_resource(self, node: str, rsc: str, *, guard: Guard | None = None) -> int:
        matches = failure_attribute_matcher(rsc)
        prefix = self._keys.node_prefix(node)

        async def work() -> int:
            current, _, _ = await self._attributes(node)
            ops = [delete_op(prefix + b"a/" + key_part(name)) for name in current if matches(name)]
            self._fault("cleanup_resource:failcount")
            histories = await self._client.range(prefix + b"h/", prefix_end(prefix + b"h/"), keys_only=True)
            for kv in histories.kvs:
                history = name_of(bytes(kv.key)[len(prefix) + 2:])
                if belongs_to(history, rsc):
                    ops_prefix = prefix + b"o/" + key_part(history) + b"/"
                    ops += [delete_op(ops_prefix, prefix_end(ops_prefix)), delete_op(bytes(kv.key))]
            if not ops:
                await self._coordination.check_guard(guard)
                return int(histories.header.revision)
            revision = (await self._write(ops, guard))[1]
            self._fault("cleanup_resource:committed")
            return revision

        return await self._client.run("cleaning up a resource", work)

    async def record_fencing(self, entry: FenceEntry, *, guard: Guard | None = None) -> int:
        node = entry.target
        prefix = self._keys.node_prefix(node)
        text = encode_fence_entry(entry).encode()

        async def work() -> int:
            ops = []
            if entry.succeeded:
                found = await self._client.range(prefix + b"n")
                state = decode_node(bytes(found.kvs[0].value).decode(), f"{self.url} node {node}") \
                    if found.kvs else None
                fenced = encode_node(fenced_state(state, node, entry.completed)).encode()
                ops = [delete_op(prefix + b"a/", prefix_end(prefix + b"a/")),
                       delete_op(prefix + b"o/", prefix_end(prefix + b"o/")),
                       delete_op(prefix + b"h/", prefix_end(prefix + b"h/")),
                       put_op(prefix + b"n", fenced)]
                self._fault("record_fencing:erased")
            old = await self._client.range(self._keys.fences, prefix_end(self._keys.fences), keys_only=True,
                                           sort_order=rpc.RangeRequest.ASCEND,
                                           sort_target=rpc.RangeRequest.CREATE)
            excess = len(old.kvs) + 1 - FENCE_RETENTION
            ops += [delete_op(bytes(kv.key)) for kv in old.kvs[:max(excess, 0)]]
            ops.append(put_op(self._keys.fences + uuid.uuid4().hex.encode(), text))
            revision = (await self._write(ops, guard))[1]
            self._fault("record_fencing:committed")
            return revision

        return await self._client.run("recording a fencing", work)

    async def fence_history(self, node: str | None = None, limit: int = 100) -> list[FenceEntry]:
        async def work() -> list[FenceEntry]:
            found = await self._client.range(self._keys.fences, prefix_end(self._keys.fences),
                                             sort_order=rpc.RangeRequest.ASCEND,
                                             sort_target=rpc.RangeRequest.CREATE)
            entries = [decode_fence_entry(bytes(kv.value).decode(), int(kv.create_revision),
                                          f"{self.url} fence history") for kv in found.kvs]
            entries = [e for e in entries if node is None or e.target == node]
            return entries[-limit:] if limit > 0 else []

        return await self._client.run("reading the fence history", work, read=True)

    # -- work orders (EtcdWorkOrders) and transition reports (EtcdTransitionReports) --------------

    async def put_work_order(self, order: WorkOrder, *, guard: Guard) -> int:
        return await self._orders.put_work_order(order, guard=guard)

    async def work_orders(self, node: str) -> list[WorkOrder]:
        return await self._orders.work_orders(node)

    async def claim_work_order(self, node: str, order_id: str, *, incarnation: Guard) -> WorkOrder:
        return await self._orders.claim_work_order(node, order_id, incarnation=incarnation)

    async def complete_work_order(self, node: str, order_id: str, result: str, *, guard: Guard) -> int:
        return await self._orders.complete_work_order(node, order_id, result, guard=guard)

    async def remove_work_order(self, node: str, order_id: str, *, guard: Guard) -> int:
        return await self._orders.remove_work_order(node, order_id, guard=guard)

    async def put_transition_report(
        self, report: TransitionReport, *, term: int, guard: Guard | None = None
    ) -> None:
        await self._reports.put_transition_report(report, term=term, guard=guard)

    async def transition_reports(self, limit: int = 20) -> list[TransitionReport]:
        return await self._reports.transition_reports(limit)

    # -- nodes and tickets -----------------------------------------------------------------------------

    async def remove_node(self, node: str, *, guard: Guard | None = None) -> int:
        prefix = self._keys.node_prefix(node)

        async def work() -> int:
            found = await self._client.range(prefix, prefix_end(prefix), count_only=True)
            if not found.count:
                await self._coordination.check_guard(guard)
                return int(found.header.revision)
            return (await self._write([delete_op(prefix, prefix_end(prefix))], guard))[1]

        return await self._client.run("removing a node", work)

    async def set_ticket(self, ticket: Ticket, *, guard: Guard | None = None) -> int:
        key = self._keys.tickets + key_part(ticket.id)
        return await self._put_unless_there(key, encode_ticket(ticket).encode(), guard, "writing a ticket")

    async def remove_ticket(self, ticket_id: str, *, guard: Guard | None = None) -> int:
        key = self._keys.tickets + key_part(ticket_id)

        async def work() -> int:
            found = await self._client.range(key, count_only=True)
            if not found.count:
                await self._coordination.check_guard(guard)
                return int(found.header.revision)
            return (await self._write([delete_op(key)], guard))[1]

        return await self._client.run("removing a ticket", work)

    # -- the operation log ---------------------------------------------------------------------------

    async def operation_log(
        self, resource: str | None = None, node: str | None = None, limit: int = 200
    ) -> list[LogEntry]:
        async def work() -> list[LogEntry]:
            cache, _ = await self._data_cache.sync()
            found = [
                entry
                for entry in self._data_cache.log_entries(cache)
                if log_matches(entry.resource, resource) and (node is None or entry.node == node)
            ]
            return found[-limit:] if limit > 0 else []

        return await self._client.run("reading the operation log", work, read=True)

    # -- watching ---------------------------------------------------------------------------------

    async def wait_for_change(self, since_revision: int, timeout: float | None = None) -> Change | None:
        async def work() -> Change | None:
            cache, revision = await self._data_cache.sync()
            if revision > since_revision:
                return Change(revision, cache.config_revision)
            return None

        if self._client.closed:
            raise StoreError(f"the store {self.url} is closed")
        try:
            change = await self._client.run("watching", work, read=True)
        except StoreError:
            if self._client.closed:
                return None
            raise
        if change is not None:
            return change
        return await self._notifier.wait(since_revision, timeout)

    # -- leases, membership, election (EtcdCoordination) -------------------------------------------

    async def grant_lease(self, ttl: int) -> Lease:
        return await self._coordination.grant_lease(ttl)

    async def join(self, node: str, lease: Lease) -> Guard:
        return await self._coordination.join(node, lease)

    async def members(self) -> dict[str, int]:
        return await self._coordination.members()

    async def campaign(self, candidate: str, lease: Lease, timeout: float | None = None) -> Guard | None:
        return await self._coordination.campaign(candidate, lease, timeout)

    async def leader(self) -> Guard | None:
        return await self._coordination.leader()

    async def resign(self, guard: Guard) -> None:
        await self._coordination.resign(guard)

    async def guard_holds(self, guard: Guard) -> bool:
        return await self._coordination.guard_holds(guard)

    async def wait_guard_lost(self, guard: Guard, timeout: float | None = None) -> bool:
        return await self._coordination.wait_guard_lost(guard, timeout)

    # -- lifetime ------------------------------------------------------------------------------------

    async def close(self) -> None:
        if self._client.closed:
            return
        self._client.closed = True
        await self._coordination.revoke_leases()
        await self._client.close()
        self._notifier.close()
