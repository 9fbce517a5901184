"""Opening the SQLite store file: refuse what is not a vigil store, create and migrate the schema.

Its own module because none of it is needed once the file is open: the
store (:mod:`vigil.store.sqlite.store`) gets a checked connection and never
looks at the schema again.

Layout (schema version 6; ``schema_version`` refuses a newer file)
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
    wakes no watcher, in this process or by polling); since version 6,
    ``tickets`` one row per ticket.
    An older file is migrated in place when opened.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vigil.store.base import StoreError

SCHEMA_VERSION = 6
# ``PRAGMA application_id``: "VIGL", so `file` and tools can tell the file apart.
APPLICATION_ID = 0x5649474C
# The file name used when the URL names a directory (the state directory).
DEFAULT_FILE_NAME = "vigil.db"
BUSY_TIMEOUT_S = 10.0

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


def resolve_path(path: Path) -> Path:
    """The database file: ``path`` itself, or ``vigil.db`` in it when it is a directory.

    A directory that is itself named ``vigil.db`` is a store file gone wrong,
    not a state directory: it is kept, so that opening it is an error that
    names it rather than a new, empty store inside it.
    """
    return path / DEFAULT_FILE_NAME if path.is_dir() and path.name != DEFAULT_FILE_NAME else path


class SQLiteFile:
    """The store file at ``path``: opened for writing (created, migrated) or for reading only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, error: sqlite3.Error, doing: str) -> StoreError:
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

    def connect(self, create: bool) -> sqlite3.Connection:
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
            raise self.fail(error, "open the store") from None
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

    def open_read_only(self) -> sqlite3.Connection:
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
            raise self.fail(error, "read the store") from None
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
            raise self.fail(error, "open the store") from None

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
