"""Snapshots of the SQLite store, read incrementally: the status cache brought up to date.

Its own module because it is the one stateful reader of the store: it keeps
the last snapshot, the configuration and the status it was built from, so
that the next snapshot reads only the rows written since.

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

import sqlite3
from collections.abc import Callable
from pathlib import Path

from vigil.model.config import Config
from vigil.model.status import Ticket
from vigil.store.base import Change, Snapshot, StoreError
from vigil.store.codec import decode_config, decode_node, decode_record, decode_resource, decode_ticket
from vigil.store.state import History, NodeData, adopt, build_cluster


class _Unaccounted(Exception):
    """The changed rows do not fit the cached status: read it whole instead."""


class SnapshotReader:
    """One store object's snapshots, each built from the previous one's status and the rows since.

    Every method runs under the store's lock, inside a read transaction
    (``read`` opens its own).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, read_change: Callable[[], Change]) -> None:
        self._conn = conn
        self.path = path
        self._read_change = read_change
        self._last: Snapshot | None = None
        # The status as of a revision, kept to bring the next snapshot up to date.
        self._status: tuple[int, dict[str, NodeData]] | None = None
        # The configuration as of a config revision (put_config sets it: no need to read back what it wrote).
        self.config_cache: tuple[int, Config] = (0, Config())

    def read_config(self, config_revision: int) -> Config:
        cached_revision, cached = self.config_cache
        if cached_revision == config_revision:
            return cached
        row = self._conn.execute("SELECT cib FROM config WHERE id = 1").fetchone()
        if row is None:
            raise StoreError(f"{self.path}: the configuration row is missing: the store is damaged")
        config = decode_config(bytes(row[0]), f"{self.path} (configuration revision {config_revision})")
        self.config_cache = (config_revision, config)
        return config

    def read(self) -> Snapshot:
        conn = self._conn
        conn.execute("BEGIN")
        try:
            change = self._read_change()
            cached = self._last
            if cached is not None and cached.revision == change.revision:
                return cached
            config = self.read_config(change.config_revision)
            nodes = self._read_status(change.revision)
            cluster = build_cluster(config, nodes, self._read_tickets())
            snapshot = Snapshot(cluster, change.revision, change.config_revision)
            self._last = snapshot
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
            nodes.setdefault(node, NodeData()).cache_resource(rsc, ref)
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
