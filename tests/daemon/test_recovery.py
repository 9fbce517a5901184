"""`vigil run` keeps a resource up: failed monitors, the recovery budget, and giving up.

Real daemon, real SQLite store, real agents: Debian's ``ocf:heartbeat:Dummy``
and the test agent ``ocf:test:Recorder``, which writes down the stop context
each action was given.  A failure is made by removing the agent's state
file, which its monitor then reports as "not running".
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.daemon.conftest import Daemon, cib, log_lines, needs_dummy, primitive, wait_for
from vigil.daemon.statedir import store_url
from vigil.store import open_store


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


def test_the_stop_context_counts_down_and_the_third_failure_is_final(daemon: Daemon, tmp_path: Path) -> None:
    state, log = tmp_path / "svc.state", tmp_path / "svc.log"
    daemon.write_config(cib(primitive("svc", "ocf:test:Recorder", {"state": str(state), "log": str(log)},
                                      threshold=3)))
    daemon.start()
    wait_for("svc to start", state.exists)
    first_start = log_lines(log, "start")
    assert [s["start_reason"] for s in first_start] == ["initial"]
    for failure in (1, 2, 3):
        wait_for("the cluster to settle", daemon.is_settled)
        state.unlink()
        wait_for(f"stop number {failure}", lambda n=failure: len(log_lines(log, "stop")) == n)  # type: ignore[misc]
    wait_for("the cluster to settle", daemon.is_settled)
    stops = log_lines(log, "stop")
    assert [(s["stop_reason"], s["recoveries_left"], s["retries_left"], s["stop_final"]) for s in stops] == [
        ("failure", "2", "2", "false"),
        ("failure", "1", "1", "false"),
        ("failure", "0", "0", "true"),
    ]
    assert [s["stop_next_node"] for s in stops] == ["n1", "n1", ""]
    starts = log_lines(log, "start")
    assert [(s["start_reason"], s["recoveries_left"]) for s in starts] == [
        ("initial", ""), ("recovery", "2"), ("recovery", "1"),
    ]
    # One node and no budget left: it stays stopped, and says so.
    assert not state.exists()
    view = daemon.resource("svc")
    assert view.role == "Stopped"
    assert fail_count(daemon, "svc") == 3

    # A cleanup (fail-count and history forgotten) from another process brings it back.
    async def cleanup() -> None:
        async with open_store(store_url(daemon.state_dir), create=False) as store:
            await store.clear_failcount(daemon.node, "svc")
            await store.forget_resource(daemon.node, "svc")

    asyncio.run(cleanup())
    wait_for("svc to start again after the cleanup", state.exists)
    assert log_lines(log, "start")[-1]["start_reason"] == "initial"


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


def test_an_expired_failure_timeout_brings_a_given_up_resource_back_by_itself(
    daemon: Daemon, tmp_path: Path
) -> None:
    """No change arrives when a failure expires: the controller wakes at the time the scheduler names."""
    state, log = tmp_path / "svc.state", tmp_path / "svc.log"
    daemon.write_config(cib(primitive("svc", "ocf:test:Recorder", {"state": str(state), "log": str(log)},
                                      threshold=1, meta={"failure-timeout": "4s"})))
    daemon.start()
    wait_for("svc to start", state.exists)
    wait_for("the cluster to settle", daemon.is_settled)
    state.unlink()
    wait_for("svc to be given up on", lambda: log_lines(log, "stop") != [])
    assert log_lines(log, "stop")[0]["stop_final"] == "true"
    wait_for("the failure to expire and svc to start again", state.exists, timeout=30)
    starts = log_lines(log, "start")
    assert len(starts) == 2
    wait_for("the expired fail-count to be cleared", lambda: fail_count(daemon, "svc") == 0)
    assert "timer (failure-timeout or cluster-recheck-interval)" in daemon.log()
