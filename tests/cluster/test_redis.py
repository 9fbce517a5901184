"""A real replicated service: Debian's ``ocf:heartbeat:redis``, unmodified, promotable on three nodes.

Three `vigil run` nodes on a real 3-member etcd (loopback), a fence_dummy device
per node, and one ``redis-server`` per node, run by the agent as user ``redis``.
What a real deployment gets from its machines, each node gets here from
per-node instance attributes (rules on ``#uname``, as in Pacemaker): its own
configuration file (port, bind address, data directory) and run directory
(pid file and unix socket).  Replicas reach the primary through the agent's
own tunnel settings (``tunnel_host`` and ``tunnel_port_map``), which map a node
name to a port: node names are not host names here.

The agent talks back to the cluster all along, through vigil's own tools:
``crm_master`` (promotion scores), ``crm_attribute -t crm_config`` (the last
known primary), ``crm_mon --output-as=xml`` (is a primary active), and it
reads the ``OCF_RESKEY_CRM_meta_notify_*`` variables of its notifications.

The test writes a key through the primary and reads it from every replica;
kills the primary's node with kill -9 (fenced first, then a replica is
promoted and still has the key); and a replica follows the new primary.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.observe import fence_devices_yaml, fenced_at_ns
from vigil.testing.cluster import INSTALL_HINT, LocalCluster, VigilNode, etcd_binary, free_port, wait_until

TTL = 3
REDIS_AGENT = Path("/usr/lib/ocf/resource.d/heartbeat/redis")
REDIS_SERVER = Path("/usr/bin/redis-server")
REDIS_CLI = Path("/usr/bin/redis-cli")
FENCE_DUMMY = Path("/usr/sbin/fence_dummy")
NODES = ("node1", "node2", "node3")


def _redis_user() -> bool:
    try:
        pwd.getpwnam("redis")
    except KeyError:
        return False
    return True


pytestmark = [
    pytest.mark.skipif(etcd_binary() is None, reason=f"no etcd server binary: {INSTALL_HINT}"),
    pytest.mark.skipif(not FENCE_DUMMY.exists(), reason="no fence_dummy (fence-agents)"),
    pytest.mark.skipif(not (REDIS_AGENT.exists() and REDIS_SERVER.exists() and REDIS_CLI.exists()
                            and _redis_user()),
                       reason="no redis-server or ocf:heartbeat:redis (scripts/install-test-deps.sh)"),
]


class RedisNode:
    """One node's redis: its port, configuration file and run directory (owned by user redis)."""

    def __init__(self, base: Path, node: str) -> None:
        self.node = node
        self.port = free_port("127.0.0.1")
        self.home = base / node
        self.run = self.home / "run"
        self.data = self.home / "data"
        self.config = self.home / "redis.conf"
        for directory in (self.home, self.run, self.data):
            directory.mkdir(parents=True)
            shutil.chown(directory, "redis", "redis")
        self.config.write_text(
            f"bind 127.0.0.1\nport {self.port}\ndir {self.data}\ndbfilename dump.rdb\n"
            f"logfile {self.home / 'redis.log'}\nprotected-mode no\nsave \"\"\n")
        self.config.chmod(0o644)

    def cli(self, *args: str) -> str:
        done = subprocess.run([str(REDIS_CLI), "-h", "127.0.0.1", "-p", str(self.port), *args],
                              capture_output=True, text=True, timeout=10)
        return done.stdout.strip()

    def role(self) -> str | None:
        """``master`` or ``slave`` as redis itself says, None when it does not answer."""
        for line in self.cli("info", "replication").splitlines():
            if line.startswith("role:"):
                return line.split(":", 1)[1].strip()
        return None


