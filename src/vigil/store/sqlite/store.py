"""The SQLite store: the Store contract on one file (the package docstring says how)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar, TypeVar

from vigil.model.activity import TransitionReport
from vigil.model.config import Config
from vigil.model.failcounts import failure_attribute_matcher
from vigil.model.resources import belongs_to
from vigil.model.status import NodeState, OpRecord, Ticket
from vigil.store.base import (
    FENCE_RETENTION,
    LOG_RETENTION,
    REPORT_RETENTION,
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
    log_matches,
    new_order,
    order_exists,
)
from vigil.store.codec import (
    decode_fence_entry,
    decode_node,
    decode_record,
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
from vigil.store.coord import LEADER_KEY, Guard, LocalCoordination
from vigil.store.notify import LocalNotifier
from vigil.store.sqlite.schema import SQLiteFile, resolve_path
from vigil.store.sqlite.snapshots import SnapshotReader
from vigil.store.state import failure_updates

POLL_INTERVAL_S = 0.25
# Tombstones of deleted rows are kept for this many revisions; a store object
# whose last snapshot is older than that reads the next one whole.
DELETIONS_RETENTION = 10_000

T = TypeVar("T")
# A write's body: (connection, the revision it commits as) -> whether it changed anything.
Work = Callable[[sqlite3.Connection, int], bool]


class SQLiteStore(LocalCoordination, Store):
    capabilities: ClassVar[Capabilities] = Capabilities(
        backend="SQLite", multi_node=False, durable=True, shared_between_processes=True
    )

    def __init__(
        self, url: str, path: Path, *, create: bool = True, read_only: bool = False,
        poll_interval: float = POLL_INTERVAL_S,
    ) -> None:
        super().__init__(url)
        self._file = SQLiteFile(resolve_path(path))
        self.path = self._file.path
        # Leases, members and the leader: per file, in this process (vigil.store.coord).
        self._coord_scope = f"sqlite:{self.path.resolve()}"
        self.poll_interval = poll_interval
        self._lock = threading.Lock()
        self._closed = False
        self.read_only = read_only
        self._conn = self._file.open_read_only() if read_only else self._file.connect(create)
        self._snapshots = SnapshotReader(self._conn, self.path, self._read_change)
        self._notifier = LocalNotifier(self._read_change())

    # -- plumbing ------------------------------------------------------------------------

    def _fault(self, step: str) -> None:
        if self.fault_hook is not None:
            self.fault_hook(step)

    async def _run(self, function: Callable[[], T]) -> T:
        return await asyncio.to_thread(self._locked, function)

    def _locked(self, function: Callable[[], T]) -> T:
        with self._lock:
            if self._closed:
                raise StoreError(f"the store {self.url} is closed")
            try:
                return function()
            except sqlite3.Error as error:
                raise self._file.fail(error, "use the store") from None

    def _read_change(self) -> Change:
        row = self._conn.execute("SELECT revision, config_revision FROM store WHERE id = 1").fetchone()
        if row is None:
            raise StoreError(f"{self.path}: the store's revision row is missing: the store is damaged")
        return Change(int(row[0]), int(row[1]))

    def _write(self, work: Work, *, config: bool = False, guard: Guard | None = None,
               step: str | None = None) -> int:
        """``work`` in one ``BEGIN IMMEDIATE`` transaction; a new revision if it changed anything.

        A ``guard`` that no longer holds raises GuardLost before ``work`` runs.
        ``step`` names the fault hook's ``STEP:committed`` call, after the commit.
        """
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._check_guard(guard)
            current = self._read_change()
            revision = current.revision + 1
            if not work(conn, revision):
                conn.execute("ROLLBACK")
                self._notifier.publish(current)
                return current.revision
            config_revision = revision if config else current.config_revision
            cut = revision - DELETIONS_RETENTION
            if cut > 0 and conn.execute("DELETE FROM deletions WHERE revision <= ?", (cut,)).rowcount:
                conn.execute("UPDATE deletions_horizon SET revision = max(revision, ?) WHERE id = 1", (cut,))
            # Last: the tombstone triggers take the revision from the store row.
            conn.execute(
                "UPDATE store SET revision = ?, config_revision = ? WHERE id = 1", (revision, config_revision)
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._notifier.publish(Change(revision, config_revision))
        if step is not None:
            self._fault(f"{step}:committed")
        return revision

    # -- reading ---------------------------------------------------------------------------

    async def revision(self) -> int:
        return (await self._run(self._read_change)).revision

    async def get_config(self) -> tuple[Config, int]:
        def read() -> tuple[Config, int]:
            self._conn.execute("BEGIN")
            try:
                config_revision = self._read_change().config_revision
                return self._snapshots.read_config(config_revision), config_revision
            finally:
                self._conn.execute("COMMIT")

        return await self._run(read)

    async def snapshot(self) -> Snapshot:
        return await self._run(self._snapshots.read)
    # -- writing ------------------------------------------------------------------------------

    async def put_config(self, config: Config, expected_revision: int, *, guard: Guard | None = None) -> int:
        data = await asyncio.to_thread(encode_config, config)  # the slow part: outside the transaction

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            actual = self._read_change().config_revision
            if actual != expected_revision:
                raise RevisionConflict(expected_revision, actual)
            self._fault("put_config")
            conn.execute(
                "INSERT INTO config (id, cib, revision) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET cib = excluded.cib, revision = excluded.revision",
                (data, revision),
            )
            return True

        def write() -> int:
            revision = self._write(work, config=True, guard=guard)
            self._snapshots.config_cache = (revision, config)
            return revision

        return await self._run(write)

    async def set_node_state(self, state: NodeState, *, guard: Guard | None = None) -> int:
        return await self._put_unless_there("nodes", "node", state.uname, encode_node(state), guard)

    async def _put_unless_there(self, table: str, key_column: str, key: str, state: str,
                                guard: Guard | None) -> int:
        """Store ``state`` in the row of ``table`` (``nodes``, ``tickets``) whose ``key_column`` is
        ``key``, unless it is there already: then nothing is committed."""

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            row = conn.execute(f"SELECT state FROM {table} WHERE {key_column} = ?", (key,)).fetchone()
            if row is not None and row[0] == state:
                return False
            conn.execute(
                f"INSERT INTO {table} ({key_column}, state, revision) VALUES (?, ?, ?) ON CONFLICT "
                f"({key_column}) DO UPDATE SET state = excluded.state, revision = excluded.revision",
                (key, state, revision),
            )
            return True

        return await self._run(lambda: self._write(work, guard=guard))

    async def set_node_attribute(
        self, node: str, name: str, value: str | None, *, guard: Guard | None = None
    ) -> int:
        return await self._run(
            lambda: self._write(
                lambda conn, revision: _update_attributes(conn, node, {name: value}, revision), guard=guard
            )
        )

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
        resource_text = encode_resource(resource)
        record_texts = [(record.id, encode_record(record))] + [(r.id, encode_record(r)) for r in also]
        record_text = record_texts[0][1]
        meta_text = json.dumps(dict(sorted((meta or {}).items())))

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            row = conn.execute(
                "SELECT record FROM operations WHERE node = ? AND rsc = ? AND op_id = ?",
                (node, resource.id, record.id),
            ).fetchone()
            stored = decode_record(row[0], f"{self.path} record {record.id} on {node}") if row else None
            if already_recorded(stored, record):
                return False  # a retry of a committed write: nothing twice
            conn.execute(
                "INSERT INTO resources (node, rsc, resource, revision) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (node, rsc) DO UPDATE SET "
                "resource = excluded.resource, revision = excluded.revision",
                (node, resource.id, resource_text, revision),
            )
            conn.executemany(
                "INSERT INTO operations (node, rsc, op_id, record, revision) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (node, rsc, op_id) DO UPDATE SET "
                "record = excluded.record, revision = excluded.revision",
                [(node, resource.id, op_id, text, revision) for op_id, text in record_texts],
            )
            self._fault("record_operation:recorded")
            current = _attributes(conn, node)
            updates = failure_updates(current, resource.id, record, failcount_delta, failed_at)
            _update_attributes(conn, node, updates, revision)
            self._fault("record_operation:failcount")
            _update_attributes(conn, node, attributes or {}, revision)
            conn.execute(
                "INSERT INTO operation_log (revision, node, rsc, record, meta) VALUES (?, ?, ?, ?, ?)",
                (revision, node, resource.id, record_text, meta_text),
            )
            conn.execute(
                "DELETE FROM operation_log WHERE seq <= (SELECT max(seq) FROM operation_log) - ?",
                (LOG_RETENTION,),
            )
            return True

        return await self._run(lambda: self._write(work, guard=guard, step="record_operation"))

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

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            doomed = [name for name in _attributes(conn, node) if matches(name)]
            return _update_attributes(conn, node, dict.fromkeys(doomed), revision)

        return await self._run(lambda: self._write(work, guard=guard))

    async def forget_operations(
        self, node: str, rsc: str, op_ids: Iterable[str], *, guard: Guard | None = None
    ) -> int:
        doomed = sorted(set(op_ids))

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            removed = 0
            for op_id in doomed:
                removed += conn.execute(
                    "DELETE FROM operations WHERE node = ? AND rsc = ? AND op_id = ?", (node, rsc, op_id)
                ).rowcount
            return removed > 0

        return await self._run(lambda: self._write(work, guard=guard))

    async def operation_log(
        self, resource: str | None = None, node: str | None = None, limit: int = 200
    ) -> list[LogEntry]:
        if limit <= 0:
            return []
        where: list[str] = []
        args: list[object] = []
        if resource is not None:
            # The resource and its clone instances; the pattern's wildcards are escaped.
            escaped = resource.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(rsc = ? OR rsc LIKE ? ESCAPE '\\')")
            args += [resource, escaped + ":%"]
        if node is not None:
            where.append("node = ?")
            args.append(node)
        clause = f"WHERE {' AND '.join(where)}" if where else ""

        def read() -> list[LogEntry]:
            rows = self._conn.execute(
                f"SELECT revision, node, rsc, record, meta FROM operation_log {clause} "
                "ORDER BY seq DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
            entries = []
            for revision, node_name, rsc, record, meta in reversed(rows):
                label = f"{self.path} operation log of {rsc} on {node_name}"
                if not log_matches(rsc, resource):
                    continue
                entries.append(
                    LogEntry(int(revision), node_name, rsc, decode_record(record, label),
                             _object_pairs(meta, label))
                )
            return entries

        return await self._run(read)

    async def forget_resource(self, node: str, rsc: str, *, guard: Guard | None = None) -> int:
        def work(conn: sqlite3.Connection, revision: int) -> bool:
            self._fault("forget_resource")
            return conn.execute("DELETE FROM resources WHERE node = ? AND rsc = ?", (node, rsc)).rowcount > 0

        return await self._run(lambda: self._write(work, guard=guard))

    async def cleanup_resource(self, node: str, rsc: str, *, guard: Guard | None = None) -> int:
        matches = failure_attribute_matcher(rsc)

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            doomed = [name for name in _attributes(conn, node) if matches(name)]
            cleared = _update_attributes(conn, node, dict.fromkeys(doomed), revision)
            self._fault("cleanup_resource:failcount")
            histories = [str(r) for (r,) in conn.execute("SELECT rsc FROM resources WHERE node = ?", (node,))]
            forgotten = 0
            for history in histories:
                if belongs_to(history, rsc):
                    forgotten += conn.execute(
                        "DELETE FROM resources WHERE node = ? AND rsc = ?", (node, history)
                    ).rowcount
            return cleared or forgotten > 0

        return await self._run(lambda: self._write(work, guard=guard, step="cleanup_resource"))

    async def record_fencing(self, entry: FenceEntry, *, guard: Guard | None = None) -> int:
        node = entry.target
        text = encode_fence_entry(entry)

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            if entry.succeeded:
                row = conn.execute("SELECT state FROM nodes WHERE node = ?", (node,)).fetchone()
                state = decode_node(row[0], f"{self.path} node {node}") if row else None
                conn.execute(
                    "INSERT INTO nodes (node, state, revision) VALUES (?, ?, ?) "
                    "ON CONFLICT (node) DO UPDATE SET state = excluded.state, revision = excluded.revision",
                    (node, encode_node(fenced_state(state, node, entry.completed)), revision),
                )
                conn.execute("DELETE FROM node_attributes WHERE node = ?", (node,))
                self._fault("record_fencing:erased")
                conn.execute("DELETE FROM resources WHERE node = ?", (node,))
            conn.execute("INSERT INTO fence_history (revision, target, entry) VALUES (?, ?, ?)",
                         (revision, node, text))
            conn.execute(
                "DELETE FROM fence_history WHERE seq <= (SELECT max(seq) FROM fence_history) - ?",
                (FENCE_RETENTION,),
            )
            return True

        return await self._run(lambda: self._write(work, guard=guard, step="record_fencing"))

    async def fence_history(self, node: str | None = None, limit: int = 100) -> list[FenceEntry]:
        if limit <= 0:
            return []
        clause, args = ("WHERE target = ?", (node,)) if node is not None else ("", ())

        def read() -> list[FenceEntry]:
            rows = self._conn.execute(
                f"SELECT revision, entry FROM fence_history {clause} ORDER BY seq DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
            return [decode_fence_entry(text, int(revision), f"{self.path} fence history")
                    for revision, text in reversed(rows)]

        return await self._run(read)

    # -- work orders -------------------------------------------------------------------------

    def _read_order(self, conn: sqlite3.Connection, node: str, order_id: str) -> WorkOrder | None:
        row = conn.execute("SELECT entry, revision FROM work_orders WHERE node = ? AND id = ?",
                           (node, order_id)).fetchone()
        return None if row is None else decode_work_order(row[0], int(row[1]), f"{self.path} work order")

    @staticmethod
    def _store_order(conn: sqlite3.Connection, order: WorkOrder, revision: int) -> None:
        conn.execute("INSERT INTO work_orders (node, id, entry, revision) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (node, id) DO UPDATE SET entry = excluded.entry, "
                     "revision = excluded.revision",
                     (order.node, order.id, encode_work_order(order), revision))

    async def put_work_order(self, order: WorkOrder, *, guard: Guard) -> int:
        stored = new_order(order, guard)

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            if self._read_order(conn, order.node, order.id) is not None:
                raise order_exists(order.node, order.id)
            self._store_order(conn, stored, revision)
            return True

        return await self._run(lambda: self._write(work, guard=guard))

    async def work_orders(self, node: str) -> list[WorkOrder]:
        def read() -> list[WorkOrder]:
            rows = self._conn.execute("SELECT entry, revision FROM work_orders WHERE node = ? ORDER BY id",
                                      (node,)).fetchall()
            where = f"{self.path} work order"
            return [decode_work_order(text, int(revision), where) for text, revision in rows]

        return await self._run(read)

    async def claim_work_order(self, node: str, order_id: str, *, incarnation: Guard) -> WorkOrder:
        claimed: list[WorkOrder] = []

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            stored = self._read_order(conn, node, order_id)
            if stored is not None:
                self._check_guard(Guard(LEADER_KEY, stored.term))
            self._check_guard(incarnation)
            order = replace(claimed_order(stored, node, order_id, incarnation.revision), revision=revision)
            self._store_order(conn, order, revision)
            claimed.append(order)
            return True

        await self._run(lambda: self._write(work))
        return claimed[0]

    async def complete_work_order(self, node: str, order_id: str, result: str, *, guard: Guard) -> int:
        def work(conn: sqlite3.Connection, revision: int) -> bool:
            stored = self._read_order(conn, node, order_id)
            done = completed_order(stored, node, order_id, result, guard.revision)
            if done is None:
                return False
            self._store_order(conn, done, revision)
            return True

        return await self._run(lambda: self._write(work, guard=guard))

    async def remove_work_order(self, node: str, order_id: str, *, guard: Guard) -> int:
        def work(conn: sqlite3.Connection, revision: int) -> bool:
            deleted = conn.execute("DELETE FROM work_orders WHERE node = ? AND id = ?", (node, order_id))
            return deleted.rowcount > 0

        return await self._run(lambda: self._write(work, guard=guard))

    async def remove_node(self, node: str, *, guard: Guard | None = None) -> int:
        def work(conn: sqlite3.Connection, revision: int) -> bool:
            removed = 0
            for table in ("nodes", "node_attributes", "resources"):
                removed += conn.execute(f"DELETE FROM {table} WHERE node = ?", (node,)).rowcount
            return removed > 0

        return await self._run(lambda: self._write(work, guard=guard))

    # -- tickets -------------------------------------------------------------------------------

    async def set_ticket(self, ticket: Ticket, *, guard: Guard | None = None) -> int:
        return await self._put_unless_there("tickets", "id", ticket.id, encode_ticket(ticket), guard)

    async def remove_ticket(self, ticket_id: str, *, guard: Guard | None = None) -> int:
        def work(conn: sqlite3.Connection, revision: int) -> bool:
            return conn.execute("DELETE FROM tickets WHERE id = ?", (ticket_id,)).rowcount > 0

        return await self._run(lambda: self._write(work, guard=guard))

    # -- transition reports -------------------------------------------------------------------

    async def put_transition_report(
        self, report: TransitionReport, *, term: int, guard: Guard | None = None
    ) -> None:
        check_report_key(report, term, guard)
        text = encode_transition_report(report)

        def write() -> None:
            # Its own transaction, not _write's: the store row (the revision) is left alone.
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._check_guard(guard)
                conn.execute("INSERT INTO transition_reports (term, number, report) VALUES (?, ?, ?) "
                             "ON CONFLICT (term, number) DO UPDATE SET report = excluded.report",
                             (term, report.number, text))
                conn.execute("DELETE FROM transition_reports WHERE (term, number) NOT IN "
                             "(SELECT term, number FROM transition_reports "
                             "ORDER BY term DESC, number DESC LIMIT ?)", (REPORT_RETENTION,))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        await self._run(write)

    async def transition_reports(self, limit: int = 20) -> list[TransitionReport]:
        if limit <= 0:
            return []

        def read() -> list[TransitionReport]:
            rows = self._conn.execute(
                "SELECT report FROM transition_reports ORDER BY term DESC, number DESC LIMIT ?", (limit,)
            ).fetchall()
            where = f"{self.path} transition report"
            return [decode_transition_report(text, where) for (text,) in reversed(rows)]

        return await self._run(read)

    # -- watching and lifetime -------------------------------------------------------------------

    async def wait_for_change(self, since_revision: int, timeout: float | None = None) -> Change | None:
        if self._closed:
            raise StoreError(f"the store {self.url} is closed")
        return await self._notifier.wait(
            since_revision,
            timeout,
            poll=lambda: self._run(self._read_change),
            poll_interval=self.poll_interval,
        )

    async def close(self) -> None:
        await self._revoke_leases()
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
        self._notifier.close()


def _object_pairs(text: str, where: str) -> tuple[tuple[str, str], ...]:
    try:
        value = json.loads(text)
    except ValueError:
        raise StoreError(f"{where}: a stored value is not valid JSON") from None
    if not isinstance(value, dict):
        raise StoreError(f"{where}: a stored value is not a JSON object")
    return tuple((str(k), str(v)) for k, v in sorted(value.items()))


def _attributes(conn: sqlite3.Connection, node: str) -> dict[str, str]:
    rows = conn.execute("SELECT name, value FROM node_attributes WHERE node = ?", (node,))
    return {str(name): str(value) for name, value in rows}


def _update_attributes(
    conn: sqlite3.Connection, node: str, updates: Mapping[str, str | None], revision: int
) -> bool:
    """Write ``updates`` (``None`` deletes); whether anything changed."""
    changed = False
    for name, value in updates.items():
        if value is None:
            cursor = conn.execute("DELETE FROM node_attributes WHERE node = ? AND name = ?", (node, name))
        else:
            cursor = conn.execute(
                "INSERT INTO node_attributes (node, name, value, revision) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (node, name) DO UPDATE SET value = excluded.value, revision = excluded.revision "
                "WHERE node_attributes.value IS NOT excluded.value",
                (node, name, value, revision),
            )
        changed |= cursor.rowcount > 0
    return changed
