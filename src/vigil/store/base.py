"""The store contract: what every backend (memory, SQLite, later etcd) guarantees.

The store holds the cluster's shared state: the **configuration** (one
document with its own revision, replaced only by compare-and-set) and the
**status** (per node: membership fields, transient attributes such as
fail-counts, and the operation history of each resource).  Everything else
in vigil reads it through :meth:`Store.snapshot` (one immutable, consistent
view per scheduling cycle) and writes it through the methods below.

Revisions
    The store has one **revision**, an integer that grows by at least 1
    with every committed write (every write method is one commit); it is 0
    in a new single-host store (an etcd store starts from etcd's own).
    Revisions are never reused, also not after a crash and a restart: a
    reader that saw revision R and later sees R again saw the same state.
    The configuration also carries its **config revision**: the store
    revision of the commit that last wrote it (0 while none has been
    written), which is what :meth:`Store.put_config` compares.  This is
    etcd's model (a store-wide revision, a per-key ``mod_revision``), so an
    etcd backend maps onto it one to one.

Atomicity and ordering
    Each write method is one transaction: after it returns, all of its
    changes are committed (durably, for a backend whose capabilities say
    ``durable``) and visible to every later read; if it raises, none of them
    is.  Writes are totally ordered by their revisions.  A write that would
    change nothing (clearing an absent fail-count) commits nothing and
    returns the current revision.

What a reader may see
    :meth:`Store.snapshot` returns the state as of exactly one revision:
    never half of a write, never a mix of two revisions.  A snapshot never
    changes after it is taken (frozen dataclasses, tuples).  Consecutive
    snapshots share every object that did not change (see
    :meth:`Store.snapshot`), so a consumer can diff them by identity.

Ordering of collections in a snapshot
    Nodes by name, attributes by name, resources by id, operation records
    by id, all in code-point order: an order every backend (including etcd's
    sorted keys) can give, so snapshots compare equal across backends.

All methods are coroutines: the controller is an asyncio loop and an etcd
client is asynchronous.  A backend whose work is blocking (SQLite) runs it
off the event loop.  Synchronous callers (the CLI) use ``asyncio.run``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar

from vigil.errors import VigilError
from vigil.model.activity import TransitionReport
from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.resources import belongs_to
from vigil.model.status import NodeState, OpRecord, Ticket

if TYPE_CHECKING:
    from vigil.store.coord import Guard, Lease

# -- errors ----------------------------------------------------------------------------


class StoreError(VigilError):
    """The store cannot do what was asked: a message for the user, not a traceback.

    Raised for a bad URL, a file that is not a vigil store or is corrupt, a
    store written by a newer vigil, a closed store, an I/O error.
    """


class RevisionConflict(StoreError):
    """A compare-and-set found another revision than the caller expected."""

    def __init__(self, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"the configuration changed meanwhile: expected revision {expected}, found {actual}; "
            "read it again and reapply your change"
        )


class WorkOrderConflict(StoreError):
    """A work order is not in the state the write needs (absent, already there, claimed, done).

    Not a lost guard: the writer still holds its right to write, but the
    order moved on (another claim, a removal), so it must read it again.
    """


# -- values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, so callers can refuse an unfit store up front.

    ``multi_node``: nodes on several machines can share it (etcd); a
    single-host store (SQLite, memory) says False.  ``durable``: a
    committed write survives the death of the process that made it (kill -9)
    and a restart.  ``shared_between_processes``: other processes on this
    machine (the CLI while the daemon runs) may open the same store and see
    each other's writes.
    """

    backend: str
    multi_node: bool
    durable: bool
    shared_between_processes: bool


@dataclass(frozen=True)
class Snapshot:
    """The whole cluster as of one revision, for one scheduling cycle."""

    cluster: Cluster
    revision: int
    config_revision: int


@dataclass(frozen=True)
class Change:
    """A watch notification: the store is now at ``revision`` (> the last one seen).

    One notification may stand for several commits.  ``config_revision``
    tells whether the configuration was among them (it is then greater
    than the config revision the watcher last saw).
    """

    revision: int
    config_revision: int


