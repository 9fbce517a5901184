"""``vigil node fence`` and ``vigil node confirm-fenced`` against a real ``vigil run`` on SQLite.

One node, fenced by Debian's ``fence_dummy`` (its power state in a file of
the test's): the device leaves vigil running, so the node must come back as
after a reboot, probing what runs on it.  The CLI runs as its own process,
as an operator runs it, with stdin that is not a terminal.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.daemon.conftest import VIGIL, Daemon, cib, log_lines, primitive, wait_for
from vigil.cli import node
from vigil.cli.main import cli

FENCE_DUMMY = Path("/usr/sbin/fence_dummy")
needs_fence_dummy = pytest.mark.skipif(
    not FENCE_DUMMY.exists(),
    reason="fence-agents is not installed (scripts/install-test-deps.sh installs it)")


def vigil(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(VIGIL), *args, "--state-dir", str(daemon.state_dir)], capture_output=True,
                          text=True, check=False, timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def probes(daemon: Daemon) -> int:
    """How many probes the operation log holds."""
    return sum(1 for entry in daemon.operation_log()
               if entry.record.operation == "monitor" and entry.record.interval_ms == 0)


def is_online(daemon: Daemon) -> bool:
    state = daemon.snapshot().cluster.status.node(daemon.node)
    return state is not None and state.crmd == "online" and state.expected == "member"


def start(daemon: Daemon, tmp_path: Path) -> tuple[Path, Path, Path]:
    """The daemon with fence device fence-n1 and resource svc, settled: (power, svc state, svc log)."""
    power, state, log = tmp_path / "power", tmp_path / "svc.state", tmp_path / "svc.log"
    device = (f'<primitive id="fence-n1" class="stonith" type="fence_dummy">'
              f'<instance_attributes id="fence-n1-params"><nvpair id="fence-n1-status" name="status_file" '
              f'value="{power}"/><nvpair id="fence-n1-hosts" name="pcmk_host_list" value="n1"/>'
              f'</instance_attributes></primitive>')
    svc = primitive("svc", "ocf:test:Recorder", {"state": str(state), "log": str(log)})
    config = cib(device + svc).replace('name="stonith-enabled" value="false"',
                                       'name="stonith-enabled" value="true"')
    daemon.write_config(config)
    daemon.start()
    wait_for("svc to start", state.exists)
    wait_for("the cluster to settle", daemon.is_settled)
    return power, state, log


def rejoined(daemon: Daemon, probes_before: int) -> None:
    """The node came back as after a reboot: online, its resources probed again (svc found running)."""
    wait_for("the node to probe its resources again", lambda: probes(daemon) > probes_before)
    wait_for("the node to be online again", lambda: is_online(daemon))
    wait_for("the cluster to settle", daemon.is_settled)
    assert daemon.resource("svc").nodes == ("n1",)


@needs_fence_dummy
def test_an_operator_fences_the_node_and_it_comes_back_as_after_a_reboot(daemon: Daemon,
                                                                         tmp_path: Path) -> None:
    power, _, log = start(daemon, tmp_path)
    before = probes(daemon)
    done = vigil(daemon, "node", "fence", "n1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ("n1 was fenced (reboot by fence-n1): its resources are recovered; the cluster "
                        "takes it as down until it rejoins")
    assert lines[1].startswith("  note: Operation reboot of n1 by n1 for vigil.") and ": OK (ref=" in lines[1]
    assert power.read_text().strip() == "on"
    rejoined(daemon, before)
    assert len(log_lines(log, "start")) == 1  # still running: found by the probe, not restarted
    assert "  * reboot of n1 successful: delegate=n1" in vigil(daemon, "status").stdout

    before = probes(daemon)
    done = vigil(daemon, "node", "fence", "n1", "--action", "off")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("n1 was fenced (off by fence-n1)")
    assert power.read_text().strip() == "off"
    rejoined(daemon, before)


@needs_fence_dummy
def test_fence_refuses_an_unknown_node_or_action_and_fails_without_a_device(daemon: Daemon,
                                                                            tmp_path: Path) -> None:
    power, _, _ = start(daemon, tmp_path)
    done = vigil(daemon, "node", "fence", "n9")
    assert done.returncode == 1 and done.stderr == "vigil: error: no node 'n9'\n  known nodes: n1\n"
    done = vigil(daemon, "node", "fence", "n1", "--action", "on")
    assert done.returncode == 2 and "'on' is not one of 'reboot', 'off'" in done.stderr
    assert not power.exists()

    # A device with target-role=Stopped is not used: nothing can fence n1.
    assert vigil(daemon, "resource", "stop", "fence-n1").returncode == 0
    done = vigil(daemon, "node", "fence", "n1")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("vigil: error: fencing n1 failed: Operation reboot of n1 by n1 for vigil.")
    assert "No fence device (no fence device can fence n1)" in done.stderr
    assert "recorded as a failed fencing in the fence history" in done.stderr
    assert "  * reboot of n1 failed: delegate=n1" in vigil(daemon, "status").stdout
    assert not power.exists() and is_online(daemon)


@needs_fence_dummy
def test_confirm_fenced_asks_first_and_refuses_a_node_that_is_up_unless_forced(daemon: Daemon,
                                                                               tmp_path: Path) -> None:
    power, _, _ = start(daemon, tmp_path)
    done = vigil(daemon, "node", "confirm-fenced", "n1")
    assert done.returncode == 2 and "stdin is not a terminal" in done.stderr and "--yes" in done.stderr

    done = vigil(daemon, "node", "confirm-fenced", "n1", "--yes")
    assert done.returncode == 1
    assert done.stderr.startswith("vigil: error: n1 is a live member of the cluster (its vigil is running): "
                                  "it is not down\n")
    assert "Fencing History" not in vigil(daemon, "status").stdout

    before = probes(daemon)
    done = vigil(daemon, "node", "confirm-fenced", "n1", "--yes", "--force")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("n1 is recorded as fenced (confirmed by hand)")
    assert "  * off of n1 successful: delegate=operator" in vigil(daemon, "status").stdout
    rejoined(daemon, before)
    assert not power.exists()  # no device ran


def test_confirm_fenced_explains_the_risk_and_does_nothing_unless_the_answer_is_yes(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(node, "_is_interactive", lambda: True)
    # No daemon runs there: answering no must not even try to reach one.
    args = ["node", "confirm-fenced", "n2", "--state-dir", str(tmp_path / "state")]
    result = CliRunner().invoke(cli, args, input="n\n")
    assert result.exit_code == 1
    assert "n2's resources on other nodes" in result.output and "corrupt" in result.output
    assert "Is n2 powered off? [y/N]" in result.output
    assert "vigil: error: not confirmed: nothing was recorded for n2" in result.output
    result = CliRunner().invoke(cli, args, input="y\n")
    assert result.exit_code == 1 and "not running" in result.output  # it went on to the daemon
