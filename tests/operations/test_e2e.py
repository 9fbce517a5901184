"""End to end: a real ``vigil run`` (subprocess, SQLite, ocf:heartbeat:Dummy) driven by the real CLI.

Each command runs as its own process, as an operator would run it, and the
test checks what happened to the resource itself: Dummy's state file exists
exactly while the resource runs.  The daemon is stopped with SIGTERM (its
own PID) at the end, which must stop the resource first.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

VIGIL = str(Path(sys.executable).with_name("vigil"))

CIB = """<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
        <nvpair id="opts-recheck" name="cluster-recheck-interval" value="2s"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="web-params">
          <nvpair id="web-state" name="state" value="{state}"/>
        </instance_attributes>
        <meta_attributes id="web-meta">
          <nvpair id="web-mt" name="migration-threshold" value="3"/>
        </meta_attributes>
        <operations>
          <op id="web-mon" name="monitor" interval="1s"/>
        </operations>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.1)


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    state_dir: Path
    web_state: Path
    log: Path

    def vigil(self, *args: str, expect: int = 0) -> str:
        env = {**os.environ, "VIGIL_STATE_DIR": str(self.state_dir)}
        done = subprocess.run([VIGIL, *args], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == expect, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done.stdout if expect == 0 else done.stderr

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.vigil("status", "--format", "json"))
        return result

    @property
    def url(self) -> str:
        return str(json.loads((self.state_dir / "api.json").read_text())["url"])

    def running(self) -> bool:
        return self.web_state.exists()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    web_state = tmp_path / "web.state"
    cib = tmp_path / "cib.xml"
    cib.write_text(CIB.format(state=web_state))
    state_dir = tmp_path / "state"
    log = tmp_path / "daemon.log"
    with log.open("wb") as output:
        process = subprocess.Popen([VIGIL, "run", "--config", str(cib), "--state-dir", str(state_dir),
                                    "--listen", "127.0.0.1:0", "--node", "n1", "-v"],
                                   stdout=output, stderr=subprocess.STDOUT)
    found = Daemon(process, state_dir, web_state, log)
    try:
        wait_for(lambda: (state_dir / "api.json").exists() or process.poll() is not None,
                 "the API serves", 60)
        assert process.poll() is None, log.read_text()
        yield found
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_an_operator_drives_a_real_resource(daemon: Daemon) -> None:
    wait_for(daemon.running, "web is started")

    assert daemon.vigil("resource", "stop", "web") == "web: target-role=Stopped (was unset)\n"
    wait_for(lambda: not daemon.running(), "web is stopped")
    daemon.vigil("resource", "start", "web")
    wait_for(daemon.running, "web runs again")

    out = daemon.vigil("resource", "ban", "web")
    assert out.startswith("web is banned from n1\n")
    wait_for(lambda: not daemon.running(), "web is stopped by the ban (there is no other node)")
    status = daemon.status()
    assert [(r["id"], r["role"], r["nodes"]) for r in status["resources"]] == [("web", "Stopped", [])]
    assert daemon.vigil("resource", "clear", "web") == "removed cli-ban-web-on-n1\n"
    wait_for(daemon.running, "web runs once the ban is cleared")

    # A failure: the monitor notices, the controller recovers in place, the budget goes down.
    daemon.web_state.unlink()
    wait_for(lambda: any(f["recoveries_left"] == "2" for f in daemon.status()["failcounts"]),
             "the failure counts")
    wait_for(daemon.running, "web is recovered")
    assert daemon.vigil("failcount", "show", "web") == (
        "web on n1: fail-count=1 (monitor_1000: 1), migration-threshold=3: 2 recoveries left\n")
    history = daemon.vigil("history", "web")
    assert "stop  interval=0  rc=0 (OCF_SUCCESS)  status=done  stop_reason=failure stop_final=false " \
           "stop_cause=web stop_next_node=n1 recoveries_left=2" in history
    assert "monitor  interval=1s  rc=7 (OCF_NOT_RUNNING)  status=done  FAILED" in history
    metrics = httpx.get(f"{daemon.url}/metrics", timeout=10).text.splitlines()
    assert 'vigil_recoveries_left{resource="web",node="n1"} 2' in metrics
    text = daemon.vigil("status")
    assert "Failed Resource Actions:" in text and "  * web\t(ocf:heartbeat:Dummy):\t Started n1" in text

    out = daemon.vigil("resource", "cleanup", "web")
    assert out.startswith("cleaned up web on n1: fail-counts cleared and history forgotten")
    status = daemon.status()
    assert status["failcounts"] == [] and status["failed_actions"] == []
    wait_for(lambda: daemon.status()["resources"][0]["role"] == "Started", "web is probed again")
    assert daemon.running()

    daemon.vigil("node", "standby")
    wait_for(lambda: not daemon.running(), "web leaves the node in standby")
    assert [(n["name"], n["state"]) for n in daemon.status()["nodes"]] == [("n1", "standby")]
    daemon.vigil("node", "online")
    wait_for(daemon.running, "web comes back when the node is online")

    assert daemon.vigil("resource", "restart", "web", "--timeout", "30") == (
        "web restarted: stopped everywhere, then started on n1\n")
    assert daemon.running()
    history = daemon.vigil("history", "web", "--limit", "3")
    assert "stop_reason=admin stop_final=true" in history and "start_reason=initial" in history

    # A bad configuration through the running daemon: every problem, nothing changed.
    before = daemon.status()["config_revision"]
    bad = daemon.state_dir.parent / "bad.xml"
    bad.write_text(CIB.format(state=daemon.web_state).replace('type="Dummy"', 'type="../NoSuchAgent"'))
    error = daemon.vigil("config", "load", str(bad), expect=2)
    assert error.startswith(f"vigil: error: {bad}: 1 problem; nothing was changed\n")
    assert "resource web: agent 'ocf:heartbeat:../NoSuchAgent': its type" in error
    assert daemon.status()["config_revision"] == before
    shown = daemon.vigil("config", "show")
    assert '<primitive id="web" class="ocf" provider="heartbeat" type="Dummy">' in shown
    assert "Plan:\n  nothing to do" in daemon.vigil("simulate", "--live")

    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=30) == 0, daemon.log.read_text()
    assert not daemon.running(), "SIGTERM stops the resource first"
    assert not (daemon.state_dir / "api.json").exists()
    daemon.vigil("status", expect=1)
