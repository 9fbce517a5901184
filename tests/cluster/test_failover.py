"""Losing a node: fenced before its resources start elsewhere; self-fencing; quorum.

Three `vigil run` nodes on a real 3-member etcd (LocalCluster, loopback only),
member TTL 3 s, a fence_dummy device per node (tests/cluster/observe.py says
how the tests see that a device ran, and when).  R is one `ocf:vigil:Service`
(a real process per start, its pid file in the running node's own directory).

- kill -9 of the node running R: that node is fenced, and only then R starts
  on another node; the fence history on every survivor shows it;
- SIGSTOP of the node running R past its lease: fenced before R starts
  elsewhere; after SIGCONT the frozen node never acts on R again (it records
  nothing, starts nothing; R elsewhere keeps its process);
- a node cut off from etcd (its links dropped) stops R by itself before its
  lease can expire, so R never runs twice; it is then fenced, R starts
  elsewhere, and after the heal the node joins again;
- losing quorum (two nodes of three killed) applies no-quorum-policy=stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.observe import (
    NODES,
    alive,
    fence_devices_yaml,
    fenced_at_ns,
    leader_of,
    running_here,
    running_on,
    service_pid,
    started_at_ns,
    status_json,
    status_text,
)
from vigil.testing.cluster import INSTALL_HINT, LocalCluster, VigilNode, etcd_binary, wait_until

TTL = 3
FENCE_DUMMY = Path("/usr/sbin/fence_dummy")

needs_etcd = pytest.mark.skipif(etcd_binary() is None, reason=f"no etcd server binary: {INSTALL_HINT}")
needs_fence_dummy = pytest.mark.skipif(not FENCE_DUMMY.exists(), reason="no fence_dummy (fence-agents)")


def config(fence_dir: Path, *, stonith: bool = True, policy: str = "stop", extra: str = "") -> str:
    return f"""\
options:
  stonith-enabled: {str(stonith).lower()}
  no-quorum-policy: {policy}
  cluster-recheck-interval: 1min
rsc_defaults:
  resource-stickiness: 100
nodes:
  - name: node1
  - name: node2
  - name: node3
