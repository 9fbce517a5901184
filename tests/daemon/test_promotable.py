"""A promotable clone in `vigil run`: Pacemaker's own ``ocf:pacemaker:Stateful``, unmodified.

The agent sets its promotion score through ``crm_attribute --promotion``
(vigil's own tool, through the daemon), so the instance is promoted; its
monitor says rc 8 while promoted.  A failure while promoted (Stateful's
``STATE.rc`` file makes its monitor return what it holds, once here) is
recovered as Pacemaker does it: demote, stop, start, promote, with the stop
context on each step, until migration-threshold takes the node away.  Each
of those actions sets the promotion score, which aborts its transition (as
in Pacemaker), so one recovery spans several transitions: the context must
still say "recovery" on the start and the promote that finish it.  The
agent's ``envfile`` parameter records the environment of every action, so
the test reads what vigil told it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.daemon.conftest import VIGIL, Daemon, cib, needs_dummy, wait_for

STATEFUL = Path("/usr/lib/ocf/resource.d/pacemaker/Stateful")


def stateful_clone(state: Path, envfile: Path, *, threshold: int = 3) -> str:
    return f"""      <clone id="S-clone">
        <meta_attributes id="S-clone-meta">
          <nvpair id="S-clone-promotable" name="promotable" value="true"/>
          <nvpair id="S-clone-notify" name="notify" value="true"/>
          <nvpair id="S-clone-max" name="clone-max" value="1"/>
        </meta_attributes>
        <primitive id="S" class="ocf" provider="pacemaker" type="Stateful">
          <instance_attributes id="S-params">
            <nvpair id="S-state" name="state" value="{state}"/>
            <nvpair id="S-envfile" name="envfile" value="{envfile}"/>
          </instance_attributes>
          <meta_attributes id="S-meta">
            <nvpair id="S-threshold" name="migration-threshold" value="{threshold}"/>
          </meta_attributes>
          <operations>
            <op id="S-monitor-promoted" name="monitor" interval="1s" role="Promoted" timeout="10s"/>
            <op id="S-monitor-unpromoted" name="monitor" interval="2s" role="Unpromoted" timeout="10s"/>
          </operations>
        </primitive>
      </clone>"""


def actions(envfile: Path) -> list[dict[str, str]]:
    """Each action the agent ran, with its environment (Stateful's ``envfile`` dump)."""
    if not envfile.exists():
        return []
    found = []
    for block in re.findall(r"### (\w+) @ [^#]*###\n(.*?)\n###", envfile.read_text(), re.S):
        env = dict(line.split("=", 1) for line in block[1].splitlines() if "=" in line)
        found.append({"action": block[0], **env})
    return found


def status(daemon: Daemon, form: str = "json") -> str:
    done = subprocess.run([str(VIGIL), "status", "--format", form, "--state-dir", str(daemon.state_dir)],
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout


def since(envfile: Path, count: int) -> list[dict[str, str]]:
    return actions(envfile)[count:]


def meta(action: dict[str, str], name: str) -> str | None:
    return action.get(f"OCF_RESKEY_CRM_meta_{name}")


@needs_dummy
def test_stateful_is_promoted_and_a_promoted_failure_is_recovered_and_promoted_again(
    daemon: Daemon, tmp_path: Path
) -> None:
    state, envfile = tmp_path / "S.state", tmp_path / "S.env"
    forced_rc = Path(f"{state}.rc")
    daemon.write_config(cib(stateful_clone(state, envfile, threshold=2)))
    daemon.start()
    wait_for("S to be promoted", lambda: state.exists() and state.read_text().strip() == "Promoted")
    wait_for("the cluster to settle", daemon.is_settled)
    text = status(daemon, "text")
    assert "Clone Set: S-clone [S] (promotable):" in text and "Promoted: [ n1 ]" in text, text
    assert daemon.attribute("master-S") == "10", "Stateful's crm_attribute --promotion reached the node"
    monitors = [a for a in actions(envfile) if a["action"] == "monitor" and meta(a, "interval") == "1000"]
    assert monitors and all(meta(a, "role") == "Promoted" for a in monitors)

    # Fail the promoted instance once: its monitor says 9 (failed while promoted) until the demote.
    seen = len(actions(envfile))
    forced_rc.write_text("9\n")
    wait_for("the recovery's demote", lambda: any(a["action"] == "demote" for a in since(envfile, seen)))
    forced_rc.unlink()
    wait_for("S to be promoted again", lambda: any(a["action"] == "promote" for a in since(envfile, seen)))
    wait_for("the cluster to settle", daemon.is_settled)
    recovery = [a for a in since(envfile, seen) if a["action"] != "monitor"]
    steps = [a["action"] for a in recovery if a["action"] != "notify"]
    assert steps == ["demote", "stop", "start", "promote"], steps
    demote, stop, start, promote = (next(a for a in recovery if a["action"] == step) for step in steps)
    # One failure of a budget of two: one recovery left, and the node promotes S again.
    assert (meta(demote, "demote_reason"), meta(demote, "demote_final")) == ("failure", "false")
    assert meta(demote, "demote_next_node") == "n1"
    assert (meta(stop, "stop_reason"), meta(stop, "stop_final"), meta(stop, "recoveries_left")) == (
        "failure", "false", "1")
    assert meta(promote, "promote_reason") == "recovery"
    assert meta(start, "start_reason") == "recovery"
    # Each action that sets the promotion score aborts its transition, as in Pacemaker, so the
    # post-notifications are not sent; the pre-notifications come before each step.
    notifies = [a for a in recovery if a["action"] == "notify"]
    assert {(meta(a, "notify_type"), meta(a, "notify_operation")) for a in notifies} >= {
        ("pre", "demote"), ("pre", "stop"), ("pre", "promote")}
    assert state.read_text().strip() == "Promoted"
    assert "Recover S:0 ( Promoted n1 )" in daemon.log()

    # The second failure uses up the budget: the last stop says so, and S stays stopped here.
    seen = len(actions(envfile))
    forced_rc.write_text("9\n")
    wait_for("the final stop", lambda: any(a["action"] == "stop" for a in since(envfile, seen)))
    forced_rc.unlink()
    wait_for("the cluster to settle", daemon.is_settled)
    final = [a for a in since(envfile, seen) if a["action"] in ("demote", "stop", "start", "promote")]
    assert [a["action"] for a in final] == ["demote", "stop"], [a["action"] for a in final]
    assert (meta(final[0], "demote_reason"), meta(final[0], "demote_final")) == ("failure", "true")
    assert (meta(final[1], "stop_final"), meta(final[1], "recoveries_left")) == ("true", "0")
    assert not state.exists()
    assert "Stopped: [ n1 ]" in status(daemon, "text")
