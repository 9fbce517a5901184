"""The etcd store's connection: its private loop, its channel, and moving to another member.

Its own module because every part of the store (the cache, the writes, the
coordination) calls etcd the same way: on the private loop, a silent member
left for the next one, gRPC failures as StoreError.  Also the builders of the
requests a transaction holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from vigil.store.base import RevisionConflict, StoreError
from vigil.store.etcd.channel import (
    CALL_TIMEOUT_S,
    CHANNEL_OPTIONS,
    READ_TRY_S,
    MemberSilent,
    grpc,
    grpc_error,
    member_count,
    rotated_target,
    rpc,
)
from vigil.store.etcd.loop_thread import LoopGone, LoopThread

T = TypeVar("T")

# How long a channel left for another member stays open for the calls still running on it.
RETIRED_CHANNEL_S = CALL_TIMEOUT_S


class EtcdClient:
    """One store object's calls to etcd, all on its private thread and loop.

    ``on_connect`` runs on the loop when the first channel opens; ``on_switch``
    when the channel moved to another member (the data watch follows it).
    """

    def __init__(self, url: str, target: str, name: str, *,
                 on_connect: Callable[[], None], on_switch: Callable[[], None]) -> None:
        self.url = url
        self.target = target
        self.closed = False
        self._on_connect = on_connect
        self._on_switch = on_switch
        self._thread = LoopThread(name)
        # Owned by the private loop from here on.
        self._channel: Any = None
        self.kv: Any = None
        self._watch_stub: Any = None
        self._lease_stub: Any = None
        # Which member the channel asks first (an offset into the endpoints), and how many times
        # the channel was replaced: a failure seen on an old channel does not replace a new one.
        self._member_shift = 0
        self._channel_generation = 0
        self._retired: set[asyncio.Task[None]] = set()

    async def run(self, doing: str, work: Callable[[], Awaitable[T]], *, read: bool = False) -> T:
        """Run ``work`` on the private loop, its gRPC failures as StoreError.

        A member that does not answer (unreachable, or frozen: no answer within READ_TRY_S)
        makes the channel move to another member for every later call.  A ``read`` is then tried
        once more there; a write is not, since it may have been applied: its caller decides.
        """
        if self.closed:
            raise StoreError(f"the store {self.url} is closed")

        async def attempt(limit: float | None) -> T:
            self._connect()
            generation = self._channel_generation
            try:
                async with asyncio.timeout(limit) as deadline:
                    return await work()
            except (StoreError, asyncio.CancelledError, RevisionConflict):
                raise
            except TimeoutError:
                if not deadline.expired():
                    raise
                self._switch_member(generation)
                raise MemberSilent(
                    f"etcd at {self.target} did not answer within {limit:.1f} s while {doing}"
                ) from None
            except Exception as error:
                if grpc is not None and isinstance(error, grpc.aio.AioRpcError):
                    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                        self._switch_member(generation)
                        raise MemberSilent(str(grpc_error(error, self.target, doing))) from None
                    raise grpc_error(error, self.target, doing) from None
                raise

        async def guarded() -> T:
            if not read:
                return await attempt(None)
            # Each member once for READ_TRY_S, then the one the channel asks now without a limit:
            # pick_first may be connected to another member than the first it names, so a single
            # move can land on the silent member again.
            for _ in range(member_count(self.target)):
                with contextlib.suppress(MemberSilent):
                    return await attempt(READ_TRY_S)
            return await attempt(None)

        try:
            return await self._thread.call(guarded())
        except LoopGone:
            raise StoreError(f"the store {self.url} is closed") from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self.closed and task is not None and not task.cancelling():
                raise StoreError(f"the store {self.url} is closed") from None
            raise

    def _switch_member(self, generation: int) -> None:
        """A new channel whose first address is the next member's, and the data watch on it.

        Only once per channel (``generation``): concurrent calls failing on the same silent
        member must not skip past a good one.  The old channel is closed after RETIRED_CHANNEL_S,
        so calls still running on it (a write may yet answer) are not cut.
        """
        if generation != self._channel_generation or self.closed or self._channel is None:
            return
        self._channel_generation += 1
        self._member_shift += 1
        old = self._channel
        self._open_channel()
        self._on_switch()

        async def retire() -> None:
            await asyncio.sleep(RETIRED_CHANNEL_S)
            await old.close()

        task = asyncio.get_running_loop().create_task(retire())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    def _open_channel(self) -> None:
        target = rotated_target(self.target, self._member_shift)
        self._channel = grpc.aio.insecure_channel(target, options=list(CHANNEL_OPTIONS))
        self.kv = rpc.KVStub(self._channel)
        self._watch_stub = rpc.WatchStub(self._channel)
        self._lease_stub = rpc.LeaseStub(self._channel)

    def _connect(self) -> None:
        if self._channel is not None:
            return
        self._open_channel()
        self._on_connect()

    async def range(self, key: bytes, end: bytes | None = None, **kw: Any) -> Any:
        request = rpc.RangeRequest(key=key, range_end=end or b"", **kw)
        return await self.kv.Range(request, timeout=CALL_TIMEOUT_S)

    async def txn(self, compare: Sequence[Any], success: Sequence[Any], failure: Sequence[Any] = ()) -> Any:
        request = rpc.TxnRequest(compare=list(compare), success=list(success), failure=list(failure))
        return await self.kv.Txn(request, timeout=CALL_TIMEOUT_S)

    def watch(self, requests: AsyncIterator[Any]) -> Any:
        """A watch call fed by ``requests`` (on the private loop)."""
        return self._watch_stub.Watch(requests)

    async def close(self) -> None:
        """Cancel every task on the private loop, close the channel, stop the thread."""

        async def shutdown() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            if self._channel is not None:
                await self._channel.close()

        with contextlib.suppress(TimeoutError, RuntimeError, LoopGone):
            await asyncio.wait_for(self._thread.call(shutdown()), 5)
        self._thread.stop()


def put_op(key: bytes, value: bytes, lease: int = 0) -> Any:
    return rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value, lease=lease))


def delete_op(key: bytes, end: bytes | None = None) -> Any:
    return rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key, range_end=end or b""))


def get_op(key: bytes) -> Any:
    return rpc.RequestOp(request_range=rpc.RangeRequest(key=key))


def compare_op(key: bytes, target: str, value: int) -> Any:
    compare = rpc.Compare(key=key, result=rpc.Compare.EQUAL, target=getattr(rpc.Compare, target))
    if target == "MOD":
        compare.mod_revision = value
    elif target == "CREATE":
        compare.create_revision = value
    return compare
