"""Fixtures for the tests of vigil's commands for agents: a real `vigil run` (tests/daemon's), with an OCF
root of Debian's agents and the test agents of ``agents/`` (provider ``test``)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.conftest import SYSTEM_OCF, Daemon

HERE = Path(__file__).resolve().parent
RNG = Path("/usr/share/pacemaker/api/api-result-2.25.rng")

needs_debian_agents = pytest.mark.skipif(
    not (SYSTEM_OCF / "resource.d" / "pacemaker" / "ping").exists(),
    reason="Debian's pacemaker-resource-agents is not installed (scripts/install-test-deps.sh installs it)",
)
needs_ping = pytest.mark.skipif(shutil.which("ping") is None,
                                reason="ocf:pacemaker:ping needs the ping command (Debian's iputils-ping)")
needs_schema = pytest.mark.skipif(not RNG.exists(),
                                  reason="Pacemaker's API schema (pacemaker-common) is not installed")


@pytest.fixture(scope="session")
def tools_ocf_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tools-ocf-root")
    (root / "resource.d").mkdir()
    for provider in ("heartbeat", "pacemaker"):
        if (SYSTEM_OCF / "resource.d" / provider).exists():
            (root / "resource.d" / provider).symlink_to(SYSTEM_OCF / "resource.d" / provider)
    if (SYSTEM_OCF / "lib").exists():
        (root / "lib").symlink_to(SYSTEM_OCF / "lib")
    test_dir = root / "resource.d" / "test"
    test_dir.mkdir()
    for agent in (HERE / "agents").iterdir():
        shutil.copy(agent, test_dir / agent.name)
        (test_dir / agent.name).chmod(0o755)
    return root


@pytest.fixture
def daemon(tmp_path: Path, tools_ocf_root: Path) -> Iterator[Daemon]:
    running = Daemon(tmp_path, tools_ocf_root)
    # Debian's agents keep their state files under HA_VARRUN and HA_RSCTMP: the test's own, not /run.
    for variable in ("HA_VARRUN", "HA_RSCTMP"):
        (tmp_path / variable.lower()).mkdir()
        running.extra_env[variable] = str(tmp_path / variable.lower())
    yield running
    if running.process is not None and running.process.poll() is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            running.stop(timeout=30)
        if running.process is not None:
            running.kill9()
