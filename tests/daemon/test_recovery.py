"""`vigil run` keeps a resource up: failed monitors, the recovery budget, and giving up.

Real daemon, real SQLite store, real agents: Debian's ``ocf:heartbeat:Dummy``
and the test agent ``ocf:test:Recorder``, which writes down the stop context
each action was given.  A failure is made by removing the agent's state
file, which its monitor then reports as "not running".  What needs only the
controller's logic (the stop context counting down to the final stop, a
cleanup, the failure-timeout timer) is tested in-process, in
``tests/controller/test_loop.py``.
"""

from __future__ import annotations

from pathlib import Path

from tests.daemon.conftest import Daemon, cib, log_lines, needs_dummy, primitive, wait_for


def fail_count(daemon: Daemon, rsc: str) -> int:
    state = daemon.snapshot().cluster.status.node(daemon.node)
    assert state is not None
    return sum(int(v) if v != "INFINITY" else 1_000_000 for k, v in state.attributes
               if k.startswith(f"fail-count-{rsc}#"))


@needs_dummy
def test_a_failed_monitor_of_dummy_is_recovered_in_place(daemon: Daemon, tmp_path: Path) -> None:
    state = tmp_path / "web.state"
    daemon.write_config(cib(primitive("web", "ocf:heartbeat:Dummy", {"state": str(state)}, threshold=3)))
    daemon.start()
    wait_for("web to start", state.exists)
    wait_for("the cluster to settle", daemon.is_settled)
    started = state.stat().st_mtime_ns
    state.unlink()
    wait_for("web to be recovered", lambda: state.exists() and state.stat().st_mtime_ns != started)
    wait_for("the cluster to settle", daemon.is_settled)
    assert fail_count(daemon, "web") == 1
    view = daemon.resource("web")
    assert view.role == "Started" and view.nodes == (daemon.node,) and not view.failed
    assert "Recover web ( n1 )" in daemon.log()
    assert daemon.stop() == 0
    assert not state.exists(), "the graceful stop stops the resource"


def test_sigterm_stops_a_group_in_reverse_order_telling_each_stop_why(daemon: Daemon, tmp_path: Path) -> None:
    log = tmp_path / "group.log"
    members = "\n".join(
        primitive(name, "ocf:test:Recorder", {"state": str(tmp_path / f"{name}.state"), "log": str(log)})
        for name in ("first", "second", "third")
    )
    daemon.write_config(cib(f'<group id="stack">\n{members}\n</group>'))
    daemon.start()
    wait_for("the group to start", lambda: len(log_lines(log, "start")) == 3)
    assert [s["instance"] for s in log_lines(log, "start")] == ["first", "second", "third"]
    assert daemon.stop() == 0
    stops = log_lines(log, "stop")
    assert [s["instance"] for s in stops] == ["third", "second", "first"]
    assert {(s["stop_reason"], s["stop_final"]) for s in stops} == {("shutdown", "true")}
    assert not any((tmp_path / f"{name}.state").exists() for name in ("first", "second", "third"))
    assert daemon.resource("first").role == "Stopped"


def test_leave_running_keeps_resources_up_and_a_restart_does_not_restart_them(
    daemon: Daemon, tmp_path: Path
) -> None:
    state, log = tmp_path / "svc.state", tmp_path / "svc.log"
    daemon.write_config(cib(primitive("svc", "ocf:test:Recorder", {"state": str(state), "log": str(log)})))
    daemon.start(leave_running=True)
    wait_for("svc to start", state.exists)
    wait_for("the cluster to settle", daemon.is_settled)
    assert daemon.stop() == 0
    assert state.exists() and log_lines(log, "stop") == []
    daemon.start()
    wait_for("the restarted daemon to find svc running", lambda: any(
        e.record.is_probe and e.record.rc == 0 for e in daemon.operation_log()))
    wait_for("the restarted daemon to settle", daemon.is_settled)
    assert len(log_lines(log, "start")) == 1 and log_lines(log, "stop") == []
    assert daemon.resource("svc").role == "Started"
