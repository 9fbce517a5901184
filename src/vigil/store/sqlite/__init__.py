"""The SQLite store (``sqlite:///var/lib/vigil/vigil.db``): one machine, durable, nothing to install.

One file (plus SQLite's ``-wal`` and ``-shm`` beside it) under the state
directory.  Stdlib :mod:`sqlite3`, no ORM.  :mod:`.store` is the store,
:mod:`.schema` opens the file (refusing what is not a vigil store, creating
and migrating the schema), :mod:`.snapshots` reads snapshots incrementally.

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
"""

from vigil.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
