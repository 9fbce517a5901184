"""Node attributes and health in the status report (`vigil status --format json`'s nodes): pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.formats.cib.load import load_cib
from vigil.model.options import Options
from vigil.model.scores import INFINITY
from vigil.output.report import ControllerInfo, NodeReport, build_report, node_health, shown_attributes
from vigil.output.status_text import render_status
from vigil.scheduler import schedule

DATA = Path(__file__).resolve().parent / "data"
NOW = 1_700_000_100


def nodes_of(case: str) -> dict[str, NodeReport]:
    cluster, _ = load_cib((DATA / f"{case}.xml").read_bytes(), name=case)
    report = build_report(cluster, schedule(cluster, NOW), NOW, ControllerInfo(node="n1"), 1, 1)
    return {node.name: node for node in report.nodes}


def test_shown_attributes_leave_out_pacemakers_bookkeeping_and_sort_by_bytes() -> None:
    attrs = {"pingd": "1", "fail-count-web#monitor_10000": "1", "last-failure-web#monitor_10000": "9",
             "#health-cpu": "red", "#uname": "n1", "standby": "on", "shutdown": "0", "terminate": "1",
             "Zone": "a", "master-db": "10"}
    assert list(shown_attributes(attrs).items()) == [("Zone", "a"), ("master-db", "10"), ("pingd", "1")]


def test_a_node_shows_its_permanent_attributes_with_the_transient_ones_over_them() -> None:
    nodes = nodes_of("ping-health-bans")
    assert nodes["n1"].attributes == {"Alpha": "1", "master-st": "10", "pingd": "2000", "site": "a",
                                      "zeta": "1"}
    assert (nodes["n1"].id, nodes["n1"].type) == ("1", "member")
    # n2's standby and #health-cpu are there, but crm_mon -A does not list them
    assert nodes["n2"].attributes == {"pingd": "1000"}
    assert nodes["n3"].attributes == {}


def test_a_ping_resource_running_on_a_node_says_what_its_attribute_should_reach() -> None:
    nodes = nodes_of("ping-health-bans")
    assert nodes["n1"].ping_expected == {"pingd": 2000}  # 2 hosts x multiplier 1000
    assert nodes["n10"].ping_expected == {}  # ping does not run there
    assert nodes_of("clones-tickets")["n2"].ping_expected == {"conn": 1}  # name=conn, 1 host


@pytest.mark.parametrize(("strategy", "value", "colour"), [
    ("none", "red", "green"),
    ("migrate-on-red", "red", "red"),
    ("migrate-on-red", "RED", "red"),
    ("migrate-on-red", "yellow", "yellow"),
    ("migrate-on-red", "green", "green"),
    ("migrate-on-red", "-INFINITY", "red"),
    ("migrate-on-red", "-10", "green"),
    ("progressive", "-10", "green"),
])
def test_health_is_coloured_as_crm_mon_colours_it(strategy: str, value: str, colour: str) -> None:
    options = Options(node_health_strategy=strategy)
    assert node_health({"#health-cpu": value, "#health-disk": "green", "pingd": "red"}, options) == colour


def test_a_score_at_or_below_node_health_yellow_is_yellow_when_yellow_differs_from_green() -> None:
    custom = Options(node_health_strategy="custom", node_health_red=-INFINITY, node_health_yellow=-10,
                     node_health_green=0)
    assert node_health({"#health-cpu": "-10"}, custom) == "yellow"
    assert node_health({"#health-cpu": "-10", "#health-io": "red"}, custom) == "red"


def test_the_text_puts_an_unhealthy_node_on_a_line_of_its_own() -> None:
    cluster, _ = load_cib((DATA / "ping-health-bans.xml").read_bytes(), name="ping-health-bans")
    text = render_status(build_report(cluster, schedule(cluster, NOW), NOW, ControllerInfo(node="n1"), 1, 1))
    assert "  * Node n2: standby (health is RED)\n  * Online: [ n1 n10 ]\n  * OFFLINE: [ n3 ]\n" in text
