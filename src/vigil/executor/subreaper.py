"""An action's whole process tree, even the parts that left its group, and vigil as their reaper.

An agent's child may call ``setsid`` (or fork twice) and so leave the process
group the spawner signals.  Under systemd a cgroup would still hold it; vigil
finds it instead, by two marks that survive leaving the group:

- **ancestry**: a process whose parent chain leads to a process of the action;
- **the action's id** in its environment (``VIGIL_ACTION_ID``), inherited
  across fork and exec, which stays when the parent chain is cut (a double
  fork re-parents the process to vigil or to init).

A process that both leaves the tree and clears its environment is not found
(a cgroup would find it; vigil does not require one).

When vigil is the **child subreaper** (``PR_SET_CHILD_SUBREAPER``, set by
``vigil run``), what its agents orphan is re-parented to vigil rather than to
init: the daemons a ``start`` launched become vigil's children, stay in
vigil's tree, and leave a zombie when they end.  vigil reaps those zombies
itself (no SIGCHLD handler: asyncio's child watcher owns the children vigil
spawned), and reaps only children it did not spawn, so an exit status asyncio
is waiting for is never taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import logging
import os
import secrets
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

ACTION_ID_VAR = "VIGIL_ACTION_ID"
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
DEFAULT_REAP_INTERVAL_S = 1.0
_DEAD_STATES = (b"Z", b"X")


@dataclass(frozen=True)
class ProcInfo:
    """One line of ``/proc/PID/stat``, the fields the tree needs."""

    pid: int
    state: bytes
    ppid: int
    pgid: int
    sid: int

    @property
    def live(self) -> bool:
        return self.state not in _DEAD_STATES


def read_proc(pid: int) -> ProcInfo | None:
    """``pid``'s state, parent, group and session; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    if len(fields) < 4:
        return None
    return ProcInfo(pid, fields[0], int(fields[1]), int(fields[2]), int(fields[3]))


def all_processes() -> dict[int, ProcInfo]:
    """Every process this machine shows in ``/proc``, by pid (empty without ``/proc``)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    procs = {}
    for name in names:
        if name.isdigit() and (info := read_proc(int(name))) is not None:
            procs[info.pid] = info
    return procs


def new_action_id() -> str:
    """A value for ``VIGIL_ACTION_ID`` that no other action of any vigil shares."""
    return secrets.token_hex(12)


def carries_action_id(pid: int, action_id: str) -> bool:
    """Does ``pid``'s environment hold ``VIGIL_ACTION_ID=action_id``?

    A process vigil may not read (another user's, without root) does not.
    """
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            data = environ.read()
    except OSError:
        return False
    return f"\0{ACTION_ID_VAR}={action_id}\0".encode() in b"\0" + data + b"\0"


def action_tree(leader: int, action_id: str, procs: Mapping[int, ProcInfo] | None = None) -> list[int]:
    """Live processes of the action whose leader is ``leader``, escaped ones included.

    The seeds are the leader's process group (the leader is its session
    leader, so its group id is its pid) and every process carrying the
    action's id; the tree is the seeds and all their descendants.  vigil
    itself and its ancestors are never part of it.
    """
    procs = all_processes() if procs is None else procs
    seeds = [p.pid for p in procs.values() if p.pgid == leader or carries_action_id(p.pid, action_id)]
    tree = _descendants(seeds, procs) - _self_and_ancestors(procs)
    return sorted(pid for pid in tree if procs[pid].live)


def _descendants(seeds: Iterable[int], procs: Mapping[int, ProcInfo]) -> set[int]:
    children: dict[int, list[int]] = {}
    for info in procs.values():
        children.setdefault(info.ppid, []).append(info.pid)
    found: set[int] = set()
    todo = list(seeds)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _self_and_ancestors(procs: Mapping[int, ProcInfo]) -> set[int]:
    mine = set()
    pid = os.getpid()
    while pid > 0 and pid not in mine:
        mine.add(pid)
        pid = procs[pid].ppid if pid in procs else 0
    return mine


# --- the child subreaper -----------------------------------------------------------------


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _prctl(option: int, arg: object) -> int:
    result: int = _libc().prctl(option, arg, 0, 0, 0)
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def set_child_subreaper(on: bool = True) -> bool:
    """Make this process the child subreaper of its descendants (or stop); False when it cannot.

    Not on Linux, or without the call (a kernel before 3.4), vigil runs as
    before: orphans go to init, and escaped processes are still found by
    their action id.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        _prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0)
    except (OSError, AttributeError) as err:
        log.warning("cannot make vigil the subreaper of its agents' processes: %s", err)
        return False
    _SPAWNED.subreaper = on
    return True


