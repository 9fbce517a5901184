"""What the cluster tests look at: the leader key, a service's process, `vigil status`, fence marks.

Each node runs ``ocf:vigil:Service`` instances in its own runtime directory
(``TMPDIR``), so the pid file of resource R under node K's directory says R
was started by node K's agent, and the pid in it whether that process lives.
Each fence device is Debian's ``fence_dummy`` keeping its power state in a
file of its own (``status_file``): the file exists once the device ran, and
its modification time is when (fence_dummy stands in for a power switch,
which cannot run here).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from vigil.store import open_store
from vigil.testing.cluster import INSTALL_HINT, VigilNode, etcd_binary

NODES = ("node1", "node2", "node3")
FENCE_DUMMY = Path("/usr/sbin/fence_dummy")
PACEMAKER_AGENTS = Path("/usr/lib/ocf/resource.d/pacemaker")


def needs_cluster_with(*agents: str) -> list[pytest.MarkDecorator]:
    """Skip marks for a test of a fenced cluster running Pacemaker's own ``agents`` (Dummy,
    Stateful...): without etcd, fence_dummy or one of them it cannot run here."""
    marks = [pytest.mark.skipif(etcd_binary() is None, reason=f"no etcd server binary: {INSTALL_HINT}"),
             pytest.mark.skipif(not FENCE_DUMMY.exists(), reason="no fence_dummy (fence-agents)")]
    return marks + [pytest.mark.skipif(not (PACEMAKER_AGENTS / agent).exists(),
                                       reason=f"no ocf:pacemaker:{agent} (pacemaker-resource-agents)")
                    for agent in agents]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def leader_of(url: str) -> str | None:
    """The node holding the leader key (the controller), read from the store itself."""
    async def read() -> str | None:
        async with open_store(url) as store:
            guard = await store.leader()
            return guard.holder if guard is not None else None

    return asyncio.run(read())


def members_of(url: str) -> dict[str, int]:
    async def read() -> dict[str, int]:
        async with open_store(url) as store:
            return await store.members()

    return asyncio.run(read())


def service_pid(node: VigilNode, resource: str) -> int | None:
    """The pid in ``resource``'s pid file on ``node`` (None: not started there, or stopped)."""
    try:
        return int((node.agent_dir / f"{resource}.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def started_at_ns(node: VigilNode, resource: str) -> int | None:
    """When ``resource`` was last started on ``node`` (its pid file's modification time)."""
    try:
        return (node.agent_dir / f"{resource}.pid").stat().st_mtime_ns
    except OSError:
        return None


def running_here(node: VigilNode, resource: str) -> bool:
    pid = service_pid(node, resource)
    return pid is not None and alive(pid)


def status_json(node: VigilNode) -> dict[str, object]:
    run = subprocess.run([sys.executable, "-m", "vigil", "status", "--format", "json", "--state-dir",
                          str(node.state_dir)], capture_output=True, text=True, timeout=30, check=True)
    result: dict[str, object] = json.loads(run.stdout)
    return result


def status_text(node: VigilNode) -> str:
    return subprocess.run([sys.executable, "-m", "vigil", "status", "--state-dir", str(node.state_dir)],
                          capture_output=True, text=True, timeout=30, check=True).stdout


def running_on(report: dict[str, object], resource: str) -> list[str]:
    """The nodes `vigil status` shows ``resource`` running on."""
    found: list[str] = []

    def walk(item: object) -> None:
        if isinstance(item, dict):
            if item.get("id") == resource and "nodes" in item:
                found.extend(str(n) for n in item["nodes"])
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(report.get("resources"))
    return found


def fence_mark(directory: Path, node: str) -> Path:
    return directory / f"fence-{node}.status"


def fenced_at_ns(directory: Path, node: str) -> int | None:
    """When ``node``'s fence device last ran (None: never)."""
    try:
        return fence_mark(directory, node).stat().st_mtime_ns
    except OSError:
        return None


def fence_devices_yaml(directory: Path, nodes: tuple[str, ...] = NODES) -> str:
    """A fence_dummy device per node, each fencing only its node, its state in ``directory``."""
    return "".join(
        f"  - id: fence-{node}\n    agent: stonith:fence_dummy\n"
        f"    params: {{pcmk_host_list: {node}, status_file: {fence_mark(directory, node)}}}\n"
        for node in nodes)


def pid_file_exists(node: VigilNode, resource: str) -> bool:
    return os.path.exists(node.agent_dir / f"{resource}.pid")


def running_on_instances(report: dict[str, object], resource: str) -> list[str]:
    """The nodes `vigil status` shows ``resource`` or any of its clone instances (``resource:N``)
    running on, sorted."""
    found: list[str] = []
    for instance in {f"{resource}:{n}" for n in range(64)} | {resource}:
        found.extend(running_on(report, instance))
    return sorted(found)


def vigil_cli(node: VigilNode, *args: str) -> str:
    """A `vigil` command against ``node``'s daemon; its output (the command must succeed)."""
    done = subprocess.run([sys.executable, "-m", "vigil", *args, "--state-dir", str(node.state_dir)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


class MostAtOnce:
    """The highest ``count()`` seen, sampled every 20 ms while in use: how many nodes a resource
    was active on at once, how many instances were promoted at once."""

    def __init__(self, count: Callable[[], int]) -> None:
        self.count = count
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.most = max(self.most, self.count())
            time.sleep(0.02)

    def __enter__(self) -> MostAtOnce:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
