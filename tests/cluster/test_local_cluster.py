"""A real cluster on loopback: 3 etcd members, 3 vigil nodes, a proxy per node↔member link.

What works today (README, "What does not work yet": no controller is elected,
each ``vigil run`` acts for the actions planned on its own node): every node
starts and serves its API, ``vigil status`` answers on each, the membership
keys of the three nodes are in the store, each node runs the resource pinned
to it (in its own agent runtime directory), the store stays writable when an
etcd member is killed, a cut link makes that node's store calls fail and a
heal restores them; and nothing the harness started survives it, not even
the process of an agent whose node was killed with ``kill -9``.

One cluster for the whole scenario (one test), because starting it is most
of the time and the suite has a time budget; the proxy's modes are tested on
their own against a local echo server, without etcd.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.store import StoreError, open_store
from vigil.testing.cluster import INSTALL_HINT, LocalCluster, etcd_binary, wait_until
from vigil.testing.link_proxy import ProxyHub

NODES = ("node1", "node2", "node3")

# r1 is a real process (ocf:vigil:Service), so that a node killed with kill -9 leaves something
# running; r2 and r3 are Dummy state files (HA_RSCTMP, one directory per node).  Each resource is
# pinned to its node, and banned from the others, so no node starts another's resource meanwhile.
CONFIG = """\
options:
  stonith-enabled: false
  cluster-recheck-interval: 1min
nodes:
  - name: node1
  - name: node2
  - name: node3
resources:
  - id: r1
    agent: ocf:vigil:Service
    ops:
      - {name: monitor, interval: 5s, timeout: 10s}
  - id: r2
    agent: ocf:heartbeat:Dummy
    ops:
      - {name: monitor, interval: 5s, timeout: 10s}
  - id: r3
    agent: ocf:heartbeat:Dummy
    ops:
      - {name: monitor, interval: 5s, timeout: 10s}
constraints:
""" + "".join(
    f"  - {{location: r{k}-{node}, resource: r{k}, node: {node}, "
    f"score: {'INFINITY' if j == k else '-INFINITY'}}}\n"
    for k in (1, 2, 3) for j, node in enumerate(NODES, start=1)
)

needs_etcd = pytest.mark.skipif(etcd_binary() is None, reason=f"no etcd server binary: {INSTALL_HINT}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone, only not reaped by its parent yet
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def store_call(url: str, write: bool = False) -> str | None:
    """One call through ``url``: None when it worked, else the store's error."""
    async def call() -> None:
        async with open_store(url) as store:
            if write:
                await store.set_node_attribute("node2", "harness-probe", str(time.time()))
            else:
                await store.members()

    try:
        asyncio.run(call())
    except StoreError as error:
        return str(error)
    return None


