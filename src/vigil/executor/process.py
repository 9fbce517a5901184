"""The one subprocess spawner: every agent, fence agent or alert runs through here.

Agents are other people's shell scripts, and some misbehave.  The spawner
makes each failure mode a result instead of a hang or a leak:

- Each action runs in its **own session and process group** (the leader is
  ``setsid``), so the whole tree it forks can be signalled at once, and it
  cannot read the terminal vigil runs on.
- **Timeout**: SIGTERM to the action's whole tree, then SIGKILL to whatever
  is left after a short grace (children that ignore SIGTERM included), and
  the result says *timed out*; it carries no exit code, because the agent
  never gave one.  The tree is the group plus what left it (``setsid``, a
  double fork): each action carries an id in its environment
  (``VIGIL_ACTION_ID``) and the tree is found through it and through
  ancestry (:mod:`vigil.executor.subreaper`).
- **Output** is captured with a cap per stream (the head and the tail are
  kept, the middle dropped and counted), and reading never stops, so an
  agent printing megabytes neither blocks on a full pipe nor fills memory.
- The last **marked line** on stderr (``ocf-exit-reason:``) is picked up
  while streaming, so it is found even in output beyond the cap.
- The action ends when its **leader exits**, not when the pipes close: an
  agent whose daemon inherited stdout returns as soon as the agent does
  (what the daemon writes later is lost, as under Pacemaker).
- A **per-node limit** on concurrent actions (a semaphore; time spent
  waiting for a slot is reported apart and does not count against the
  timeout).
- **Nothing is left running** when vigil stops: a cancelled action ends
  its tree before the cancellation goes on, :meth:`Spawner.shutdown` ends
  every action in flight, and an ``atexit`` hook SIGKILLs any tree still
  known at interpreter exit.  (A SIGKILL of vigil itself cannot be caught;
  see docs/executor.md.)

A successful action may legitimately leave processes behind (a ``start``
that launches a daemon in its own group): the spawner signals a tree only
on timeout, cancellation or shutdown of the action in flight, never after a
normal exit.  When vigil is the child subreaper, the spawner also reaps the
zombies of what agents orphaned, before and after each action.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import subprocess
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vigil.executor.subreaper import (
    ACTION_ID_VAR,
    action_tree,
    new_action_id,
    read_proc,
    reap_orphans,
    reaping,
    release_spawned,
    spawning,
)

log = logging.getLogger(__name__)

DEFAULT_OUTPUT_CAP = 128 * 1024  # bytes kept per stream
DEFAULT_KILL_GRACE_S = 1.0  # between SIGTERM and SIGKILL
DEFAULT_DRAIN_S = 0.1  # how long to keep reading after the leader exited
# A line this long without a newline is scanned for the marker and cut.
_LINE_LIMIT = 64 * 1024
_MARKED_TEXT_LIMIT = 4096
_POLL_S = 0.02


@dataclass(frozen=True)
class ProcessResult:
    """What happened to one process tree.

    Exactly one of these describes the end: ``spawn_errno`` (it never
    started), ``timed_out`` (vigil ended it), ``signal`` (something killed
    it), or ``exit_code`` (it exited by itself).  ``cancelled`` is set when
    :meth:`Spawner.shutdown` ended it.
    """

    pid: int | None
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    cancelled: bool = False
    spawn_errno: int | None = None
    spawn_error: str = ""
    stdout: bytes = b""
    stderr: bytes = b""
    stdout_bytes: int = 0  # seen, including what the cap dropped
    stderr_bytes: int = 0
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    marked_text: str | None = None  # text after the last marker on stderr
    duration_s: float = 0.0
    queued_s: float = 0.0
    leftovers_killed: tuple[int, ...] = ()  # pids still in the tree when SIGKILL went out


class SpawnerClosed(RuntimeError):
    """The spawner is shutting down and takes no more actions."""


class _Capture:
    """One output stream: head and tail within a cap, plus the marker scan."""

    def __init__(self, cap: int, marker: bytes | None) -> None:
        self.head_cap = cap - cap // 2
        self.tail_cap = cap // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.marker = marker
        self.partial = b""
        self.marked: bytes | None = None

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        if self.marker is not None:
            self._scan(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data and self.tail_cap:
            self.tail += data
            if len(self.tail) > 2 * self.tail_cap:
                del self.tail[: -self.tail_cap]

    def finish(self) -> None:
        if self.marker is not None and self.partial:
            self._take_marked(self.partial)
            self.partial = b""

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + min(len(self.tail), self.tail_cap)

    def value(self) -> bytes:
        tail = bytes(self.tail[-self.tail_cap :]) if self.tail_cap else b""
        dropped = self.total - len(self.head) - len(tail)
        if dropped > 0:
            return bytes(self.head) + f"\n[... vigil dropped {dropped} bytes ...]\n".encode() + tail
        return bytes(self.head) + tail

    def _scan(self, data: bytes) -> None:
        assert self.marker is not None
        buf = self.partial + data
        newline = buf.rfind(b"\n")
        if newline >= 0:
            self._take_marked(buf[: newline + 1])
            buf = buf[newline + 1 :]
        if len(buf) > _LINE_LIMIT:
            self._take_marked(buf)
            buf = buf[-(len(self.marker) - 1) :] if len(self.marker) > 1 else b""
        self.partial = buf

    def _take_marked(self, text: bytes) -> None:
        """Keep the text after the last marker in ``text`` that has any."""
        assert self.marker is not None
        end_search = len(text)
        while True:
            found = text.rfind(self.marker, 0, end_search)
            if found < 0:
                return
            start = found + len(self.marker)
            end = text.find(b"\n", start)
            reason = text[start : end if end >= 0 else len(text)].strip()
            if reason:
                self.marked = reason[:_MARKED_TEXT_LIMIT]
                return
            end_search = found


class _Collector(asyncio.SubprocessProtocol):
    """Feeds both pipes into captures; tells when the leader exited and the pipes closed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, cap: int, marker: bytes | None) -> None:
        self.captures = {1: _Capture(cap, None), 2: _Capture(cap, marker)}
        self.exited: asyncio.Future[None] = loop.create_future()
        self.pipes_closed: asyncio.Future[None] = loop.create_future()
        self._open = {1, 2}

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        capture = self.captures.get(fd)
        if capture is not None:
            capture.feed(data if isinstance(data, bytes) else data.encode())

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open.discard(fd)
        if not self._open and not self.pipes_closed.done():
            self.pipes_closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``.

    Reads ``/proc``: zombies are left out because a reparented zombie is
    harmless and, in a container whose init does not reap, would otherwise
    count forever.  Without ``/proc``, asks the kernel whether the group
    exists at all.
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    members = []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                data = stat.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(name))
    return members


