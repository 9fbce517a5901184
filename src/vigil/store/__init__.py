"""The store: vigil's shared state behind one interface, the backend picked by URL.

=========================  ==============================================================
``sqlite:///ABS/PATH``     SQLite file at /ABS/PATH (or ``vigil.db`` in it, when a directory)
``sqlite:REL/PATH``        the same, relative to the working directory
``memory://``              a new, empty in-memory store (tests, simulations)
``etcd://HOST:PORT[,...]``  etcd (``pip install vigil[etcd]``); ``/NAME`` after the hosts
                           names the cluster (key prefix ``/vigil/NAME/``, default ``default``)
=========================  ==============================================================

The contract every backend keeps is in :mod:`vigil.store.base`; the
reasoning and the SQLite layout in docs/store.md.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from vigil.store.base import (
    Capabilities,
    Change,
    FenceEntry,
    ResourceRef,
    RevisionConflict,
    Snapshot,
    Store,
    StoreError,
    WorkOrder,
    WorkOrderConflict,
    require,
)
from vigil.store.coord import Guard, GuardLost, Lease, NodeNameTaken
from vigil.store.memory import MemoryStore
from vigil.store.sqlite import SQLiteStore

__all__ = [
    "Capabilities",
    "Change",
    "FenceEntry",
    "Guard",
    "GuardLost",
    "Lease",
    "MemoryStore",
    "NodeNameTaken",
    "ResourceRef",
    "RevisionConflict",
    "SQLiteStore",
    "Snapshot",
    "Store",
    "StoreError",
    "WorkOrder",
    "WorkOrderConflict",
    "open_store",
    "require",
    "sqlite_url",
]

_SCHEMES = "sqlite:///PATH (one machine), etcd://HOST:PORT[,HOST:PORT...][/CLUSTER] or memory:// (tests)"


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite store at ``path`` (a file, or a state directory)."""
    return f"sqlite://{path.resolve().as_posix()}" if path.is_absolute() else f"sqlite:{path.as_posix()}"


def open_store(url: str, *, create: bool = True, read_only: bool = False) -> Store:
    """Open the store ``url`` names; raise :class:`StoreError` with a clear message if it cannot.

    ``create=False`` refuses to create a new, empty store (for commands that
    only read or change an existing one, so a mistyped path is an error).
    ``read_only=True`` (implies ``create=False``) never writes, so a reader
    needs no write access to the store or its directory.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        if parts.netloc or parts.path not in ("", "/") or parts.query:
            raise StoreError(f"invalid store URL {url!r}: use memory:// (it takes no path or options)")
        return MemoryStore(url)
    if scheme == "sqlite":
        if parts.netloc not in ("", "localhost"):
            raise StoreError(
                f"invalid store URL {url!r}: a SQLite store is a local file; "
                f"write sqlite:///absolute/path (three slashes) or sqlite:relative/path"
            )
        if not parts.path or parts.query or parts.fragment:
            raise StoreError(
                f"invalid store URL {url!r}: use sqlite:///PATH to the store file or state directory"
            )
        return SQLiteStore(url, Path(unquote(parts.path)), create=create and not read_only,
                           read_only=read_only)
    if scheme == "etcd":
        if parts.fragment:
            raise StoreError(f"invalid store URL {url!r}: write etcd://HOST:PORT[,HOST:PORT...][/CLUSTER]")
        # Imported here: the etcd client is an optional extra, needed only for etcd:// URLs.
        from vigil.store.etcd import EtcdStore

        return EtcdStore(url)
    shown = f"{scheme}://" if scheme else "no scheme"
    raise StoreError(f"unknown store URL {url!r} ({shown}): use {_SCHEMES}")
