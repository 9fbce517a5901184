"""Cuttable links for a cluster on one machine: a TCP proxy per node↔etcd-member link, on loopback.

A test cuts one node off the store while the others keep it, without
firewall rules or network namespaces (traffic never leaves 127.0.0.0/8):
``pass`` forwards, ``drop`` closes every connection and resets new ones at
once (a cable pulled with a reset), ``blackhole`` accepts and forwards
nothing, holding what was sent (a silent cut).  :class:`ProxyHub` runs every
proxy of a :class:`~vigil.testing.cluster.LocalCluster` on one event loop of
its own thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Literal

LinkMode = Literal["pass", "drop", "blackhole"]


class _Link:
    """One proxied link (lives on the hub's loop): a listener on the node's address, forwarding to
    one etcd member, in one of three modes."""

    def __init__(self, listen_host: str, upstream: tuple[str, int]) -> None:
        self.listen_host = listen_host
        self.upstream = upstream
        self.port = 0
        self.mode: LinkMode = "pass"
        self.server: asyncio.Server | None = None
        self.gate = asyncio.Event()  # set: bytes flow; clear: held (blackhole)
        self.gate.set()
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def listen(self) -> None:
        self.server = await asyncio.start_server(self._accept, self.listen_host, self.port or None,
                                                 reuse_address=True)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "drop":
            _reset(writer)
            return
        self.writers.add(writer)  # a drop while the upstream connects must end it too
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.writers.discard(writer)
            writer.close()  # the member is down: the client sees the connection end, as with no proxy
            return
        if self.dropped() or writer.is_closing():  # cut while it connected: it never passes
            self.writers.discard(writer)
            writer.close()
            up_writer.close()
            return
        self.writers.add(up_writer)
        pumps = [asyncio.ensure_future(self._pump(reader, up_writer)),
                 asyncio.ensure_future(self._pump(up_reader, writer))]
        self.tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
                self.tasks.discard(pump)
            for each in (writer, up_writer):
                self.writers.discard(each)
                each.close()

    def dropped(self) -> bool:
        return self.mode == "drop"

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                await self.gate.wait()  # blackhole: hold it (the kernel's buffers fill, the sender waits)
                writer.write(data)
                await writer.drain()

    async def set_mode(self, mode: LinkMode) -> None:
        self.mode = mode
        if mode == "blackhole":
            self.gate.clear()
            if self.server is None:
                await self.listen()  # after close(): accept again, forward nothing
            return
        if mode == "drop":
            # The listener stays open and resets every new connection at once: closing it would
            # race with connections being accepted (asyncio then leaks their sockets).
            for writer in list(self.writers):
                writer.close()  # end every open connection, both sides
            self.writers.clear()
            for task in list(self.tasks):
                task.cancel()
            self.gate.set()
            return
        self.gate.set()
        if self.server is None:
            await self.listen()  # the same port again

    async def close(self) -> None:
        await self.set_mode("drop")
        if self.server is not None:
            self.server.close()
            self.server = None
        # Connections accepted just before the listener closed have their handler still to run:
        # let it run (it sees the drop and resets them) before the hub's loop stops.
        await asyncio.sleep(0.05)
        for writer in list(self.writers):
            writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close a connection with a TCP reset, as a refused connection looks to the client."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


class ProxyHub:
    """Every link proxy of a cluster, on one event loop in one daemon thread of this process.

    The test's thread controls them; each call waits (bounded) until the loop has done it, so
    after ``cut(...)`` returns the link is cut."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vigil-link-proxies", daemon=True)
        self._thread.start()
        self._links: list[_Link] = []

    def _call(self, coro: object, timeout: float = 10.0) -> object:
        assert asyncio.iscoroutine(coro)
        future: Future[object] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def add(self, listen_host: str, upstream: tuple[str, int]) -> LinkProxy:
        async def make() -> _Link:
            link = _Link(listen_host, upstream)
            await link.listen()
            return link

        link = self._call(make())
        assert isinstance(link, _Link)
        self._links.append(link)
        return LinkProxy(self, link)

    def set_mode(self, link: _Link, mode: LinkMode) -> None:
        self._call(link.set_mode(mode))

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        for link in self._links:
            with contextlib.suppress(Exception):
                self._call(link.close(), timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


@dataclass
class LinkProxy:
    """The handle of one node↔member link: its address (what the node dials) and its mode."""

    hub: ProxyHub
    link: _Link

    @property
    def endpoint(self) -> str:
        return f"{self.link.listen_host}:{self.link.port}"

    @property
    def mode(self) -> LinkMode:
        return self.link.mode

    def set(self, mode: LinkMode) -> None:
        self.hub.set_mode(self.link, mode)

    def drop(self) -> None:
        self.set("drop")

    def blackhole(self) -> None:
        self.set("blackhole")

    def heal(self) -> None:
        self.set("pass")
