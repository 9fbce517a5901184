"""The lab's hold on its cluster: start it, read it, act on it as an operator, reboot what was fenced.

Why a layer over :class:`~vigil.testing.cluster.LocalCluster`: the lab's
machines must come back after a fence as real ones do (the lab's fence agent
powers a node off; a machine then boots), and every boot must be in the
activity log and in the registry the fence agent reads.  The **rebooter**, a
thread of the lab, does that: a node whose ``vigil run`` is gone (fenced,
killed by a fault, exited) is started again once its restart time has come
(the fault's own delay, else ``reboot_delay`` after it was seen gone).

The cluster is read through the controller's API (``GET /api/v1/status``, no
token needed), and changed as an operator changes it: ``vigil`` commands,
as processes, with the node's state directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from vigil.store import open_store
from vigil.testing.cluster import LocalCluster, VigilNode
from vigil.testing.lab.activity import BOOT, event_line
from vigil.testing.lab.workspace import NODES, LabPaths, configuration, install, power_lock, register

STATUS_TIMEOUT_S = 3.0
CLI_TIMEOUT_S = 60.0
# How often the rebooter looks at the nodes (seconds).
REBOOT_POLL_S = 0.1


class LabError(RuntimeError):
    """The lab cannot go on (a node that never serves, a command that fails); the message says what."""


def append_event(paths: LabPaths, line: str) -> None:
    """One lab line in the activity log (O_APPEND, one write: never interleaved with the agents')."""
    fd = os.open(paths.activity_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class LabCluster:
    """A :class:`LocalCluster` running the lab's configuration, with a rebooter."""

    def __init__(self, paths: LabPaths, *, reboot_delay: float = 2.0, member_ttl: int = 3) -> None:
        self.paths = paths
        self.reboot_delay = reboot_delay
        self.member_ttl = member_ttl
        self.generations: dict[str, int] = {}
        self.extra = False
        self.cluster: LocalCluster | None = None
        self.lock = threading.RLock()
        # node -> time.monotonic() at which the rebooter starts it again (None: not planned yet)
        self.restart_at: dict[str, float | None] = {}
        self.booting: set[str] = set()
        self.boot_errors: list[str] = []
        self.reboots = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life --------------------------------------------------------------------------------------

    def start(self) -> None:
        install(self.paths)
        self.write_configuration()
        for name in NODES:
            self.event(BOOT, name)
        cluster = LocalCluster(self.paths.config_file, workdir=self.paths.cluster_dir, node_names=NODES,
                               member_ttl=self.member_ttl, env=self.paths.environment(), keep=True)
        self.cluster = cluster
        cluster.start()
        for node in cluster.nodes:
            register(self.paths, node)
            # A machine that boots runs the cluster's configuration: `--config FILE` is refused once
            # the configuration has changed live (a ban, a move, `vigil config load`).
            node.config_file = None
        self._thread = threading.Thread(target=self._reboot_loop, name="lab-rebooter", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        if self.cluster is not None:
            self.cluster.close()

    @property
    def local(self) -> LocalCluster:
        if self.cluster is None:
            raise LabError("the lab's cluster is not started")
        return self.cluster

    def node(self, name: str) -> VigilNode:
        return self.local.node(name)

    def event(self, ev: str, node: str = "", **fields: object) -> float:
        """Write a lab event now; its time."""
        now = time.monotonic()
        append_event(self.paths, event_line(now, ev, node, **fields))
        return now

    def write_configuration(self) -> None:
        self.paths.config_file.write_text(configuration(self.paths, self.generations, self.extra))

    # -- the rebooter ----------------------------------------------------------------------------

    def plan_restart(self, name: str, at: float) -> None:
        """Start ``name`` again at ``at`` (time.monotonic()), once it is down."""
        with self.lock:
            self.restart_at[name] = at

    def kill(self, name: str, restart_after: float) -> None:
        """kill -9 of a node's vigil; the rebooter starts it again ``restart_after`` s from now."""
        with self.lock:
            self.node(name).kill()
            self.restart_at[name] = time.monotonic() + restart_after

    def all_up(self) -> bool:
        """Every node's vigil runs (none waits for its reboot) and serves its API."""
        with self.lock:
            if self.booting or any(v is not None for v in self.restart_at.values()):
                return False
        return all(node.running() and node.serving() for node in self.local.nodes)

    def _reboot_loop(self) -> None:
        while not self._stop.wait(REBOOT_POLL_S):
            for node in list(self.local.nodes):
                with self.lock:
                    due = self._due(node)
                if due:
                    self._boot(node)

    def _due(self, node: VigilNode) -> bool:
        """Whether ``node`` must be booted now (called with the lock held)."""
        if node.running():
            if node.name not in self.booting:
                self.restart_at.pop(node.name, None)
            return False
        planned = self.restart_at.get(node.name)
        now = time.monotonic()
        if planned is None:
            self.restart_at[node.name] = now + self.reboot_delay
            return False
        if now < planned:
            return False
        self.booting.add(node.name)
        return True

    def _boot(self, node: VigilNode) -> None:
        """Start ``node`` again (a machine boots): its boot in the activity log, its registry entry."""
        try:
            with self.lock, power_lock(self.paths, node.name):
                self.event(BOOT, node.name)
                node.spawn()
                register(self.paths, node)
                self.restart_at.pop(node.name, None)
                self.reboots += 1
            with contextlib.suppress(Exception):
                node.wait_ready(30)
        except Exception as error:  # the rebooter must live on; the lab sees the node not serving
            self.boot_errors.append(f"{node.name}: {error}")
        finally:
            with self.lock:
                self.booting.discard(node.name)

    # -- reading the cluster --------------------------------------------------------------------

    def status_of(self, node: VigilNode) -> dict[str, Any] | None:
        """``GET /api/v1/status`` of ``node``; None while it does not answer."""
        if not node.running() or node.paused:
            return None
        try:
            with urllib.request.urlopen(f"{node.api_url}/api/v1/status", timeout=STATUS_TIMEOUT_S) as reply:
                data = json.loads(reply.read())
        except (OSError, ValueError, urllib.error.URLError):
            return None
        return data if isinstance(data, dict) else None

    def controller_status(self) -> dict[str, Any] | None:
        """The controller's own status report (the one that plans), or None while there is none."""
        for node in self.local.nodes:
            report = self.status_of(node)
            if report is None:
                continue
            leader = report.get("controller")
            if not leader:
                return None
            if leader == node.name:
                return report
            with contextlib.suppress(KeyError):
                own = self.status_of(self.node(str(leader)))
                if own is not None and own.get("controller") == leader:
                    return own
            return None
        return None

    def controller(self) -> str | None:
        report = self.controller_status()
        return None if report is None else str(report.get("controller") or "") or None

    def state_files(self) -> set[tuple[str, str]]:
        """(resource, node) for every lab resource whose state file exists on a node: what runs."""
        found: set[tuple[str, str]] = set()
        for node in self.local.nodes:
            directory = probe_dir(node)
            with contextlib.suppress(OSError):
                for entry in directory.iterdir():
                    if not entry.name.startswith(".") and "." not in entry.name:
                        found.add((entry.name, node.name))
        return found

    # -- acting as an operator --------------------------------------------------------------------

    def vigil(self, node: str, *args: str) -> subprocess.CompletedProcess[str]:
        """``vigil ARGS --state-dir`` of ``node``, as an operator types it (never raises on failure)."""
        argv = [sys.executable, "-m", "vigil", *args, "--state-dir", str(self.node(node).state_dir)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False,
                              env=self.paths.environment())

    def serving_nodes(self, avoid: tuple[str, ...] = ()) -> list[str]:
        return [n.name for n in self.local.nodes
                if n.name not in avoid and n.running() and not n.paused and n.serving()]


def probe_dir(node: VigilNode) -> Path:
    """Where ``ocf:lab:Probe`` keeps a node's state and marker files (its ``TMPDIR``)."""
    return node.tmp_dir / "lab-probe"


def store_dump(url: str, nodes: tuple[str, ...] = NODES) -> list[str]:
    """What the store says about the cluster's coordination, for a report (never raises).

    Why: a cluster that does not settle is stuck on something the logs may not
    say (an order nobody will complete, a leader key nobody acts on); the store
    holds it.  Read directly from etcd, not through a node's links."""
    async def read() -> list[str]:
        async with open_store(url) as store:
            leader = await store.leader()
            members = sorted((await store.members()).items())
            held = f"{leader.holder} (term {leader.revision})" if leader else "none"
            listed = ", ".join(f"{n} (incarnation {i})" for n, i in members)
            lines = [f"leader key: {held}", f"members: {listed}"]
            for node in nodes:
                for order in await store.work_orders(node):
                    lines.append(f"work order {order.id} for {node}: {order.state}, incarnation"
                                 f" {order.incarnation}, result {order.result!r},"
                                 f" action {order.action[:160]}")
            return lines

    try:
        return asyncio.run(asyncio.wait_for(read(), 20))
    except Exception as error:  # a report must not end the run
        return [f"the store could not be read: {error!r}"]
