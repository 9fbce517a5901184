"""One daemon per state directory and per node name; the quick start on a real etcd (issue 14).

Real `vigil run` processes (``conftest.Daemon``), a real SQLite store and a
real etcd server (``tests/store/etcd_server.py``, on 127.0.0.1 with free
ports, stopped by its PID).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.conftest import Daemon, cib, wait_for
from tests.daemon.test_quickstart import EXAMPLE, is_running, pid_of
from tests.store.etcd_server import INSTALL_HINT, EtcdServer, etcd_binary, start_etcd
from vigil.model.cluster import Cluster
from vigil.scheduler import schedule
from vigil.store import open_store
from vigil.store.base import LogEntry

NOTHING = cib("")


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


def test_a_second_daemon_on_the_same_state_directory_is_refused(daemon: Daemon) -> None:
    daemon.write_config(NOTHING)
    daemon.start()
    second = daemon.run_to_exit("--config", str(daemon.config_file), timeout=30)
    assert second.returncode != 0
    assert f"another vigil (pid {daemon.process.pid}) is already running on the state directory " \
           f"{daemon.state_dir}" in second.stderr  # type: ignore[union-attr]
    # The first one is untouched: still running, still serving.
    time.sleep(0.3)
    assert daemon.process is not None and daemon.process.poll() is None
    assert (daemon.state_dir / "api.json").exists()
    assert daemon.stop() == 0


def test_a_second_daemon_under_the_same_node_name_is_refused(
    daemon: Daemon, etcd: EtcdServer, tmp_path: Path, ocf_root: Path
) -> None:
    url = f"etcd://{etcd.endpoint}/t-{uuid.uuid4().hex[:12]}"
    daemon.write_config(NOTHING)
    daemon.start(extra=("--store", url, "--member-ttl", "2"))
    other = Daemon(tmp_path / "other", ocf_root)
    other.workdir.mkdir()
    started = time.monotonic()
    second = other.run_to_exit("--store", url, "--member-ttl", "2", timeout=30)
    assert second.returncode != 0
    assert "the node name 'n1' is already in use in this cluster (pid " in second.stderr
    assert time.monotonic() - started < 15
    assert daemon.process is not None and daemon.process.poll() is None
    assert daemon.stop() == 0


def _read(url: str) -> tuple[Cluster, list[LogEntry]]:
    async def read() -> tuple[Cluster, list[LogEntry]]:
        async with open_store(url) as store:
            return (await store.snapshot()).cluster, await store.operation_log(limit=10_000)

    return asyncio.run(read())


def test_the_quick_start_on_etcd_survives_kill_9_and_a_fresh_state_directory(
    daemon: Daemon, etcd: EtcdServer, tmp_path: Path, ocf_root: Path
) -> None:
    url = f"etcd://{etcd.endpoint}/t-{uuid.uuid4().hex[:12]}"
    daemon.extra_env["TMPDIR"] = str(tmp_path)
    agent_dir = tmp_path / f"vigil-agents-{os.getuid()}"
    config = EXAMPLE.read_text().replace("/tmp/vigil-quickstart-", f"{tmp_path}/")
    daemon.config_file = tmp_path / "quickstart.yaml"
    daemon.config_file.write_text(config)
    instances = ("web", "libvirtd", "neutron-agent", "nova-compute")

    def settled() -> bool:
        cluster, _ = _read(url)
        return not [a for a in schedule(cluster, int(time.time())).actions if not a.pseudo]

    daemon.start(extra=("--store", url, "--member-ttl", "2"))
    wait_for("every resource to run", lambda: all(is_running(agent_dir, name) for name in instances))
    wait_for("the cluster to settle", settled)
    # One failure of web, recovered: a fail-count and a history to keep.
    os.kill(pid_of(agent_dir, "web"), signal.SIGTERM)
    wait_for("web recovered", lambda: sum(1 for e in _read(url)[1] if e.resource == "web"
                                          and e.record.operation == "start" and e.record.rc == 0) == 2)
    wait_for("the cluster to settle", settled)
    before, log_before = _read(url)
    pids = {name: pid_of(agent_dir, name) for name in instances}
    daemon.kill9()

    # A fresh state directory, the same store: nothing is lost, nothing healthy restarts.
    again = Daemon(tmp_path / "again", ocf_root)
    again.workdir.mkdir()
    again.extra_env["TMPDIR"] = str(tmp_path)
    again.config_file = daemon.config_file
    again.start(config=False, extra=("--store", url, "--member-ttl", "2"))
    try:
        wait_for("the restarted node to probe and settle", lambda: len(_read(url)[1]) > len(log_before)
                 and settled())
        after, log_after = _read(url)
        node_before, node_after = before.status.node("n1"), after.status.node("n1")
        assert node_before is not None and node_after is not None
        failcounts = [(k, v) for k, v in node_before.attributes if k.startswith("fail-count-")]
        assert failcounts and [(k, v) for k, v in node_after.attributes if k.startswith("fail-count-")] \
            == failcounts
        assert log_after[:len(log_before)] == log_before  # every result recorded before is there
        new = log_after[len(log_before):]
        assert new and all(e.record.operation == "monitor" for e in new), new  # probes, monitors only
        assert {name: pid_of(agent_dir, name) for name in instances} == pids
        assert all(is_running(agent_dir, name) for name in instances)
        assert after.config == before.config
    finally:
        again.stop()
    assert not any(is_running(agent_dir, name) for name in instances)
