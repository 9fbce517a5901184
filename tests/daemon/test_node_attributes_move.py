"""Node attributes move a resource between two nodes: a rule on pingd, then node health.

Two `vigil run` nodes on a real etcd (LocalCluster, loopback only),
fencing off, R one ``ocf:heartbeat:Dummy`` (each node's state files in
its own directory) that sticks where it runs.  The attributes are set by
hand with ``vigil node attribute``, through either node's API:

- R is banned where ``pingd`` is not defined or is 0 (Pacemaker's ping
  idiom): with pingd on no node it runs nowhere, with pingd on both it
  starts on one, and pingd=0 there moves it to the other;
- with ``node-health-strategy=migrate-on-red``, ``#health-cpu=red`` on
  R's node moves it back, whatever its stickiness;

and every node's `vigil status --output-as xml` (crm_mon's document,
valid against Pacemaker's schema) shows both nodes' attributes and health.
One cluster for the whole scenario: starting it is most of the time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from tests.cluster.observe import running_on, status_json
from vigil.testing.cluster import INSTALL_HINT, LocalCluster, VigilNode, etcd_binary, wait_until

NODES = ("node1", "node2")
SCHEMA = Path("/usr/share/pacemaker/api/api-result-2.25.rng")

needs_etcd = pytest.mark.skipif(etcd_binary() is None, reason=f"no etcd server binary: {INSTALL_HINT}")
needs_dummy = pytest.mark.skipif(not Path("/usr/lib/ocf/resource.d/heartbeat/Dummy").exists(),
                                 reason="Debian's resource-agents is not installed")
needs_schema = pytest.mark.skipif(not SCHEMA.exists(), reason="no Pacemaker API schema (pacemaker-common)")

CONFIG = """\
options:
  stonith-enabled: false
  node-health-strategy: migrate-on-red
  cluster-recheck-interval: 1min
rsc_defaults:
  resource-stickiness: 100
nodes:
  - name: node1
  - name: node2
resources:
  - id: R
    agent: ocf:heartbeat:Dummy
    ops:
      - {name: monitor, interval: 2s, timeout: 10s}
constraints:
  - location: R-needs-pingd
    resource: R
    rules:
      - score: -INFINITY
        boolean-op: or
        expressions:
          - {attribute: pingd, operation: not_defined}
          - {attribute: pingd, operation: lte, value: "0", type: integer}
"""


def vigil(node: VigilNode, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "vigil", *args, "--state-dir", str(node.state_dir)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"vigil {' '.join(args)} on {node.name}: {done.stderr}"
    return done.stdout


def where(node: VigilNode) -> list[str]:
    """Where R runs, as `vigil status` on ``node`` shows it."""
    return running_on(status_json(node), "R")


def wait_where(node: VigilNode, expected: list[str], why: str) -> None:
    wait_until(f"R to run on {expected or 'no node'} ({why})", lambda: where(node) == expected, timeout=40)


@needs_etcd
@needs_dummy
@needs_schema
def test_pingd_and_node_health_set_by_hand_move_the_resource_between_nodes(tmp_path: Path) -> None:
    with LocalCluster(CONFIG, workdir=tmp_path / "cluster", node_names=NODES, members=1) as cluster:
        node1, node2 = cluster.node("node1"), cluster.node("node2")
        wait_where(node1, [], "pingd is defined on no node")

        vigil(node1, "node", "attribute", "node1", "pingd", "1", "--lifetime", "reboot")
        vigil(node2, "node", "attribute", "node2", "pingd", "1", "--lifetime", "reboot")
        wait_until("R to start on one node", lambda: len(where(node1)) == 1, timeout=40)
        first = where(node1)[0]
        other = "node2" if first == "node1" else "node1"

        vigil(node1, "node", "attribute", first, "pingd", "0", "--lifetime", "reboot")
        wait_where(node2, [other], f"pingd=0 on {first}")

        vigil(node2, "node", "attribute", first, "pingd", "1", "--lifetime", "reboot")
        vigil(node1, "node", "attribute", other, "#health-cpu", "red", "--lifetime", "reboot")
        wait_where(node1, [first], f"{other} is red")

        for node in (node1, node2):
            document = etree.fromstring(vigil(node, "status", "--output-as", "xml").encode())
            schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
            assert schema.validate(document), schema.error_log
            shown = {n.get("name"): {a.get("name"): a.get("value") for a in n}
                     for n in document.iterfind("node_attributes/node")}
            assert shown == {first: {"pingd": "1"}, other: {"pingd": "1"}}
            assert {n.get("name"): n.get("health") for n in document.iterfind("nodes/node")} == {
                first: "green", other: "red"}
            resource = document.find("resources/resource")
            assert resource is not None
            assert (resource.get("id"), resource.get("role"), [n.get("name") for n in resource]) == (
                "R", "Started", [first])
