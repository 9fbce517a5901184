"""The SQLite store (``sqlite:///var/lib/vigil/vigil.db``): one machine, durable, nothing to install.

One file (plus SQLite's ``-wal`` and ``-shm`` beside it) under the state
directory.  Stdlib :mod:`sqlite3`, no ORM.

Durability
    WAL journal with ``synchronous=FULL``: every commit is written to the
    WAL *and fsynced* before the write method returns.  The requirement is
    that nothing recorded is lost when the daemon is killed (kill -9):
    ``synchronous=NORMAL`` with WAL would already give that, because a
    commit's pages are in the kernel once ``write()`` returns and the
    kernel keeps them when the process dies.  FULL also keeps them through
    a power loss or a kernel crash, for one fsync per commit; vigil commits
    a handful of times per agent action, and agent actions take far longer
    than an fsync, so the price is small and the rule simple: what vigil
    has acted on is on disk.

Concurrency
    Every write is ``BEGIN IMMEDIATE`` (the write lock is taken before the
    revision is read, so read-modify-write is safe between processes) with
    a busy timeout, so the CLI and the daemon can write the same file.
    Reads are one transaction, which WAL makes a consistent snapshot that
    never waits for writers.  One connection per store object, used from
    worker threads (``asyncio.to_thread``) under a lock, so the event loop
    never waits for the disk.

Layout (schema version 5; ``schema_version`` refuses a newer file)
    ``store`` (one row: revision, config_revision), ``config`` (one row:
    the configuration as CIB XML), ``nodes`` (membership fields as JSON),
    ``node_attributes``, ``resources`` (``<lrm_resource>`` fields as JSON),
    ``operations`` (one ``OpRecord`` as JSON per node, resource and op id),
    ``operation_log`` (every recorded result, append-only, pruned to the
    newest ``LOG_RETENTION``).
    Every row keeps the revision that last wrote it (etcd's mod_revision),
    indexed.  Since version 2, ``deletions`` keeps a tombstone for every
    status row deleted (written by triggers, so no deleting write can
    forget one), pruned after ``DELETIONS_RETENTION`` revisions; the one
    row of ``deletions_horizon`` is the revision up to which tombstones may
    be gone.  Since version 3, ``fence_history`` keeps one row per fencing;
    since version 4, ``work_orders`` one row per work order; since version 5,
    ``transition_reports`` one row per kept transition report, written
    without a new revision (a report is not a change of the cluster, so it
    wakes no watcher, in this process or by polling).
    An older file is migrated in place when opened.

Incremental snapshots
    A store object keeps the status of its last snapshot (revision R) as
    :class:`~vigil.store.state.NodeData` tables.  The next snapshot, in one
    read transaction, removes what the tombstones after R name, then applies
    every row whose revision is after R, and rebuilds only the histories and
    node states so touched (:func:`~vigil.store.state.build_cluster`): work
    in proportion to the change, and every untouched object shared with the
    previous snapshot.  This is exact: a row present now was either written
    after R (read again) or unchanged since R (it would have a newer
    revision otherwise); a row absent now that was there at R was deleted
    after R (a tombstone).  It falls back to reading every row when R is
    older than the horizon, when the revision went backwards, or when the
    changes do not fit the cache (an operation without its history).
"""

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
from vigil.store.coord import LEADER_KEY, Guard, LocalCoordination
from vigil.store.notify import LocalNotifier
from vigil.store.state import History, NodeData, adopt, build_cluster, failure_updates

