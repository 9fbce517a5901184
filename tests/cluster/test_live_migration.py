"""Live migration on many machines: Pacemaker's own ``ocf:pacemaker:Dummy`` (unmodified, with
``allow-migrate=true``) moved by the operator runs migrate_to on its node and migrate_from on the
target, then the stop of what is left on the source: never a stop and a start.

Three `vigil run` nodes on a real 3-member etcd (loopback) and a fence_dummy device per node.
Dummy keeps its state in a file under ``HA_VARRUN`` (each node has its own): a thread samples the
three files every 20 ms, and the resource is never active on two nodes at once.  The store's
operation log (`vigil history`) says which action ran where.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cluster.observe import MostAtOnce, fence_devices_yaml, needs_cluster_with, vigil_cli
from vigil.testing.cluster import LocalCluster, VigilNode, wait_until

pytestmark = needs_cluster_with("Dummy")


def config(fence_dir: Path) -> str:
    return f"""\
options:
  stonith-enabled: true
  cluster-recheck-interval: 1min
rsc_defaults:
  resource-stickiness: 1
nodes:
  - name: node1
  - name: node2
  - name: node3
resources:
  - id: vm
    agent: ocf:pacemaker:Dummy
    meta: {{allow-migrate: true}}
    ops:
      - {{name: monitor, interval: 2s, timeout: 10s}}
{fence_devices_yaml(fence_dir)}"""


def active_on(nodes: list[VigilNode]) -> list[str]:
    """The nodes whose Dummy state file says vm is active there."""
    return [node.name for node in nodes if (node.rsc_tmp / "Dummy-vm.state").exists()]


def test_a_move_is_a_live_migration_and_never_two_active(tmp_path: Path) -> None:
    fence_dir = tmp_path / "fence"
    fence_dir.mkdir()
    with LocalCluster(config(fence_dir), workdir=tmp_path / "cluster", member_ttl=3) as cluster:
        nodes = list(cluster.nodes)
        with MostAtOnce(lambda: len(active_on(nodes))) as watch:
            wait_until("vm to run on one node", lambda: len(active_on(nodes)) == 1, timeout=60, interval=0.1)
            source = active_on(nodes)[0]
            target = next(node.name for node in nodes if node.name != source)
            began = len(json.loads(vigil_cli(nodes[0], "history", "vm", "--format", "json")))
            out = vigil_cli(nodes[0], "resource", "move", "vm", target)
            assert target in out, out
            wait_until(f"vm to run on {target} only", lambda: active_on(nodes) == [target],
                       timeout=60, interval=0.05)

            def moved() -> list[tuple[str, str, int]]:
                entries = json.loads(vigil_cli(nodes[0], "history", "vm", "--format", "json"))[began:]
                return [(e["task"], e["node"], e["rc"]) for e in entries if e["interval_ms"] == 0]

            wait_until("the source's stop to be recorded", lambda: ("stop", source, 0) in moved(),
                       timeout=30)
        steps = moved()
        # The migrate_to is recorded as pending (193) first: a controller taking over mid-migration
        # knows it may be in flight.
        assert steps[:4] == [("migrate_to", source, 193), ("migrate_to", source, 0),
                             ("migrate_from", target, 0), ("stop", source, 0)], steps
        assert not [step for step in steps if step[0] == "start"], f"a start after a live migration: {steps}"
        assert watch.most == 1, f"vm was active on {watch.most} nodes at once"
        for node in nodes:
            assert "Traceback" not in node.log(), node.name
