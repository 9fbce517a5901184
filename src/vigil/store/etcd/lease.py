"""An etcd lease, refreshed from its own thread, loop and connection."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from vigil.store.base import StoreError
from vigil.store.coord import Lease
from vigil.store.etcd.channel import (
    CALL_TIMEOUT_S,
    CHANNEL_OPTIONS,
    READ_TRY_S,
    grpc,
    grpc_error,
    member_count,
    rotated_target,
    rpc,
)
from vigil.store.etcd.loop_thread import LoopThread

# How soon a lease refresh that failed is tried again (seconds).
KEEPALIVE_RETRY_S = 0.1


class EtcdLease(Lease):
    """An etcd lease refreshed from its own thread, loop and connection.

    A blocked caller loop (or a busy store loop building a large snapshot)
    cannot delay a refresh: measured in etcd.md, a refresh task on the
    caller's loop lost a 2 s lease to a 3 s ``time.sleep``.
    """

    def __init__(self, target: str, ttl: int) -> None:
        self.id = 0
        self.ttl = ttl
        self.target = target
        self._thread = LoopThread("vigil-etcd-lease")
        self._valid_until = 0.0
        self._lock = threading.Lock()
        self._suspended = threading.Event()
        self._ended = False
        self._channel: Any = None
        self._shift = 0
        self._stub: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        async def grant() -> None:
            # Each member in turn for READ_TRY_S, then the first again for as long as a call may
            # take: a frozen member must not hold a joining node for 7 s (F6).  A grant that
            # timed out may still have made a lease; unused, it expires by itself.
            members = member_count(self.target)
            tries = [(shift, READ_TRY_S) for shift in range(members)] if members > 1 else []
            tries.append((0, CALL_TIMEOUT_S))
            response = None
            for number, (shift, limit) in enumerate(tries):
                await self._open(shift)
                sent = time.monotonic()
                try:
                    response = await self._stub.LeaseGrant(rpc.LeaseGrantRequest(TTL=self.ttl), timeout=limit)
                    break
                except grpc.aio.AioRpcError as error:
                    if number == len(tries) - 1:
                        raise grpc_error(error, self.target, "granting a lease") from None
            assert response is not None
            if response.error:
                raise StoreError(f"etcd at {self.target} refused a lease: {response.error}")
            self.id = int(response.ID)
            self.ttl = int(response.TTL)
            with self._lock:
                self._valid_until = sent + self.ttl
            self._task = asyncio.get_running_loop().create_task(self._keepalive())

        await self._thread.call(grant())

    async def _keepalive(self) -> None:
        # A refresh every sixth of the TTL (0.5 s of 3 s): the first one after an etcd leader
        # election comes soon, well inside the node's self-fencing margin.
        period = max(self.ttl / 6, 0.2)
        wait = period
        missed = 0
        while not self._ended:
            await asyncio.sleep(wait)
            if self._suspended.is_set():
                return
            sent = time.monotonic()
            reply = None
            try:
                stream = self._stub.LeaseKeepAlive(
                    iter([rpc.LeaseKeepAliveRequest(ID=self.id)]), timeout=max(period, 0.5)
                )
                reply = await anext(aiter(stream))
            except Exception:
                # A missed refresh (valid_until says how long the lease surely lasts): asked again
                # soon, so the first member that answers after an etcd election renews it at once;
                # after two in a row, through another member: a frozen one keeps its connection
                # open, and gRPC would send every refresh to it until its keepalive gives up (7 s).
                missed += 1
                if missed % 2 == 0:
                    await self._open(self._shift + 1)
                wait = KEEPALIVE_RETRY_S
                continue
            missed = 0
            wait = period
            if reply is None or reply.TTL <= 0:
                with self._lock:
                    self._valid_until = 0.0  # expired at the server: gone for good
                return
            with self._lock:
                if not self._ended:
                    self._valid_until = sent + int(reply.TTL)

    async def _open(self, shift: int) -> None:
        """A new channel whose first address is member ``shift``'s (on the lease's own loop)."""
        old = self._channel
        self._shift = shift
        self._channel = grpc.aio.insecure_channel(rotated_target(self.target, shift),
                                                  options=list(CHANNEL_OPTIONS))
        self._stub = rpc.LeaseStub(self._channel)
        if old is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(old.close(), 0.2)

    @property
    def valid_until(self) -> float:
        with self._lock:
            return self._valid_until

    def suspend_keepalive(self) -> None:
        self._suspended.set()

    async def revoke(self) -> None:
        if self._ended:
            return
        self._ended = True
        with self._lock:
            self._valid_until = 0.0

        async def end() -> None:
            if self._task is not None:
                self._task.cancel()
            try:
                if self.id:
                    await self._stub.LeaseRevoke(rpc.LeaseRevokeRequest(ID=self.id), timeout=CALL_TIMEOUT_S)
            except Exception:
                pass  # it expires by itself within its TTL
            await self._channel.close()

        try:
            await asyncio.wait_for(self._thread.call(end()), CALL_TIMEOUT_S)
        finally:
            self.close()

    def close(self) -> None:
        self._ended = True
        self._thread.stop()
