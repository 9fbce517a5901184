"""The etcd store's coordination: guarded writes, leases, membership and election.

Its own module because it works on the ``c/`` keys only, never on the data:
the guard compares every write adds to its transaction, and the leases,
member keys and leader key of :mod:`vigil.store.coord`'s contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from vigil.store.base import StoreError
from vigil.store.coord import (
    LEADER_KEY,
    MEMBER_KEY,
    Guard,
    GuardLost,
    Lease,
    NodeNameTaken,
    check_ttl,
    holder_description,
)
from vigil.store.etcd.channel import rpc
from vigil.store.etcd.client import EtcdClient, compare_op, delete_op, get_op, put_op
from vigil.store.etcd.keys import KeyLayout, prefix_end
from vigil.store.etcd.lease import EtcdLease


class EtcdCoordination:
    """Guards, leases, members and the leader of one cluster, through the store's client."""

    def __init__(self, client: EtcdClient, keys: KeyLayout) -> None:
        self._client = client
        self._keys = keys
        self._leases: list[EtcdLease] = []

    # -- guards ------------------------------------------------------------------------------------

    def guard_key(self, guard: Guard) -> bytes:
        return self._keys.coord + guard.key.encode()

    def guard_compares(self, guard: Guard | None) -> list[Any]:
        return [] if guard is None else [compare_op(self.guard_key(guard), "CREATE", guard.revision)]

    def guard_failure(self, guard: Guard | None) -> list[Any]:
        return [] if guard is None else [get_op(self.guard_key(guard))]

    def check_guard_response(self, guard: Guard | None, response: Any, index: int = 0) -> None:
        """After a failed transaction: raise GuardLost when the guard was what failed."""
        if guard is None:
            return
        kvs = response.responses[index].response_range.kvs
        if not kvs or kvs[0].create_revision != guard.revision:
            raise GuardLost(guard)

    async def check_guard(self, guard: Guard | None) -> None:
        """For a write that changes nothing: still tell a deposed writer so."""
        if guard is None:
            return
        found = await self._client.range(self.guard_key(guard))
        if not found.kvs or found.kvs[0].create_revision != guard.revision:
            raise GuardLost(guard)

    # -- leases, membership, election -------------------------------------------------------------------

    async def revoke_leases(self) -> None:
        """Every lease granted here, revoked: a clean shutdown frees the node's keys at once."""
        for lease in self._leases:
            with contextlib.suppress(StoreError):
                await lease.revoke()

    async def grant_lease(self, ttl: int) -> Lease:
        check_ttl(ttl)
        if self._client.closed:
            raise StoreError(f"the store {self._client.url} is closed")
        lease = EtcdLease(self._client.target, ttl)
        try:
            await lease.start()
        except BaseException:
            lease.close()
            raise
        self._leases.append(lease)
        return lease

    async def join(self, node: str, lease: Lease) -> Guard:
        key = self._keys.coord + (MEMBER_KEY + node).encode()
        value = json.dumps({"node": node, "holder": holder_description()}).encode()

        async def work() -> Guard:
            response = await self._client.txn(
                [compare_op(key, "CREATE", 0)], [put_op(key, value, lease.id)], [get_op(key)]
            )
            if not response.succeeded:
                kvs = response.responses[0].response_range.kvs
                holder = "another process"
                if kvs:
                    with contextlib.suppress(ValueError, KeyError):
                        holder = str(json.loads(bytes(kvs[0].value))["holder"])
                raise NodeNameTaken(node, holder)
            return Guard(MEMBER_KEY + node, int(response.header.revision), node)

        return await self._client.run("joining the cluster", work)

    async def members(self) -> dict[str, int]:
        prefix = self._keys.coord + MEMBER_KEY.encode()

        async def work() -> dict[str, int]:
            found = await self._client.range(prefix, prefix_end(prefix))
            return {bytes(kv.key)[len(prefix):].decode(): int(kv.create_revision) for kv in found.kvs}

        return await self._client.run("listing the members", work, read=True)

    async def campaign(self, candidate: str, lease: Lease, timeout: float | None = None) -> Guard | None:
        key = self._keys.coord + LEADER_KEY.encode()

        async def attempt() -> tuple[Guard | None, int]:
            response = await self._client.txn(
                [compare_op(key, "CREATE", 0)],
                [put_op(key, candidate.encode(), lease.id)],
                [get_op(key)],
            )
            if response.succeeded:
                return Guard(LEADER_KEY, int(response.header.revision), candidate), 0
            kvs = response.responses[0].response_range.kvs
            if kvs and int(kvs[0].lease) == lease.id:
                return Guard(LEADER_KEY, int(kvs[0].create_revision), bytes(kvs[0].value).decode()), 0
            return None, int(response.header.revision)

        async def work() -> Guard | None:
            while True:
                guard, seen = await attempt()
                if guard is not None:
                    return guard
                await self._wait_deleted(key, seen + 1)

        try:
            async with asyncio.timeout(timeout):
                return await self._client.run("campaigning", work)
        except TimeoutError:
            return None

    async def _wait_deleted(self, key: bytes, start: int) -> None:
        """Until ``key`` is deleted after revision ``start`` (on the private loop)."""
        stop = asyncio.Event()

        async def requests() -> AsyncIterator[Any]:
            yield rpc.WatchRequest(create_request=rpc.WatchCreateRequest(key=key, start_revision=start))
            await stop.wait()

        call = self._client.watch(requests())
        try:
            async for response in call:
                if response.compact_revision:
                    return  # look again
                if any(event.type == rpc.Event.DELETE for event in response.events):
                    return
        finally:
            stop.set()
            call.cancel()

    async def leader(self) -> Guard | None:
        key = self._keys.coord + LEADER_KEY.encode()

        async def work() -> Guard | None:
            found = await self._client.range(key)
            if not found.kvs:
                return None
            return Guard(LEADER_KEY, int(found.kvs[0].create_revision), bytes(found.kvs[0].value).decode())

        return await self._client.run("reading the leader", work, read=True)

    async def resign(self, guard: Guard) -> None:
        key = self.guard_key(guard)

        async def work() -> None:
            await self._client.txn([compare_op(key, "CREATE", guard.revision)], [delete_op(key)])

        await self._client.run("resigning", work)

    async def guard_holds(self, guard: Guard) -> bool:
        async def work() -> bool:
            found = await self._client.range(self.guard_key(guard))
            return bool(found.kvs) and int(found.kvs[0].create_revision) == guard.revision

        return await self._client.run("checking a guard", work, read=True)

    async def wait_guard_lost(self, guard: Guard, timeout: float | None = None) -> bool:
        key = self.guard_key(guard)

        async def work() -> bool:
            while True:
                found = await self._client.range(key)
                if not found.kvs or int(found.kvs[0].create_revision) != guard.revision:
                    return True
                await self._wait_deleted(key, int(found.header.revision) + 1)

        try:
            async with asyncio.timeout(timeout):
                return await self._client.run("watching a guard", work)
        except TimeoutError:
            return False

