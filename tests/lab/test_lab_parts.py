"""The fault lab's parts, without a cluster: its agents, its timeline, its audits, its schedule.

The audits are what the lab's verdicts rest on, so each one is shown to
fail on the history that breaks it (two nodes at once, a start before the
fencing, a failure lost or counted twice, a resource where the store does
not say), and to pass on the history that does not.  The two agents run as
the processes vigil runs.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_lab import main as fault_lab_main

from vigil.fencing import agent
from vigil.fencing.agent import parse_fence_metadata
from vigil.model.scores import INFINITY
from vigil.testing.cluster import TAG_VARIABLE
from vigil.testing.lab import audits, workspace
from vigil.testing.lab.activity import ActivityReader, Event, Timeline, Violation, event_line, parse_line
from vigil.testing.lab.known import KNOWN_ISSUES, KnownIssue, tolerated
from vigil.testing.lab.report import StepResult, figures, percentile
from vigil.testing.lab.schedule import KINDS, make_schedule
from vigil.testing.lab.workspace import FENCE_AGENT, PROBE, PROVIDER, LabPaths, configuration, install

CLONES = frozenset({"Cp"})


def ev(t: float, kind: str, node: str, rsc: str | None = "A", **more: object) -> Event:
    return parse_line(event_line(t, kind, node, rsc=rsc, **more))


def timeline(*events: Event) -> Timeline:
    line = Timeline(CLONES)
    line.add(events)
    line.advance(max(e.t for e in events) + 1)
    return line


def audits_of(line: Timeline) -> list[str]:
    return [v.audit for v in line.violations]


# -- the timeline: never active on two nodes ----------------------------------------------------


def test_a_start_elsewhere_after_the_stop_ended_is_no_violation() -> None:
    line = timeline(ev(1, "start-begin", "node1"), ev(2, "stop-begin", "node1"), ev(3, "stop-ok", "node1"),
                    ev(4, "start-begin", "node2"))
    assert audits_of(line) == []
    assert line.active() == {("A", "node2")}


def test_a_start_elsewhere_before_the_stop_ended_is_active_on_two_nodes() -> None:
    line = timeline(ev(1, "start-begin", "node1"), ev(2, "stop-begin", "node1"),
                    ev(3, "start-begin", "node2"), ev(4, "stop-ok", "node1"))
    assert audits_of(line) == ["active on two nodes"]
    assert "node1" in line.violations[0].lines[0] and "node2" in line.violations[0].lines[1]


def test_a_failed_start_still_counts_as_active_until_stopped() -> None:
    line = timeline(ev(1, "start-begin", "node1"), ev(2, "start-fail", "node1", rc=1),
                    ev(3, "start-begin", "node2"))
    assert audits_of(line) == ["active on two nodes"]


def test_a_fencing_ends_what_the_node_ran() -> None:
    fenced_first = timeline(ev(1, "start-begin", "node1"), ev(2, "fence", "node1", rsc=None),
                            ev(3, "start-begin", "node2"))
    assert audits_of(fenced_first) == []
    started_first = timeline(ev(1, "start-begin", "node1"), ev(2, "start-begin", "node2"),
                             ev(3, "fence", "node1", rsc=None))
    assert audits_of(started_first) == ["active on two nodes"]


def test_clone_instances_may_run_on_every_node_at_once() -> None:
    nodes = ("node1", "node2", "node3")
    line = timeline(*(ev(t, "start-begin", node, rsc="Cp") for t, node in enumerate(nodes)))
    assert audits_of(line) == []
    assert len(line.active()) == 3


def test_a_fenced_node_that_acts_before_it_boots_again_is_a_violation() -> None:
    line = timeline(ev(1, "fence", "node1", rsc=None), ev(2, "monitor", "node1", interval=3000, rc=0))
    assert audits_of(line) == ["fenced means off"]
    rebooted = timeline(ev(1, "fence", "node1", rsc=None), ev(2, "boot", "node1", rsc=None),
                        ev(3, "start-begin", "node1"))
    assert audits_of(rebooted) == []


def test_events_that_arrive_out_of_order_are_taken_in_time_order() -> None:
    line = Timeline(CLONES)
    line.add([ev(3, "start-begin", "node2"), ev(1, "start-begin", "node1")])
    line.add([ev(2, "stop-ok", "node1")])
    line.advance(10)
    assert audits_of(line) == []


def test_events_after_the_cutoff_wait() -> None:
    line = Timeline(CLONES)
    line.add([ev(1, "start-begin", "node1"), ev(5, "stop-ok", "node1")])
    line.advance(2)
    assert line.active() == {("A", "node1")}
    line.advance(6)
    assert line.active() == set()


# -- failures as the store should count them ------------------------------------------------------


def test_a_recurring_monitor_failure_counts_once_per_change() -> None:
    line = timeline(ev(1, "start-begin", "node1"), ev(2, "start-ok", "node1"),
                    *(ev(t, "monitor", "node1", interval=3000, rc=7) for t in (3, 4, 5)),
                    ev(6, "monitor", "node1", interval=3000, rc=1))
    assert [(f.op_key, f.delta) for f in line.failures] == [("monitor_3000", 1), ("monitor_3000", 1)]


def test_a_new_vigil_counts_the_same_failure_again() -> None:
    line = timeline(ev(1, "monitor", "node1", interval=3000, rc=7), ev(2, "boot", "node1", rsc=None),
                    ev(3, "monitor", "node1", interval=3000, rc=7))
    assert len(line.failures) == 2


def test_start_and_stop_failures_are_infinite() -> None:
    line = timeline(ev(1, "start-fail", "node1", rc=1), ev(2, "stop-fail", "node1", rc=1))
    assert [(f.op_key, f.delta) for f in line.failures] == [("start_0", INFINITY), ("stop_0", INFINITY)]


def failcount_report(count: int, op: str = "monitor_3000", node: str = "node1") -> dict[str, object]:
    return {"failcounts": [{"resource": "A", "node": node, "count": count,
                            "operations": [{"operation": op, "count": count}]}] if count else []}


def test_the_store_must_count_each_failure_once() -> None:
    line = timeline(ev(1, "monitor", "node1", interval=3000, rc=7))
    assert audits.failcounts(failcount_report(1), line, [], {"A"}) == []
    lost = audits.failcounts(failcount_report(0), line, [], {"A"})
    twice = audits.failcounts(failcount_report(2), line, [], {"A"})
    assert [v.audit for v in lost] == ["fail-counts"] and "lost" in lost[0].message
    assert [v.audit for v in twice] == ["fail-counts"] and "counted twice" in twice[0].message


def test_a_failure_while_the_node_was_disturbed_may_be_lost() -> None:
    line = timeline(ev(5, "monitor", "node1", interval=3000, rc=7))
    window = [audits.Window(4, 9, frozenset({"node1"}))]
    assert audits.failcounts(failcount_report(0), line, window, {"A"}) == []
    assert audits.failcounts(failcount_report(1), line, window, {"A"}) == []
    assert audits.failcounts(failcount_report(2), line, window, {"A"}) != []


def test_a_fencing_and_a_cleanup_clear_the_count() -> None:
    fenced = timeline(ev(1, "stop-fail", "node1", rc=1), ev(2, "fence", "node1", rsc=None))
    assert audits.failcounts(failcount_report(0), fenced, [], {"A"}) == []
    assert audits.failcounts(failcount_report(INFINITY, "stop_0"), fenced, [], {"A"}) != []
    cleaned = timeline(ev(1, "monitor", "node1", interval=3000, rc=7),
                       ev(10, "cleanup", "", rsc="A", members="A", t0=9.0))
    assert audits.failcounts(failcount_report(0), cleaned, [], {"A"}) == []
    failed_cleanup = timeline(ev(1, "monitor", "node1", interval=3000, rc=7),
                              ev(10, "cleanup", "", rsc="A", members="A", t0=9.0, failed="1"))
    assert audits.failcounts(failcount_report(0), failed_cleanup, [], {"A"}) == []
    assert audits.failcounts(failcount_report(1), failed_cleanup, [], {"A"}) == []
    assert audits.failcounts(failcount_report(2), failed_cleanup, [], {"A"}) != []


def test_a_failed_action_no_agent_had_is_invented() -> None:
    report = {"failed_actions": [{"resource": "A", "node": "node2", "operation": "monitor",
                                  "interval_ms": 3000, "rc": 7, "status": "done"}]}
    line = timeline(ev(1, "monitor", "node1", interval=3000, rc=7))
    found = audits.failcounts(report, line, [], {"A"})
    assert any("never had" in v.message for v in found)
    line_here = timeline(ev(1, "monitor", "node2", interval=3000, rc=7))
    assert not any("never had" in v.message for v in audits.failcounts(report, line_here, [], {"A"}))


# -- placement, fencing before moving, tracebacks --------------------------------------------------


def status_with(*placed: tuple[str, list[str]]) -> dict[str, object]:
    return {"resources": [{"id": rsc, "kind": "primitive", "nodes": nodes, "members": []}
                          for rsc, nodes in placed]}


def test_placement_needs_the_store_the_files_and_the_log_to_agree() -> None:
    report = status_with(("A", ["node1"]), ("Cp:0", ["node1"]), ("Cp:1", ["node2"]))
    running = {("A", "node1"), ("Cp", "node1"), ("Cp", "node2")}
    assert audits.placement(report, running, running, {"A", "Cp"}) == []
    moved = audits.placement(report, {("A", "node2"), ("Cp", "node1"), ("Cp", "node2")}, running, {"A", "Cp"})
    assert [v.audit for v in moved] == ["runs where the store says"] * 2
    assert "A on node1" in moved[0].message and "A on node2" in moved[0].message


def test_a_node_recorded_lost_must_be_fenced_before_its_resource_starts_elsewhere() -> None:
    unfenced = timeline(ev(10, "start-begin", "node2"))
    found = audits.fenced_before_moved(unfenced, "node1", [5], {("A", "node1")}, CLONES)
    assert [v.audit for v in found] == ["fenced before moved"]
    fenced = timeline(ev(8, "fence", "node1", rsc=None), ev(10, "start-begin", "node2"))
    assert audits.fenced_before_moved(fenced, "node1", [5], {("A", "node1")}, CLONES) == []
    fenced_too_early = timeline(ev(4, "fence", "node1", rsc=None), ev(4.2, "boot", "node1", rsc=None),
                                ev(4.5, "start-begin", "node1"), ev(10, "start-begin", "node2"))
    assert audits.fenced_before_moved(fenced_too_early, "node1", [5], {("A", "node1")}, CLONES) != []
    never_lost = timeline(ev(10, "start-begin", "node2"))
    assert audits.fenced_before_moved(never_lost, "node1", [], {("A", "node1")}, CLONES) == []


def test_a_resource_moved_away_before_the_loss_is_not_the_lost_nodes() -> None:
    moved_first = timeline(ev(2, "stop-ok", "node1"), ev(3, "start-begin", "node3"),
                           ev(4, "stop-ok", "node3"), ev(10, "start-begin", "node2"))
    assert audits.fenced_before_moved(moved_first, "node1", [5], {("A", "node1")}, CLONES) == []
    came_back = timeline(ev(2, "stop-ok", "node1"), ev(3, "start-begin", "node1"),
                         ev(10, "start-begin", "node2"))
    assert audits.fenced_before_moved(came_back, "node1", [5], {("A", "node1")}, CLONES) != []


def test_a_lost_node_that_came_back_and_was_probed_needs_no_fencing() -> None:
    probed = timeline(ev(6, "stop-ok", "node1"), ev(8, "monitor", "node1", interval=0, rc=7),
                      ev(10, "start-begin", "node2"))
    assert audits.fenced_before_moved(probed, "node1", [5], {("A", "node1")}, CLONES) == []
    probed_before_the_loss = timeline(ev(4, "monitor", "node1", interval=0, rc=0),
                                      ev(10, "start-begin", "node2"))
    assert audits.fenced_before_moved(probed_before_the_loss, "node1", [5], {("A", "node1")}, CLONES) != []
    probed_after_the_start = timeline(ev(10, "start-begin", "node2"),
                                      ev(11, "monitor", "node1", interval=0, rc=7))
    assert audits.fenced_before_moved(probed_after_the_start, "node1", [5], {("A", "node1")}, CLONES) != []


def test_the_loss_of_a_node_is_read_from_the_controllers_log() -> None:
    epoch = 1_000_000.0
    line = ("2026-01-01 10:00:00,500 WARNING vigil.controller.loop: node node2 is lost"
            " (its membership lease expired)")
    logged_at = datetime.datetime(2026, 1, 1, 10, 0, 0, 500_000).timestamp()
    assert audits.lost_records(line + "\n", "node2", epoch) == [pytest.approx(logged_at - epoch)]
    assert audits.lost_records(line, "node1", epoch) == []


def test_every_traceback_in_a_log_is_reported_once(tmp_path: Path) -> None:
    log = tmp_path / "vigil.log"
    log.write_text("2026-01-01 10:00:00,000 INFO x: fine\n"
                   "2026-01-01 10:00:01,000 ERROR asyncio: Future exception was never retrieved\n"
                   "Traceback (most recent call last):\n  File \"a.py\", line 1\nValueError: no\n"
                   "2026-01-01 10:00:02,000 INFO x: fine again\n")
    watch = audits.LogWatch()
    found = watch.tracebacks([log])
    assert len(found) == 1 and found[0].lines[0].endswith("never retrieved")
    assert found[0].lines[-1] == "ValueError: no"
    assert watch.tracebacks([log]) == []
    with open(log, "a") as stream:
        stream.write("2026-01-01 10:00:03,000 ERROR y: boom\n"
                     "Traceback (most recent call last):\nKeyError: k\n")
    assert [len(v.lines) for v in watch.tracebacks([log])] == [3]


def test_only_the_tolerated_known_issue_is_counted_instead_of_failed() -> None:
    issue = KnownIssue("future-lost", "no traceback", r"never retrieved[\s\S]*store/etcd\.py", "a diagnosis")
    registry = {issue.name: issue}
    known = Violation("no traceback", "a traceback in x", (
        "2026-01-01 10:00:01,000 ERROR asyncio: Future exception was never retrieved",
        '  File "/work/main/src/vigil/store/etcd.py", line 284, in wrap'))
    other = Violation("no traceback", "a traceback in x", ("KeyError: k",))
    elsewhere = Violation("fail-counts", "never retrieved store/etcd.py")
    kept, seen = tolerated([known, other, elsewhere], ("future-lost",), registry)
    assert (kept, seen) == ([other, elsewhere], ["future-lost"])
    assert tolerated([known, other], (), registry) == ([known, other], [])
    assert all(issue.diagnosis for issue in KNOWN_ISSUES.values())


# -- schedule and results -----------------------------------------------------------------------------


def test_the_schedule_comes_from_the_seed_alone_and_a_shorter_run_is_its_prefix() -> None:
    long = make_schedule(42, 40)
    assert make_schedule(42, 40) == long
    assert make_schedule(42, 7) == long[:7]
    assert make_schedule(43, 40) != long
    assert {s.kind for s in long[:len(KINDS)]} == set(KINDS)


def test_the_schedule_draws_only_the_kinds_allowed() -> None:
    steps = make_schedule(3, 30, ("monitor-fail", "standby"))
    assert {s.kind for s in steps} == {"monitor-fail", "standby"}
    without_etcd = make_schedule(3, 60, tuple(k for k in KINDS if k not in ("kill-etcd", "pause-etcd")))
    assert {s.background for s in without_etcd} <= {"none", "kill-node"}
    assert {s.background for s in make_schedule(3, 60)} > {"none", "kill-node"}
    with pytest.raises(ValueError, match="unknown fault kind"):
        make_schedule(3, 3, ("reboot-the-moon",))


def test_recovery_figures_per_kind() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == 4.0
    assert percentile(list(map(float, range(1, 101))), 0.95) == 95.0
    results = [StepResult(1, "kill-node", "", recovery_s=10.0, held_s=1.0),
               StepResult(2, "kill-node", "", recovery_s=14.0, held_s=3.0),
               StepResult(3, "standby", "", recovery_s=None, violations=[Violation("x", "y")])]
    by_kind = {row.kind: row for row in figures(results)}
    killed = by_kind["kill-node"]
    assert (killed.runs, killed.median_s, killed.max_s) == (2, 12.0, 14.0)
    assert (by_kind["standby"].runs, by_kind["standby"].median_s, by_kind["standby"].failed) == (1, None, 1)


def test_the_script_refuses_an_unknown_kind_and_prints_a_replayable_schedule(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        fault_lab_main(["--only", "reboot-the-moon"])
    assert exit_info.value.code == 2
    assert "unknown fault kind" in capsys.readouterr().err
    assert fault_lab_main(["--faults", "3", "--seed", "9", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "seed 9" in out and "--seed 9 --faults 3" in out and len(out.strip().splitlines()) == 4


# -- the two agents, as processes ----------------------------------------------------------------------


@pytest.fixture
def paths(tmp_path: Path) -> LabPaths:
    lab = LabPaths(tmp_path)
    install(lab)
    return lab


def probe(paths: LabPaths, action: str, tmpdir: Path, interval_ms: int = 0) -> int:
    env = {"PATH": os.environ.get("PATH", ""), "TMPDIR": str(tmpdir), "OCF_RESOURCE_INSTANCE": "A",
           "OCF_RESKEY_lab_dir": str(paths.lab_dir), "OCF_RESKEY_CRM_meta_on_node": "node1",
           "OCF_RESKEY_CRM_meta_interval": str(interval_ms)}
    agent = paths.ocf_root / "resource.d" / PROVIDER / PROBE
    run = subprocess.run([str(agent), action], env=env, capture_output=True, timeout=30, check=False)
    return run.returncode


def logged(paths: LabPaths) -> list[tuple[str, int | None]]:
    return [(e.ev, e.rc) for e in ActivityReader(paths.activity_log).new_events()]


def test_the_probe_agent_logs_every_start_and_stop_and_fails_on_the_labs_markers(paths: LabPaths,
                                                                                 tmp_path: Path) -> None:
    node_tmp = tmp_path / "node1"
    node_tmp.mkdir()
    assert probe(paths, "monitor", node_tmp) == 7
    assert probe(paths, "start", node_tmp) == 0
    assert probe(paths, "monitor", node_tmp, 3000) == 0
    (node_tmp / "lab-probe" / "A.fail-monitor").write_text("1")
    assert probe(paths, "monitor", node_tmp, 3000) == 1
    (node_tmp / "lab-probe" / "A.fail-stop").touch()
    assert probe(paths, "stop", node_tmp) == 1
    assert probe(paths, "monitor", node_tmp) == 0  # a failed stop leaves it running
    assert probe(paths, "stop", node_tmp) == 0
    assert probe(paths, "monitor", node_tmp, 3000) == 7
    (node_tmp / "lab-probe" / "A.fail-start").touch()
    assert probe(paths, "start", node_tmp) == 1
    assert logged(paths) == [("monitor", 7), ("start-begin", None), ("start-ok", 0), ("monitor", 0),
                             ("monitor", 1),
                             ("stop-begin", None), ("stop-fail", 1), ("monitor", 0), ("stop-begin", None),
                             ("stop-ok", 0), ("monitor", 7), ("start-begin", None), ("start-fail", 1)]


def test_the_probe_agent_refuses_to_run_without_its_lab_directory(tmp_path: Path) -> None:
    lab = LabPaths(tmp_path / "a")
    install(lab)
    agent = lab.ocf_root / "resource.d" / PROVIDER / PROBE
    run = subprocess.run([str(agent), "start"], env={"OCF_RESKEY_lab_dir": str(tmp_path / "nowhere")},
                         capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 6 and "is not a directory" in run.stderr


def test_the_fence_agent_ends_the_node_and_everything_it_started(paths: LabPaths, tmp_path: Path) -> None:
    node_tmp, rsc_tmp = tmp_path / "node2-tmp", tmp_path / "node2-rsc"
    for directory in (node_tmp, rsc_tmp):
        directory.mkdir()
    (node_tmp / "lab-probe").mkdir()
    (node_tmp / "lab-probe" / "A").write_text("{}")
    tag = f"test-{os.getpid()}"
    env = {**os.environ, TAG_VARIABLE: tag, "TMPDIR": str(node_tmp)}
    node = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], env=env)
    agent_child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], env=env,
                                   start_new_session=True)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                 env={**env, "TMPDIR": str(tmp_path)})
    try:
        (paths.registry / "node2.json").write_text(json.dumps({
            "pid": node.pid, "tag_variable": TAG_VARIABLE, "tag": tag, "tmpdir": str(node_tmp),
            "rsctmp": str(rsc_tmp)}))
        time.sleep(0.2)  # the children's environments are readable
        began = time.monotonic()
        fence = subprocess.run([str(paths.fence_dir / FENCE_AGENT)], input=f"action=reboot\nport=node2\n"
                               f"nodename=node2\nlab_dir={paths.lab_dir}\n", capture_output=True, text=True,
                               timeout=30, check=False)
        assert fence.returncode == 0, fence.stderr
        assert node.wait(5) == -9 and agent_child.wait(5) == -9
        assert bystander.poll() is None
        assert list(node_tmp.iterdir()) == []
        [line] = ActivityReader(paths.activity_log).new_events()
        assert (line.ev, line.node) == ("fence", "node2") and line.t >= began
    finally:
        for process in (node, agent_child, bystander):
            process.kill()
            process.wait(5)


def test_the_fence_agent_describes_itself_as_vigil_expects(paths: LabPaths) -> None:
    run = subprocess.run([str(paths.fence_dir / FENCE_AGENT)], input=b"action=metadata\n",
                         capture_output=True, timeout=30, check=True)
    metadata = parse_fence_metadata(run.stdout)
    assert "port" in metadata.parameters and {"reboot", "off", "monitor"} <= metadata.actions
    listing = subprocess.run([str(paths.fence_dir / FENCE_AGENT)], input="action=off\nlab_dir=/nonexistent\n",
                             capture_output=True, text=True, timeout=30, check=False)
    assert listing.returncode == 1 and "not a directory" in listing.stderr


def test_the_lab_points_vigil_at_its_fence_agent_through_the_variable_vigil_reads(paths: LabPaths) -> None:
    assert workspace.FENCE_AGENT_DIR_VARIABLE == agent.FENCE_AGENT_DIR_VARIABLE
    assert paths.environment()[agent.FENCE_AGENT_DIR_VARIABLE] == str(paths.fence_dir)
    code = "from vigil.fencing import agent; print(agent.FENCE_AGENT_DIR)"
    seen = subprocess.run([sys.executable, "-c", code], env=paths.environment(), capture_output=True,
                          text=True, timeout=60, check=True)
    assert seen.stdout.strip() == str(paths.fence_dir)
    without = {k: v for k, v in os.environ.items() if k != agent.FENCE_AGENT_DIR_VARIABLE}
    default = subprocess.run([sys.executable, "-c", code], env=without, capture_output=True, text=True,
                             timeout=60, check=True)
    assert default.stdout.strip() == "/usr/sbin"


def test_the_configuration_names_every_kind_of_resource(paths: LabPaths) -> None:
    text = configuration(paths, {"A": 3}, extra=True)
    for needle in ("- id: A", "- id: X", "group: G", "clone: C", "clone: CG", "group: CGg", "generation: '3'",
                   f"agent: stonith:{FENCE_AGENT}", f"lab_dir: {paths.lab_dir}"):
        assert needle in text
