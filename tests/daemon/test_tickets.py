"""`vigil ticket` on a real `vigil run`: a resource with a ticket constraint starts when its ticket is
granted, stops when it is put in standby or revoked, starts again when activated; `vigil status`
and `vigil ticket list` show the ticket (crm_ticket, crm_mon --tickets)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.daemon.conftest import VIGIL, Daemon, cib, log_lines, primitive, wait_for

TICKET = '<rsc_ticket id="svc-needs-siteA" rsc="svc" ticket="siteA" loss-policy="stop"/>'


def vigil(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIGIL), *args, "--state-dir", str(daemon.state_dir)], capture_output=True,
                          text=True, check=False, timeout=60, env=daemon.env())


def test_a_resource_runs_only_while_its_ticket_is_granted_and_active(daemon: Daemon, tmp_path: Path) -> None:
    svc_log = tmp_path / "svc.log"
    daemon.write_config(cib(primitive("svc", "ocf:test:Recorder", {"state": str(tmp_path / "svc.state"),
                                                                    "log": str(svc_log)}),
                            constraints=TICKET))
    daemon.start()
    wait_for("the cluster to settle", daemon.is_settled)
    assert log_lines(svc_log, "start") == [], "svc started without its ticket"
    listed = vigil(daemon, "ticket")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["siteA", "revoked", "needed", "by", "svc"]

    granted = vigil(daemon, "ticket", "grant", "siteA")
    assert granted.returncode == 0 and "granted" in granted.stdout, granted.stderr
    wait_for("svc to start on the grant", lambda: len(log_lines(svc_log, "start")) == 1)
    status = json.loads(vigil(daemon, "status", "--format", "json").stdout)
    assert [(t["id"], t["granted"], t["standby"]) for t in status["tickets"]] == [("siteA", True, False)]

    assert vigil(daemon, "ticket", "standby", "siteA").returncode == 0
    wait_for("svc to stop for the standby", lambda: len(log_lines(svc_log, "stop")) == 1)
    assert "siteA" in vigil(daemon, "status").stdout
    assert vigil(daemon, "ticket", "activate", "siteA").returncode == 0
    wait_for("svc to start again", lambda: len(log_lines(svc_log, "start")) == 2)

    revoked = vigil(daemon, "ticket", "revoke", "siteA")
    assert revoked.returncode == 0 and "loss-policy: stop" in revoked.stdout, revoked.stderr
    wait_for("svc to stop on the revoke", lambda: len(log_lines(svc_log, "stop")) == 2)
    wait_for("the cluster to settle", daemon.is_settled)
    assert len(log_lines(svc_log, "start")) == 2

    bad = vigil(daemon, "ticket", "grant", "no good")
    assert bad.returncode == 2 and "not a valid ticket name" in bad.stderr and "Traceback" not in bad.stderr
    assert daemon.stop() == 0