@pytest.fixture
def redis_base() -> Iterator[Path]:
    # Outside pytest's own temporary directory (mode 0700): user redis must reach these files.
    base = Path(tempfile.mkdtemp(prefix="vigil-redis-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        end_left_servers(base)
        shutil.rmtree(base, ignore_errors=True)


def end_left_servers(base: Path) -> None:
    """End a redis-server this test's agents started and did not stop (by its pid file, checked
    to be a redis-server still)."""
    for pid_file in base.glob("*/run/redis-server.pid"):
        try:
            pid = int(pid_file.read_text().split()[0])
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if b"redis-server" in command:
            os.kill(pid, signal.SIGKILL)


def config(fence_dir: Path, redis: dict[str, RedisNode]) -> str:
    port_map = ";".join(f"{node}:{r.port}" for node, r in redis.items())
    per_node = "".join(f"""\
        - rule:
            expressions:
              - {{attribute: "#uname", operation: eq, value: {node}}}
          values: {{config: {r.config}, rundir: {r.run}, port: "{r.port}"}}
""" for node, r in redis.items())
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
  - clone: redis-clone
    meta: {{promotable: true, promoted-max: 1, notify: true}}
    resource:
      id: redis
      agent: ocf:heartbeat:redis
      params:
        - values: {{tunnel_host: 127.0.0.1, tunnel_port_map: "{port_map}"}}
{per_node}      ops:
        - {{name: start, interval: 0, timeout: 60s}}
        - {{name: stop, interval: 0, timeout: 60s}}
        - {{name: promote, interval: 0, timeout: 60s}}
        - {{name: demote, interval: 0, timeout: 60s}}
        - {{name: monitor, interval: 3s, timeout: 20s, role: Promoted}}
        - {{name: monitor, interval: 4s, timeout: 20s, role: Unpromoted}}
{fence_devices_yaml(fence_dir)}"""


def vigil_status(node: VigilNode) -> str:
    return subprocess.run([sys.executable, "-m", "vigil", "status", "--state-dir", str(node.state_dir)],
                          capture_output=True, text=True, timeout=30, check=True).stdout


def primary_and_replicas(redis: dict[str, RedisNode], live: list[str]) -> tuple[str | None, list[str]]:
    roles = {node: redis[node].role() for node in live}
    primaries = [node for node, role in roles.items() if role == "master"]
    replicas = [node for node, role in roles.items() if role == "slave"]
    return (primaries[0] if len(primaries) == 1 else None), replicas


def test_redis_replicates_and_a_replica_takes_over_after_the_primary_node_is_lost(
        tmp_path: Path, redis_base: Path) -> None:
    fence_dir = tmp_path / "fence"
    fence_dir.mkdir()
    redis = {node: RedisNode(redis_base, node) for node in NODES}
    with LocalCluster(config(fence_dir, redis), workdir=tmp_path / "cluster", member_ttl=TTL) as cluster:
        def one_primary_two_replicas() -> bool:
            primary, replicas = primary_and_replicas(redis, list(NODES))
            return primary is not None and len(replicas) == 2 and all(
                "master_link_status:up" in redis[r].cli("info", "replication") for r in replicas)

        wait_until("one redis primary and two synced replicas", one_primary_two_replicas,
                   timeout=120, interval=0.5)
        primary, replicas = primary_and_replicas(redis, list(NODES))
        assert primary is not None
        text = vigil_status(cluster.nodes[0])
        assert f"Promoted: [ {primary} ]" in text, text

        assert redis[primary].cli("set", "answer", "42") == "OK"
        for replica in replicas:
            wait_until(f"the key on {replica}", lambda r=replica: redis[r].cli("get", "answer") == "42",
                       timeout=20, interval=0.2)

        # The primary's node is lost: fenced first, then a replica is promoted, with the data.
        victim = cluster.node(primary)
        victim.kill()
        # fence_dummy stands in for the power switch: the dead node's redis-server stops here.
        os.kill(int((redis[primary].run / "redis-server.pid").read_text().split()[0]), signal.SIGKILL)
        survivors = [node for node in NODES if node != primary]

        def new_primary() -> bool:
            found, _ = primary_and_replicas(redis, survivors)
            return found is not None

        wait_until("a replica promoted", new_primary, timeout=TTL + 60, interval=0.2)
        fenced = fenced_at_ns(fence_dir, primary)
        assert fenced is not None, f"{primary} was not fenced before redis was promoted elsewhere"
        successor, _ = primary_and_replicas(redis, survivors)
        assert successor is not None
        assert redis[successor].cli("get", "answer") == "42"
        other = next(node for node in survivors if node != successor)
        wait_until(f"{other} to replicate from {successor}", lambda: redis[other].role() == "slave" and
                   "master_link_status:up" in redis[other].cli("info", "replication"),
                   timeout=60, interval=0.5)
        assert redis[successor].cli("set", "after", "yes") == "OK"
        wait_until(f"the new key on {other}", lambda: redis[other].cli("get", "after") == "yes",
                   timeout=20, interval=0.2)
