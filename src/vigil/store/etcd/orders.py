"""The etcd store's work orders: one key per order under ``d/w/NODE/``, each change one guarded transaction.

Its own module because work orders are the leader's messages to one node,
kept beside the data but outside the snapshot (the cache skips ``d/w/``):
they are read and written by key, each write compared on the order's
mod revision and on the guards of the term and the node's incarnation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from vigil.store.base import WorkOrder, claimed_order, completed_order, new_order, order_exists
from vigil.store.codec import decode_work_order, encode_work_order
from vigil.store.coord import LEADER_KEY, Guard
from vigil.store.etcd.client import EtcdClient, compare_op, delete_op, get_op, put_op
from vigil.store.etcd.coordination import EtcdCoordination
from vigil.store.etcd.keys import KeyLayout, key_part, prefix_end


class EtcdWorkOrders:
    """The store's work orders; ``committed`` is told the revision of every write, to wake waiters."""

    def __init__(self, client: EtcdClient, keys: KeyLayout, coordination: EtcdCoordination, url: str,
                 committed: Callable[[int], None]) -> None:
        self._client = client
        self._keys = keys
        self._coordination = coordination
        self.url = url
        self._committed = committed

    def _order_key(self, node: str, order_id: str) -> bytes:
        return self._keys.orders + key_part(node) + b"/" + key_part(order_id)

    async def _read_order(self, key: bytes) -> tuple[WorkOrder | None, int, int]:
        """The order at ``key``, its mod revision (0: absent) and the revision read at."""
        found = await self._client.range(key)
        if not found.kvs:
            return None, 0, int(found.header.revision)
        kv = found.kvs[0]
        order = decode_work_order(bytes(kv.value).decode(), int(kv.mod_revision), f"{self.url} work order")
        return order, int(kv.mod_revision), int(found.header.revision)

    async def _order_txn(self, guards: Sequence[Guard], key: bytes, mod_revision: int, ops: list[Any]) -> int:
        """``ops`` if every guard holds and ``key`` is still at ``mod_revision``; the new revision.

        GuardLost for the first guard that no longer holds; 0 when only the order moved.
        """
        compares = [c for guard in guards for c in self._coordination.guard_compares(guard)]
        compares.append(compare_op(key, "MOD", mod_revision))
        response = await self._client.txn(compares, [*ops, put_op(self._keys.head, b"")],
                                          [get_op(self._coordination.guard_key(guard)) for guard in guards])
        if not response.succeeded:
            for index, guard in enumerate(guards):
                self._coordination.check_guard_response(guard, response, index)
            return 0
        revision = int(response.header.revision)
        self._committed(revision)
        return revision

    async def put_work_order(self, order: WorkOrder, *, guard: Guard) -> int:
        stored = new_order(order, guard)
        key = self._order_key(order.node, order.id)

        async def work() -> int:
            text = encode_work_order(stored).encode()
            revision = await self._order_txn([guard], key, 0, [put_op(key, text)])
            if not revision:
                raise order_exists(order.node, order.id)
            return revision

        return await self._client.run("writing a work order", work)

    async def work_orders(self, node: str) -> list[WorkOrder]:
        prefix = self._keys.orders + key_part(node) + b"/"

        async def work() -> list[WorkOrder]:
            found = await self._client.range(prefix, prefix_end(prefix))
            where = f"{self.url} work order"
            orders = [decode_work_order(bytes(kv.value).decode(), int(kv.mod_revision), where)
                      for kv in found.kvs]
            return sorted(orders, key=lambda order: order.id)

        return await self._client.run("reading work orders", work, read=True)

    async def claim_work_order(self, node: str, order_id: str, *, incarnation: Guard) -> WorkOrder:
        key = self._order_key(node, order_id)

        async def work() -> WorkOrder:
            while True:
                stored, mod_revision, _ = await self._read_order(key)
                if stored is None:
                    await self._coordination.check_guard(incarnation)
                claimed = claimed_order(stored, node, order_id, incarnation.revision)
                term = Guard(LEADER_KEY, claimed.term)
                revision = await self._order_txn([term, incarnation], key, mod_revision,
                                                 [put_op(key, encode_work_order(claimed).encode())])
                if revision:
                    return replace(claimed, revision=revision)
                # The order moved between the read and the claim: read it again.

        return await self._client.run("claiming a work order", work)

    async def complete_work_order(self, node: str, order_id: str, result: str, *, guard: Guard) -> int:
        key = self._order_key(node, order_id)

        async def work() -> int:
            while True:
                stored, mod_revision, now = await self._read_order(key)
                done = completed_order(stored, node, order_id, result, guard.revision)
                if done is None:
                    await self._coordination.check_guard(guard)
                    return now
                revision = await self._order_txn([guard], key, mod_revision,
                                                 [put_op(key, encode_work_order(done).encode())])
                if revision:
                    return revision

        return await self._client.run("completing a work order", work)

    async def remove_work_order(self, node: str, order_id: str, *, guard: Guard) -> int:
        key = self._order_key(node, order_id)

        async def work() -> int:
            while True:
                stored, mod_revision, now = await self._read_order(key)
                if stored is None:
                    await self._coordination.check_guard(guard)
                    return now
                revision = await self._order_txn([guard], key, mod_revision, [delete_op(key)])
                if revision:
                    return revision

        return await self._client.run("removing a work order", work)
