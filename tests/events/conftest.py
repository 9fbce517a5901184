"""Fixtures for the event tests: the real daemon of tests/daemon, plus what the use cases run for real.

- ``daemon``: a real ``vigil run`` (tests/daemon/conftest.py), over an OCF
  root that also has vigil's example agents (``ocf:examples:*``, from
  examples/agents/).
- ``haproxy``: Debian's haproxy, started by the test on 127.0.0.1 with an
  admin socket in the test's directory, ended by its PID.
- ``alert_file_agent``: Pacemaker's own ``alert_file.sh.sample`` from Debian,
  copied unmodified and made executable.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.daemon.conftest import HERE as DAEMON_TESTS
from tests.daemon.conftest import SYSTEM_OCF, Daemon, wait_for
from tests.daemon.conftest import daemon as daemon  # the fixture, with this directory's ocf_root

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ALERT_SAMPLES = Path("/usr/share/pacemaker/alerts")
HAPROXY = Path("/usr/sbin/haproxy")

needs_alert_samples = pytest.mark.skipif(
    not (ALERT_SAMPLES / "alert_file.sh.sample").exists(),
    reason="Pacemaker's sample alert agents are not installed (pacemaker-common)")
needs_haproxy = pytest.mark.skipif(
    not HAPROXY.exists(), reason="haproxy is not installed (scripts/install-test-deps.sh installs it)")
needs_fence_dummy = pytest.mark.skipif(
    not Path("/usr/sbin/fence_dummy").exists(),
    reason="fence-agents is not installed (scripts/install-test-deps.sh installs it)")

__all__ = ["Daemon", "daemon", "wait_for"]


@pytest.fixture(scope="session")
def ocf_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Debian's agents, the daemon tests' test agents, and the examples as provider ``examples``."""
    root = tmp_path_factory.mktemp("ocf-root-events")
    (root / "resource.d").mkdir()
    for provider in ("heartbeat", "pacemaker"):
        if (SYSTEM_OCF / "resource.d" / provider).exists():
            (root / "resource.d" / provider).symlink_to(SYSTEM_OCF / "resource.d" / provider)
    if (SYSTEM_OCF / "lib").exists():
        (root / "lib").symlink_to(SYSTEM_OCF / "lib")
    for provider, source in (("test", DAEMON_TESTS / "agents"), ("examples", EXAMPLES / "agents")):
        directory = root / "resource.d" / provider
        directory.mkdir()
        for agent in source.iterdir():
            shutil.copy(agent, directory / agent.name)
            (directory / agent.name).chmod(0o755)
    return root


@pytest.fixture
def alert_file_agent(tmp_path: Path) -> Path:
    """Pacemaker's alert_file.sh.sample, unmodified, executable."""
    agent = tmp_path / "alert_file.sh"
    shutil.copy(ALERT_SAMPLES / "alert_file.sh.sample", agent)
    agent.chmod(0o755)
    return agent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Haproxy:
    """A haproxy process with an admin socket; one backend per name, one server per node."""

    socket_path: Path
    process: subprocess.Popen[bytes]

    def command(self, text: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            conn.connect(str(self.socket_path))
            conn.sendall(text.encode() + b"\n")
            answer = b""
            while chunk := conn.recv(4096):
                answer += chunk
        return answer.decode()

    def servers_state(self, backend: str) -> dict[str, dict[str, str]]:
        """``show servers state BACKEND``: each server's columns by name."""
        lines = [line for line in self.command(f"show servers state {backend}").splitlines() if line.strip()]
        header = next(line for line in lines if line.startswith("# ")).split()[1:]
        rows = [dict(zip(header, line.split(), strict=False)) for line in lines[2:]]
        return {row["srv_name"]: row for row in rows}

    def in_maint(self, backend: str, server: str) -> bool:
        """The server's admin state has the forced-maintenance flag (``set server ... state maint``)."""
        return bool(int(self.servers_state(backend)[server]["srv_admin_state"]) & 0x1)


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[Haproxy]:
    """haproxy on 127.0.0.1 with backend ``be_web`` (server ``n1``), started and ended by the test."""
    sock = tmp_path / "haproxy-admin.sock"
    config = tmp_path / "haproxy.cfg"
    config.write_text(f"""global
    stats socket {sock} mode 600 level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe_web
    bind 127.0.0.1:{free_port()}
    default_backend be_web
backend be_web
    server n1 127.0.0.1:{free_port()}
""")
    log = (tmp_path / "haproxy.log").open("wb")
    process = subprocess.Popen([str(HAPROXY), "-f", str(config), "-db"], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    log.close()
    running = Haproxy(sock, process)
    try:
        wait_for("haproxy's admin socket", lambda: sock.exists() and _answers(running), timeout=15)
        yield running
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _answers(running: Haproxy) -> bool:
    if running.process.poll() is not None:
        raise AssertionError(f"haproxy exited with {running.process.returncode}")
    try:
        return "be_web" in running.command("show servers state be_web")
    except OSError:
        return False
