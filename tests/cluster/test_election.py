"""`vigil run` on etcd elects one controller; the others' agents run its work orders.

Three nodes on a real 3-member etcd (LocalCluster): exactly one holds the
leader key; a resource pinned to a node that is not the controller is
started by that node's agent (its pid file in that node's own runtime
directory) and `vigil status` on every node shows it running there and names
the controller.  Then the controller is killed (kill -9): another node
takes over within the lease TTL and a few seconds, and the pinned resources
on the surviving nodes are not restarted (same process).
"""

from __future__ import annotations

import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from tests.cluster.observe import alive, leader_of, running_on, service_pid, status_json
from vigil.testing.cluster import INSTALL_HINT, LocalCluster, VigilNode, etcd_binary, wait_until

NODES = ("node1", "node2", "node3")
TTL = 3

# r1..r3, real processes (ocf:vigil:Service), each pinned to its node: whichever node wins the
# election, two of them are on nodes that are not the controller.
CONFIG = """\
options:
  stonith-enabled: false
  cluster-recheck-interval: 1min
nodes:
  - name: node1
  - name: node2
  - name: node3
resources:
""" + "".join(
    f"  - id: r{k}\n    agent: ocf:vigil:Service\n    ops:\n"
    "      - {name: monitor, interval: 2s, timeout: 10s}\n"
    for k in (1, 2, 3)
) + "constraints:\n" + "".join(
    f"  - {{location: r{k}-{node}, resource: r{k}, node: {node}, "
    f"score: {'INFINITY' if j == k else '-INFINITY'}}}\n"
    for k in (1, 2, 3) for j, node in enumerate(NODES, start=1)
)

needs_etcd = pytest.mark.skipif(etcd_binary() is None, reason=f"no etcd server binary: {INSTALL_HINT}")


@needs_etcd
def test_one_controller_work_orders_and_takeover(tmp_path: Path) -> None:
    with LocalCluster(CONFIG, workdir=tmp_path / "cluster", member_ttl=TTL) as cluster:
        url = cluster.store_url()
        wait_until("a controller", lambda: leader_of(url) is not None, timeout=10, interval=0.2)
        controller = leader_of(url)
        assert controller in NODES
        others = [n for n in cluster.nodes if n.name != controller]

        # Each pinned resource runs on its node, started by that node's agent (its pid file is in
        # that node's own runtime directory, and nowhere else).
        wait_until("r1..r3 to run on their nodes",
                   lambda: all(service_pid(cluster.node(f"node{k}"), f"r{k}") is not None for k in (1, 2, 3)),
                   timeout=20, interval=0.1)
        pids = {n.name: service_pid(n, f"r{n.name[-1]}") for n in cluster.nodes}
        assert all(pid is not None and alive(pid) for pid in pids.values()), pids
        for node in cluster.nodes:
            assert sorted(p.name for p in node.agent_dir.glob("*.pid")) == [f"r{node.name[-1]}.pid"]
        for node in others:
            assert "is the controller" not in node.log()

        # `vigil status` on every node: the same controller, each resource on its node.
        def settled(node: VigilNode) -> bool:
            report = status_json(node)
            return report.get("controller") == controller and all(
                running_on(report, f"r{k}") == [f"node{k}"] for k in (1, 2, 3))

        for node in cluster.nodes:
            wait_until(f"vigil status on {node.name}", partial(settled, node), timeout=10, interval=0.3)
            text = subprocess.run([sys.executable, "-m", "vigil", "status", "--state-dir",
                                   str(node.state_dir)], capture_output=True, text=True, timeout=30,
                                  check=True).stdout
            assert f"Current DC: {controller}" in text

        # kill -9 of the controller: another node takes over, within the TTL and a few seconds,
        # and the survivors' resources are not restarted.
        cluster.node(str(controller)).kill()
        killed = time.monotonic()
        wait_until("another controller", lambda: leader_of(url) not in (None, controller),
                   timeout=TTL + 6, interval=0.1)
        took_over = time.monotonic() - killed
        successor = leader_of(url)
        assert successor in [n.name for n in others]
        assert took_over < TTL + 5
        assert "is the controller" in cluster.node(str(successor)).log()
        # The new controller has probed and planned: nothing restarts on the survivors.
        wait_until("the new controller's first transition", lambda: settled_by(cluster.node(str(successor))),
                   timeout=15, interval=0.3)
        time.sleep(1.0)
        for node in others:
            assert service_pid(node, f"r{node.name[-1]}") == pids[node.name]
            assert alive(int(pids[node.name] or 0))


def settled_by(node: VigilNode) -> bool:
    """``node`` is the controller and has nothing more to do."""
    report = status_json(node)
    return report.get("controller") == node.name and not report.get("pending")
