"""Alert agents under the real daemon: Pacemaker's own sample agent, the stop context, slow agents.

``vigil run`` with a real SQLite store and real agents; the alert agents
are Debian's ``alert_file.sh.sample`` (Pacemaker's, unmodified) and small
shell agents the tests write.  A failure is made by removing the Recorder
agent's state file.  That slow or failing alert agents never delay a
recovery is shown in-process, in ``test_alerts_in_process.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.daemon.conftest import log_lines, primitive
from tests.events.cibs import alert, events_cib, fail_count
from tests.events.conftest import Daemon, needs_alert_samples, wait_for

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}: ")
SEQUENCED = re.compile(r"^(\d{4})\.  (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \(")


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def messages(path: Path) -> list[str]:
    """The sample agent's lines without their time stamp (and sequence number) prefix."""
    found = []
    for line in lines(path):
        text = line.split("): ", 1)[1] if SEQUENCED.match(line) else STAMP.sub("", line)
        found.append(text)
    return found


def context_agent(tmp_path: Path) -> Path:
    """An alert agent writing down what each resource event says, stop context included."""
    agent = tmp_path / "context.sh"
    agent.write_text('#!/bin/sh\n[ "$CRM_alert_kind" = resource ] || exit 0\n'
                     'echo "$CRM_alert_task interval=$CRM_alert_interval rc=$CRM_alert_rc '
                     'stop_reason=${CRM_alert_stop_reason-} stop_final=${CRM_alert_stop_final-} '
                     'recoveries_left=${CRM_alert_recoveries_left-} start_reason=${CRM_alert_start_reason-}" '
                     '>> "$CRM_alert_recipient"\n')
    agent.chmod(0o755)
    return agent


@needs_alert_samples
def test_pacemakers_sample_file_agent_records_the_life_of_a_resource(
    daemon: Daemon, tmp_path: Path, alert_file_agent: Path
) -> None:
    state, log = tmp_path / "svc.state", tmp_path / "svc.log"
    plain, ordered, context = tmp_path / "alerts.log", tmp_path / "ordered.log", tmp_path / "context.log"
    alerts = (
        alert("file", str(alert_file_agent), {"file-plain": str(plain), "file-ordered": str(ordered)},
              meta={"timestamp-format": "%Y-%m-%d %H:%M:%S.%3N"},
              params={"debug_exec_order": "false"},
              select=("nodes", "resources", "attributes"),
              recipient_params={"file-ordered": {"debug_exec_order": "true"}})
        + alert("context", str(context_agent(tmp_path)), (str(context),))
    )
    svc = primitive("svc", "ocf:test:Recorder", {"state": str(state), "log": str(log)}, threshold=2)
    daemon.write_config(events_cib(svc, alerts))
    daemon.start()
    wait_for("svc to start", state.exists)
    wait_for("the cluster to settle", daemon.is_settled)
    wait_for("the start alerts", lambda: "Resource operation 'monitor (1000)' for 'svc' on 'n1': ok"
             in messages(plain))
    assert "Node 'n1' is now 'member'" in messages(plain)
    assert "Resource operation 'start' for 'svc' on 'n1': ok" in messages(plain)
    # The probe found what it expected (not running): no alert, as in Pacemaker.
    assert not [m for m in messages(plain) if m.startswith("Resource operation 'monitor' ")]

    state.unlink()  # failure 1 of 2: recovered in place
    wait_for("the recovery", lambda: len(log_lines(log, "start")) == 2)
    wait_for("the cluster to settle", daemon.is_settled)
    state.unlink()  # failure 2 of 2: the cluster gives up
    exhausted = ("Resource operation 'recovery-exhausted' for 'svc' on 'n1': recovery exhausted: "
                 "fail-count 2 reached migration-threshold 2; stays stopped")
    wait_for("the recovery-exhausted alert", lambda: exhausted in messages(plain))
    wait_for("the cluster to settle", daemon.is_settled)
    assert daemon.stop() == 0
    wait_for("the node-lost alert", lambda: "Node 'n1' is now 'lost'" in messages(plain), timeout=5)

    seen = messages(plain)
    assert seen.count("Resource operation 'monitor (1000)' for 'svc' on 'n1': not running") == 2
    assert seen.count("Resource operation 'stop' for 'svc' on 'n1': ok") == 2
    assert seen.count("Resource operation 'start' for 'svc' on 'n1': ok") == 2
    assert "Attribute 'fail-count-svc#monitor_1000' on node 'n1' was updated to '1'" in seen
    assert "Attribute 'fail-count-svc#monitor_1000' on node 'n1' was updated to '2'" in seen
    assert all(STAMP.match(line) for line in lines(plain)), lines(plain)
    # The other recipient got the same events, with the sample's debug_exec_order: numbered in order.
    assert sorted(messages(ordered)) == sorted(seen)
    numbers = [int(SEQUENCED.match(line).group(1)) for line in lines(ordered)]  # type: ignore[union-attr]
    assert len(set(numbers)) == len(numbers)
    # Stops carry the stop context to alert agents.
    stops = [line for line in lines(context) if line.startswith("stop ")]
    assert stops == [
        "stop interval=0 rc=0 stop_reason=failure stop_final=false recoveries_left=1 start_reason=",
        "stop interval=0 rc=0 stop_reason=failure stop_final=true recoveries_left=0 start_reason=",
    ]
    restart = "start interval=0 rc=0 stop_reason= stop_final= recoveries_left=1 start_reason=recovery"
    assert restart in lines(context)
    assert any(line.startswith("recovery-exhausted interval=0 ") for line in lines(context))
    assert fail_count(daemon, "svc") == "2"