@dataclass(frozen=True)
class LogEntry:
    """One operation result as it was recorded, kept after the status has moved on.

    The status keeps only the latest result per operation key (as
    Pacemaker's ``<lrm_rsc_op>`` does); the operation log keeps every one,
    with the meta the transition attached to the action (the stop context),
    so ``vigil history`` can say what each stop was told.  ``revision`` is
    the commit that recorded it.
    """

    revision: int
    node: str
    resource: str
    record: OpRecord
    meta: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ResourceRef:
    """Which resource a history belongs to (``<lrm_resource>``'s attributes).

    ``id`` is the history id: the primitive's id, or ``rsc:N`` for an
    instance of a globally-unique clone, as Pacemaker records it.
    """

    id: str
    cls: str | None = None
    provider: str | None = None
    type: str | None = None
    container: str | None = None


# How many operation log entries a store keeps at least.
LOG_RETENTION = 10_000
# How many fencing history entries a store keeps at least.
FENCE_RETENTION = 1_000
# How many transition reports a store keeps: exactly the newest these many, by (term, number).
REPORT_RETENTION = 20


@dataclass(frozen=True)
class FenceEntry:
    """One fencing of a node, kept in the store's fence history (``stonith_admin --history``).

    ``completed`` is the epoch second it ended; ``executioner`` the node that
    ran the device, ``origin`` the node that asked, ``client`` who asked
    (``vigil.PID``), ``device`` the fence device.  ``revision`` is the commit
    that recorded it (0 in an entry not yet recorded).
    """

    target: str
    action: str
    succeeded: bool
    completed: int
    executioner: str = ""
    origin: str = ""
    client: str = ""
    device: str = ""
    revision: int = 0


# The states of a work order, in the only order they are ever reached.
ORDER_PENDING = "pending"
ORDER_CLAIMED = "claimed"
ORDER_DONE = "done"


@dataclass(frozen=True)
class WorkOrder:
    """One action of a transition handed by the controller to the node that must run it.

    The controller writes it (``pending``) guarded by its term; the node's
    agent claims it (``claimed``, with its ``incarnation``) only while that
    term and its own incarnation hold, so an order of a deposed controller
    is never acted on, and a node that restarted never finishes what its
    previous incarnation began; the agent then completes it (``done``, with
    ``result``) guarded by its membership.  ``action`` and ``result`` are
    JSON documents the store keeps as they are (what to run; what came of
    it): the store guards the order's life, not its content.  ``revision``
    is the commit that last wrote it (0 in an order not yet written).
    """

    node: str
    id: str
    term: int
    action: str
    state: str = ORDER_PENDING
    incarnation: int = 0
    result: str = ""
    revision: int = 0


def new_order(order: WorkOrder, guard: Guard) -> WorkOrder:
    """The order as :meth:`Store.put_work_order` stores it (pending); refuses a term not the guard's."""
    if order.term != guard.revision:
        raise StoreError(f"work order {order.id} for {order.node} names term {order.term}, "
                         f"but is written under {guard.key} at revision {guard.revision}")
    return replace(order, state=ORDER_PENDING, incarnation=0, result="", revision=0)


def order_exists(node: str, order_id: str) -> WorkOrderConflict:
    return WorkOrderConflict(f"work order {order_id} for {node} already exists: an order is written once")


def claimed_order(stored: WorkOrder | None, node: str, order_id: str, incarnation: int) -> WorkOrder:
    """``stored`` once claimed by ``incarnation``; WorkOrderConflict unless it is pending."""
    if stored is None:
        raise WorkOrderConflict(f"work order {order_id} for {node} does not exist "
                                "(removed, or never written)")
    if stored.state != ORDER_PENDING:
        raise WorkOrderConflict(f"work order {order_id} for {node} is {stored.state}, not pending: "
                                "it is claimed once")
    return replace(stored, state=ORDER_CLAIMED, incarnation=incarnation)


