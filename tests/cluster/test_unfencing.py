"""Unfencing on many machines: with a fence device that ``provides=unfencing`` (fabric fencing,
as fence_scsi or fence_mpath), every node is unfenced (the device's ``on`` action) before any
resource starts on it, as Pacemaker does.

Three `vigil run` nodes on a real 3-member etcd (loopback), a fence_dummy device per node (a test
double for a switch: it keeps the port's state, ``on`` or ``off``, in a file of its own), and
Pacemaker's own ``ocf:pacemaker:Dummy`` cloned on every node.  Each node's device file must say
``on`` and be older than Dummy's state file on that node.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cluster.observe import NODES, fence_mark, needs_cluster_with
from vigil.testing.cluster import LocalCluster, VigilNode, wait_until

pytestmark = needs_cluster_with("Dummy")


def config(fence_dir: Path) -> str:
    devices = "".join(
        f"  - id: fence-{node}\n    agent: stonith:fence_dummy\n    meta: {{provides: unfencing}}\n"
        f"    params: {{pcmk_host_list: {node}, status_file: {fence_mark(fence_dir, node)}}}\n"
        for node in NODES)
    return f"""\
options:
  stonith-enabled: true
  cluster-recheck-interval: 1min
nodes:
  - name: node1
  - name: node2
  - name: node3
resources:
  - clone: d-clone
    resource:
      id: d
      agent: ocf:pacemaker:Dummy
      ops:
        - {{name: monitor, interval: 2s, timeout: 10s}}
{devices}"""


def state_file(node: VigilNode) -> Path:
    return node.rsc_tmp / "Dummy-d.state"


def test_every_node_is_unfenced_before_a_resource_starts_on_it(tmp_path: Path) -> None:
    fence_dir = tmp_path / "fence"
    fence_dir.mkdir()
    with LocalCluster(config(fence_dir), workdir=tmp_path / "cluster", member_ttl=3) as cluster:
        nodes = list(cluster.nodes)
        wait_until("d to run on every node", lambda: all(state_file(node).exists() for node in nodes),
                   timeout=90, interval=0.1)
        for node in nodes:
            mark = fence_mark(fence_dir, node.name)
            assert mark.exists(), f"{node.name} was never unfenced"
            assert mark.read_text().strip() == "on", f"{node.name}'s port is {mark.read_text()!r}"
            assert mark.stat().st_mtime_ns <= state_file(node).stat().st_mtime_ns, \
                f"d started on {node.name} before it was unfenced"
        status = subprocess.run([sys.executable, "-m", "vigil", "status", "--state-dir",
                                 str(nodes[0].state_dir)], capture_output=True, text=True, timeout=30)
        assert status.returncode == 0, status.stderr
        assert "Started: [ node1 node2 node3 ]" in status.stdout, status.stdout
        for node in nodes:
            assert "Traceback" not in node.log(), node.name
