"""The README's quick start, as a test: examples/quickstart.yaml on a real daemon.

vigil's own agents run real processes; the test kills them as an operator
would (by the pid the agent recorded), and uses the CLI as the README does.
The example's log paths and the agents' state directory are moved into the
test's directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from tests.daemon.conftest import VIGIL, Daemon, wait_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart.yaml"


def pid_of(agent_dir: Path, instance: str) -> int:
    return int((agent_dir / f"{instance}.pid").read_text().split()[0])


def is_running(agent_dir: Path, instance: str) -> bool:
    try:
        os.kill(pid_of(agent_dir, instance), 0)
    except (OSError, ValueError):
        return False
    return True


def vigil(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIGIL), *args, "--state-dir", str(daemon.state_dir)], capture_output=True,
                          text=True, check=False, timeout=60)


def test_the_quick_start_recovers_light_twice_then_gives_up_and_a_cleanup_brings_it_back(
    daemon: Daemon, tmp_path: Path
) -> None:
    # The agents keep their pid files under $TMPDIR/vigil-agents-UID: the test's directory.
    daemon.extra_env["TMPDIR"] = str(tmp_path)
    agent_dir = tmp_path / f"vigil-agents-{os.getuid()}"
    config = EXAMPLE.read_text().replace("/tmp/vigil-quickstart-", f"{tmp_path}/")
    daemon.config_file = tmp_path / "quickstart.yaml"
    daemon.config_file.write_text(config)
    daemon.start()
    instances = ("web", "libvirtd", "neutron-agent", "nova-compute")
    wait_for("every resource to run", lambda: all(is_running(agent_dir, name) for name in instances))
    wait_for("the cluster to settle", daemon.is_settled)
    nova_log = tmp_path / "nova-compute.log"

    for failure in (1, 2, 3):
        os.kill(pid_of(agent_dir, "nova-compute"), signal.SIGTERM)
        wait_for(f"nova-compute's stop number {failure}",
                 lambda n=failure: nova_log.read_text().count(" stop ") == n)  # type: ignore[misc]
        wait_for("the cluster to settle", daemon.is_settled)
    stops = [line.split(" ", 3)[3] for line in nova_log.read_text().splitlines() if " stop " in line]
    assert [s.split()[0] for s in stops] == ["light", "light", "final"]
    assert [s.split("recoveries_left=")[1].split()[0] for s in stops] == ["2", "1", "0"]
    # At the threshold the anonymous clone is banned from the node, as in Pacemaker:
    # the whole compute stack leaves it; web is untouched.
    assert not any(is_running(agent_dir, name) for name in ("libvirtd", "neutron-agent", "nova-compute"))
    assert is_running(agent_dir, "web")

    status = vigil(daemon, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    text = vigil(daemon, "status").stdout
    assert "nova-compute" in text and "0 recoveries left" in text
    data = json.loads(status.stdout)
    assert data["nodes"][0]["name"] == daemon.node

    cleanup = vigil(daemon, "resource", "cleanup", "nova-compute")
    assert cleanup.returncode == 0, cleanup.stderr
    wait_for("the compute stack to run again after the cleanup",
             lambda: all(is_running(agent_dir, name) for name in instances))
    wait_for("nova-compute's start to be logged", lambda: nova_log.read_text().count(" start ") == 4)
    last_start = [line for line in nova_log.read_text().splitlines() if " start " in line][-1]
    assert "enable=" in last_start and "enable=skipped" not in last_start

    history = vigil(daemon, "history", "nova-compute")
    assert "stop_final=true" in history.stdout and "stop_reason=failure" in history.stdout
    assert daemon.stop() == 0
    assert not any(is_running(agent_dir, name) for name in instances)

