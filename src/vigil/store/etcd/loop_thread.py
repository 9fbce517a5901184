"""The private event loop every etcd call runs on (a gRPC channel belongs to one loop)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop on its own daemon thread, and a way to run coroutines on it from anywhere."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            # End what is still pending, so no caller waits for ever on a stopped loop.
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.close()

    def submit(self, coro: Awaitable[T]) -> concurrent.futures.Future[T]:
        async def wrap() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop)

    async def call(self, coro: Awaitable[T]) -> T:
        """Run ``coro`` on the private loop and await it from the caller's loop (cancellation passes)."""
        if self.loop.is_closed():
            if asyncio.iscoroutine(coro):
                coro.close()
            raise LoopGone()
        waiter = asyncio.wrap_future(self.submit(coro))
        while True:
            # A call submitted as the loop stops may never run: look now and then.
            try:
                done, _ = await asyncio.wait({waiter}, timeout=0.5)
            except asyncio.CancelledError:
                # The caller gave up (a campaign's timeout, a stopping task): so does the work on
                # the private loop, instead of running on unseen (and failing unheard).
                if not self.loop.is_closed():
                    waiter.cancel()
                raise
            if done:
                return waiter.result()
            if self.loop.is_closed() or not self._thread.is_alive():
                raise LoopGone()  # (not cancelled: that would reach into the closed loop)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)


class LoopGone(Exception):
    """The store's private loop has stopped (the store was closed)."""
