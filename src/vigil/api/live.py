"""The page's live feed: ``GET /api/v1/live``, server-sent events pushed at each change.

One producer per daemon, however many pages are open: it waits on the
store's change notifications (:meth:`~vigil.store.base.Store.wait_for_change`,
at once for this process's own commits) and on new events, builds the
overview once (:mod:`vigil.api.overview`) and hands it to every open stream.
Transition reports are not changes of the cluster and wake no watcher, so
the producer also looks at the newest report once a second (a small read)
to push a transition's end.  Nothing is built when nothing changed (a
fingerprint of revision, newest report, newest event and store health), and
nothing at all while no page is open.

Each stream gets ``overview`` events (the whole document, one JSON line), a
``problem`` event when the store cannot be read, and a comment every
:data:`KEEPALIVE_S` seconds so that a dead connection is noticed.  A slow
page is never queued more than one document behind: it gets the newest.
The stream opens with ``retry:``, so the browser's EventSource reconnects
by itself after a second when the daemon restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from fastapi.encoders import jsonable_encoder

from vigil.api.context import ControllerView
from vigil.events.recent import RecentEvents
from vigil.store.base import Store, StoreError

log = logging.getLogger(__name__)

# How long the browser waits before it reconnects (milliseconds, told in the stream).
RETRY_MS = 1000
# A comment this often keeps proxies from closing an idle stream and finds dead connections.
KEEPALIVE_S = 15.0
# How often the newest transition report is looked at (reports wake no store watcher).
REPORT_CHECK_S = 1.0
# The least time between two documents: a burst of commits is one push, not many.
MIN_GAP_S = 0.05

Fingerprint = tuple[object, ...]
_CLOSE = ""


def sse_message(event: str, data: object) -> str:
    """One server-sent event; ``data`` as JSON on a single line."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


class LiveFeed:
    """Builds the overview after each change and hands it to every open stream."""

    def __init__(self, build: Callable[[], Awaitable[dict[str, Any]]], store: Store,
                 controller: ControllerView, recent: RecentEvents | None = None) -> None:
        self.build = build
        self.store = store
        self.controller = controller
        self.recent = recent
        self._queues: set[asyncio.Queue[str]] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._latest: str | None = None
        self._closed = False
        self._unfollow: Callable[[], None] = lambda: None

    @property
    def streams(self) -> int:
        """How many pages follow the feed now."""
        return len(self._queues)

    async def stream(self) -> AsyncGenerator[str, None]:
        """The messages of one page's stream, until the page goes or the feed closes."""
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        if self._latest is not None:
            queue.put_nowait(self._latest)  # the newest document at once, or a newer one
        self._queues.add(queue)
        self._start()
        try:
            yield f"retry: {RETRY_MS}\n\n"
            while not self._closed:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if message == _CLOSE:
                    return
                yield message
        finally:
            self._queues.discard(queue)
            if not self._queues:
                await self._stop()

    async def close(self) -> None:
        """End every stream (the daemon is stopping): the pages say so and reconnect later."""
        self._closed = True
        for queue in list(self._queues):
            _offer(queue, _CLOSE)
        await self._stop()

    # -- the producer -------------------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            if self.recent is not None:
                self._unfollow = self.recent.follow(self._wake.set)
            self._task = asyncio.get_running_loop().create_task(self._produce(), name="web-live-feed")

    async def _stop(self) -> None:
        task, self._task = self._task, None
        self._unfollow()
        self._unfollow = lambda: None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._latest = None

    def _publish(self, message: str) -> None:
        self._latest = message
        for queue in list(self._queues):
            _offer(queue, message)

    async def _fingerprint(self) -> tuple[int, Fingerprint]:
        """The store revision, and what must differ for the page to change."""
        revision = await self.store.revision()
        reports = await self.store.transition_reports(limit=1)
        newest = (reports[0].number, reports[0].outcome, reports[0].finished) if reports else None
        events = self.recent.last_seq if self.recent is not None else 0
        return revision, (revision, newest, events, self.controller.stats.store_failing_since)

    async def _produce(self) -> None:
        seen: Fingerprint | None = None
        revision = 0
        while self._queues and not self._closed:
            try:
                revision, fingerprint = await self._fingerprint()
                if fingerprint != seen:
                    document = jsonable_encoder(await self.build())
                    self._publish(sse_message("overview", document))
                    seen = fingerprint
            except Exception as error:  # the store failing, or a bug: the pages say so; try again
                self._publish(sse_message("problem", {"error": _problem(error)}))
                seen = None
                await asyncio.sleep(REPORT_CHECK_S)
                continue
            await asyncio.sleep(MIN_GAP_S)
            await self._wait(revision)

    async def _wait(self, revision: int) -> None:
        """Until the store moves past ``revision``, an event comes, or it is time to look at reports."""
        assert self._wake is not None
        waits = [asyncio.ensure_future(self.store.wait_for_change(revision, timeout=REPORT_CHECK_S)),
                 asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
            self._wake.clear()


def _problem(error: Exception) -> str:
    """What the pages are told (and the log) when the document cannot be built."""
    if isinstance(error, StoreError):
        log.warning("the web page's live feed cannot read the store: %s", error)
        return f"the store failed: {error}"
    log.error("the web page's live feed could not build the page's document", exc_info=error)
    return f"the daemon could not build the page: {error}"


def _offer(queue: asyncio.Queue[str], message: str) -> None:
    """Put ``message`` in a one-place queue, replacing what the page has not taken yet."""
    with contextlib.suppress(asyncio.QueueEmpty):
        queue.get_nowait()
    queue.put_nowait(message)
