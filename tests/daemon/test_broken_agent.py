"""A broken agent is one resource's problem, not the cluster's (issue 17, item 6).

A configuration naming an agent that is not installed on this node (or
whose meta-data fails) is not refused whole: `vigil run` starts, runs every
other resource, and the executor answers that resource's probe "not
installed" (rc 5), which keeps it off this node, as Pacemaker's probe
result OCF_ERR_INSTALLED does.  What is wrong on every node (an agent class
vigil does not run, an agent name that is not a plain name) is still
refused.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.daemon.conftest import VIGIL, Daemon, cib, log_lines, primitive, wait_for


def vigil(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIGIL), *args, "--state-dir", str(daemon.state_dir)], capture_output=True,
                          text=True, check=False, timeout=60)


def with_missing_agent(tmp_path: Path) -> str:
    return cib(primitive("svc", "ocf:test:Recorder", {"state": str(tmp_path / "svc.state"),
                                                      "log": str(tmp_path / "svc.log")})
               + primitive("ghost", "ocf:test:NoSuchAgent", {"state": str(tmp_path / "ghost.state")}))


def test_a_missing_agent_fails_its_resource_here_and_everything_else_runs(daemon: Daemon,
                                                                          tmp_path: Path) -> None:
    daemon.write_config(with_missing_agent(tmp_path))
    daemon.start()
    wait_for("svc to start", lambda: bool(log_lines(tmp_path / "svc.log", "start")))
    wait_for("the cluster to settle", daemon.is_settled)
    assert "agent ocf:test:NoSuchAgent cannot be used on this node" in daemon.log()

    status = vigil(daemon, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    roles = {r["id"]: r["role"] for r in data["resources"]}
    assert roles == {"svc": "Started", "ghost": "Stopped"}
    [failed] = data["failed_actions"]
    assert (failed["resource"], failed["node"], failed["rc"]) == ("ghost", "n1", 5)
    text = vigil(daemon, "status").stdout
    assert "ghost" in text and "not installed" in text
    assert daemon.resource("ghost").nodes == ()
    assert daemon.stop() == 0


def test_what_is_wrong_on_every_node_is_still_refused(daemon: Daemon, tmp_path: Path) -> None:
    daemon.write_config(with_missing_agent(tmp_path).replace('provider="test" type="NoSuchAgent"',
                                                              'provider="test" type="../NoSuchAgent"'))
    result = daemon.run_to_exit("--config", str(daemon.config_file))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "resource ghost:" in result.stderr and "'../NoSuchAgent'" in result.stderr
