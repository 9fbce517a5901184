"""Fixtures for the daemon tests: a real `vigil run` process over a real SQLite store.

The daemon runs as a subprocess with its own state directory, a free port
and an OCF root of its own: Debian's agents are linked in (heartbeat,
pacemaker and their shell libraries) beside the test agents of
``agents/``.  Tests read the store directly (SQLite is shared between
processes), wait for conditions by polling (never by timing), and end only
the daemon they started, by its PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vigil.daemon.statedir import store_url
from vigil.model.transition import ResourceView
from vigil.scheduler import schedule
from vigil.store import Snapshot, open_store
from vigil.store.base import LOG_RETENTION, LogEntry

HERE = Path(__file__).resolve().parent
SYSTEM_OCF = Path("/usr/lib/ocf")
VIGIL = Path(sys.executable).parent / "vigil"

needs_dummy = pytest.mark.skipif(
    not (SYSTEM_OCF / "resource.d" / "heartbeat" / "Dummy").exists(),
    reason="Debian's resource-agents is not installed (scripts/install-test-deps.sh installs it)",
)


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def cib(resources: str, *, options: str = "", constraints: str = "") -> str:
    """A CIB with fencing off, a short recheck interval and the given sections."""
    return f"""<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0"
     admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opt-stonith" name="stonith-enabled" value="false"/>
        <nvpair id="opt-recheck" name="cluster-recheck-interval" value="5min"/>
        {options}
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
{resources}
    </resources>
    <constraints>{constraints}</constraints>
  </configuration>
  <status/>
</cib>
"""


def primitive(rsc: str, agent: str, params: dict[str, str], *, threshold: int | None = None,
              interval: str = "1s", meta: dict[str, str] | None = None) -> str:
    cls, provider, kind = agent.split(":")
    nvpairs = "".join(f'<nvpair id="{rsc}-p-{k}" name="{k}" value="{v}"/>' for k, v in params.items())
    metas = dict(meta or {})
    if threshold is not None:
        metas["migration-threshold"] = str(threshold)
    meta_xml = "".join(f'<nvpair id="{rsc}-m-{k}" name="{k}" value="{v}"/>' for k, v in metas.items())
    return f"""      <primitive id="{rsc}" class="{cls}" provider="{provider}" type="{kind}">
        <instance_attributes id="{rsc}-params">{nvpairs}</instance_attributes>
        <meta_attributes id="{rsc}-meta">{meta_xml}</meta_attributes>
        <operations>
          <op id="{rsc}-monitor" name="monitor" interval="{interval}" timeout="10s"/>
        </operations>
      </primitive>"""


class Daemon:
    """One `vigil run` process and what the test needs to watch it."""

    def __init__(self, workdir: Path, ocf_root: Path, node: str = "n1") -> None:
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.config_file = workdir / "cluster.xml"
        self.log_file = workdir / "vigil.log"
        self.ocf_root = ocf_root
        self.node = node
        self.process: subprocess.Popen[bytes] | None = None
        self.extra_env: dict[str, str] = {}

    # -- running it -----------------------------------------------------------------------

    def write_config(self, text: str) -> Path:
        self.config_file.write_text(text)
        return self.config_file

    def command(self, *args: str, leave_running: bool = False) -> list[str]:
        argv = [str(VIGIL), "run", "--state-dir", str(self.state_dir), "--listen", "127.0.0.1:0",
                "--node", self.node, "-v", *args]
        if leave_running:
            argv.append("--leave-running")
        return argv

    def env(self) -> dict[str, str]:
        return {**os.environ, "OCF_ROOT": str(self.ocf_root), **self.extra_env}

    def start(self, *, config: bool = True, leave_running: bool = False, extra: tuple[str, ...] = ()) -> None:
        args = (["--config", str(self.config_file)] if config else []) + list(extra)
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(self.command(*args, leave_running=leave_running), env=self.env(),
                                        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        wait_for("the daemon to serve its API", self._serving, timeout=30)

    def run_to_exit(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Start `vigil run` expecting it to refuse (or end) by itself."""
        return subprocess.run(self.command(*args), env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def _serving(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the daemon exited with {self.process.returncode}:\n{self.log()}")
        return (self.state_dir / "api.json").exists()

    def api_url(self) -> str:
        return str(json.loads((self.state_dir / "api.json").read_text())["url"])

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then wait: the graceful stop."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""

    # -- watching it --------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        async def read() -> Snapshot:
            async with open_store(store_url(self.state_dir), create=False) as store:
                return await store.snapshot()

        return asyncio.run(read())

    def operation_log(self) -> list[LogEntry]:
        async def read() -> list[LogEntry]:
            async with open_store(store_url(self.state_dir), create=False) as store:
                return await store.operation_log(limit=LOG_RETENTION)

        return asyncio.run(read())

    def count_logged(self, task: str) -> int:
        """How many results of ``task`` the store's operation log holds."""
        return sum(1 for entry in self.operation_log() if entry.record.operation == task)

    def resource(self, rsc: str) -> ResourceView:
        """The resource as the scheduler sees it now (role, nodes, failed)."""
        view = schedule(self.snapshot().cluster, int(time.time())).view
        assert view is not None
        for found in view.resources:
            if found.id == rsc:
                return found
        raise AssertionError(f"no resource {rsc} in the view")

    def attribute(self, name: str) -> str | None:
        state = self.snapshot().cluster.status.node(self.node)
        return state.attribute(name) if state is not None else None

    def is_settled(self) -> bool:
        """Nothing left to do: the scheduler plans no action."""
        transition = schedule(self.snapshot().cluster, int(time.time()))
        return not [a for a in transition.actions if not a.pseudo]


@pytest.fixture(scope="session")
def ocf_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ocf-root")
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
def daemon(tmp_path: Path, ocf_root: Path) -> Iterator[Daemon]:
    running = Daemon(tmp_path, ocf_root)
    yield running
    if running.process is not None and running.process.poll() is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            running.stop(timeout=30)
        if running.process is not None:
            running.kill9()


def log_lines(path: Path, action: str | None = None) -> list[dict[str, str]]:
    """The Recorder agent's log: one dict per action line."""
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines():
        name, *pairs = line.split(" ")
        if action is not None and name != action:
            continue
        entry = {"action": name}
        entry.update(pair.split("=", 1) for pair in pairs)  # type: ignore[misc]
        lines.append(entry)
    return lines
