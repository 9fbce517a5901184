"""Debian's ``ocf:pacemaker:HealthCPU``, unmodified, sets ``#health-cpu`` and ``migrate-on-red`` acts on it.

The agent's monitor measures the CPU idle with ``top -b -n2`` (about 3 s)
and publishes ``attrd_updater -n "#health-cpu" -U red|yellow|green -d 30s``:
red when the idle percentage is below ``red_limit``, else yellow below
``yellow_limit``, else green.  Its start only creates its state file; the
monitor sets the attribute.  The 30 s dampening is written into the agent
(no parameter), so each change is written 30 s after the agent reported it:
red, then green, cost a minute between them; the test takes about 75 s,
every wait bounded.

Limits of 100 make the node red: the idle is below 100 % whenever anything
runs during the 3 s that ``top`` samples, and this test's own polling (it
reads the store and schedules every 50 ms) and the daemon run throughout.
Limits of 0 make it green whatever the load (no idle is below 0 %); they
are loaded as a configuration change, the way an operator would relax them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.daemon.conftest import SYSTEM_OCF, VIGIL, Daemon, cib, needs_dummy, primitive, wait_for

HEALTH_CPU = SYSTEM_OCF / "resource.d" / "pacemaker" / "HealthCPU"
ATTRIBUTE = "#health-cpu"
DAMPENING_S = 30  # the agent's own `-d 30s`
# From the agent's report to the scheduler acting on it: the dampening, a monitor interval and top's 3 s.
WRITTEN_WITHIN_S = DAMPENING_S + 15

pytestmark = [
    pytest.mark.skipif(not HEALTH_CPU.exists(),
                       reason="Debian's pacemaker-resource-agents (HealthCPU) is not installed"),
    pytest.mark.skipif(shutil.which("top") is None,
                       reason="ocf:pacemaker:HealthCPU needs top (Debian's procps)"),
    needs_dummy,
]

STRATEGY = '<nvpair id="opt-health" name="node-health-strategy" value="migrate-on-red"/>'


def configuration(tmp_path: Path, limit: int) -> str:
    """HealthCPU with both limits at ``limit``, and R.

    HealthCPU is a plain primitive, not the usual clone: vigil does not act on a changed parameter
    of an anonymous clone's instance yet (no restart, no reload, the monitor keeps the old limits).

    HealthCPU has ``allow-unhealthy-nodes=true``, as Pacemaker advises for health agents: else
    migrate-on-red stops it too on the red node, and nothing would ever report the node green again."""
    health = primitive("health-cpu", "ocf:pacemaker:HealthCPU",
                       {"state": str(tmp_path / "health-cpu.state"),
                        "red_limit": str(limit), "yellow_limit": str(limit)}, interval="3s",
                       meta={"allow-unhealthy-nodes": "true"})
    r = primitive("R", "ocf:heartbeat:Dummy", {"state": str(tmp_path / "R.state")}, interval="5s")
    return cib(f"{health}\n{r}", options=STRATEGY)


def vigil(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIGIL), *args, "--state-dir", str(daemon.state_dir)], capture_output=True,
                          text=True, check=False, timeout=60)


def queried(daemon: Daemon) -> str:
    """What the agents' own `attrd_updater -Q` (the shim in STATE/bin) answers: held values included."""
    done = subprocess.run([str(daemon.state_dir / "bin" / "attrd_updater"), "-Q", "-n", ATTRIBUTE],
                          capture_output=True, text=True, check=False, timeout=30,
                          env={**os.environ, "VIGIL_STATE_DIR": str(daemon.state_dir)})
    return done.stdout.strip() if done.returncode == 0 else f"rc={done.returncode}"


def reported(daemon: Daemon, value: str) -> str:
    return f'name="{ATTRIBUTE}" host="{daemon.node}" value="{value}"'


def r_role(daemon: Daemon) -> str:
    found = daemon.resource("R")
    return found.role if found.nodes else "Stopped"


def shown(daemon: Daemon) -> tuple[str, str, str]:
    """What an operator sees: `vigil node attribute`'s value, and `vigil status --format json`'s node
    health and R's role.  (status's ``attributes`` leave ``#`` ones out, as ``crm_mon -A`` does.)"""
    value = vigil(daemon, "node", "attribute", daemon.node, ATTRIBUTE)
    assert value.returncode == 0, value.stderr
    done = vigil(daemon, "status", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [node] = report["nodes"]
    assert ATTRIBUTE not in node["attributes"]
    roles = {r["id"]: r["role"] for r in report["resources"]}
    return value.stdout.strip(), node["health"], roles["R"]


def test_healthcpu_sets_health_cpu_red_migrate_on_red_stops_r_and_green_lets_it_start_again(
        daemon: Daemon, tmp_path: Path) -> None:
    daemon.write_config(configuration(tmp_path, 100))
    daemon.start()

    # The monitor reports red at once; attrd holds it for the agent's dampening, and R (no health yet) runs.
    wait_for("HealthCPU's monitor to report red", lambda: queried(daemon) == reported(daemon, "red"))
    assert daemon.attribute(ATTRIBUTE) is None, "written before the agent's 30 s dampening"
    wait_for("R to start while no health is written", lambda: r_role(daemon) == "Started")

    wait_for(f"{ATTRIBUTE}=red to be written", lambda: daemon.attribute(ATTRIBUTE) == "red",
             timeout=WRITTEN_WITHIN_S)
    wait_for("R to stop on the red node", lambda: r_role(daemon) == "Stopped")
    assert shown(daemon) == ("red", "red", "Stopped")
    wait_for("the cluster to settle on the red node", daemon.is_settled)
    assert daemon.resource("health-cpu").nodes == (daemon.node,), "HealthCPU must keep running there"

    # Limits of 0: no idle is below them, the agent reports green; R starts once that is written.
    relaxed = tmp_path / "relaxed.xml"
    relaxed.write_text(configuration(tmp_path, 0))
    loaded = vigil(daemon, "config", "load", str(relaxed))
    assert loaded.returncode == 0, loaded.stderr
    wait_for("HealthCPU's monitor to report green", lambda: queried(daemon) == reported(daemon, "green"),
             timeout=20)
    assert daemon.attribute(ATTRIBUTE) == "red" and r_role(daemon) == "Stopped", "green acted on undampened"
    wait_for(f"{ATTRIBUTE}=green to be written", lambda: daemon.attribute(ATTRIBUTE) == "green",
             timeout=WRITTEN_WITHIN_S)
    wait_for("R to start again on the green node", lambda: r_role(daemon) == "Started")
    assert shown(daemon) == ("green", "green", "Started")
