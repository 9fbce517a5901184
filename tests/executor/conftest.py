"""Fixtures for the executor tests: the test agents, copied with their modes, and helpers.

The test agents live in ``agents/resource.d/vigil-test`` (an OCF root) and
``lsb/`` (an init directory).  Each session copies them to a temporary
directory and sets their modes there, so the tests do not depend on the
checkout keeping executable bits (``noexec`` is left without one on purpose).
Tests only ever kill processes they started, by pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from vigil.executor import Executor, Spawner

HERE = Path(__file__).resolve().parent
T = TypeVar("T")

DEBIAN_AGENTS = (
    Path("/usr/lib/ocf/resource.d/heartbeat/Dummy"),
    Path("/usr/lib/ocf/resource.d/pacemaker/Dummy"),
    Path("/usr/lib/ocf/resource.d/pacemaker/Stateful"),
)
needs_debian_agents = pytest.mark.skipif(
    not all(p.exists() for p in DEBIAN_AGENTS),
    reason="Debian's resource-agents and pacemaker-resource-agents are not installed "
    "(scripts/install-test-deps.sh installs them)",
)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine in a fresh event loop."""
    return asyncio.run(coro)


def is_alive(pid: int) -> bool:
    """Is ``pid`` a live process (a zombie is not)?"""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return data[data.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")


def kill_if_alive(pids: list[int]) -> None:
    """Clean-up for processes a test started (by pid, never by name)."""
    for pid in pids:
        if is_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def ocf_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ocf")
    shutil.copytree(HERE / "agents", root, dirs_exist_ok=True)
    for agent in (root / "resource.d" / "vigil-test").iterdir():
        agent.chmod(0o755)
    (root / "resource.d" / "vigil-test" / "noexec").chmod(0o644)
    return root


@pytest.fixture
def lsb_dir(tmp_path: Path) -> Iterator[Path]:
    """A private init directory with the test service; its daemon is killed afterwards."""
    directory = tmp_path / "init.d"
    shutil.copytree(HERE / "lsb", directory)
    for script in directory.iterdir():
        script.chmod(0o755)
    yield directory
    pidfile = directory / ".vigil-test-service.pid"
    if pidfile.exists():
        kill_if_alive([int(pidfile.read_text().split()[0])])


@pytest.fixture
def executor(ocf_root: Path, lsb_dir: Path) -> Executor:
    """An executor over the test agents, with a short kill grace to keep tests quick."""
    return Executor(Spawner(kill_grace_s=0.5), ocf_root_dir=ocf_root, lsb_dir=lsb_dir)
