"""``vigil demo cluster``: starts examples/demo-cluster.yaml on three nodes, says how to watch and
break it, reports what the cluster does, and leaves nothing running when it stops.

The demo runs as a subprocess, as people run it.  Nothing here waits a fixed
time: each step waits (bounded) for what it needs: the demo's own words, or
`vigil status` of a node showing the compute clone on all three nodes and
web on one.  Every process the demo starts (etcd, the nodes, their agents)
inherits a tag in its environment that only this test's demo carries, so
"nothing left running" is checked by PID, in /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.observe import NODES, alive, leader_of, running_on
from vigil.testing.cluster import INSTALL_HINT, etcd_binary, wait_until

TAG = "VIGIL_DEMO_TEST_TAG"
FENCE_DUMMY = Path("/usr/sbin/fence_dummy")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "demo-cluster.yaml"

needs_cluster = pytest.mark.skipif(etcd_binary() is None or not FENCE_DUMMY.exists(),
                                   reason=f"no etcd server binary ({INSTALL_HINT}) or no fence_dummy "
                                          "(Debian's fence-agents)")


class DemoRun:
    """One ``vigil demo cluster --workdir DIR`` subprocess, its output in a file."""

    def __init__(self, tmp_path: Path) -> None:
        self.workdir = tmp_path / "demo"
        self.out_path = tmp_path / "demo.out"
        self.tag = uuid.uuid4().hex
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env[TAG] = self.tag
        with open(self.out_path, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vigil", "demo", "cluster", "--workdir", str(self.workdir)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True)

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float) -> None:
        def said() -> bool:
            if text in self.output():
                return True
            assert self.process.poll() is None, f"the demo exited with {self.process.returncode}:\n" \
                                                f"{self.output()}"
            return False

        wait_until(f"the demo to say {text!r}", said, timeout=timeout, interval=0.1)

    def node_pid(self, node: str) -> int:
        found = re.search(rf"^  {node}: http://\S+  pid (\d+)$", self.output(), re.MULTILINE)
        assert found, self.output()
        return int(found.group(1))

    def store_url(self) -> str:
        found = re.search(r"^etcd \(\S+\): (etcd://\S+)$", self.output(), re.MULTILINE)
        assert found, self.output()
        return found.group(1)

    def state_dir(self, node: str) -> Path:
        return self.workdir / node / "state"

    def status(self, node: str) -> dict[str, object] | None:
        """`vigil status --format json` of ``node`` (None: it did not answer)."""
        run = subprocess.run([sys.executable, "-m", "vigil", "status", "--format", "json", "--state-dir",
                              str(self.state_dir(node))], capture_output=True, text=True, timeout=30,
                             check=False)
        if run.returncode != 0:
            return None
        report: dict[str, object] = json.loads(run.stdout)
        return report

    def tagged(self) -> list[int]:
        """Live processes (zombies excluded) started by this demo, found by the tag they inherited."""
        needle = f"{TAG}={self.tag}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self.process.pid:
                continue
            with contextlib.suppress(OSError):
                if needle in (entry / "environ").read_bytes().split(b"\0") and alive(int(entry.name)):
                    found.append(int(entry.name))
        return found

    def interrupt(self, timeout: float = 90.0) -> int:
        """Ctrl-C: SIGINT to the demo, by PID; its exit code."""
        os.kill(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout)

    def close(self) -> None:
        """After a failing test: end the demo and whatever it left running, by PID."""
        if self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.interrupt(60)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for pid in self.tagged():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoRun]:
    run = DemoRun(tmp_path)
    try:
        yield run
    finally:
        run.close()


def settled(demo: DemoRun, nodes: tuple[str, ...] = NODES) -> dict[str, object]:
    """Wait until `vigil status` on one of ``nodes`` shows the compute clone on every one of them and
    web on one; that status."""
    seen: dict[str, dict[str, object]] = {}

    def check() -> bool:
        for node in nodes:
            report = demo.status(node)
            if report is not None:
                seen["report"] = report
                return (sorted(running_on(report, "compute-clone")) == sorted(nodes)
                        and len(running_on(report, "web")) == 1)
        return False

    wait_until("the compute clone on every node and web on one", check, timeout=60, interval=0.2)
    return seen["report"]


def assert_everything_ended(demo: DemoRun, code: int, stopped: tuple[str, ...] = NODES) -> None:
    """The demo exited 0 after Ctrl-C, every process it started has ended, and each node in
    ``stopped`` stopped its resources (a node killed with kill -9 stops nothing: the demo ends
    its agents' processes, and their pid files stay)."""
    out = demo.output()
    assert code == 0, out
    assert "everything stopped" in out, out
    pids = [int(pid) for pid in re.findall(r"\bpid (\d+)", out)]
    assert len(set(pids)) >= 6, out  # 3 members, 3 nodes
    assert not [pid for pid in pids if alive(pid)]
    assert demo.tagged() == []
    for node in stopped:
        assert not list((demo.workdir / node / "tmp").glob("vigil-agents-*/*.pid"))


@needs_cluster
def test_the_demo_settles_says_how_to_watch_and_break_it_and_stops_everything(demo: DemoRun) -> None:
    demo.wait_for("Ctrl-C stops every node", timeout=120)
    report = settled(demo)
    out = demo.output()
    assert "preview" not in out.lower()
    for node in NODES:
        assert f"status --state-dir {demo.state_dir(node)}" in out
    assert "watch -n1 " in out and "tail -f " in out
    # The controller it names is the one holding the leader key in the store.
    named = re.search(r"^controller: (node\d)", out, re.MULTILINE)
    assert named is not None, out
    assert leader_of(demo.store_url()) == named.group(1)
    # What to kill names the node running web, by its PID.
    web = running_on(report, "web")[0]
    assert f"kill -9 {demo.node_pid(web)}    # {web}, which runs web" in out
    assert f"node standby {web} --state-dir" in out
    assert str(demo.workdir / "fence" / f"{web}.status") in out
    # The nodes run the demo's copy of the configuration, the fence devices' files in its directory.
    written = (demo.workdir / "cluster.yaml").read_text()
    assert "$WORKDIR" not in written and f"status_file: {demo.workdir}/fence/node1.status" in written
    assert "stonith-enabled: true" in written
    assert_everything_ended(demo, demo.interrupt())


@needs_cluster
def test_kill_9_of_the_node_running_web_fences_it_and_web_runs_elsewhere(demo: DemoRun) -> None:
    demo.wait_for("Ctrl-C stops every node", timeout=120)
    victim = running_on(settled(demo), "web")[0]
    fence_file = demo.workdir / "fence" / f"{victim}.status"
    assert not fence_file.exists()
    survivors = tuple(node for node in NODES if node != victim)
    pid = demo.node_pid(victim)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()

    def web_elsewhere() -> bool:
        for node in survivors:
            report = demo.status(node)
            if report is not None:
                return running_on(report, "web") not in ([], [victim])
        return False

    wait_until("web to run on another node", web_elsewhere, timeout=15, interval=0.2)
    took = time.monotonic() - killed
    assert fence_file.read_text() == "on", "fence_dummy's reboot ends with on"  # off, then on
    # Fenced first, then started elsewhere (web's pid file on its new node is written by its start).
    started = [path.stat().st_mtime_ns for node in survivors
               for path in (demo.workdir / node / "tmp").glob("vigil-agents-*/web.pid")]
    assert len(started) == 1 and fence_file.stat().st_mtime_ns < started[0]
    # The demo said so, as it happened.
    demo.wait_for(f"{victim} (pid {pid}) exited with -9", timeout=5)
    demo.wait_for(f"{fence_file} written: on (a fencing of {victim} ran)", timeout=5)
    demo.wait_for(f"web: {victim} → ", timeout=5)
    print(f"web ran elsewhere {took:.1f} s after the kill")
    # The killed node's agents (its web process among them) kept running; Ctrl-C ends them too.
    assert_everything_ended(demo, demo.interrupt(), stopped=survivors)


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigil", "demo", "cluster", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_a_missing_fence_agent_is_named_with_the_package_to_install_and_nothing_starts(
        tmp_path: Path) -> None:
    config = tmp_path / "cluster.yaml"
    config.write_text(EXAMPLE.read_text().replace("stonith:fence_dummy", "stonith:fence_nosuchagent"))
    run = run_demo("--config", str(config), "--workdir", str(tmp_path / "demo"))
    assert run.returncode == 1
    assert "fence agent fence_nosuchagent, which is not in /usr/sbin" in run.stderr
    assert "install Debian's fence-agents package" in run.stderr
    assert "Traceback" not in run.stderr and "starting" not in run.stdout
    assert not (tmp_path / "demo").exists()


def test_a_working_directory_the_configuration_cannot_name_or_one_in_use_is_refused(tmp_path: Path) -> None:
    spaced = run_demo("--workdir", str(tmp_path / "my demo"))
    assert spaced.returncode == 1
    assert "has characters" in spaced.stderr and "give a --workdir of letters" in spaced.stderr
    assert not (tmp_path / "my demo").exists()
    used = tmp_path / "used"
    used.mkdir()
    (used / "etcd").mkdir()
    again = run_demo("--workdir", str(used))
    assert again.returncode == 1 and f"the working directory {used} is not empty" in again.stderr