def reaping() -> bool:
    """Does this process adopt orphans (so that it must reap them)?"""
    return _SPAWNED.subreaper


def is_child_subreaper() -> bool:
    """Is this process a child subreaper now?"""
    if not sys.platform.startswith("linux"):
        return False
    flag = ctypes.c_int(0)
    try:
        _prctl(PR_GET_CHILD_SUBREAPER, ctypes.pointer(flag))
    except (OSError, AttributeError):
        return False
    return flag.value != 0


# --- what vigil spawned itself, which only asyncio may reap ------------------------------


class _Spawned:
    """The children vigil spawned and asyncio has not yet waited for."""

    def __init__(self) -> None:
        self.pids: set[int] = set()
        self.forking = 0
        self.subreaper = False  # as set by set_child_subreaper


_SPAWNED = _Spawned()


@contextlib.contextmanager
def spawning() -> Iterator[set[int]]:
    """Around a spawn: no reaping until the new child's pid is in the set yielded.

    A child may exit before its pid is known to the caller; while any spawn
    is in progress, no zombie is taken.
    """
    _SPAWNED.forking += 1
    try:
        yield _SPAWNED.pids
    finally:
        _SPAWNED.forking -= 1


def release_spawned(pid: int, exited: asyncio.Future[None]) -> None:
    """Let ``pid`` go once asyncio has waited for it (at once when it has)."""
    if exited.done():
        _SPAWNED.pids.discard(pid)
    else:
        exited.add_done_callback(lambda _: _SPAWNED.pids.discard(pid))


def _children() -> list[int]:
    """This process's children that its main thread holds: every orphan it adopted.

    The kernel hands an orphan to the subreaper's first live thread, the
    main one while it lives; reading one file keeps this cheap enough to do
    around every action.
    """
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children") as children:
            return [int(p) for p in children.read().split()]
    except OSError:  # a kernel without CONFIG_PROC_CHILDREN
        return [p.pid for p in all_processes().values() if p.ppid == me]


def reap_orphans() -> list[int]:
    """Reap the zombies vigil adopted as subreaper; returns their pids.

    Taken only: a zombie child of vigil that vigil did not spawn (not in the
    spawned set, and no spawn in progress) and that is not in vigil's own
    session (every agent runs in a session of its own, so what it orphans is
    never in vigil's; a child some other code spawned without a new session
    is).
    """
    if _SPAWNED.forking:
        return []
    own_session = os.getsid(0)
    reaped = []
    for pid in _children():
        info = read_proc(pid)
        if info is None or info.live or info.sid == own_session or pid in _SPAWNED.pids:
            continue
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        if done == pid:
            reaped.append(pid)
    if reaped:
        log.debug("reaped %d orphan(s) of agents: %s", len(reaped), reaped)
    return reaped


def adopted_orphans() -> list[int]:
    """Live children of vigil that it did not spawn: what its agents orphaned."""
    own_session = os.getsid(0)
    adopted = []
    for pid in _children():
        info = read_proc(pid)
        if info is not None and info.live and info.sid != own_session and pid not in _SPAWNED.pids:
            adopted.append(pid)
    return adopted


class Subreaper:
    """vigil as the subreaper of its agents' processes, with a reaper running in its loop.

    ``start`` (in a running loop) sets the flag and reaps every
    ``interval_s``; the spawner also reaps before and after each action, so
    an agent checking a pid (``kill -0``) never mistakes a dead daemon's
    zombie for a live one.  ``close`` reaps a last time and gives the flag
    back: what vigil leaves running when it exits (``--leave-running``) goes
    to init, as it would have without vigil.
    """

    def __init__(self, interval_s: float = DEFAULT_REAP_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.enabled = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> bool:
        """Become the subreaper and start reaping; False when this system cannot."""
        if not self.enabled:
            self.enabled = set_child_subreaper(True)
            if self.enabled:
                log.info("vigil is the subreaper of the processes its agents start")
        if self.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._reap_forever(), name="subreaper")
        return self.enabled

    async def _reap_forever(self) -> None:
        while True:
            reap_orphans()
            await asyncio.sleep(self.interval_s)

    async def close(self) -> None:
        """Stop reaping (one last pass) and stop being the subreaper."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.enabled:
            set_child_subreaper(False)
            self.enabled = False
            reap_orphans()
