"""Tickets on many machines: a grant or a revoke given to a node that is not the controller reaches
the controller through the store, which starts or stops what needs the ticket.

Three `vigil run` nodes on a real 3-member etcd (loopback), a fence_dummy device per node, and
Pacemaker's own ``ocf:pacemaker:Dummy`` with a ticket constraint.
"""

from __future__ import annotations

from pathlib import Path

from tests.cluster.observe import fence_devices_yaml, leader_of, needs_cluster_with, vigil_cli
from vigil.testing.cluster import LocalCluster, VigilNode, wait_until

pytestmark = needs_cluster_with("Dummy")


def config(fence_dir: Path) -> str:
    return f"""\
options:
  stonith-enabled: true
nodes:
  - name: node1
  - name: node2
  - name: node3
resources:
  - id: db
    agent: ocf:pacemaker:Dummy
    ops:
      - {{name: monitor, interval: 2s, timeout: 10s}}
{fence_devices_yaml(fence_dir)}constraints:
  - ticket-constraint: db-needs-siteA
    ticket: siteA
    resource: db
"""


def active_on(nodes: list[VigilNode]) -> list[str]:
    return [node.name for node in nodes if (node.rsc_tmp / "Dummy-db.state").exists()]


def test_a_ticket_granted_and_revoked_through_a_node_that_is_not_the_controller(tmp_path: Path) -> None:
    fence_dir = tmp_path / "fence"
    fence_dir.mkdir()
    with LocalCluster(config(fence_dir), workdir=tmp_path / "cluster", member_ttl=3) as cluster:
        nodes = list(cluster.nodes)
        wait_until("a controller", lambda: leader_of(cluster.store_url()) is not None, timeout=30)
        controller = leader_of(cluster.store_url())
        assert controller is not None
        other = next(node for node in nodes if node.name != controller)
        assert "siteA\trevoked" in vigil_cli(other, "ticket")
        assert active_on(nodes) == []

        vigil_cli(other, "ticket", "grant", "siteA")
        wait_until("db to start", lambda: len(active_on(nodes)) == 1, timeout=30, interval=0.1)
        assert "siteA: granted" in vigil_cli(nodes[0], "status")
        vigil_cli(other, "ticket", "revoke", "siteA")
        wait_until("db to stop", lambda: active_on(nodes) == [], timeout=30, interval=0.1)
        assert "siteA\trevoked" in vigil_cli(cluster.node(controller), "ticket")