resources:
  - id: R
    agent: ocf:vigil:Service
    ops:
      - {{name: monitor, interval: 2s, timeout: 10s}}
      - {{name: stop, interval: 0, timeout: 10s}}
{fence_devices_yaml(fence_dir)}{extra}"""


def where(cluster: LocalCluster, resource: str = "R") -> list[VigilNode]:
    return [node for node in cluster.nodes if node.running() and running_here(node, resource)]


def settled_on_one(cluster: LocalCluster) -> VigilNode:
    """The node R runs on, once its start is recorded (`vigil status` shows it there)."""
    def settled() -> bool:
        found = where(cluster)
        return len(found) == 1 and running_on(status_json(found[0]), "R") == [found[0].name]

    wait_until("R to run on one node", settled, timeout=30, interval=0.2)
    return where(cluster)[0]


class Watch:
    """Counts, every 20 ms, the live R processes started by nodes that are not known-dead stand-ins."""

    def __init__(self, nodes: list[VigilNode]) -> None:
        self.nodes = nodes
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.most = max(self.most, sum(1 for node in self.nodes if running_here(node, "R")))
            time.sleep(0.02)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def fence_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "fence"
    directory.mkdir()
    yield directory


@needs_etcd
@needs_fence_dummy
def test_kill_9_of_the_node_running_r_fences_it_and_only_then_starts_r_elsewhere(tmp_path: Path,
                                                                                 fence_dir: Path) -> None:
    with LocalCluster(config(fence_dir), workdir=tmp_path / "cluster", member_ttl=TTL) as cluster:
        victim = settled_on_one(cluster)
        assert fenced_at_ns(fence_dir, victim.name) is None
        victim.kill()
        killed = time.monotonic()
        others = [n for n in cluster.nodes if n is not victim]
        wait_until("R to start on another node", lambda: any(running_here(n, "R") for n in others),
                   timeout=TTL + 15, interval=0.02)
        took = time.monotonic() - killed
        successor = next(n for n in others if running_here(n, "R"))
        fenced = fenced_at_ns(fence_dir, victim.name)
        started = started_at_ns(successor, "R")
        assert fenced is not None, f"{victim.name} was not fenced before R started on {successor.name}"
        assert started is not None and fenced < started, "R started before its old node was fenced"
        # Only the lost node was fenced.
        assert [n for n in NODES if fenced_at_ns(fence_dir, n) is not None] == [victim.name]
        assert took < TTL + 10
        # Every survivor shows the fencing and R on its new node.
        for node in others:
            text = status_text(node)
            assert victim.name in text and "Fencing" in text, text


@needs_etcd
@needs_fence_dummy
def test_a_frozen_node_is_fenced_before_r_moves_and_never_touches_r_after_waking(tmp_path: Path,
                                                                                 fence_dir: Path) -> None:
    with LocalCluster(config(fence_dir), workdir=tmp_path / "cluster", member_ttl=TTL) as cluster:
        frozen = settled_on_one(cluster)
        others = [n for n in cluster.nodes if n is not frozen]
        frozen.pause()
        try:
            wait_until("R to start on another node", lambda: any(running_here(n, "R") for n in others),
                       timeout=TTL + 15, interval=0.02)
            successor = next(n for n in others if running_here(n, "R"))
            fenced = fenced_at_ns(fence_dir, frozen.name)
            started = started_at_ns(successor, "R")
            assert fenced is not None and started is not None and fenced < started
            pid = service_pid(successor, "R")
            log_before = len(frozen.log())
        finally:
            frozen.resume()
        # Awake: it learns its lease expired, acts on nothing of the old incarnation, joins again.
        url = cluster.store_url()
        wait_until(f"{frozen.name} to join again", lambda: "joins the cluster again" in frozen.log()
                   or "joined (incarnation" in frozen.log()[log_before:], timeout=20, interval=0.2)
        time.sleep(2 * TTL)
        assert service_pid(successor, "R") == pid and pid is not None and alive(pid)
        assert not running_here(frozen, "R")
        woke = frozen.log()[log_before:]
        assert "runs R_start" not in woke and "R start" not in woke.replace("R_stop", ""), woke[-3000:]
        assert leader_of(url) is not None


@needs_etcd
@needs_fence_dummy
def test_a_node_cut_off_from_etcd_stops_r_by_itself_before_r_runs_elsewhere(tmp_path: Path,
                                                                             fence_dir: Path) -> None:
    with LocalCluster(config(fence_dir), workdir=tmp_path / "cluster", member_ttl=TTL) as cluster:
        cut = settled_on_one(cluster)
        old_pid = service_pid(cut, "R")
        others = [n for n in cluster.nodes if n is not cut]
        with Watch(cluster.nodes) as watch:
            cluster.cut(cut.name, "drop")
            began = time.monotonic()
            wait_until("the cut node to stop R by itself", lambda: old_pid is None or not alive(old_pid),
                       timeout=TTL + 5, interval=0.02)
            stopped_after = time.monotonic() - began
            wait_until("R to start on another node", lambda: any(running_here(n, "R") for n in others),
                       timeout=TTL + 15, interval=0.05)
        # It stops R as its lease runs out (2.7 s after its last refresh), before R runs elsewhere.
        assert stopped_after < TTL + 1, f"the cut node stopped R {stopped_after:.1f} s after the cut"
        assert watch.most == 1, "R ran on two nodes at once"
        assert fenced_at_ns(fence_dir, cut.name) is not None
        assert "self-fences" in cut.log()
        cluster.heal(cut.name)
        wait_until(f"{cut.name} to join again", lambda: "joins the cluster again" in cut.log(),
                   timeout=30, interval=0.2)
        successor = next(n for n in others if running_here(n, "R"))
        pid = service_pid(successor, "R")
        time.sleep(TTL)
        assert service_pid(successor, "R") == pid and not running_here(cut, "R")


@needs_etcd
@needs_fence_dummy
def test_losing_quorum_applies_no_quorum_policy_stop(tmp_path: Path, fence_dir: Path) -> None:
    pinned = "constraints:\n  - {location: R-node1, resource: R, node: node1, score: INFINITY}\n"
    with LocalCluster(config(fence_dir, extra=pinned), workdir=tmp_path / "cluster",
                      member_ttl=TTL) as cluster:
        survivor = cluster.node("node1")
        wait_until("R on node1", lambda: running_here(survivor, "R"), timeout=30, interval=0.1)
        pid = service_pid(survivor, "R")
        for name in ("node2", "node3"):
            cluster.node(name).kill()
        # Alone of three: no quorum.  R is stopped.  The node lost first may be fenced while the
        # other's lease still lives (two of three: quorum); the one lost last never is.
        wait_until("R to stop on node1 (no quorum)", lambda: pid is None or not alive(pid),
                   timeout=TTL + 20, interval=0.1)
        assert leader_of(cluster.store_url()) == "node1"
        assert len([n for n in ("node2", "node3") if fenced_at_ns(fence_dir, n) is not None]) <= 1
        assert "due to no quorum" in survivor.log()
        assert "partition WITHOUT quorum" in status_text(survivor)
        time.sleep(1)
        assert not running_here(survivor, "R")
