"""A promotable clone on many machines: one promoted instance in the cluster, moved by the
operator and after a node loss, the lost node fenced first.

Three `vigil run` nodes on a real 3-member etcd (loopback), a fence_dummy device
per node, and Pacemaker's own ``ocf:pacemaker:Stateful``, unmodified, cloned on
every node with ``promoted-max=1``.  Stateful keeps its role in a state file
under ``HA_VARRUN`` (each node has its own) and sets its promotion score with
``crm_attribute --promotion``, vigil's own tool.  A thread samples the state
files of the live nodes every 20 ms: never two promoted at once.
"""

from __future__ import annotations

from pathlib import Path

from tests.cluster.observe import MostAtOnce, fence_devices_yaml, fenced_at_ns, needs_cluster_with, vigil_cli
from vigil.testing.cluster import LocalCluster, VigilNode, wait_until

TTL = 3

pytestmark = needs_cluster_with("Stateful")


def config(fence_dir: Path) -> str:
    return f"""\
options:
  stonith-enabled: true
  no-quorum-policy: stop
  cluster-recheck-interval: 1min
rsc_defaults:
  resource-stickiness: 1
nodes:
  - name: node1
  - name: node2
  - name: node3
resources:
  - clone: S-clone
    meta: {{promotable: true, promoted-max: 1, notify: true}}
    resource:
      id: S
      agent: ocf:pacemaker:Stateful
      ops:
        - {{name: monitor, interval: 2s, timeout: 10s, role: Promoted}}
        - {{name: monitor, interval: 3s, timeout: 10s, role: Unpromoted}}
{fence_devices_yaml(fence_dir)}"""


def role_file(node: VigilNode) -> Path:
    """Stateful's state file on ``node`` (an anonymous instance's name loses its ``:N``)."""
    return node.rsc_tmp / "Stateful-S.state"


def role_on(node: VigilNode) -> str | None:
    try:
        return role_file(node).read_text().strip() or None
    except OSError:
        return None


def promoted_nodes(nodes: list[VigilNode]) -> list[str]:
    return [node.name for node in nodes if role_on(node) == "Promoted"]


def promoted_since_ns(node: VigilNode) -> int:
    return role_file(node).stat().st_mtime_ns


def settled(cluster: LocalCluster) -> str:
    """The one promoted node, once every live node runs an instance and one is promoted."""
    live = [node for node in cluster.nodes if node.running()]

    def ready() -> bool:
        return all(role_on(node) in ("Promoted", "Unpromoted") for node in live) and \
            len(promoted_nodes(live)) == 1

    wait_until("one promoted instance and the others unpromoted", ready, timeout=60, interval=0.1)
    return promoted_nodes(live)[0]


def test_one_promoted_instance_moved_by_the_operator_and_after_a_node_loss(tmp_path: Path) -> None:
    fence_dir = tmp_path / "fence"
    fence_dir.mkdir()
    with LocalCluster(config(fence_dir), workdir=tmp_path / "cluster", member_ttl=TTL) as cluster:
        nodes = list(cluster.nodes)
        live = list(nodes)
        with MostAtOnce(lambda: len(promoted_nodes(live))) as watch:
            first = settled(cluster)
            # The state file changes when the agent promotes; the status once the result is recorded.
            wait_until("vigil status to show the promoted instance",
                       lambda: f"Promoted: [ {first} ]" in vigil_cli(nodes[0], "status"), timeout=30)
            assert "Clone Set: S-clone [S] (promotable):" in vigil_cli(nodes[0], "status")

            # The operator moves the promoted role: demoted there, promoted on the target, the
            # instances stay where they run.
            target = next(node.name for node in nodes if node.name != first)
            out = vigil_cli(nodes[0], "resource", "move", "S-clone", target, "--promoted")
            assert f"the promoted role of S-clone is moving to {target}" in out
            wait_until(f"S promoted on {target}", lambda: promoted_nodes(nodes) == [target],
                       timeout=60, interval=0.1)
            assert role_on(cluster.node(first)) == "Unpromoted"
            vigil_cli(nodes[0], "resource", "clear", "S-clone")

            # The node holding the promoted instance is lost: fenced, then promotion moves.
            victim = cluster.node(target)
            survivors = [node for node in nodes if node is not victim]
            live[:] = survivors  # the victim's state file stays behind, as on a dead disk
            victim.kill()
            wait_until("S promoted on a survivor", lambda: len(promoted_nodes(survivors)) == 1,
                       timeout=TTL + 30, interval=0.05)
            successor = cluster.node(promoted_nodes(survivors)[0])
            fenced = fenced_at_ns(fence_dir, victim.name)
            assert fenced is not None, f"{victim.name} was not fenced before S was promoted elsewhere"
            assert fenced < promoted_since_ns(successor), "promoted before the lost node was fenced"
        assert watch.most == 1, f"{watch.most} instances were promoted at once"
