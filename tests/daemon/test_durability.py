"""kill -9 of the daemon in the middle of a transition loses nothing and restarts nothing healthy.

Every result and fail-count is committed to SQLite before the controller
acts on it, so what the store held when the daemon died is all still there
after a restart; the restarted daemon forgets its old beliefs about what
runs (the history), probes, and plans from what it finds.
"""

from __future__ import annotations

from pathlib import Path

from tests.daemon.conftest import Daemon, cib, log_lines, primitive, wait_for


def failcount(daemon: Daemon, rsc: str) -> dict[str, str]:
    state = daemon.snapshot().cluster.status.node(daemon.node)
    assert state is not None
    return {k: v for k, v in state.attributes if k.startswith((f"fail-count-{rsc}#", f"last-failure-{rsc}#"))}


def test_kill_9_mid_transition_loses_no_record_and_restarts_nothing_healthy(
    daemon: Daemon, tmp_path: Path
) -> None:
    healthy_state, healthy_log = tmp_path / "healthy.state", tmp_path / "healthy.log"
    flaky_state, flaky_log = tmp_path / "flaky.state", tmp_path / "flaky.log"
    slow = tmp_path / "slow-start"
    daemon.write_config(cib(
        primitive("healthy", "ocf:test:Recorder", {"state": str(healthy_state), "log": str(healthy_log)})
        + primitive("flaky", "ocf:test:Recorder", {"state": str(flaky_state), "log": str(flaky_log),
                                                    "slow_file": str(slow), "slow_seconds": "4"},
                    threshold=5)
    ))
    daemon.start()
    wait_for("both to start", lambda: healthy_state.exists() and flaky_state.exists())
    wait_for("the cluster to settle", daemon.is_settled)
    # One failure, recovered in place.
    flaky_state.unlink()
    wait_for("the first recovery", lambda: len(log_lines(flaky_log, "start")) == 2)
    wait_for("the cluster to settle", daemon.is_settled)

    # A second failure, whose recovery's start hangs: kill -9 while it runs.
    slow.touch()
    flaky_state.unlink()
    # Recorded, not just run: the start that hangs comes after the stop's record.
    wait_for("the second recovery's stop to be recorded", lambda: sum(
        1 for e in daemon.operation_log() if e.resource == "flaky" and e.record.operation == "stop") == 2)
    daemon.kill9()
    before = daemon.snapshot()
    logged_before = daemon.operation_log()
    assert failcount(daemon, "flaky")["fail-count-flaky#monitor_1000"] == "2"
    assert [e.record.operation for e in logged_before if e.resource == "flaky"][-2:] == ["monitor", "stop"]
    slow.unlink()

    daemon.start()
    wait_for("flaky to run again", lambda: daemon.resource("flaky").role == "Started", timeout=30)
    wait_for("the cluster to settle", daemon.is_settled)
    after = daemon.operation_log()
    # Nothing recorded before the kill is gone, fail-counts included.
    assert after[: len(logged_before)] == logged_before
    assert failcount(daemon, "flaky") == {
        k: v for k, v in before.cluster.status.node(daemon.node).attributes  # type: ignore[union-attr]
        if k.startswith(("fail-count-flaky#", "last-failure-flaky#"))
    }
    # The healthy resource was found running by a probe, and left alone.
    assert len(log_lines(healthy_log, "start")) == 1 and log_lines(healthy_log, "stop") == []
    assert daemon.resource("healthy").role == "Started"
    assert any(e.resource == "healthy" and e.record.is_probe and e.record.rc == 0 for e in after)