def _write_stdin(transport: asyncio.SubprocessTransport, data: bytes) -> None:
    """Hand ``data`` to the process's stdin and close it (a process that does not
    read it loses it, which is no error)."""
    pipe = transport.get_pipe_transport(0)
    if pipe is None:
        return
    assert isinstance(pipe, asyncio.WriteTransport)
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, ConnectionResetError):
        pass


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass
    except PermissionError as err:  # a setuid child; nothing more we can do
        log.warning("cannot signal process group %d: %s", pgid, err)


def _signal_tree(leader: int, action_id: str, signum: int) -> list[int]:
    """Signal the action's group and each process of its tree; returns the tree's pids."""
    tree = action_tree(leader, action_id)
    _signal_group(leader, signum)
    for pid in tree:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError as err:
            log.warning("cannot signal process %d: %s", pid, err)
    return tree


def _live_among(pids: set[int]) -> list[int]:
    return sorted(pid for pid in pids if (info := read_proc(pid)) is not None and info.live)


@dataclass(frozen=True)
class _InFlight:
    """An action whose leader is running: what ends it."""

    exited: asyncio.Future[None]
    action_id: str


def _kill_leftover_groups(ref: weakref.ReferenceType[Spawner]) -> None:
    spawner = ref()
    if spawner is not None:
        spawner.kill_all_now()


