"""What a cluster needs from its store besides data: guards, leases, membership, election.

On many machines a node that is partitioned, frozen or slow keeps running
while the others have moved on.  Leases do not fence it: it acts until it
notices.  What stops it is the store: every write a controller or a node
makes carries a :class:`Guard`, the key that gives it the right to write
(the leader key: its term; the node's membership key: its incarnation)
with that key's **create revision**.  The store checks the guard in the
same transaction as the write, so a writer that lost its guard changes
nothing and gets :class:`GuardLost`, never a half-applied write and never
a data conflict it might retry.

Leases
    A lease lives as long as it is refreshed; keys put on it vanish when it
    expires.  It is refreshed by a dedicated thread with its own event loop
    (and, for etcd, its own connection), because a controller's event loop
    can be blocked (a slow scheduling pass, a synchronous call): a refresh
    task on that loop would let the lease expire under a perfectly healthy
    node.  :attr:`Lease.valid_until` is the local monotonic time until which
    the lease is surely still valid (the time the last acknowledged refresh
    was *sent*, plus the TTL), so a holder can stop acting before the store
    may hand its guard to someone else.

Membership
    :meth:`~vigil.store.base.Store.join` creates the key of a node on the
    node's lease, create-only: a second process with the same node name is
    refused (:class:`NodeNameTaken`) while the first one's lease lives.  The
    key's create revision is the node's **incarnation**.

Election
    One leader key on the leader's lease.  Its create revision is the
    **term**: the guard of every controller write.  A new term always has a
    greater number, so a deposed leader's guard never holds again.

Single-host backends (memory, SQLite) keep these in the process
(:class:`LocalCoordination`): one process is the whole cluster, so a
registry per store (per file, for SQLite) is all the coordination there is.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from vigil.store.base import StoreError

MEMBER_KEY = "members/"
LEADER_KEY = "leader"
# etcd grants no lease shorter than this (a TTL of 1 s is granted as 2 s).
MIN_TTL = 2


class GuardLost(StoreError):
    """The write's guard no longer holds: this writer was deposed, and nothing was changed.

    Not a conflict to retry: the caller must stop acting as the holder of
    the guard (a controller steps down, a node stops its resources).
    """

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        super().__init__(
            f"the store refused a write guarded by {guard.key} at revision {guard.revision}: "
            "that guard no longer holds (the lease expired or another holder took over); nothing was changed"
        )


class NodeNameTaken(StoreError):
    """Another live process already joined the cluster under this node name."""

    def __init__(self, node: str, holder: str) -> None:
        self.node = node
        super().__init__(
            f"the node name {node!r} is already in use in this cluster ({holder}); "
            "stop that vigil first, or give this node another name"
        )


@dataclass(frozen=True)
class Guard:
    """A key and its create revision: the right to write, as long as the key is that same key.

    ``key`` is relative to the store (``leader``, ``members/NODE``);
    ``revision`` is the key's create revision (the term, the incarnation).
    """

    key: str
    revision: int
    holder: str = ""


def holder_description() -> str:
    """Who holds a key, for the message that refuses a second holder."""
    return f"pid {os.getpid()} on {socket.gethostname()}"


class Lease(ABC):
    """A lease kept alive off the caller's event loop until revoked or lost."""

    id: int
    ttl: int

    @property
    @abstractmethod
    def valid_until(self) -> float:
        """The ``time.monotonic()`` until which the lease is surely valid (0 once lost or revoked)."""

    @property
    def alive(self) -> bool:
        return time.monotonic() < self.valid_until

    @abstractmethod
    async def revoke(self) -> None:
        """End the lease now: its keys vanish at once (a clean shutdown)."""

    @abstractmethod
    def suspend_keepalive(self) -> None:
        """Stop refreshing (as a frozen process would), so the lease expires: for failure tests."""


def check_ttl(ttl: int) -> int:
    if ttl < MIN_TTL:
        raise StoreError(f"a lease TTL of {ttl} s is too short: the minimum is {MIN_TTL} s")
    return int(ttl)


# -- the single-host versions ----------------------------------------------------------------


class LocalLease(Lease):
    """A lease in this process: a deadline pushed forward by a refresher thread."""

    _ids = itertools.count(1)

    def __init__(self, ttl: int) -> None:
        self.id = next(self._ids)
        self.ttl = check_ttl(ttl)
        self._lock = threading.Lock()
        self._deadline = time.monotonic() + self.ttl
        self._ended = threading.Event()
        self._suspended = False
        self._thread = threading.Thread(target=self._refresh, name=f"vigil-lease-{self.id}", daemon=True)
        self._thread.start()

    def _refresh(self) -> None:
        while not self._ended.wait(self.ttl / 4):
            with self._lock:
                if self._suspended or self._deadline <= time.monotonic():
                    return  # expired: a lease never comes back
                self._deadline = time.monotonic() + self.ttl

    @property
    def valid_until(self) -> float:
        with self._lock:
            return 0.0 if self._ended.is_set() else self._deadline

    async def revoke(self) -> None:
        with self._lock:
            self._deadline = 0.0
        self._ended.set()

    def suspend_keepalive(self) -> None:
        with self._lock:
            self._suspended = True