def completed_order(stored: WorkOrder | None, node: str, order_id: str, result: str,
                    incarnation: int) -> WorkOrder | None:
    """``stored`` once done with ``result``; None when it already is (a retry); else WorkOrderConflict."""
    if stored is not None and stored.state == ORDER_DONE and stored.incarnation == incarnation \
            and stored.result == result:
        return None
    if stored is None or stored.state != ORDER_CLAIMED or stored.incarnation != incarnation:
        state = "absent" if stored is None else f"{stored.state} by incarnation {stored.incarnation}"
        raise WorkOrderConflict(f"work order {order_id} for {node} is {state}: only the incarnation "
                                f"{incarnation} that claimed it may complete it")
    return replace(stored, state=ORDER_DONE, result=result)


def check_report_key(report: TransitionReport, term: int, guard: Guard | None) -> None:
    """Refuse a transition report whose identity the store cannot keep, or that names another term.

    A controller of a cluster writes under its term (``guard``), so the
    report must name that term, as a work order does; a single node writes
    with ``term`` 0 and no guard.
    """
    if term < 0 or report.number < 0:
        raise StoreError(f"transition report {report.number} of term {term}: "
                         "the term and the number must be 0 or more")
    if guard is not None and term != guard.revision:
        raise StoreError(f"transition report {report.number} names term {term}, "
                         f"but is written under {guard.key} at revision {guard.revision}")