class Spawner:
    """Runs processes for one node, at most ``max_concurrent`` at a time."""

    def __init__(
        self,
        max_concurrent: int | None = None,
        *,
        kill_grace_s: float = DEFAULT_KILL_GRACE_S,
        drain_s: float = DEFAULT_DRAIN_S,
        output_cap: int = DEFAULT_OUTPUT_CAP,
    ) -> None:
        # Pacemaker's default node-action-limit is twice the number of cores.
        self.max_concurrent = max_concurrent or 2 * (os.cpu_count() or 1)
        self.kill_grace_s = kill_grace_s
        self.drain_s = drain_s
        self.output_cap = output_cap
        self._slots = asyncio.Semaphore(self.max_concurrent)
        self._live: dict[int, _InFlight] = {}
        self._shut: set[int] = set()
        self._closed = False
        self.peak_running = 0
        atexit.register(_kill_leftover_groups, weakref.ref(self))

    @property
    def running(self) -> int:
        """Actions whose process is alive right now."""
        return len(self._live)

    async def run(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        timeout_s: float,
        *,
        cwd: str | None = "/",
        output_cap: int | None = None,
        marker: bytes | None = None,
        stdin: bytes | None = None,
    ) -> ProcessResult:
        """Run ``argv`` to its end, within ``timeout_s`` seconds of its start.

        ``env`` is the complete environment; ``stdin``, when given, is written
        to the process's standard input, which is then closed (fence agents
        read their arguments there), else it reads ``/dev/null``.  Raises
        :class:`SpawnerClosed` after :meth:`shutdown`; re-raises cancellation
        after ending the group.
        """
        if self._closed:
            raise SpawnerClosed("the executor is shutting down")
        queued_at = time.monotonic()
        async with self._slots:
            if self._closed:
                raise SpawnerClosed("the executor is shutting down")
            queued_s = time.monotonic() - queued_at
            return await self._run(argv, env, timeout_s, cwd, output_cap or self.output_cap, marker, queued_s,
                                   stdin)

    async def _run(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        timeout_s: float,
        cwd: str | None,
        cap: int,
        marker: bytes | None,
        queued_s: float,
        stdin: bytes | None = None,
    ) -> ProcessResult:
        loop = asyncio.get_running_loop()
        collector = _Collector(loop, cap, marker)
        action = _InFlight(collector.exited, new_action_id())
        if reaping():
            reap_orphans()  # so that the agent finds no dead daemon's zombie
        started = time.monotonic()
        # A cancellation that lands while asyncio is still setting the process up would make
        # asyncio kill the leader alone and then wait for the pipes its children hold (an agent
        # that hangs: as long as they live), leaving them behind.  So the spawn is finished first,
        # and the cancellation then ends the whole tree like any other.
        cancelled = False
        try:
            with spawning() as spawned:
                spawn = asyncio.ensure_future(loop.subprocess_exec(
                    lambda: collector,
                    *argv,
                    stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env={**env, ACTION_ID_VAR: action.action_id},
                    cwd=cwd,
                    start_new_session=True,
                ))
                try:
                    transport, _ = await asyncio.shield(spawn)
                except asyncio.CancelledError:
                    cancelled = True
                    transport, _ = await spawn
                spawned.add(transport.get_pid())
        except OSError as err:
            if cancelled:
                raise asyncio.CancelledError from err
            return ProcessResult(
                None,
                spawn_errno=err.errno,
                spawn_error=err.strerror or str(err),
                queued_s=queued_s,
                duration_s=time.monotonic() - started,
            )
        pid = transport.get_pid()
        if stdin is not None:
            _write_stdin(transport, stdin)
        self._live[pid] = action
        self.peak_running = max(self.peak_running, len(self._live))
        timed_out = False
        leftovers: tuple[int, ...] = ()
        try:
            if cancelled:
                raise asyncio.CancelledError
            done, _ = await asyncio.wait({collector.exited}, timeout=max(timeout_s, 0.0))
            if not done:
                timed_out = True
                log.warning(
                    "%s (pid %d) timed out after %.1f s; ending its process tree", argv[0], pid, timeout_s
                )
                leftovers = await self._end_tree(pid, action)
            else:
                # The agent is done: what it left running (a daemon a start
                # launched) is the resource, not ours to end.
                del self._live[pid]
                await asyncio.wait({collector.pipes_closed}, timeout=self.drain_s)
        except asyncio.CancelledError:
            if pid in self._live:
                try:
                    await self._end_tree(pid, action)
                except asyncio.CancelledError:
                    _signal_tree(pid, action.action_id, signal.SIGKILL)
            raise
        finally:
            self._live.pop(pid, None)
            transport.close()
            release_spawned(pid, collector.exited)
            if reaping():
                reap_orphans()
        for capture in collector.captures.values():
            capture.finish()
        code = transport.get_returncode()
        out, errs = collector.captures[1], collector.captures[2]
        marked = errs.marked.decode("utf-8", "replace") if errs.marked is not None else None
        cancelled = pid in self._shut
        self._shut.discard(pid)
        return ProcessResult(
            pid,
            exit_code=code if code is not None and code >= 0 and not timed_out else None,
            signal=-code if code is not None and code < 0 else None,
            timed_out=timed_out,
            cancelled=cancelled,
            stdout=out.value(),
            stderr=errs.value(),
            stdout_bytes=out.total,
            stderr_bytes=errs.total,
            stdout_truncated=out.truncated,
            stderr_truncated=errs.truncated,
            marked_text=marked,
            duration_s=time.monotonic() - started,
            queued_s=queued_s,
            leftovers_killed=leftovers,
        )

    async def _end_tree(self, leader: int, action: _InFlight) -> tuple[int, ...]:
        """SIGTERM the action's tree, SIGKILL what is left after the grace, wait until it is gone.

        Returns the pids that were still there for SIGKILL.  Between full
        scans of ``/proc`` (reading environments is not free) only the pids
        already found are watched; a last scan confirms the tree is empty.
        A process once found is waited for even when it can no longer be
        told apart (a child that lost its parent and its group while dying).
        """
        known = set(_signal_tree(leader, action.action_id, signal.SIGTERM))
        deadline = time.monotonic() + self.kill_grace_s
        while time.monotonic() < deadline:
            if action.exited.done() and not _live_among(known):
                newcomers = _signal_tree(leader, action.action_id, signal.SIGTERM)
                if not newcomers:
                    return ()
                known.update(newcomers)
            await asyncio.sleep(_POLL_S)
        leftovers = tuple(_signal_tree(leader, action.action_id, signal.SIGKILL))
        known.update(leftovers)
        # SIGKILL cannot be ignored; only a process stuck in the kernel (D
        # state) outlives these waits, and it is logged.  Each pass kills
        # again what a process forked before it died.
        await asyncio.wait({action.exited}, timeout=5.0)
        deadline = time.monotonic() + 2.0
        while True:
            known.update(_signal_tree(leader, action.action_id, signal.SIGKILL))
            remaining = _live_among(known)
            if not remaining or time.monotonic() >= deadline:
                break
            await asyncio.sleep(_POLL_S)
        if remaining:
            log.error("the tree of process %d still has %s after SIGKILL", leader, remaining)
        return leftovers

    async def shutdown(self) -> None:
        """Refuse new actions and end every action in flight (TERM, grace, KILL).

        Each in-flight action's whole tree, escaped processes included; what
        a finished action left running (a started service) is the resource
        and stays.  The runs in flight return with ``cancelled`` set.
        """
        self._closed = True
        live = dict(self._live)
        self._shut.update(live)
        await asyncio.gather(*(self._end_tree(pid, action) for pid, action in live.items()))

    def kill_all_now(self) -> None:
        """SIGKILL every tree in flight, without waiting: the last resort at exit."""
        for leader, action in list(self._live.items()):
            _signal_tree(leader, action.action_id, signal.SIGKILL)