@dataclass
class _LocalKey:
    holder: str
    revision: int
    lease: Lease


class _Registry:
    """The keys of one single-host store (one per memory store, one per SQLite file)."""

    _revisions = itertools.count(1)

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: dict[str, _LocalKey] = {}
        self.changed = threading.Condition(self.lock)

    def live(self, key: str) -> _LocalKey | None:
        """Under the lock: the key, or None when absent or its lease expired."""
        entry = self.keys.get(key)
        if entry is not None and not entry.lease.alive:
            del self.keys[key]
            self.changed.notify_all()
            return None
        return entry

    def create(self, key: str, holder: str, lease: Lease) -> int | None:
        """Create ``key`` on ``lease`` unless it lives; its create revision, or None."""
        with self.lock:
            if self.live(key) is not None:
                return None
            revision = next(self._revisions)
            self.keys[key] = _LocalKey(holder, revision, lease)
            self.changed.notify_all()
            return revision


_REGISTRIES: dict[str, _Registry] = {}
_REGISTRIES_LOCK = threading.Lock()


def registry(scope: str) -> _Registry:
    with _REGISTRIES_LOCK:
        return _REGISTRIES.setdefault(scope, _Registry())


class LocalCoordination:
    """Leases, membership and election for a single-host store, kept in this process.

    The store names its ``_coord_scope`` (what identifies its data: the
    object for memory, the file for SQLite) and calls :meth:`_check_guard`
    inside each write, under its write lock, before committing.
    """

    _coord_scope: str

    def _registry(self) -> _Registry:
        return registry(self._coord_scope)

    def _check_guard(self, guard: Guard | None) -> None:
        if guard is None:
            return
        with self._registry().lock:
            entry = self._registry().live(guard.key)
            if entry is None or entry.revision != guard.revision:
                raise GuardLost(guard)

    async def grant_lease(self, ttl: int) -> Lease:
        lease = LocalLease(ttl)
        self.__dict__.setdefault("_granted_leases", []).append(lease)
        return lease

    async def _revoke_leases(self) -> None:
        """On close: a clean shutdown ends the leases at once, so the node's keys go at once."""
        for lease in self.__dict__.pop("_granted_leases", []):
            await lease.revoke()

    async def join(self, node: str, lease: Lease) -> Guard:
        key = MEMBER_KEY + node
        revision = self._registry().create(key, holder_description(), lease)
        if revision is None:
            with self._registry().lock:
                entry = self._registry().keys.get(key)
                holder = entry.holder if entry else "another process"
            raise NodeNameTaken(node, holder)
        return Guard(key, revision, node)

    async def members(self) -> dict[str, int]:
        reg = self._registry()
        with reg.lock:
            found = {}
            for key in sorted(reg.keys):
                entry = reg.live(key)
                if entry is not None and key.startswith(MEMBER_KEY):
                    found[key.removeprefix(MEMBER_KEY)] = entry.revision
            return found

    async def campaign(self, candidate: str, lease: Lease, timeout: float | None = None) -> Guard | None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            revision = self._registry().create(LEADER_KEY, candidate, lease)
            if revision is not None:
                return Guard(LEADER_KEY, revision, candidate)
            with self._registry().lock:
                entry = self._registry().live(LEADER_KEY)
                if entry is not None and entry.lease is lease:
                    return Guard(LEADER_KEY, entry.revision, entry.holder)
            if deadline is not None and loop.time() >= deadline:
                return None
            await asyncio.sleep(0.05)

    async def leader(self) -> Guard | None:
        reg = self._registry()
        with reg.lock:
            entry = reg.live(LEADER_KEY)
            return None if entry is None else Guard(LEADER_KEY, entry.revision, entry.holder)

    async def resign(self, guard: Guard) -> None:
        reg = self._registry()
        with reg.lock:
            entry = reg.live(guard.key)
            if entry is not None and entry.revision == guard.revision:
                del reg.keys[guard.key]
                reg.changed.notify_all()

    async def guard_holds(self, guard: Guard) -> bool:
        reg = self._registry()
        with reg.lock:
            entry = reg.live(guard.key)
            return entry is not None and entry.revision == guard.revision

    async def wait_guard_lost(self, guard: Guard, timeout: float | None = None) -> bool:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while await self.guard_holds(guard):
            if deadline is not None and loop.time() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True
