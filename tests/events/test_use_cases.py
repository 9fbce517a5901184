"""The use cases of the 2016 discussion, end to end under the real daemon.

- haproxy backend: an alert agent (examples/alerts/alert_haproxy.py) puts the
  resource's server in ``maint`` through haproxy's admin socket on a final
  stop (or the recovery-exhausted event) and leaves haproxy alone on a
  restart in place; a real haproxy (Debian's) runs on 127.0.0.1, and the
  test reads ``show servers state``.
- nova-compute: a recovery-aware agent (examples/agents/ComputeService)
  disables the compute service only on the final stop and enables it again
  on the next start; nova's os-services API is a **test double** here (a
  small HTTP server on 127.0.0.1 that records the calls, tests/events/receivers.py).
- a central service told through a webhook, and ``on-recovery-exhausted=standby``.
- libvirtd cannot be restarted: ``on-recovery-exhausted=fence`` on a cloned
  libvirtd stand-in fences the node with Debian's ``fence_dummy``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.daemon.conftest import log_lines, primitive
from tests.events.cibs import alert, cleanup, events_cib, fail_count
from tests.events.conftest import (
    EXAMPLES,
    Daemon,
    Haproxy,
    needs_alert_samples,
    needs_fence_dummy,
    needs_haproxy,
    wait_for,
)
from tests.events.receivers import http_receiver
from vigil.events.alerts import WEBHOOK_PATH

HAPROXY_AGENT = EXAMPLES / "alerts" / "alert_haproxy.py"


def decisions(path: Path, prefix: str) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line.startswith(prefix)]


@needs_haproxy
def test_three_failures_one_disable_on_the_final_stop_and_maint_only_after_the_third(
    daemon: Daemon, tmp_path: Path, haproxy: Haproxy
) -> None:
    state, decided = tmp_path / "web.state", tmp_path / "web.decisions"
    with http_receiver(nova=True) as (nova_url, nova):
        params = {"state": str(state), "nova_url": f"{nova_url}/v2.1", "host": "n1", "log": str(decided)}
        web = primitive("web", "ocf:examples:ComputeService", params, threshold=3)
        haproxy_alert = alert("haproxy", str(HAPROXY_AGENT), (str(haproxy.socket_path),),
                              params={"haproxy_server": "be_{rsc}/{node}", "haproxy_resources": "web"},
                              select=("resources",))
        daemon.write_config(events_cib(web, haproxy_alert))

        def ready_alerts() -> int:
            return daemon.log().count("be_web/n1 is now ready (start of web on n1)")

        def calls(action: str) -> int:
            return nova.count("PUT", f"/v2.1/os-services/{action}")

        daemon.start()
        wait_for("web to start", state.exists)
        wait_for("the cluster to settle", daemon.is_settled)
        wait_for("the start's alert", lambda: ready_alerts() == 1)
        assert not haproxy.in_maint("be_web", "n1")
        for failure in (1, 2):
            state.unlink()
            wait_for(f"restart {failure}", lambda n=failure: ready_alerts() == n + 1)  # type: ignore[misc]
            wait_for("the cluster to settle", daemon.is_settled)
            assert (calls("disable"), calls("enable")) == (0, 0), f"nova was called on restart {failure}"
            assert not haproxy.in_maint("be_web", "n1"), f"haproxy changed on restart {failure}"
        state.unlink()  # the third failure: migration-threshold reached, nowhere else to go
        wait_for("the final stop's disable", lambda: calls("disable") == 1)
        wait_for("haproxy's server in maint", lambda: haproxy.in_maint("be_web", "n1"))
        wait_for("the cluster to settle", daemon.is_settled)
        assert (calls("disable"), calls("enable")) == (1, 0)
        assert nova.bodies("PUT", "/v2.1/os-services/disable") == [{"host": "n1", "binary": "nova-compute"}]
        assert [line.split()[1] for line in decisions(decided, "stop")] == ["light", "light", "final"]
        assert "stop final disable=ok stop_reason=failure stop_final=true recoveries_left=0" in \
            decisions(decided, "stop")[-1]
        assert "put be_web/n1 in maint" not in daemon.log()  # it was the agent, not vigil, that spoke

        # An operator cleans up: the start after a final stop enables the service again.
        cleanup(daemon, "web")
        wait_for("web to start again", state.exists)
        wait_for("the re-enable", lambda: calls("enable") == 1)
        wait_for("haproxy's server ready again", lambda: not haproxy.in_maint("be_web", "n1"))
        assert calls("disable") == 1
        assert decisions(decided, "start")[-1].startswith("start enable=ok")


def _is_exhausted(body: Any) -> bool:
    return isinstance(body, dict) and body.get("task") == "recovery-exhausted"


def test_exhausted_recovery_reaches_a_webhook_and_puts_the_node_in_standby(
    daemon: Daemon, tmp_path: Path
) -> None:
    svc_state, other_state = tmp_path / "svc.state", tmp_path / "other.state"
    svc_log, other_log = tmp_path / "svc.log", tmp_path / "other.log"
    with http_receiver(fail_once_if=_is_exhausted) as (url, central):
        resources = (
            primitive("svc", "ocf:test:Recorder", {"state": str(svc_state), "log": str(svc_log)}, threshold=2,
                      meta={"on-recovery-exhausted": "standby"})
            + primitive("other", "ocf:test:Recorder", {"state": str(other_state), "log": str(other_log)})
        )
        hook = alert("central", WEBHOOK_PATH, (f"{url}/events",),
                     meta={"timeout": "5s", "retries": "2", "retry-delay": "200ms"}, select=("resources",))
        daemon.write_config(events_cib(resources, hook))
        daemon.start()
        wait_for("both to start", lambda: svc_state.exists() and other_state.exists())
        wait_for("the cluster to settle", daemon.is_settled)
        svc_state.unlink()
        wait_for("svc's recovery", lambda: len(log_lines(svc_log, "start")) == 2)
        wait_for("the cluster to settle", daemon.is_settled)
        svc_state.unlink()
        wait_for("other to leave the node in standby", lambda: len(log_lines(other_log, "stop")) == 1)
        wait_for("the event, delivered on the second attempt",
                 lambda: len([b for b in central.bodies("POST", "/events") if _is_exhausted(b)]) == 2)
        wait_for("the cluster to settle", daemon.is_settled)

    assert daemon.attribute("standby") == "on"
    [stop] = log_lines(other_log, "stop")
    assert (stop["stop_reason"], stop["stop_final"]) == ("standby", "true")
    first, second = [b for b in central.bodies("POST", "/events") if _is_exhausted(b)]
    assert first == second  # the same event, retried
    fields = ("kind", "resource", "node", "fail_count", "migration_threshold", "recoveries_left", "next_node",
              "policy")
    assert [second[name] for name in fields] == ["resource", "svc", "n1", "2", "2", "0", None, "standby"]
    assert second["environment"]["CRM_alert_task"] == "recovery-exhausted" and second["origin"] == "n1"
    # Every other resource event reached the receiver as well, each once.
    tasks = [b["task"] for b in central.bodies("POST", "/events") if b["resource"] == "other"]
    assert tasks.count("start") == 1 and tasks.count("stop") == 1
    assert not svc_state.exists() and not other_state.exists()


@needs_fence_dummy
@needs_alert_samples
def test_libvirtd_that_cannot_be_restarted_gets_its_node_fenced(
    daemon: Daemon, tmp_path: Path, alert_file_agent: Path
) -> None:
    state, log = tmp_path / "libvirtd.state", tmp_path / "libvirtd.log"
    power, alerts_log = tmp_path / "power", tmp_path / "alerts.log"
    libvirtd = primitive("libvirtd", "ocf:test:Recorder", {"state": str(state), "log": str(log)})
    resources = (
        f'<primitive id="fence-n1" class="stonith" type="fence_dummy">'
        f'<instance_attributes id="fence-n1-params"><nvpair id="fence-n1-status" name="status_file" '
        f'value="{power}"/></instance_attributes>'
        f'<operations><op id="fence-n1-monitor" name="monitor" interval="60s"/></operations></primitive>'
        f'<clone id="libvirtd-clone"><meta_attributes id="libvirtd-clone-meta">'
        f'<nvpair id="lc-threshold" name="migration-threshold" value="2"/>'
        f'<nvpair id="lc-policy" name="on-recovery-exhausted" value="fence"/></meta_attributes>'
        f"{libvirtd}</clone>"
    )
    file_alert = alert("file", str(alert_file_agent), (str(alerts_log),), select=("fencing", "resources"))
    daemon.write_config(events_cib(resources, file_alert, fencing=True))
    daemon.start()
    wait_for("libvirtd to start", state.exists)
    wait_for("the cluster to settle", daemon.is_settled)
    assert not power.exists()  # the device's start ran its monitor, which changes nothing
    state.unlink()
    wait_for("libvirtd's restart", lambda: len(log_lines(log, "start")) == 2)
    wait_for("the cluster to settle", daemon.is_settled)
    state.unlink()  # the second failure: libvirtd cannot be restarted here
    wait_for("the node to be fenced", lambda: power.exists() and power.read_text().strip() == "on")
    wait_for("the fencing alert", lambda: "Fencing Operation reboot of n1 by n1 for vigil." in
             (alerts_log.read_text() if alerts_log.exists() else ""))
    # Fenced, the node forgot its state as after a reboot: libvirtd starts afresh.
    wait_for("libvirtd to start after the fencing", lambda: len(log_lines(log, "start")) == 3)
    wait_for("the cluster to settle", daemon.is_settled)
    assert log_lines(log, "start")[-1]["start_reason"] == "initial"
    assert fail_count(daemon, "libvirtd") is None
    text = alerts_log.read_text()
    assert "Resource operation 'recovery-exhausted' for 'libvirtd' on 'n1': recovery exhausted: " \
           "fail-count 2 reached migration-threshold 2; stays stopped" in text
    fencing = [line for line in text.splitlines() if "Fencing Operation" in line]
    assert len(fencing) == 1 and ": OK (ref=" in fencing[0]
    assert "was fenced: probing every resource" in daemon.log()
