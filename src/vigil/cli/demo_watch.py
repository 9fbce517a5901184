"""What ``vigil demo cluster`` watches while people break the cluster: the controller, where each
resource runs, the nodes' states, the fence devices' status files, the processes it started.

Why a watcher in the demo: the point of the demo is to see what the cluster
does when a machine is lost, so the terminal that started it says so as it
happens ("node1 exited", "fence device status file node1.status: on", "web:
node1 → node2"), in a line each, with the time.  It reads only what anyone
could: the leader key in the store, a node's ``/api/v1/status`` (the
controller's first: a frozen or cut-off node's view is stale), and files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.store import open_store
from vigil.store.base import Store, StoreError
from vigil.testing.cluster import LocalCluster, VigilNode

# A node's API that does not answer within this is skipped for this round (a frozen node accepts the
# connection and never answers).
STATUS_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Picture:
    """One look at the cluster: who is controller, where each resource runs, each node's state."""

    controller: str | None
    # Top-level resource id -> the nodes it runs on (fence devices left out: they only move).
    placement: dict[str, tuple[str, ...]]
    node_states: dict[str, str]
    # Whether the scheduler has nothing left to do (read from the status: "pending" empty and no
    # transition running).
    settled: bool


@dataclass
class Watcher:
    """Looks at ``local`` and says, as lines for people, what changed since it last looked."""

    local: LocalCluster
    fence_dir: Path
    clock: Callable[[], float] = time.time
    last: Picture | None = None
    _exited: set[str] = field(default_factory=set)
    _fence_marks: dict[str, int] = field(default_factory=dict)
    _store: Store | None = None

    def __post_init__(self) -> None:
        self._fence_marks = self._read_fence_marks()

    def close(self) -> None:
        if self._store is not None:
            with contextlib.suppress(Exception):
                asyncio.run(self._store.close())
            self._store = None

    # -- looking -----------------------------------------------------------------------------

    def look(self) -> Picture:
        controller = self._leader()
        report = self._status(controller)
        if report is None:
            return Picture(controller, dict(self.last.placement) if self.last else {},
                           dict(self.last.node_states) if self.last else {}, settled=False)
        transition = report.get("last_transition") or {}
        settled = (controller is not None and not report.get("pending")
                   and transition.get("outcome") != "running")
        return Picture(controller, _placement(report), _node_states(report), settled)

    def _leader(self) -> str | None:
        """The node holding the leader key, read from the store itself (None: none now, or the
        store did not answer)."""
        try:
            if self._store is None:
                self._store = open_store(self.local.store_url(), create=False)
            guard = asyncio.run(self._store.leader())
        except StoreError:  # an etcd member killed on purpose, a takeover: the next look retries
            return None
        return guard.holder if guard is not None else None

    def _status(self, controller: str | None) -> dict[str, Any] | None:
        """``/api/v1/status`` of the first node that answers with a store that records, the
        controller's node first."""
        nodes = sorted(self.local.nodes, key=lambda node: node.name != controller)
        for node in nodes:
            report = _node_status(node)
            if report is not None and not report.get("store_problem"):
                return report
        return None

    # -- telling -----------------------------------------------------------------------------

    def changes(self, picture: Picture) -> list[str]:
        """Lines for what changed since the last picture (and processes that exited, fence
        devices that ran); the picture becomes the last one."""
        lines = [*self._exits(), *self._fencing()]
        before = self.last
        if before is not None:
            if picture.controller != before.controller:
                lines.append(f"controller: {before.controller or 'none'} → {picture.controller or 'none'}")
            lines += _differences(before.node_states, picture.node_states, str)
            lines += _differences(before.placement, picture.placement, _where)
        self.last = picture
        stamp = time.strftime("%H:%M:%S", time.localtime(self.clock()))
        return [f"{stamp} {line}" for line in lines]

    def _exits(self) -> list[str]:
        lines = []
        for name, process in [*((m.name, m.process) for m in self.local.members),
                              *((n.name, n.process) for n in self.local.nodes)]:
            if process is not None and process.poll() is not None and name not in self._exited:
                self._exited.add(name)
                lines.append(f"{name} (pid {process.pid}) exited with {process.returncode}")
        return lines

    def _fencing(self) -> list[str]:
        marks = self._read_fence_marks()
        lines = []
        for path_name, mark in sorted(marks.items()):
            if self._fence_marks.get(path_name) != mark:
                path = self.fence_dir / path_name
                lines.append(f"fence device status file {path} written: {_read(path) or '(empty)'} "
                             f"(a fencing of {path.stem} ran)")
        self._fence_marks = marks
        return lines

    def _read_fence_marks(self) -> dict[str, int]:
        marks = {}
        for path in self.fence_dir.glob("*.status"):
            with contextlib.suppress(OSError):
                marks[path.name] = path.stat().st_mtime_ns
        return marks


def _node_status(node: VigilNode) -> dict[str, Any] | None:
    if not node.running():
        return None
    try:
        with urllib.request.urlopen(f"{node.api_url}/api/v1/status", timeout=STATUS_TIMEOUT_S) as reply:
            report = json.loads(reply.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return report if isinstance(report, dict) else None


def _placement(report: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    return {str(rsc["id"]): tuple(str(n) for n in rsc.get("nodes") or ())
            for rsc in report.get("resources") or ()
            if not str(rsc.get("agent") or "").startswith("stonith:")}


def _node_states(report: dict[str, Any]) -> dict[str, str]:
    return {str(node["name"]): str(node.get("state")) for node in report.get("nodes") or ()}


def _where(nodes: tuple[str, ...]) -> str:
    return ", ".join(nodes) if nodes else "stopped"


def _differences(before: dict[str, Any], after: dict[str, Any], show: Callable[[Any], str]) -> list[str]:
    """``key: old → new`` for every key whose value changed (one that is gone is not reported:
    a picture taken while no node answered keeps the last values)."""
    return [f"{key}: {show(before[key]) if key in before else '-'} → {show(value)}"
            for key, value in after.items() if before.get(key) != value]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""
