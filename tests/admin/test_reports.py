"""``vigil status`` (data and text) and ``/metrics`` from one cluster state: pure, no daemon."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest

from vigil.formats.cib.load import load_cib
from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.status import NodeState, OpRecord, ResourceHistory, Status
from vigil.output.failcounts import failcounts
from vigil.output.metrics import ActionFigures, ControllerFigures, escape, render_metrics
from vigil.output.report import ControllerInfo, MonitorInfo, StatusReport, TransitionInfo, build_report
from vigil.output.status_text import render_status
from vigil.scheduler import schedule

from .conftest import CIB

NOW = 1_700_000_000
DIGEST = "f2317cad3d54cec5d7d7aa7d0bf35cf8"  # Dummy without parameters


def op(rid: str, operation: str, interval_ms: int, rc: int, call_id: int, expected: int = 0,
       reason: str | None = None) -> OpRecord:
    key = f"1:{call_id}:{expected}:test"
    return OpRecord(id=rid, operation=operation, interval_ms=interval_ms, rc=rc, op_status=0, call_id=call_id,
                    on_node="n1", op_digest=DIGEST, last_rc_change=NOW - 30, exec_time_ms=12,
                    transition_key=key, transition_magic=f"0:{rc};{key}", exit_reason=reason,
                    operation_key=f"web_{operation}_{interval_ms}")


def running_web_after_a_failure(config: Config) -> Cluster:
    member = {"in_ccm": "true", "crmd": "online", "join": "member", "expected": "member"}
    history = ResourceHistory("web", "ocf", "heartbeat", "Dummy", ops=(
        op("web_last_0", "start", 0, 0, 5),
        op("web_last_failure_0", "monitor", 10000, 7, 3, reason="No process state file found"),
    ))
    n1 = NodeState(id="1", uname="n1", **member, attributes=(
        ("fail-count-web#monitor_10000", "1"), ("last-failure-web#monitor_10000", str(NOW - 30))),
        resources=(history,))
    n2 = NodeState(id="2", uname="n2", **member)
    return Cluster(config, Status(nodes=(n1, n2)))


@pytest.fixture
def report(config: Config) -> StatusReport:
    cluster = running_web_after_a_failure(config)
    controller = ControllerInfo(
        node="n1",
        transitions=(TransitionInfo(4, "web_monitor_10000 on n1 failed", ("Recover web ( n1 )",), 3,
                                    NOW - 31, "complete", NOW - 30),),
        monitors=(MonitorInfo("web", "n1", 10000),),
    )
    return build_report(cluster, schedule(cluster, NOW), NOW, controller, revision=42, config_revision=7)


def test_the_report_has_nodes_resources_failures_and_the_last_transition(report: StatusReport) -> None:
    assert [(n.name, n.state, n.online, n.local) for n in report.nodes] == [
        ("n1", "online", True, True), ("n2", "online", True, False)]
    web = report.resources[0]
    assert (web.id, web.kind, web.role, web.nodes, web.failed) == (
        "web", "primitive", "Started", ("n1",), False)
    kinds = {rsc.id: rsc.kind for rsc in report.resources}
    assert kinds == {"web": "primitive", "plain": "primitive", "web-on-n1": "primitive", "g": "group",
                     "c": "clone", "u": "clone", "cg": "clone"}
    group = next(r for r in report.resources if r.id == "g")
    assert [m.id for m in group.members] == ["a", "b"]
    clone = next(r for r in report.resources if r.id == "c")
    assert (clone.child, clone.disabled, clone.unique) == ("d", True, False)
    assert {m.id.split(":")[0] for m in clone.members} == {"d"}
    unique = next(r for r in report.resources if r.id == "u")
    assert unique.unique
    cloned_group = next(r for r in report.resources if r.id == "cg")
    assert {m.kind for m in cloned_group.members} == {"group"}
    assert [m.id.split(":")[0] for m in cloned_group.members[0].members] == ["x", "y"]
    assert [(a.key, a.node, a.rc, a.rc_name, a.rc_text, a.exit_reason) for a in report.failed_actions] == [
        ("web_monitor_10000", "n1", 7, "OCF_NOT_RUNNING", "not running", "No process state file found")]
    assert [(f.resource, f.count, f.migration_threshold, f.recoveries_left) for f in report.failcounts] == [
        ("web", 1, 3, "2")]
    assert report.last_transition is not None and report.last_transition.number == 4
    assert report.monitors == (MonitorInfo("web", "n1", 10000),)
    assert (report.revision, report.config_revision, report.stonith_enabled) == (42, 7, False)
    # Nothing plans to stop web; the stopped resources are to be started.
    assert any(line.startswith("Start plain") for line in report.pending)


def test_status_text_reads_like_crm_mon(report: StatusReport) -> None:
    text = render_status(report)
    for expected in [
        "Cluster Summary:",
        "  * Current node: n1 (vigil) - partition with quorum",
        "  * 2 nodes configured",
        "  * Online: [ n1 n2 ]",
        "  * web\t(ocf:heartbeat:Dummy):\t Started n1",
        "  * Resource Group: g:",
        "    * a\t(ocf:heartbeat:Dummy):\t Stopped (disabled)",
        "    * Resource Group: h:0:",
        "  * Clone Set: c [d] (disabled):",
        "  * Clone Set: u [e] (unique):",
        "  * Clone Set: cg [h]:",
        "Migration Summary:",
        "    * web: migration-threshold=3, fail-count=1 (monitor_10000: 1), "
        "last-failure='2023-11-14 22:12:50Z': 2 recoveries left",
        "Failed Resource Actions:",
        "  * web_monitor_10000 on n1 'not running' (7): call=3, status='done', "
        "exitreason='No process state file found', last-rc-change='2023-11-14 22:12:50Z', exec=12ms",
        "  * Transition 4: complete, 3 actions, at 2023-11-14 22:12:50Z (30 s ago)",
        "    after: web_monitor_10000 on n1 failed",
        "    * Recover web ( n1 )",
        "  * web_monitor_10000 on n1 (every 10s)",
    ]:
        assert expected in text.splitlines(), expected


SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The text format read back strictly: HELP and TYPE before each metric's samples."""
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    declared: dict[str, set[str]] = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# "):
            kind, name, rest = line[2:].split(" ", 2)
            declared.setdefault(name, set()).add(kind)
            if kind == "TYPE":
                assert rest in ("gauge", "counter"), line
            continue
        match = SAMPLE.match(line)
        assert match, line
        name, labels, value = match.groups()
        assert declared.get(name) == {"HELP", "TYPE"}, f"{name} sampled before its HELP and TYPE"
        parsed = {k: v.encode().decode("unicode_escape") for k, v in LABEL.findall(labels or "")}
        samples.setdefault(name, []).append((parsed, float(value)))
    return samples