def kept_report_keys(keys: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Of these report identities (term, number), the ones a store keeps: the newest
    :data:`REPORT_RETENTION`, oldest first."""
    return sorted(set(keys))[-REPORT_RETENTION:]


def fenced_state(state: NodeState | None, node: str, fenced_at: int) -> NodeState:
    """A node's membership fields once it has been fenced, as Pacemaker's controller records them.

    Down, not expected back (``expected=down``: without it the scheduler
    would take the node for a member that vanished and fence it again), and
    ``node_fenced`` set to when.
    """
    base = state if state is not None else NodeState(id=node, uname=node)
    return replace(base, in_ccm="false", crmd="offline", join="down", expected="down",
                   node_fenced=str(fenced_at), attributes=(), utilization=(), resources=())


def already_recorded(stored: OpRecord | None, record: OpRecord) -> bool:
    """Whether ``record`` is already the one stored under its id: a retry of a committed write.

    The key is the operation and its call id (``operation_key``, ``call_id``):
    a controller numbers every call once, so the same pair is the same
    result, sent again after a commit whose reply was lost.
    """
    return (stored is not None and stored.call_id == record.call_id and record.call_id > 0
            and stored.operation_key == record.operation_key)

def log_matches(entry_resource: str, resource: str | None) -> bool:
    """Does a log entry of ``entry_resource`` belong to ``resource`` (or its instances)?"""
    return resource is None or belongs_to(entry_resource, resource)


def require(store: Store, *, multi_node: bool = False) -> None:
    """Refuse, with a clear message, a store that cannot serve this cluster."""
    if multi_node and not store.capabilities.multi_node:
        raise StoreError(
            f"the store {store.url} ({store.capabilities.backend}) keeps the cluster on one machine only; "
            "a cluster of several nodes needs a store they all reach, such as etcd://HOST:PORT"
        )


# -- the contract ------------------------------------------------------------------------


class Store(ABC):
    """The interface every backend implements; the guarantees are in each docstring.

    A store is used as ``async with open_store(url) as store:`` or closed
    with :meth:`close`.  Methods may be called concurrently from several
    tasks (and threads): each call is still one transaction.  A write whose
    awaiting task is cancelled may or may not have committed (as with a
    network store whose reply is lost): read the state again to know.

    Guarded writes: every write method takes ``guard`` (a
    :class:`~vigil.store.coord.Guard`: a key and its create revision, such
    as the controller's term or the node's incarnation).  The guard is
    checked in the write's own transaction: when it no longer holds, the
    write changes nothing and raises :class:`~vigil.store.coord.GuardLost`
    (also when the write would have changed nothing), never
    :class:`RevisionConflict`.  Leases, membership and election are the
    methods at the end (see :mod:`vigil.store.coord`).
    """

    capabilities: ClassVar[Capabilities]

    def __init__(self, url: str) -> None:
        self.url = url
        # For the contract tests only: called with a step name in the middle
        # of a write's transaction ("record_operation:recorded", after the
        # record and before its fail-count); an exception raised there must
        # leave the store exactly as it was.  Steps ending in ":committed"
        # ("record_operation:committed", "cleanup_resource:committed") are
        # called after the commit: raising there is an unclear commit (the
        # write happened, the caller got an error).
        self.fault_hook: Callable[[str], None] | None = None

    # -- reading ---------------------------------------------------------------

    @abstractmethod
    async def revision(self) -> int:
        """The store's current revision (cheap: no snapshot is built)."""

    @abstractmethod
    async def get_config(self) -> tuple[Config, int]:
        """The configuration and its config revision, read together.

        An empty store gives ``(Config(), 0)``.  The configuration loads to
        a value equal to the one last written by :meth:`put_config`.
        """

    @abstractmethod
    async def snapshot(self) -> Snapshot:
        """The whole cluster (configuration and status) as of one revision.

        Consistent: it reflects every write up to ``revision`` and none
        after it.  Immutable: later writes never change it.  Status nodes
        are the nodes that have any state, attribute or history; a node's id
        is the one given to :meth:`set_node_state`, else the id of the
        configured node with that name, else its name.

        Structural sharing: between two snapshots taken one after the other
        from the same store object, every ``ResourceHistory`` whose content
        did not change is the very same object (``is``), and so is every
        ``NodeState`` of a node where nothing changed, and the ``Config``
        when the configuration was not written.  A consumer can therefore
        diff two snapshots by identity: per node, ``old is new`` means
        unchanged; otherwise compare the ``resources`` tuples element by
        element, ``is`` first.  The converse is not promised: an object
        whose content was written again may be a new object equal to the
        old one (a history forgotten and recorded again, say), so compare
        with ``==`` after ``is``.  Reading a snapshot costs work in
        proportion to what changed since the previous one, not to the size
        of the cluster (the first snapshot of a store object reads
        everything).
        """

    # -- writing the configuration --------------------------------------------

    @abstractmethod
    async def put_config(self, config: Config, expected_revision: int, *, guard: Guard | None = None) -> int:
        """Replace the configuration if its config revision is still ``expected_revision``.

        Compare-and-set: the comparison and the write are one transaction,
        so of two writers that read the same revision exactly one succeeds.
        Returns the new revision (the new config revision).  Raises
        :class:`RevisionConflict` when the config revision moved, leaving the
        store unchanged, and :class:`StoreError` for a configuration that
        cannot be stored faithfully.  Use 0 to create the first one.
        """

    # -- writing the status -----------------------------------------------------

    @abstractmethod
    async def set_node_state(self, state: NodeState, *, guard: Guard | None = None) -> int:
        """Set a node's membership fields (id, in_ccm, crmd, join, expected, ...).

        Every field of ``state`` except ``attributes`` and ``resources``
        replaces the stored one; the node's attributes and history are left
        as they are (they have their own methods, and ``state`` must leave
        them empty).  Creates the node if needed.  Returns the new revision.
        """

    @abstractmethod
    async def set_node_attribute(
        self, node: str, name: str, value: str | None, *, guard: Guard | None = None
    ) -> int:
        """Set one transient attribute of ``node`` (``None`` removes it).

        Creates the node if needed.  Returns the new revision, or the
        current one when the attribute already had that value.
        """

    @abstractmethod
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
        """Record an operation result, with the fail-count change it causes, atomically.

        In one transaction: ``record`` (and each of ``also``, such as the
        ``RSC_last_failure_0`` copy of a failure) replaces the record with the
        same id in ``node``'s history of ``resource`` (the history is
        created, and its ``resource`` fields updated, as needed); when
        ``failcount_delta`` is not 0 it is added (score arithmetic: INFINITY
        absorbs) to ``fail-count-RSC#OP_INTERVAL`` and
        ``last-failure-RSC#OP_INTERVAL`` is set to ``failed_at`` (default:
        ``record.last_rc_change``, when set); then each of ``attributes`` is
        set (``None`` removes it); and the result is appended to the operation
        log (:meth:`operation_log`) with ``meta``.  Either all of this is
        committed or none of it: a reader never sees the result without its
        fail-count or the reverse.  When it returns, the commit is durable for a ``durable``
        backend, so the caller may act on it.  Returns the new revision.

        Idempotent, keyed by the operation and its call id: when ``node``'s
        history of ``resource`` already holds ``record`` (a record with the
        same id, ``operation_key`` and ``call_id`` > 0), nothing is changed
        (no second fail-count, no second log entry) and the current revision
        is returned.  So a caller whose write committed but who got an error
        (a lost reply, a cut connection) simply records again.
        """

    @abstractmethod
    async def clear_failcount(
        self,
        node: str,
        rsc: str,
        operation: str | None = None,
        interval_ms: int | None = None,
        *,
        guard: Guard | None = None,
    ) -> int:
        """Remove ``rsc``'s fail-count and last-failure attributes on ``node`` in one transaction.

        All of them (every operation, and anonymous clone instances
        ``rsc:N``), or only those of ``operation`` (and ``interval_ms``).
        The history is kept.  Returns the new revision, or the current one
        when there was nothing to clear.
        """

    @abstractmethod
    async def forget_operations(
        self, node: str, rsc: str, op_ids: Iterable[str], *, guard: Guard | None = None
    ) -> int:
        """Remove the records ``op_ids`` from ``node``'s history of ``rsc`` in one transaction.

        For cancelled recurring operations, whose records Pacemaker deletes.
        Ids that are not there are skipped.  The operation log keeps them.
        Returns the new revision, or the current one when nothing was removed.
        """

    @abstractmethod
    async def forget_resource(self, node: str, rsc: str, *, guard: Guard | None = None) -> int:
        """Remove ``node``'s whole history of ``rsc`` (a cleanup, or a resource gone).

        Its fail-counts are left to :meth:`clear_failcount`.  Returns the new
        revision, or the current one when there was no such history.
        """

    @abstractmethod
    async def cleanup_resource(self, node: str, rsc: str, *, guard: Guard | None = None) -> int:
        """``crm_resource --cleanup`` of ``rsc`` on ``node``, in one transaction.

        Removes the fail-count and last-failure attributes of ``rsc`` and of
        its anonymous instances ``rsc:N`` (as :meth:`clear_failcount` without
        an operation) and ``node``'s histories of ``rsc`` and of ``rsc:N`` (as
        :meth:`forget_resource`) together: a crash never leaves the history
        forgotten with the fail-count kept, or the reverse.  Returns the new
        revision, or the current one when there was nothing to clean.
        """

    @abstractmethod
    async def set_ticket(self, ticket: Ticket, *, guard: Guard | None = None) -> int:
        """Set the state of ``ticket.id`` at this site: granted, standby, when last granted.

        A ticket is the cluster's, not a node's (``crm_ticket``, booth): the
        snapshot carries every stored one in ``status.tickets``, by id.
        Returns the new revision, or the current one when nothing changed.
        """

    @abstractmethod
    async def remove_ticket(self, ticket_id: str, *, guard: Guard | None = None) -> int:
        """Forget ``ticket_id``'s state (as if never granted here).

        Returns the new revision, or the current one when it had no state.
        """

    @abstractmethod
    async def record_fencing(self, entry: FenceEntry, *, guard: Guard | None = None) -> int:
        """Record that ``entry.target`` was fenced, in one transaction.

        A successful fencing erases the node's resource history and transient
        attributes (fail-counts included: the node was reset and runs
        nothing), sets its membership fields to :func:`fenced_state` (down,
        ``expected=down``, ``node_fenced``), and appends ``entry`` to the
        fence history; a failed one only appends ``entry``.  Returns the new
        revision.
        """

    @abstractmethod
    async def fence_history(self, node: str | None = None, limit: int = 100) -> list[FenceEntry]:
        """The newest ``limit`` fencing entries (of ``node``, when given), oldest first.

        The store keeps at least the newest :data:`FENCE_RETENTION`.
        """

    @abstractmethod
    async def remove_node(self, node: str, *, guard: Guard | None = None) -> int:
        """Remove a node's state, attributes and history in one transaction.

        Returns the new revision, or the current one when the node had none.
        """

    # -- transition reports (what the controller did, for `vigil status` on any node) ----------------

    @abstractmethod
    async def put_transition_report(
        self, report: TransitionReport, *, term: int, guard: Guard | None = None
    ) -> None:
        """Keep ``report`` (as it is now) under its identity (``term``, ``report.number``).

        The controller writes a report when a transition starts and again
        when it ends (its ``finished`` and ``outcome`` set): the second write
        replaces the first.  ``term`` is the controller's term (its guard's
        revision, which ``guard`` must then be); a single node writes with
        ``term`` 0 and no guard.  The store keeps the newest
        :data:`REPORT_RETENTION` reports by (term, number), the older ones
        trimmed by the write itself.  Guarded as every write: a guard that
        no longer holds raises :class:`~vigil.store.coord.GuardLost` and
        changes nothing.

        Not data: reports are not in the snapshot (the scheduler never reads
        them) and writing one is not a commit of the cluster's state.  It
        never wakes :meth:`wait_for_change` (a controller writes a report
        after each transition; waking itself with it would make it plan
        again for nothing).  Memory and SQLite leave the store's revision
        as it is; on etcd, whose revision counts every key, the revision
        moves, so only a waiter that asks with an older revision than the
        write's returns at once (once: it then asks with the new one).
        """

    @abstractmethod
    async def transition_reports(self, limit: int = 20) -> list[TransitionReport]:
        """The newest ``limit`` transition reports, oldest first (by term, then number).

        Each is a copy: changing it changes nothing stored.
        """

    # -- the operation log -------------------------------------------------------

    @abstractmethod
    async def operation_log(
        self, resource: str | None = None, node: str | None = None, limit: int = 200
    ) -> list[LogEntry]:
        """The newest ``limit`` logged results, oldest first.

        ``resource`` selects a resource and its clone instances (``rsc:N``);
        ``node`` one node.  The log keeps at least the newest
        :data:`LOG_RETENTION` entries of the store; older ones may be pruned.
        Forgetting a resource or a node (cleanup) does not touch the log.
        """

    # -- watching ----------------------------------------------------------------

    @abstractmethod
    async def wait_for_change(self, since_revision: int, timeout: float | None = None) -> Change | None:
        """Wait until the store's revision is greater than ``since_revision``.

        Returns at once when it already is.  Returns ``None`` after
        ``timeout`` seconds without a change, or when the store is closed.
        Commits made through this store object are seen at once; commits by
        other processes (or other store objects on the same SQLite file)
        within the backend's polling interval.
        """

    async def watch(self, since_revision: int) -> AsyncIterator[Change]:
        """Yield a :class:`Change` for every new revision after ``since_revision``.

        Revisions strictly increase from one notification to the next;
        several commits may be folded into one notification (a watcher
        that is slow sees only the latest revision, which is all a
        controller needs: it then takes a snapshot).  The iteration ends
        when the store is closed.  Cancelling the consuming task is safe.
        """
        seen = since_revision
        while True:
            change = await self.wait_for_change(seen)
            if change is None:
                return
            seen = change.revision
            yield change

    # -- leases, membership, election (see vigil.store.coord) ------------------------

    @abstractmethod
    async def grant_lease(self, ttl: int) -> Lease:
        """A lease of ``ttl`` seconds (at least 2), kept alive off the caller's loop until revoked.

        Closing the store revokes the leases it granted.
        """

    @abstractmethod
    async def join(self, node: str, lease: Lease) -> Guard:
        """Create ``node``'s membership key on ``lease``, create-only; its guard (the incarnation).

        Raises :class:`~vigil.store.coord.NodeNameTaken` while another
        holder's key lives.  The key vanishes when the lease ends.
        """

    @abstractmethod
    async def members(self) -> dict[str, int]:
        """The live members: node name -> incarnation, in name order."""

    @abstractmethod
    async def campaign(self, candidate: str, lease: Lease, timeout: float | None = None) -> Guard | None:
        """Become the leader (the leader key on ``lease``); its guard, whose revision is the term.

        Waits while another leader's key lives; ``None`` after ``timeout``
        seconds.  A candidate already leading with this lease gets its guard.
        """

    @abstractmethod
    async def leader(self) -> Guard | None:
        """The current leader's guard (``holder`` is its name), or ``None``."""

    @abstractmethod
    async def resign(self, guard: Guard) -> None:
        """Give up the leadership ``guard`` stands for (nothing when it no longer holds)."""

    @abstractmethod
    async def guard_holds(self, guard: Guard) -> bool:
        """Whether ``guard``'s key still exists with the same create revision."""

    @abstractmethod
    async def wait_guard_lost(self, guard: Guard, timeout: float | None = None) -> bool:
        """Wait until ``guard`` no longer holds (True), or ``timeout`` passes (False).

        How a leader learns it was deposed (its lease expired, it was
        resigned), without polling its own writes.
        """

    # -- work orders (the controller hands an action to another node) ---------------------------

    @abstractmethod
    async def put_work_order(self, order: WorkOrder, *, guard: Guard) -> int:
        """Create ``order`` (``pending``) for ``order.node``, guarded by the controller's term.

        ``guard`` is the leader key's guard and ``order.term`` must be its
        revision, so the order names the term a node checks when it claims
        it.  Create-only: an order with the same node and id raises
        :class:`WorkOrderConflict` (an order is written once; a controller
        that must run an action again writes a new one).  Returns the new
        revision; wakes :meth:`wait_for_change` like any write.
        """

    @abstractmethod
    async def work_orders(self, node: str) -> list[WorkOrder]:
        """``node``'s work orders, whatever their state, in id order (each with its revision)."""

    @abstractmethod
    async def claim_work_order(self, node: str, order_id: str, *, incarnation: Guard) -> WorkOrder:
        """Claim a pending order before running it; the claimed order.

        In one transaction: the term the order names (the leader key with
        create revision ``order.term``) and ``incarnation`` (``node``'s
        membership guard) must both hold, and the order must be
        ``pending``; it becomes ``claimed`` by ``incarnation.revision``.
        Raises :class:`~vigil.store.coord.GuardLost` for the first guard
        that no longer holds (the term: that controller was deposed, the
        order must not run; the incarnation: this node lost its membership)
        and :class:`WorkOrderConflict` when the order is absent or not
        pending.  The claim is the durable mark that the action may be
        running on ``node``, written before the agent acts.
        """

    @abstractmethod
    async def complete_work_order(self, node: str, order_id: str, result: str, *, guard: Guard) -> int:
        """Record ``result`` of a claimed order (``done``), guarded by ``node``'s membership.

        The order must be claimed by ``guard.revision`` (the incarnation that
        ran it), else :class:`WorkOrderConflict`.  Idempotent: an order
        already done with the same result changes nothing and returns the
        current revision (a retry after an unclear commit).  The term is not
        checked: what ran, ran, and its result is worth keeping for whoever
        leads next.
        """

    @abstractmethod
    async def remove_work_order(self, node: str, order_id: str, *, guard: Guard) -> int:
        """Remove an order whose result the controller has taken in, guarded by its term.

        Returns the new revision, or the current one when there was no such order.
        """

    # -- lifetime ------------------------------------------------------------------

    @abstractmethod
    async def close(self) -> None:
        """Release the store; pending :meth:`wait_for_change` calls return ``None``.

        Committed writes are already durable: closing adds no durability.
        Calling any other method afterwards raises :class:`StoreError`.
        """

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