SCHEMA_VERSION = 6
# ``PRAGMA application_id``: "VIGL", so `file` and tools can tell the file apart.
APPLICATION_ID = 0x5649474C
# The file name used when the URL names a directory (the state directory).
DEFAULT_FILE_NAME = "vigil.db"
BUSY_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.25
# Tombstones of deleted rows are kept for this many revisions; a store object
# whose last snapshot is older than that reads the next one whole.
DELETIONS_RETENTION = 10_000

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE store (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL,
    config_revision INTEGER NOT NULL
);
CREATE TABLE config (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cib BLOB NOT NULL,
    revision INTEGER NOT NULL
);
CREATE TABLE nodes (
    node TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    revision INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE node_attributes (
    node TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (node, name)
) WITHOUT ROWID;
CREATE TABLE resources (
    node TEXT NOT NULL,
    rsc TEXT NOT NULL,
    resource TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (node, rsc)
) WITHOUT ROWID;
CREATE TABLE operations (
    node TEXT NOT NULL,
    rsc TEXT NOT NULL,
    op_id TEXT NOT NULL,
    record TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (node, rsc, op_id),
    FOREIGN KEY (node, rsc) REFERENCES resources (node, rsc) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE operation_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    revision INTEGER NOT NULL,
    node TEXT NOT NULL,
    rsc TEXT NOT NULL,
    record TEXT NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX operation_log_rsc ON operation_log (rsc, seq);
"""


def _tombstone_trigger(table: str, rsc: str, name: str) -> str:
    # Runs inside a write (``SQLiteStore._write``), which updates the store
    # row last: the revision it commits as is the stored one plus 1.
    return (
        f"CREATE TRIGGER {table}_deleted AFTER DELETE ON {table} BEGIN "
        "INSERT INTO deletions (revision, tbl, node, rsc, name) VALUES "
        f"((SELECT revision + 1 FROM store WHERE id = 1), '{table}', OLD.node, {rsc}, {name}); END"
    )


# Version N's statements turn a version N-1 file into a version N one (a new
# file is created at version 1 and migrated, so both take the same path).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        "CREATE TABLE deletions (revision INTEGER NOT NULL, tbl TEXT NOT NULL, node TEXT NOT NULL, "
        "rsc TEXT NOT NULL, name TEXT NOT NULL)",
        "CREATE INDEX deletions_revision ON deletions (revision)",
        "CREATE TABLE deletions_horizon (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL)",
        # No tombstone exists for what was deleted before the migration.
        "INSERT INTO deletions_horizon (id, revision) SELECT 1, revision FROM store WHERE id = 1",
        "CREATE INDEX nodes_revision ON nodes (revision)",
        "CREATE INDEX node_attributes_revision ON node_attributes (revision)",
        "CREATE INDEX resources_revision ON resources (revision)",
        "CREATE INDEX operations_revision ON operations (revision)",
        _tombstone_trigger("nodes", "''", "''"),
        _tombstone_trigger("node_attributes", "''", "OLD.name"),
        _tombstone_trigger("resources", "OLD.rsc", "''"),
        _tombstone_trigger("operations", "OLD.rsc", "OLD.op_id"),
    ),
    3: (
        # The fence history (Store.record_fencing): one row per fencing, pruned to FENCE_RETENTION.
        "CREATE TABLE fence_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, revision INTEGER NOT NULL, "
        "target TEXT NOT NULL, entry TEXT NOT NULL)",
    ),
    4: (
        # Work orders (Store.put_work_order): one row per order, outside the snapshot's tables.
        "CREATE TABLE work_orders (node TEXT NOT NULL, id TEXT NOT NULL, entry TEXT NOT NULL, "
        "revision INTEGER NOT NULL, PRIMARY KEY (node, id))",
    ),
    5: (
        # Transition reports (Store.put_transition_report): the newest REPORT_RETENTION, by (term,
        # number); no revision, as they are not the cluster's state.
        "CREATE TABLE transition_reports (term INTEGER NOT NULL, number INTEGER NOT NULL, "
        "report TEXT NOT NULL, PRIMARY KEY (term, number)) WITHOUT ROWID",
    ),
    6: (
        # Tickets (Store.set_ticket): one row per ticket with a state at this site; a handful at
        # most, so every snapshot reads them whole.
        "CREATE TABLE tickets (id TEXT PRIMARY KEY, state TEXT NOT NULL, revision INTEGER NOT NULL) "
        "WITHOUT ROWID",
    ),
}

T = TypeVar("T")
# A write's body: (connection, the revision it commits as) -> whether it changed anything.
Work = Callable[[sqlite3.Connection, int], bool]


class _Unaccounted(Exception):
    """The changed rows do not fit the cached status: read it whole instead."""


def resolve_path(path: Path) -> Path:
    """The database file: ``path`` itself, or ``vigil.db`` in it when it is a directory.

    A directory that is itself named ``vigil.db`` is a store file gone wrong,
    not a state directory: it is kept, so that opening it is an error that
    names it rather than a new, empty store inside it.
    """
    return path / DEFAULT_FILE_NAME if path.is_dir() and path.name != DEFAULT_FILE_NAME else path


class SQLiteStore(LocalCoordination, Store):
    capabilities: ClassVar[Capabilities] = Capabilities(
        backend="SQLite", multi_node=False, durable=True, shared_between_processes=True
    )

    def __init__(
        self, url: str, path: Path, *, create: bool = True, read_only: bool = False,
        poll_interval: float = POLL_INTERVAL_S,
    ) -> None:
        super().__init__(url)
        self.path = resolve_path(path)
        # Leases, members and the leader: per file, in this process (vigil.store.coord).
        self._coord_scope = f"sqlite:{self.path.resolve()}"
        self.poll_interval = poll_interval
        self._lock = threading.Lock()
        self._closed = False
        self._snapshot: Snapshot | None = None
        # The status as of a revision, kept to bring the next snapshot up to date.
        self._status: tuple[int, dict[str, NodeData]] | None = None
        self._config_cache: tuple[int, Config] = (0, Config())
        self.read_only = read_only
        self._conn = self._open_read_only() if read_only else self._connect(create)
        self._notifier = LocalNotifier(self._read_change())

    # -- opening ---------------------------------------------------------------------

    def _fail(self, error: sqlite3.Error, doing: str) -> StoreError:
        message = str(error)
        if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError):
            message += " (the file is not a vigil store, or it is damaged)"
        return StoreError(f"{self.path}: cannot {doing}: {message}")

    def _check_file(self, create: bool) -> None:
        try:
            self._check_file_state(create)
        except OSError as error:
            raise StoreError(f"{self.path}: cannot look at the store file: {error.strerror or error}") \
                from None

    def _check_file_state(self, create: bool) -> None:
        """Tell a store never created (no file) from one that existed and is now unusable.

        vigil's own opening writes the file's header (the switch to WAL)
        before anything else, so an empty file, a directory in its place, or
        a journal left without its database was a store once: opening it as a
        new one would run the node as if nothing had ever been configured.
        """
        if self.path.is_dir():
            raise StoreError(f"{self.path}: a directory is where the store file should be; "
                             "restore the store from a backup, or remove the directory to start afresh")
        if not self.path.exists():
            journal = self.path.with_name(self.path.name + "-wal")
            if journal.exists() and journal.stat().st_size > 0:
                raise StoreError(f"{self.path}: the store is missing but its journal {journal.name} is "
                                 "there: it was deleted; restore it, or remove the journal to start afresh")
            if not create:
                raise StoreError(f"{self.path}: no vigil store there; create one with `vigil config load "
                                 "FILE` or `vigil run --config FILE`, or check the path")
        elif self.path.stat().st_size == 0:
            raise StoreError(f"{self.path}: the store file is empty (0 bytes), so it lost what it held; "
                             "restore it from a backup, or remove it to start afresh")

    def _connect(self, create: bool) -> sqlite3.Connection:
        self._check_file(create)
        if not self.path.parent.is_dir():
            raise StoreError(f"{self.path}: the directory {self.path.parent} does not exist; create it first")
        conn = self._sqlite_connect(self.path, uri=False)
        try:
            self._refuse_before_writing(conn, create)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{self.path}: cannot switch the store to WAL mode (got {mode!r})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._check_schema(conn)
            self._quick_check(conn)
        except sqlite3.Error as error:
            conn.close()
            raise self._fail(error, "open the store") from None
        except StoreError:
            conn.close()
            raise
        return conn

    def _refuse_before_writing(self, conn: sqlite3.Connection, create: bool) -> None:
        """Refuse a file that is not a vigil store before the first write (the switch to WAL)."""
        tables = self._tables(conn)
        if tables:
            self._stored_version(conn, tables)
        elif not create:
            raise StoreError(f"{self.path}: this SQLite file holds no vigil store (it has no tables)")

    def _open_read_only(self) -> sqlite3.Connection:
        """A connection that never writes, for commands that only read (``vigil config show``).

        It works where the user may not write: a read-only file or directory.
        SQLite needs to create the ``-shm`` file to read a WAL database; where
        it cannot and there is no ``-wal`` (so no writer has the store open),
        the file is read as immutable instead.
        """
        self._check_file(create=False)
        uri = self.path.resolve().as_uri()
        conn = self._sqlite_connect(uri + "?mode=ro", uri=True)
        try:
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                if self.path.with_name(self.path.name + "-wal").exists():
                    raise
                conn.close()
                conn = self._sqlite_connect(uri + "?immutable=1", uri=True)
            self._check_schema_read_only(conn)
            self._quick_check(conn)
        except sqlite3.Error as error:
            conn.close()
            raise self._fail(error, "read the store") from None
        except StoreError:
            conn.close()
            raise
        return conn

    def _sqlite_connect(self, target: Path | str, *, uri: bool) -> sqlite3.Connection:
        try:
            return sqlite3.connect(
                target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False, uri=uri
            )
        except sqlite3.Error as error:
            raise self._fail(error, "open the store") from None

    def _quick_check(self, conn: sqlite3.Connection) -> None:
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StoreError(f"{self.path}: the store is damaged: {'; '.join(problems[:5])}")

    def _check_schema_read_only(self, conn: sqlite3.Connection) -> None:
        """The schema checks of :meth:`_check_schema`, where nothing may be created or migrated."""
        tables = self._tables(conn)
        if not tables:
            raise StoreError(f"{self.path}: this SQLite file holds no vigil store (it has no tables)")
        version = self._stored_version(conn, tables)
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: the store is at schema version {version} and must be upgraded, which a "
                "read cannot do; open it once with write access (`vigil run`, or `vigil config load`)"
            )

    @staticmethod
    def _tables(conn: sqlite3.Connection) -> set[str]:
        return {str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _stored_version(self, conn: sqlite3.Connection, tables: set[str]) -> int:
        if "schema_version" not in tables:
            raise StoreError(f"{self.path}: this SQLite file is not a vigil store (no schema_version table)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        stored = row[0] if row else None
        if not isinstance(stored, int):
            raise StoreError(f"{self.path}: the store's schema_version table is empty or damaged")
        if stored > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: the store was written by a newer vigil (schema version {stored}; "
                f"this vigil knows up to {SCHEMA_VERSION}): "
                "upgrade vigil, or use another state directory"
            )
        if stored < 1:
            raise StoreError(f"{self.path}: unknown old schema version {stored}")
        return stored

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = self._tables(conn)
            if not tables:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (1)")
                conn.execute("INSERT INTO store (id, revision, config_revision) VALUES (1, 0, 0)")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                version = 1
            else:
                version = self._stored_version(conn, tables)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute("UPDATE schema_version SET version = ?", (target,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

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
                raise self._fail(error, "use the store") from None

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
                return self._read_config(config_revision), config_revision
            finally:
                self._conn.execute("COMMIT")

        return await self._run(read)

    def _read_config(self, config_revision: int) -> Config:
        cached_revision, cached = self._config_cache
        if cached_revision == config_revision:
            return cached
        row = self._conn.execute("SELECT cib FROM config WHERE id = 1").fetchone()
        if row is None:
            raise StoreError(f"{self.path}: the configuration row is missing: the store is damaged")
        config = decode_config(bytes(row[0]), f"{self.path} (configuration revision {config_revision})")
        self._config_cache = (config_revision, config)
        return config

    async def snapshot(self) -> Snapshot:
        return await self._run(self._read_snapshot)

    def _read_snapshot(self) -> Snapshot:
        conn = self._conn
        conn.execute("BEGIN")
        try:
            change = self._read_change()
            cached = self._snapshot
            if cached is not None and cached.revision == change.revision:
                return cached
            config = self._read_config(change.config_revision)
            nodes = self._read_status(change.revision)
            cluster = build_cluster(config, nodes, self._read_tickets())
            snapshot = Snapshot(cluster, change.revision, change.config_revision)
            self._snapshot = snapshot
            return snapshot
        except BaseException:
            self._status = None  # possibly half brought up to date
            raise
        finally:
            conn.execute("COMMIT")

    def _read_tickets(self) -> dict[str, Ticket]:
        return {ident: decode_ticket(ident, text, f"{self.path}: ticket {ident!r}")
                for ident, text in self._conn.execute("SELECT id, state FROM tickets")}

    def _read_status(self, revision: int) -> dict[str, NodeData]:
        """The status as of ``revision`` (inside the read transaction): the cache brought up to date."""
        kept, self._status = self._status, None
        if kept is not None:
            since, nodes = kept
            horizon = self._conn.execute("SELECT revision FROM deletions_horizon WHERE id = 1").fetchone()
            if horizon is not None and horizon[0] <= since <= revision:
                try:
                    self._apply_changes(nodes, since)
                except _Unaccounted:
                    pass
                else:
                    self._status = (revision, nodes)
                    return nodes
        fresh = self._read_all()
        if kept is not None:
            adopt(kept[1], fresh)
        self._status = (revision, fresh)
        return fresh

    def _read_all(self) -> dict[str, NodeData]:
        conn = self._conn
        nodes: dict[str, NodeData] = {}
        where = str(self.path)
        for node, state in conn.execute("SELECT node, state FROM nodes"):
            nodes.setdefault(node, NodeData()).state = decode_node(state, f"{where} node {node}")
        for node, name, value in conn.execute("SELECT node, name, value FROM node_attributes"):
            nodes.setdefault(node, NodeData()).attributes[name] = value
        for node, rsc, resource in conn.execute("SELECT node, rsc, resource FROM resources"):
            ref = decode_resource(resource, f"{where} node {node} resource {rsc}")
            nodes.setdefault(node, NodeData()).histories[rsc] = History(ref)
        for node, rsc, op_id, record in conn.execute("SELECT node, rsc, op_id, record FROM operations"):
            label = f"{where} node {node} resource {rsc} op {op_id}"
            history = nodes.get(node, NodeData()).histories.get(rsc)
            if history is None:
                raise StoreError(f"{label}: an operation without its resource: the store is damaged")
            history.ops[op_id] = decode_record(record, label)
        return nodes

    def _apply_changes(self, nodes: dict[str, NodeData], since: int) -> None:
        """Bring ``nodes`` (the status as of ``since``) up to the read transaction's revision.

        First every deletion after ``since`` (its tombstone), then every row
        written after ``since``.  Raises :class:`_Unaccounted` when a row
        does not fit (the caller then reads everything).
        """
        conn = self._conn
        where = str(self.path)
        touched: set[str] = set()
        for table, node, rsc, name in conn.execute(
            "SELECT tbl, node, rsc, name FROM deletions WHERE revision > ?", (since,)
        ):
            data = nodes.get(node)
            touched.add(node)
            if data is None:
                continue  # created and deleted since: nothing cached
            if table == "nodes":
                if data.state is not None:
                    data.state = None
                    data.changed()
            elif table == "node_attributes":
                if data.attributes.pop(name, None) is not None:
                    data.changed()
            elif table == "resources":
                data.remove_history(rsc)
            elif table == "operations":
                history = data.histories.get(rsc)
                if history is not None and history.ops.pop(name, None) is not None:
                    data.history_changed(rsc)
            else:
                raise _Unaccounted(table)
        for node, state in conn.execute("SELECT node, state FROM nodes WHERE revision > ?", (since,)):
            data = nodes.setdefault(node, NodeData())
            data.state = decode_node(state, f"{where} node {node}")
            data.changed()
        for node, name, value in conn.execute(
            "SELECT node, name, value FROM node_attributes WHERE revision > ?", (since,)
        ):
            data = nodes.setdefault(node, NodeData())
            data.attributes[name] = value
            data.changed()
        for node, rsc, resource in conn.execute(
            "SELECT node, rsc, resource FROM resources WHERE revision > ?", (since,)
        ):
            ref = decode_resource(resource, f"{where} node {node} resource {rsc}")
            data = nodes.setdefault(node, NodeData())
            history = data.histories.get(rsc)
            if history is None:
                data.edit_history(rsc, ref)
            elif history.resource != ref:
                history.resource = ref
                data.history_changed(rsc)
        for node, rsc, op_id, record in conn.execute(
            "SELECT node, rsc, op_id, record FROM operations WHERE revision > ?", (since,)
        ):
            data = nodes.get(node)
            history = data.histories.get(rsc) if data is not None else None
            if data is None or history is None:
                raise _Unaccounted(f"operation {op_id} of {rsc} on {node} without its history")
            # The cache is this store object's own (snapshots hold only the
            # immutable objects built from it): changed in place, not copied.
            history.ops[op_id] = decode_record(record, f"{where} node {node} resource {rsc} op {op_id}")
            data.history_changed(rsc)
        for node in touched:
            data = nodes.get(node)
            if data is not None and data.is_empty():
                del nodes[node]

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
            self._config_cache = (revision, config)
            return revision

        return await self._run(write)

    async def set_node_state(self, state: NodeState, *, guard: Guard | None = None) -> int:
        text = encode_node(state)

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            row = conn.execute("SELECT state FROM nodes WHERE node = ?", (state.uname,)).fetchone()
            if row is not None and row[0] == text:
                return False
            conn.execute(
                "INSERT INTO nodes (node, state, revision) VALUES (?, ?, ?) "
                "ON CONFLICT (node) DO UPDATE SET state = excluded.state, revision = excluded.revision",
                (state.uname, text, revision),
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
        text = encode_ticket(ticket)

        def work(conn: sqlite3.Connection, revision: int) -> bool:
            row = conn.execute("SELECT state FROM tickets WHERE id = ?", (ticket.id,)).fetchone()
            if row is not None and row[0] == text:
                return False
            conn.execute(
                "INSERT INTO tickets (id, state, revision) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET state = excluded.state, revision = excluded.revision",
                (ticket.id, text, revision),
            )
            return True

        return await self._run(lambda: self._write(work, guard=guard))

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