def api_status(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/api/v1/status", timeout=15) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@needs_etcd
def test_three_nodes_on_a_three_member_etcd(tmp_path: Path) -> None:
    pids: list[int] = []
    with LocalCluster(CONFIG, workdir=tmp_path / "cluster", member_ttl=3) as cluster:
        pids += [m.pid for m in cluster.members if m.pid] + [n.pid for n in cluster.nodes if n.pid]
        assert len(pids) == 6
        assert cluster.timings["total"] < 20, cluster.timings

        # Each node runs its own resource, in its own runtime directory.
        node1, node2, node3 = cluster.nodes
        service_pid = node1.agent_dir / "r1.pid"
        wait_until("r1, r2, r3 to run on their nodes",
                   lambda: service_pid.exists() and (node2.rsc_tmp / "Dummy-r2.state").exists()
                   and (node3.rsc_tmp / "Dummy-r3.state").exists(), timeout=20)
        assert not (node1.rsc_tmp / "Dummy-r2.state").exists()
        assert not (node3.rsc_tmp / "Dummy-r2.state").exists()
        r1_pid = int(service_pid.read_text().split()[0])
        assert alive(r1_pid)

        # `vigil status` answers on every node, each for itself and all three online.
        runs = {node.name: subprocess.Popen([sys.executable, "-m", "vigil", "status", "--state-dir",
                                             str(node.state_dir)], stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True)
                for node in cluster.nodes}
        for name, run in runs.items():
            out, err = run.communicate(timeout=30)
            assert run.returncode == 0, err
            assert f"Current node: {name} (vigil)" in out
            assert "Online: [ node1 node2 node3 ]" in out, out

        # The membership keys of the three nodes.
        async def members() -> dict[str, int]:
            async with open_store(cluster.store_url()) as store:
                return await store.members()

        assert sorted(asyncio.run(members())) == list(NODES)

        # node3 cut off the store (every link dropped): its store calls fail, the others' work;
        # healed, they work again.
        cluster.cut("node3", "drop")
        assert store_call(cluster.store_url("node3")) is not None
        assert store_call(cluster.store_url("node2")) is None
        assert api_status(node3.api_url) >= 500
        assert api_status(node2.api_url) == 200
        cluster.heal("node3")
        wait_until("node3's store calls to work again",
                   lambda: store_call(cluster.store_url("node3")) is None, timeout=10, interval=0.2)
        wait_until("node3's API to read the store again", lambda: api_status(node3.api_url) == 200,
                   timeout=10, interval=0.2)

        # The etcd leader killed: the store stays writable (a new leader in about a second).
        leader = cluster.leader()
        assert leader is not None
        leader.kill()
        killed = time.monotonic()
        wait_until("a write through the surviving members",
                   lambda: store_call(cluster.store_url("node2"), write=True) is None,
                   timeout=15, interval=0.2)
        assert time.monotonic() - killed < 15
        assert all(node.running() for node in cluster.nodes)
        leader.restart()
        pids.append(leader.pid or 0)

        # kill -9 of node1: the node is gone, its agent's process is not (as on a real machine)...
        # (r1 as it runs now: a node whose lease ran out during the etcd leader's election on a
        # loaded machine has stopped it by itself and started it again since.)
        wait_until("r1 to run on node1", lambda: service_pid.exists()
                   and alive(int(service_pid.read_text().split()[0])), timeout=30, interval=0.2)
        r1_pid = int(service_pid.read_text().split()[0])
        node1.kill()
        assert not alive(pids[3]) and alive(r1_pid)
        assert r1_pid in cluster.stray_processes()
    # ...and the harness ends it too, with everything else it started.
    assert cluster.stray_processes() == []
    assert [pid for pid in [*pids, r1_pid] if alive(pid)] == []
    assert cluster.timings["close"] < 15, cluster.timings


@needs_etcd
def test_a_failing_test_still_ends_everything(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="the test failed"), \
            LocalCluster(workdir=tmp_path / "cluster", start_nodes=False) as cluster:
        pids = [m.pid for m in cluster.members]
        assert all(pid is not None and alive(pid) for pid in pids)
        cluster.members[0].pause()  # a paused member is ended too
        raise RuntimeError("the test failed")
    assert [pid for pid in pids if pid is not None and alive(pid)] == []
    assert cluster.stray_processes() == []


# -- the link proxy, against a local echo server ------------------------------------------------


@contextlib.contextmanager
def echo_server() -> Iterator[tuple[str, int]]:
    """A threaded echo server on 127.0.0.1 (what the proxy forwards to)."""
    import socketserver
    import threading

    class Echo(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            while data := self.request.recv(65536):
                self.request.sendall(data)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield str(host), int(port)
    finally:
        server.shutdown()
        server.server_close()


def connect(endpoint: str) -> socket.socket:
    host, port = endpoint.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=2)
    sock.settimeout(2)
    return sock


def nothing_arrives(sock: socket.socket) -> bool:
    """Nothing to read for 0.3 s (the connection is open, and held)."""
    sock.settimeout(0.3)
    try:
        sock.recv(16)
    except TimeoutError:
        return True
    finally:
        sock.settimeout(2)
    return False


def test_the_link_proxy_passes_drops_blackholes_and_heals() -> None:
    hub = ProxyHub()
    with echo_server() as address:
        try:
            link = hub.add("127.0.0.21", address)
            with connect(link.endpoint) as sock:
                sock.sendall(b"ping")
                assert sock.recv(16) == b"ping"

                # blackhole: the connection stays open, nothing comes through; heal delivers what was held.
                link.blackhole()
                sock.sendall(b"held")
                assert nothing_arrives(sock)
                with connect(link.endpoint) as late:  # a new connection is accepted, and held too
                    late.sendall(b"late")
                    assert nothing_arrives(late)
                    link.heal()
                    assert late.recv(16) == b"late"
                assert sock.recv(16) == b"held"

                # drop: the open connection is closed, a new one reset at once.
                link.drop()
                assert sock.recv(16) == b""
            with pytest.raises(ConnectionResetError), connect(link.endpoint) as refused:
                refused.sendall(b"lost")
                refused.recv(16)

            # heal: the same address listens again.
            link.heal()
            with connect(link.endpoint) as sock:
                sock.sendall(b"again")
                assert sock.recv(16) == b"again"
        finally:
            hub.close()
