"""The in-memory store (``memory://``): the contract without a disk, for tests and simulations.

Every ``open_store("memory://")`` gives a new, empty store that lives as
long as the object.  Nothing is durable and nothing is shared with other
processes.  Writes are atomic by copy-on-write: a write works on a copy of
the node it touches (sharing the resource histories it leaves alone, copying
the one it changes) and swaps it in only once every step has succeeded.
Snapshots share every unchanged node state and history with the previous
one (see :mod:`vigil.store.state`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import ClassVar

from vigil.model.activity import TransitionReport
from vigil.model.cluster import Cluster
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
from vigil.store.codec import check_node_state
from vigil.store.coord import LEADER_KEY, Guard, LocalCoordination
from vigil.store.notify import LocalNotifier
from vigil.store.state import History, NodeData, apply_attributes, build_cluster, failure_updates


class MemoryStore(LocalCoordination, Store):
    capabilities: ClassVar[Capabilities] = Capabilities(
        backend="memory", multi_node=False, durable=False, shared_between_processes=False
    )

    def __init__(self, url: str = "memory://") -> None:
        super().__init__(url)
        # Leases, members and the leader live as long as this object (vigil.store.coord).
        self._coord_scope = f"memory:{id(self)}"
        self._lock = threading.Lock()
        self._revision = 0
        self._config = Config()
        self._config_revision = 0
        self._nodes: dict[str, NodeData] = {}
        self._tickets: dict[str, Ticket] = {}
        self._snapshot: Snapshot | None = None
        self._closed = False
        self._log: deque[LogEntry] = deque(maxlen=LOG_RETENTION)
        self._fences: deque[FenceEntry] = deque(maxlen=FENCE_RETENTION)
        # node -> order id -> order: outside the snapshot (the scheduler never reads them).
        self._orders: dict[str, dict[str, WorkOrder]] = {}
        # (term, number) -> a copy of the report: outside the snapshot, and no commit (no revision).
        self._reports: dict[tuple[int, int], TransitionReport] = {}
        self._notifier = LocalNotifier(Change(0, 0))

    # -- helpers -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self.url} is closed")

    def _fault(self, step: str) -> None:
        if self.fault_hook is not None:
            self.fault_hook(step)

    def _commit(self) -> int:
        """Under the lock: one more revision; returns it."""
        self._revision += 1
        self._snapshot = None
        return self._revision

    def _publish(self) -> None:
        self._notifier.publish(Change(self._revision, self._config_revision))

    def _update_node(
        self,
        node: str,
        change: Callable[[NodeData], bool],
        log: Callable[[int], LogEntry | None] | None = None,
        guard: Guard | None = None,
        step: str | None = None,
    ) -> int:
        """Apply ``change`` to a copy of ``node``'s data; commit it if it changed anything.

        ``log`` makes the log entry for the new revision, appended in the same commit.
        A ``guard`` that no longer holds raises GuardLost before anything changes.
        ``step`` names the fault hook's ``STEP:committed`` call, after the commit.
        """
        with self._lock:
            self._check_open()
            self._check_guard(guard)
            data = self._nodes.get(node, NodeData()).copy()
            if not change(data):
                return self._revision
            if data.is_empty():
                self._nodes.pop(node, None)
            else:
                self._nodes[node] = data
            revision = self._commit()
            entry = log(revision) if log is not None else None
            if entry is not None:
                self._log.append(entry)
        self._publish()
        if step is not None:
            self._fault(f"{step}:committed")
        return revision

    @classmethod
    def holding(cls, cluster: Cluster) -> MemoryStore:
        """A store that holds ``cluster``'s configuration and status (a simulation's starting point),
        put in at once rather than one record at a time; the operation log starts empty.

        A history without operations is not kept, as a store never holds one.
        """
        store = cls()
        store._config = cluster.config
        store._revision = store._config_revision = 1
        for state in cluster.status.nodes:
            membership = replace(state, attributes=(), resources=())
            data = NodeData(state=membership, attributes=dict(state.attributes))
            for history in state.resources:
                if history.ops:
                    ref = ResourceRef(history.id, history.cls, history.provider, history.type,
                                      history.container)
                    data.histories[history.id] = History(ref, {op.id: op for op in history.ops})
            store._nodes[state.uname] = data
        store._tickets = {ticket.id: ticket for ticket in cluster.status.tickets}
        return store

    # -- reading ---------------------------------------------------------------------

    async def revision(self) -> int:
        with self._lock:
            self._check_open()
            return self._revision

    async def get_config(self) -> tuple[Config, int]:
        with self._lock:
            self._check_open()
            return self._config, self._config_revision

    async def snapshot(self) -> Snapshot:
        with self._lock:
            self._check_open()
            if self._snapshot is None:
                self._snapshot = Snapshot(
                    cluster=build_cluster(self._config, self._nodes, self._tickets),
                    revision=self._revision,
                    config_revision=self._config_revision,
                )
            return self._snapshot

    # -- writing -----------------------------------------------------------------------

    async def put_config(self, config: Config, expected_revision: int, *, guard: Guard | None = None) -> int:
        with self._lock:
            self._check_open()
            self._check_guard(guard)
            if self._config_revision != expected_revision:
                raise RevisionConflict(expected_revision, self._config_revision)
            self._fault("put_config")
            revision = self._commit()
            self._config = config
            self._config_revision = revision
        self._publish()
        return revision

    async def set_node_state(self, state: NodeState, *, guard: Guard | None = None) -> int:
        check_node_state(state)

        def change(data: NodeData) -> bool:
            if data.state == state:
                return False
            data.state = state
            return True

        return self._update_node(state.uname, change, guard=guard)

    async def set_node_attribute(
        self, node: str, name: str, value: str | None, *, guard: Guard | None = None
    ) -> int:
        return self._update_node(
            node, lambda data: apply_attributes(data.attributes, {name: value}), guard=guard
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
        logged_meta = tuple(sorted((meta or {}).items()))

        def change(data: NodeData) -> bool:
            present = data.histories.get(resource.id)
            if already_recorded(present.ops.get(record.id) if present else None, record):
                return False  # a retry of a committed write: nothing twice
            history = data.edit_history(resource.id, resource)
            assert history is not None  # created when missing
            history.resource = resource
            history.ops[record.id] = record
            for extra in also:
                history.ops[extra.id] = extra
            self._fault("record_operation:recorded")
            updates = failure_updates(data.attributes, resource.id, record, failcount_delta, failed_at)
            apply_attributes(data.attributes, updates)
            self._fault("record_operation:failcount")
            apply_attributes(data.attributes, attributes or {})
            return True

        return self._update_node(
            node, change, lambda revision: LogEntry(revision, node, resource.id, record, logged_meta), guard,
            "record_operation",
        )

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

        def change(data: NodeData) -> bool:
            doomed = [name for name in data.attributes if matches(name)]
            for name in doomed:
                del data.attributes[name]
            return bool(doomed)

        return self._update_node(node, change, guard=guard)

    async def forget_operations(
        self, node: str, rsc: str, op_ids: Iterable[str], *, guard: Guard | None = None
    ) -> int:
        doomed = set(op_ids)

        def change(data: NodeData) -> bool:
            present = data.histories.get(rsc)
            if present is None or not doomed & present.ops.keys():
                return False
            history = data.edit_history(rsc)
            assert history is not None  # present
            for op_id in doomed:
                history.ops.pop(op_id, None)
            return True

        return self._update_node(node, change, guard=guard)

    async def operation_log(
        self, resource: str | None = None, node: str | None = None, limit: int = 200
    ) -> list[LogEntry]:
        with self._lock:
            self._check_open()
            found = [
                entry
                for entry in self._log
                if log_matches(entry.resource, resource) and (node is None or entry.node == node)
            ]
        return found[-limit:] if limit > 0 else []

    async def forget_resource(self, node: str, rsc: str, *, guard: Guard | None = None) -> int:
        def change(data: NodeData) -> bool:
            self._fault("forget_resource")
            return data.remove_history(rsc)

        return self._update_node(node, change, guard=guard)

    async def cleanup_resource(self, node: str, rsc: str, *, guard: Guard | None = None) -> int:
        matches = failure_attribute_matcher(rsc)

        def change(data: NodeData) -> bool:
            doomed = [name for name in data.attributes if matches(name)]
            for name in doomed:
                del data.attributes[name]
            self._fault("cleanup_resource:failcount")
            forgotten = [h for h in list(data.histories) if belongs_to(h, rsc) and data.remove_history(h)]
            return bool(doomed or forgotten)

        return self._update_node(node, change, guard=guard, step="cleanup_resource")

    async def record_fencing(self, entry: FenceEntry, *, guard: Guard | None = None) -> int:
        node = entry.target

        def change(data: NodeData) -> bool:
            if entry.succeeded:
                data.state = fenced_state(data.state, node, entry.completed)
                data.attributes.clear()
                for rsc in list(data.histories):
                    data.remove_history(rsc)
                data.changed()
                self._fault("record_fencing:erased")
            return True

        def log(revision: int) -> LogEntry | None:
            self._fences.append(replace(entry, revision=revision))
            return None

        return self._update_node(node, change, log, guard, "record_fencing")

    async def fence_history(self, node: str | None = None, limit: int = 100) -> list[FenceEntry]:
        with self._lock:
            self._check_open()
            found = [entry for entry in self._fences if node is None or entry.target == node]
        return found[-limit:] if limit > 0 else []

    async def remove_node(self, node: str, *, guard: Guard | None = None) -> int:
        with self._lock:
            self._check_open()
            self._check_guard(guard)
            if self._nodes.pop(node, None) is None:
                return self._revision
            revision = self._commit()
        self._publish()
        return revision

    async def set_ticket(self, ticket: Ticket, *, guard: Guard | None = None) -> int:
        with self._lock:
            self._check_open()
            self._check_guard(guard)
            if self._tickets.get(ticket.id) == ticket:
                return self._revision
            self._tickets[ticket.id] = ticket
            revision = self._commit()
        self._publish()
        return revision

    async def remove_ticket(self, ticket_id: str, *, guard: Guard | None = None) -> int:
        with self._lock:
            self._check_open()
            self._check_guard(guard)
            if self._tickets.pop(ticket_id, None) is None:
                return self._revision
            revision = self._commit()
        self._publish()
        return revision

    # -- work orders ---------------------------------------------------------------------------

    def _write_order(self, node: str, order_id: str, guards: Sequence[Guard],
                     change: Callable[[WorkOrder | None], WorkOrder | None], remove: bool = False) -> int:
        """Under the lock and ``guards``: replace (or remove) one order; the new revision.

        ``change`` gets the stored order and returns the new one, or None for no change.
        """
        with self._lock:
            self._check_open()
            for guard in guards:
                self._check_guard(guard)
            orders = self._orders.setdefault(node, {})
            updated = change(orders.get(order_id))
            if updated is None:
                return self._revision
            revision = self._revision + 1
            if remove:
                del orders[order_id]
            else:
                orders[order_id] = replace(updated, revision=revision)
            self._revision = revision  # the snapshot is unchanged: the orders are not in it
        self._publish()
        return revision

    async def put_work_order(self, order: WorkOrder, *, guard: Guard) -> int:
        stored = new_order(order, guard)

        def change(present: WorkOrder | None) -> WorkOrder:
            if present is not None:
                raise order_exists(order.node, order.id)
            return stored

        return self._write_order(order.node, order.id, [guard], change)

    async def work_orders(self, node: str) -> list[WorkOrder]:
        with self._lock:
            self._check_open()
            return [order for _, order in sorted(self._orders.get(node, {}).items())]

    async def claim_work_order(self, node: str, order_id: str, *, incarnation: Guard) -> WorkOrder:
        with self._lock:
            self._check_open()
            stored = self._orders.get(node, {}).get(order_id)
            if stored is not None:
                self._check_guard(Guard(LEADER_KEY, stored.term))
            self._check_guard(incarnation)
            claimed = claimed_order(stored, node, order_id, incarnation.revision)
            self._revision += 1
            claimed = replace(claimed, revision=self._revision)
            self._orders[node][order_id] = claimed
        self._publish()
        return claimed

    async def complete_work_order(self, node: str, order_id: str, result: str, *, guard: Guard) -> int:
        return self._write_order(
            node, order_id, [guard],
            lambda stored: completed_order(stored, node, order_id, result, guard.revision))

    async def remove_work_order(self, node: str, order_id: str, *, guard: Guard) -> int:
        return self._write_order(node, order_id, [guard], lambda stored: stored, remove=True)

    # -- transition reports ----------------------------------------------------------------------

    async def put_transition_report(
        self, report: TransitionReport, *, term: int, guard: Guard | None = None
    ) -> None:
        check_report_key(report, term, guard)
        key = (term, report.number)
        with self._lock:
            self._check_open()
            self._check_guard(guard)
            # A copy: the controller goes on changing its report (finished, outcome).
            self._reports[key] = replace(report)
            kept = set(kept_report_keys(self._reports))
            for old in [k for k in self._reports if k not in kept]:
                del self._reports[old]
        # Neither a new revision nor a notification: a report is not a change of the cluster.

    async def transition_reports(self, limit: int = 20) -> list[TransitionReport]:
        with self._lock:
            self._check_open()
            found = [replace(self._reports[key]) for key in sorted(self._reports)]
        return found[-limit:] if limit > 0 else []

    # -- watching and lifetime -------------------------------------------------------------

    async def wait_for_change(self, since_revision: int, timeout: float | None = None) -> Change | None:
        self._check_open()
        return await self._notifier.wait(since_revision, timeout)

    async def close(self) -> None:
        await self._revoke_leases()
        with self._lock:
            self._closed = True
        self._notifier.close()