def value(metrics: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    found = [v for found_labels, v in metrics[name]
             if all(found_labels.get(k) == w for k, w in labels.items())]
    assert len(found) == 1, (name, labels, metrics.get(name))
    return found[0]


def test_metrics_parse_back_with_the_recoveries_left(report: StatusReport, config: Config) -> None:
    cluster = running_web_after_a_failure(config)
    counts = failcounts(config, cluster.status, NOW, include_zero=True)
    figures = ControllerFigures(transitions=4, aborted_transitions=1,
                                actions=(ActionFigures("start", 3, 1, 0.25),), last_transition=NOW - 30)
    metrics = parse_metrics(render_metrics(report, counts, figures))
    assert value(metrics, "vigil_recoveries_left", resource="web", node="n1") == 2
    assert value(metrics, "vigil_fail_count", resource="web", node="n1") == 1
    assert value(metrics, "vigil_migration_threshold", resource="web", node="n1") == 3
    assert math.isinf(value(metrics, "vigil_recoveries_left", resource="plain", node="n1"))
    assert value(metrics, "vigil_nodes", state="online") == 2
    assert value(metrics, "vigil_node_status", node="n1", status="local") == 1
    assert value(metrics, "vigil_resources", role="Started") == 1
    assert value(metrics, "vigil_resource", resource="web", node="n1", role="Started", managed="true") == 1
    assert value(metrics, "vigil_resource", resource="a", group="g", node="") == 1
    assert value(metrics, "vigil_transitions_total") == 4
    assert value(metrics, "vigil_transitions_aborted_total") == 1
    assert value(metrics, "vigil_actions_total", task="start") == 3
    assert value(metrics, "vigil_action_failures_total", task="start") == 1
    assert value(metrics, "vigil_action_duration_seconds_total", task="start") == 0.25
    assert value(metrics, "vigil_last_transition_timestamp_seconds") == NOW - 30
    assert value(metrics, "vigil_failed_actions") == 1


def test_label_values_are_escaped() -> None:
    assert escape('a\\b"c\nd') == 'a\\\\b\\"c\\nd'


def test_status_warns_of_a_fail_count_that_is_not_a_number(config: Config) -> None:
    cluster = running_web_after_a_failure(config)
    n1 = cluster.status.nodes[0]
    garbled = replace(n1, attributes=(("fail-count-web#monitor_10000", "notanumber"),))
    cluster = Cluster(config, Status(nodes=(garbled, *cluster.status.nodes[1:])))
    report = build_report(cluster, schedule(cluster, NOW), NOW, ControllerInfo(node="n1"), revision=1,
                          config_revision=1)
    lines = render_status(report).splitlines()
    at = lines.index("    * web: migration-threshold=3, fail-count=0 (monitor_10000: 0): 3 recoveries left")
    assert lines[at + 1] == ("      warning: fail-count not a number, counted as 0:"
                             " monitor_10000='notanumber' (clear it: vigil failcount clear web --node n1)")


def test_status_shows_what_loading_the_configuration_warned_about() -> None:
    """Values Pacemaker accepts and ignores are printed at load and kept for ``vigil status``."""
    order = b'<rsc_order id="o" first="web" then="plain" kind="soon"/>'
    data = CIB.replace(b"<constraints>", b"<constraints>" + order)
    loaded, warnings = load_cib(data, name="stored", with_status=False)
    assert loaded.config.warnings == tuple(warnings)
    assert any("invalid kind 'soon' is treated as Mandatory" in warning for warning in warnings)
    cluster = running_web_after_a_failure(loaded.config)
    report = build_report(cluster, schedule(cluster, NOW), NOW, ControllerInfo(node="n1"), revision=1,
                          config_revision=1)
    lines = render_status(report).splitlines()
    at = lines.index("Configuration Warnings:")
    assert lines[at + 1].endswith("invalid kind 'soon' is treated as Mandatory (use Mandatory, Optional or"
                                  " Serialize)")
