"""`vigil run --config` on a cluster store never replaces the cluster's configuration (issue 15).

Real `vigil run` processes (``conftest.Daemon``) on a real etcd server
(``tests/store/etcd_server.py``): the first node loads its file; a second
node with a differing file is refused and writes nothing, one with the same
configuration (another file, other bytes) starts; a file naming no nodes
replaces a cluster of three neither through `vigil run`, nor through `vigil
config load` (through the running daemon's API, or on the store directly).
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.conftest import VIGIL, Daemon, cib
from tests.store.etcd_server import INSTALL_HINT, EtcdServer, etcd_binary, start_etcd
from vigil.model.config import Config
from vigil.store import open_store

THREE_NODES = '<nodes><node id="n1" uname="n1"/><node id="n2" uname="n2"/><node id="n3" uname="n3"/></nodes>'
# No resources: what is checked here is the configuration, not what runs.
CLUSTER = cib("").replace("<nodes/>", THREE_NODES)
NODELESS = cib("")


@pytest.fixture(scope="module")
def etcd() -> Iterator[EtcdServer]:
    binary = etcd_binary()
    if binary is None:
        pytest.fail(f"these tests need an etcd server binary: {INSTALL_HINT}")
    server = start_etcd(binary)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def url(etcd: EtcdServer) -> str:
    return f"etcd://{etcd.endpoint}/t-{uuid.uuid4().hex[:12]}"


def stored_config(url: str) -> tuple[Config, int]:
    async def read() -> tuple[Config, int]:
        async with open_store(url) as store:
            return await store.get_config()

    return asyncio.run(read())


def node(tmp_path: Path, ocf_root: Path, name: str) -> Daemon:
    other = Daemon(tmp_path / name, ocf_root, node=name)
    other.workdir.mkdir()
    return other


def refused(run: subprocess.CompletedProcess[str], *messages: str) -> None:
    """Exit code 2 and the messages; it ends on vigil's own words (`vigil run -v` logs grpc's
    DEBUG records, tracebacks of cancelled streams included: not what is checked here)."""
    assert run.returncode == 2, (run.returncode, run.stderr)
    for message in messages:
        assert message in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("vigil: ")]
    assert errors and errors[0].startswith("vigil: error: "), run.stderr
    last = run.stderr.rstrip().splitlines()[-1]
    assert last == errors[-1] or last.startswith("  "), run.stderr  # a message, or one of its details


def test_a_second_node_with_a_differing_file_is_refused_and_the_same_configuration_starts(
    daemon: Daemon, url: str, tmp_path: Path, ocf_root: Path
) -> None:
    daemon.write_config(CLUSTER)
    daemon.start(extra=("--store", url, "--member-ttl", "2"))
    before = stored_config(url)
    assert [n.uname for n in before[0].nodes] == ["n1", "n2", "n3"]

    second = node(tmp_path, ocf_root, "n2")
    four_nodes = THREE_NODES.replace("</nodes>", '<node id="n4" uname="n4"/></nodes>')
    differing = CLUSTER.replace(THREE_NODES, four_nodes)
    differing = differing.replace('value="5min"', 'value="10min"')
    second.write_config(differing)
    run = second.run_to_exit("--config", str(second.config_file), "--store", url, "--member-ttl", "2")
    refused(run, f"{second.config_file}: differs from the running cluster's configuration (",
            "nodes added n4", "cluster options changed opts",
            f"`vigil config load {second.config_file}`")
    assert stored_config(url) == before

    # The same configuration in other bytes (another file, a comment, other spacing) starts.
    second.write_config("<!-- node n2's copy -->\n" + CLUSTER.replace("  ", "    "))
    second.start(extra=("--store", url, "--member-ttl", "2"))
    try:
        assert stored_config(url) == before
        assert f"{second.config_file} is the configuration already stored: nothing written" in second.log()
    finally:
        assert second.stop() == 0
    assert daemon.stop() == 0


def test_a_node_less_configuration_cannot_replace_three_nodes(
    daemon: Daemon, url: str, tmp_path: Path, ocf_root: Path
) -> None:
    daemon.write_config(CLUSTER)
    daemon.start(extra=("--store", url, "--member-ttl", "2"))
    before = stored_config(url)
    nodeless = tmp_path / "nodeless.xml"
    nodeless.write_text(NODELESS)
    nodes_named = "names no nodes, but the cluster's configuration has 3 (n1, n2, n3)"

    # vigil run --config on another node.
    second = node(tmp_path, ocf_root, "n2")
    refused(second.run_to_exit("--config", str(nodeless), "--store", url, "--member-ttl", "2"), nodes_named)
    # vigil config load through the running daemon's API.
    through_api = subprocess.run([str(VIGIL), "config", "load", str(nodeless),
                                  "--state-dir", str(daemon.state_dir)],
                                 env=daemon.env(), capture_output=True, text=True, timeout=60, check=False)
    refused(through_api, nodes_named)
    # vigil config load on the store, with no vigil running on that state directory.
    offline = subprocess.run([str(VIGIL), "config", "load", str(nodeless), "--store", url,
                              "--state-dir", str(tmp_path / "offline")],
                             env=daemon.env(), capture_output=True, text=True, timeout=60, check=False)
    refused(offline, nodes_named)
    assert stored_config(url) == before
    assert daemon.stop() == 0
