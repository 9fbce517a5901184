"""The Pacemaker CIB XML adapter: load_cib and dump_cib.

Covers the mapping of every CIB construct the scheduler relies on, every
error (each with its location and a message saying how to fix it), the
warnings for unmodelled elements, robustness against junk input, the round
trip load -> dump -> load over Pacemaker's whole regression corpus, and that
Pacemaker 2.1.5's own ``crm_simulate`` accepts what ``dump_cib`` writes.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from vigil.errors import InputError, Problem
from vigil.formats.cib.dump import dump_cib
from vigil.formats.cib.load import _load_root, _parse_xml, load_cib
from vigil.formats.cib.reader import Reader
from vigil.model.cluster import Cluster
from vigil.model.config import (
    Clone,
    Config,
    Group,
    Node,
    NvSet,
    Op,
    Order,
    Primitive,
    ResourceSet,
    RscTicket,
    TicketSet,
)
from vigil.model.results import ExecStatus, OcfRc
from vigil.model.rules import DateExpression, Expression, OpExpression, ResourceExpression, Rule
from vigil.model.scores import INFINITY
from vigil.model.status import NodeState, Status

DATA = Path(__file__).parent / "data" / "cib"
FULL = DATA / "full.xml"
CORPUS = Path(
    os.environ.get(
        "VIGIL_PACEMAKER_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "pacemaker-corpus"
    )
)


def corpus_files() -> list[Path]:
    xml = CORPUS / "xml"
    if not xml.is_dir():
        pytest.skip(f"Pacemaker corpus not found at {xml} (set VIGIL_PACEMAKER_CORPUS to its directory)")
    return sorted(xml.glob("*.xml"))


def cib(configuration: str = "", status: str = "", attributes: str = "") -> bytes:
    """A small CIB: ``configuration`` goes inside <configuration>."""
    return (
        f'<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"{attributes}>\n'
        f"<configuration>\n<crm_config/>\n<nodes/>\n{configuration}\n</configuration>\n"
        f"<status>\n{status}\n</status>\n</cib>\n"
    ).encode()


def resources(xml: str) -> str:
    return f"<resources>\n{xml}\n</resources>"


DUMMY = '<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"/>'


def problems_of(data: bytes) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        load_cib(data, name="test.xml")
    return caught.value.problems


def xpath(root: etree._Element, expression: str) -> list[str]:
    """String results of an XPath query (attribute values)."""
    found = root.xpath(expression)
    assert isinstance(found, list)
    return [str(item) for item in found]


def only_problem(data: bytes) -> Problem:
    problems = problems_of(data)
    assert len(problems) == 1, problems
    return problems[0]


@pytest.fixture(scope="module")
def full() -> tuple[Cluster, list[str]]:
    return load_cib(FULL)


def resource(cluster: Cluster, ident: str) -> Primitive | Group | Clone:
    for rsc in cluster.config.resources:
        if rsc.id == ident:
            return rsc
    raise AssertionError(f"no resource {ident}")


def primitive(cluster: Cluster, ident: str) -> Primitive:
    for prim in cluster.config.primitives():
        if prim.id == ident:
            return prim
    raise AssertionError(f"no primitive {ident}")


# -- mapping -----------------------------------------------------------------


def test_cib_attributes_map_to_status_and_are_kept(full: tuple[Cluster, list[str]]) -> None:
    cluster, _ = full
    assert cluster.status.have_quorum is False
    assert cluster.status.dc_uuid == "n1"
    assert cluster.status.execution_date == 1_700_000_000
    assert ("validate-with", "pacemaker-3.9") in cluster.cib_attributes
    assert ("have-quorum", "0") in cluster.cib_attributes


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("0", False), ("false", False)])
def test_have_quorum_spellings(raw: str, expected: bool) -> None:
    cluster, _ = load_cib(cib(attributes=f' have-quorum="{raw}"'))
    assert cluster.status.have_quorum is expected


def test_a_missing_have_quorum_means_no_quorum_as_pacemaker_reads_it() -> None:
    # crm_simulate stops everything "due to no quorum" in a CIB without have-quorum.
    cluster, _ = load_cib(cib())
    assert cluster.status.have_quorum is False
    assert cluster.status.execution_date is None


def test_cluster_options_keep_names_sets_scores_and_rules(full: tuple[Cluster, list[str]]) -> None:
    options = full[0].config.options
    assert options[0] == NvSet(
        id="bootstrap",
        values=(
            ("fencing-enabled", "false"),
            ("stop-removed-resources", "true"),
            ("no-quorum-policy", "ignore"),
        ),
    )
    assert options[1].score == 10
    assert options[1].rule is not None
    spec = options[1].rule.conditions[0]
    assert isinstance(spec, DateExpression)
    assert spec.operation == "date_spec"
    assert spec.spec is not None and spec.spec.fields == (("hours", "0-6"),)


def test_nodes_with_attributes_and_utilization(full: tuple[Cluster, list[str]]) -> None:
    nodes = full[0].config.nodes
    assert nodes[0] == Node(
        id="n1",
        uname="node1",
        type="member",
        attributes=(NvSet(id="n1-attrs", values=(("site", "a"),)),),
        utilization=(NvSet(id="n1-util", values=(("cpu", "4"),)),),
    )
    assert nodes[1] == Node(id="n2", uname="node2")


def test_primitive_sets_and_ops(full: tuple[Cluster, list[str]]) -> None:
    db = primitive(full[0], "db")
    assert (db.cls, db.provider, db.type, db.agent) == ("ocf", "heartbeat", "pgsql", "ocf:heartbeat:pgsql")
    assert db.params == (NvSet(id="db-params", values=(("port", "5432"),)),)
    assert [nvset.id for nvset in db.meta] == ["db-meta", "db-meta-site"]
    rule = db.meta[1].rule
    assert db.meta[1].score == 5 and rule is not None and rule.boolean_op == "or"
    assert rule.conditions[1] == Expression(id="db-meta-expr2", attribute="#uname", operation="defined")
    assert db.utilization == (NvSet(id="db-util", values=(("cpu", "2"),)),)
    start, monitor, disabled = db.ops
    assert start == Op(
        id="db-start",
        name="start",
        interval_ms=0,
        timeout_ms=120_000,
        on_fail="restart",
        meta=(("record-pending", "true"),),
    )
    # timeout from an op meta nvpair; legacy role name normalized.
    assert monitor == Op(
        id="db-monitor",
        name="monitor",
        interval_ms=10_000,
        timeout_ms=20_000,
        role="Promoted",
        start_delay_ms=5_000,
        meta=(("timeout", "PT20S"),),
        params=(("OCF_CHECK_LEVEL", "10"),),
    )
    assert monitor.key == "monitor_10000"
    assert (disabled.interval_ms, disabled.enabled, disabled.role) == (500, False, "Unpromoted")


def test_id_refs_are_resolved(full: tuple[Cluster, list[str]]) -> None:
    cluster = full[0]
    db, db2 = primitive(cluster, "db"), primitive(cluster, "db2")
    assert db2.params == db.params  # <instance_attributes id-ref>
    assert db2.ops == db.ops  # <operations id-ref>
    assert primitive(cluster, "web-ip").params[0].values == (("port", "5432"),)  # <nvpair id-ref>
    by_id = {location.id: location for location in cluster.config.locations}
    assert by_id["loc-ref"].rules == (by_id["loc-rule"].rules[1],)  # <rule id-ref>


def test_templates_are_expanded_into_primitives(full: tuple[Cluster, list[str]]) -> None:
    cluster = full[0]
    ip1 = primitive(cluster, "ip1")
    assert (ip1.agent, ip1.template) == ("ocf:heartbeat:IPaddr2", "tmpl")
    # The primitive's own set comes first, so its ip wins.
    assert [nvset.values for nvset in ip1.params] == [(("ip", "10.0.0.2"),), (("ip", "10.0.0.1"),)]
    assert [op.id for op in ip1.ops] == ["tmpl-monitor"]
    assert [template.id for template in cluster.config.templates] == ["tmpl"]


def test_template_ops_are_overridden_by_name_and_role() -> None:
    xml = resources(
        '<template id="t" class="ocf" provider="pacemaker" type="Dummy"><operations>'
        '<op id="t-mon" name="monitor" interval="10"/><op id="t-stop" name="stop" interval="0"/>'
        "</operations></template>"
        '<primitive id="p" template="t"><operations><op id="p-mon" name="monitor" interval="20"/>'
        "</operations></primitive>"
    )
    cluster, _ = load_cib(cib(xml))
    assert [op.id for op in primitive(cluster, "p").ops] == ["p-mon", "t-stop"]


def test_groups_and_clones(full: tuple[Cluster, list[str]]) -> None:
    cluster = full[0]
    web = resource(cluster, "web")
    assert isinstance(web, Group)
    assert [member.id for member in web.members] == ["web-ip", "web-server"]
    assert {member.parent for member in web.members} == {"web"}
    assert web.meta == (NvSet(id="web-meta", values=(("ordered", "true"),)),)

    ping = resource(cluster, "ping-clone")
    assert isinstance(ping, Clone) and not ping.promotable
    assert ping.child.parent == "ping-clone"
    # A clone's instance attributes are inherited by its primitive, after its own.
    assert isinstance(ping.child, Primitive)
    assert ping.child.params == (NvSet(id="ping-clone-params", values=(("host_list", "gw"),)),)

    legacy = resource(cluster, "stateful-ms")
    assert isinstance(legacy, Clone) and legacy.promotable

    promo = resource(cluster, "promo-clone")
    assert isinstance(promo, Clone) and promo.promotable
    assert isinstance(promo.child, Group) and promo.child.parent == "promo-clone"
    assert promo.child.members[0].parent == "promo-group"


def test_locations(full: tuple[Cluster, list[str]]) -> None:
    by_id = {location.id: location for location in full[0].config.locations}
    node = by_id["loc-node"]
    assert (node.rsc, node.node, node.score, node.role) == ("db", "node1", INFINITY, "Promoted")
    pattern = by_id["loc-pattern"]
    assert (pattern.rsc_pattern, pattern.score, pattern.resource_discovery) == ("^web", -INFINITY, "never")
    rules = by_id["loc-rule"]
    assert rules.score is None and len(rules.rules) == 2
    first, second = rules.rules
    assert (first.score, first.score_attribute, first.role) == (None, "site-score", "Started")
    assert first.conditions[0] == Expression(
        id="loc-rule-1-e", attribute="site", operation="ne", value="b", type="string", value_source="param"
    )
    nested = first.conditions[1]
    assert isinstance(nested, Rule) and nested.boolean_op == "or"
    assert nested.conditions[0] == DateExpression(
        id="loc-date", operation="in_range", start="2005-020", duration=(("years", "1"), ("months", "2"))
    )
    assert second.score == -100


def test_colocations_including_legacy_names(full: tuple[Cluster, list[str]]) -> None:
    modern, legacy, with_bundle = full[0].config.colocations
    assert (with_bundle.rsc, with_bundle.with_rsc, with_bundle.score) == ("web", "httpd-bundle", 100)
    assert (modern.rsc, modern.with_rsc, modern.score) == ("web", "db", INFINITY)
    assert (modern.rsc_role, modern.with_rsc_role) == ("Started", "Promoted")
    assert (modern.node_attribute, modern.influence) == ("site", False)
    assert (legacy.rsc, legacy.with_rsc, legacy.score, legacy.rsc_role) == (
        "web",
        "ping-clone",
        -50,
        "Unpromoted",
    )
    assert (legacy.node_attribute, legacy.influence) == ("#uname", True)


def test_orders_with_kind_from_legacy_score(full: tuple[Cluster, list[str]]) -> None:
    explicit, score0, default, _of_sets = full[0].config.orders
    assert (explicit.first_action, explicit.then_action, explicit.kind) == ("promote", "start", "Serialize")
    assert (explicit.symmetrical, explicit.require_all) == (False, False)
    assert score0.kind == "Optional"
    assert (default.kind, default.first_action, default.effective_then_action) == (
        "Mandatory",
        "start",
        "start",
    )
    assert default.symmetrical is None and default.is_symmetrical


def test_defaults_with_rsc_and_op_expressions(full: tuple[Cluster, list[str]]) -> None:
    config = full[0].config
    rsc_rule = config.rsc_defaults[0].rule
    op_rule = config.op_defaults[0].rule
    assert rsc_rule is not None and op_rule is not None
    assert rsc_rule.conditions == (
        ResourceExpression(id="rsc-defaults-expr", cls="ocf", provider="heartbeat"),
    )
    assert op_rule.conditions == (OpExpression(id="op-defaults-expr", name="monitor", interval_ms=10_000),)


def test_fencing_topology(full: tuple[Cluster, list[str]]) -> None:
    first, second = full[0].config.fencing_levels
    assert (first.index, first.target, first.devices) == (1, "node1", ("fence1", "fence2"))
    assert (second.target_attribute, second.target_value) == ("site", "a")


def test_node_states(full: tuple[Cluster, list[str]]) -> None:
    status = full[0].status
    node1, remote, node2 = status.nodes
    assert (node1.in_ccm, node1.crmd, node1.join, node1.expected) == ("true", "online", "member", "member")
    assert node1.attributes == (
        ("fail-count-db#monitor_10000", "1"),
        ("last-failure-db#monitor_10000", "1699999999"),
    )
    assert node1.node_fenced == "0"
    assert node1.extra_attributes == (("crm-debug-origin", "test"),)
    assert (remote.is_remote, remote.in_ccm, remote.node_in_maintenance) == (True, "1700000000", "0")
    assert node2.uname == "node2"  # taken from <nodes> when the state has none
    assert status.node("node1") is node1


def test_operation_history(full: tuple[Cluster, list[str]]) -> None:
    history = full[0].status.nodes[0].resources[0]
    assert (history.id, history.cls, history.provider, history.type) == ("db", "ocf", "heartbeat", "pgsql")
    assert history.shutdown_lock == 1_699_999_000
    start, monitor, migrate = history.ops
    assert (start.operation, start.interval_ms, start.rc, start.op_status, start.call_id) == (
        "start",
        0,
        0,
        0,
        5,
    )
    assert (start.on_node, start.last_rc_change, start.exec_time_ms, start.queue_time_ms) == (
        "node1",
        1_699_999_990,
        120,
        1,
    )
    assert (start.op_digest, start.op_restart_digest, start.op_secure_digest) == ("abc", "def", "ghi")
    assert (start.op_force_restart, start.op_secure_params) == (" port ", " password ")
    assert (start.operation_key, start.expected_rc) == ("db_start_0", 0)
    # rc and op-status from transition-magic when absent; legacy underscores.
    assert (monitor.rc, monitor.op_status, monitor.last_rc_change) == (7, 0, 1_699_999_995)
    assert monitor.exit_reason == "not running"
    assert (migrate.migrate_source, migrate.migrate_target) == ("node1", "node2")


def test_op_record_defaults_when_results_are_missing() -> None:
    status = (
        '<node_state id="n1" uname="node1"><lrm id="n1"><lrm_resources><lrm_resource id="r" class="ocf" '
        'type="Dummy"><lrm_rsc_op id="r_start_0" operation="start"/></lrm_resource></lrm_resources></lrm>'
        "</node_state>"
    )
    cluster, _ = load_cib(cib(status=status))
    record = cluster.status.nodes[0].resources[0].ops[0]
    assert (record.interval_ms, record.rc, record.op_status, record.call_id) == (
        0,
        OcfRc.UNKNOWN,
        ExecStatus.PENDING,
        -1,
    )


def test_tickets(full: tuple[Cluster, list[str]]) -> None:
    ticket = full[0].status.tickets[0]
    assert (ticket.id, ticket.granted, ticket.standby) == ("t1", True, False)


# -- warnings ------------------------------------------------------------------


def test_unsupported_elements_are_warned_once_per_kind(full: tuple[Cluster, list[str]]) -> None:
    cluster, warnings = full
    assert warnings == []
    assert list(cluster.config.unsupported) == []
    assert {c.id for c in cluster.config.colocations} == {"col", "col-legacy", "col-bundle"}
    assert cluster.config.orders[-1] == Order(id="ord-set", first="", then="", sets=(
        ResourceSet(id="ord-set-1", resources=("db",)),
    ))
    assert [(tag.id, tag.refs) for tag in cluster.config.tags] == [("tag1", ("db",))]


def test_repeated_unsupported_elements_are_counted() -> None:
    xml = "<acls/>" + "".join(f'<rsc_future id="t{i}" rsc="rsc1"/>' for i in range(3)).join(
        ["<constraints>", "</constraints>"]
    )
    _, warnings = load_cib(cib(resources(DUMMY) + xml))
    assert warnings == [
        "unsupported element <acls> at /cib/configuration/acls is ignored (it does not affect scheduling)",
        "unsupported element <rsc_future> at /cib/configuration/constraints/rsc_future[@id='t0'] is ignored"
        " (2 more like it)",
    ]


def test_lenient_values_pacemaker_accepts_are_warnings() -> None:
    ops = '<operations><op id="m" name="monitor" interval="10" timeout="bad"/></operations>'
    xml = resources(
        f'<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy">{ops}</primitive>'
    ) + (
        '<constraints><rsc_colocation id="c" rsc="rsc1" with-rsc="rsc1" influence="maybe" score="1"/>'
        '<rsc_colocation id="c0" rsc="rsc1" with-rsc="rsc1"/>'
        '<rsc_order id="o" first="rsc1" then="rsc1" kind="foo"/></constraints>'
    )
    cluster, warnings = load_cib(cib(xml), name="t.xml")
    assert primitive(cluster, "rsc1").ops[0].timeout_ms is None
    assert cluster.config.colocations[0].influence is True
    assert cluster.config.colocations[1].score == 0
    assert cluster.config.orders[0].kind == "Mandatory"
    assert [w.split(": ", 1)[1] for w in warnings] == [
        "timeout: invalid interval 'bad': use a number of seconds (10), a number with a unit"
        " (500ms, 10s, 2min, 1h) or PT10S; the default timeout is used instead",
        "invalid influence 'maybe' is ignored (use true or false); true is used",
        "colocation without a score: it has score 0 and no effect",
        "invalid kind 'foo' is treated as Mandatory (use Mandatory, Optional or Serialize)",
    ]


# -- errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "value"),
    [("INFINITY", INFINITY), ("+INFINITY", INFINITY), ("-infinity", -INFINITY), ("inf", INFINITY),
     ("100", 100), ("-5", -5), ("+7", 7), ("1000001", INFINITY)],
)
def test_valid_score_spellings(score: str, value: int) -> None:
    xml = (
        resources(DUMMY)
        + f'<constraints><rsc_location id="l" rsc="rsc1" node="n" score="{score}"/></constraints>'
    )
    cluster, warnings = load_cib(cib(xml))
    assert [location.score for location in cluster.config.locations] == [value]
    assert warnings == []


CONSTRAINT_LINE = 7  # line of the <constraints> content in cib(resources(DUMMY) + "\n<constraints>\n...")


@pytest.mark.parametrize(
    ("constraint", "path", "message"),
    [
        (
            '<rsc_location id="l" rsc="nope" node="n" score="1"/>',
            "/cib/configuration/constraints/rsc_location[@id='l']",
            "rsc 'nope' does not name any resource: fix the name or remove the constraint",
        ),
        (
            '<rsc_location id="l" rsc="rsc1" node="n" score="lots"/>',
            "/cib/configuration/constraints/rsc_location[@id='l']",
            "invalid score 'lots': use an integer or INFINITY, +INFINITY, -INFINITY",
        ),
        (
            '<rsc_location id="l" rsc="rsc1" node="n"/>',
            "/cib/configuration/constraints/rsc_location[@id='l']",
            "a location with 'node' needs a 'score' (e.g. score=\"INFINITY\")",
        ),
        (
            '<rsc_location id="l" rsc="rsc1"/>',
            "/cib/configuration/constraints/rsc_location[@id='l']",
            "a location needs 'node' and 'score' attributes or a <rule>",
        ),
        (
            '<rsc_location id="l" rsc="rsc1" node="n" score="1" resource-discovery="sometimes"/>',
            "/cib/configuration/constraints/rsc_location[@id='l']",
            "invalid resource-discovery 'sometimes': use always, never or exclusive",
        ),
        (
            '<rsc_location id="l" rsc="rsc1"><rule id="r" score="x"><expression id="e" attribute="a"'
            ' operation="defined"/></rule></rsc_location>',
            "/cib/configuration/constraints/rsc_location[@id='l']/rule[@id='r']",
            "invalid score 'x': use an integer or INFINITY, +INFINITY, -INFINITY",
        ),
        (
            '<rsc_location id="l" rsc="rsc1"><rule id="r" score="1" boolean-op="xor"><expression id="e"'
            ' attribute="a" operation="defined"/></rule></rsc_location>',
            "/cib/configuration/constraints/rsc_location[@id='l']/rule[@id='r']",
            "invalid boolean-op 'xor': use 'and' or 'or'",
        ),
        (
            '<rsc_location id="l" rsc="rsc1"><rule id="r" score="1"><expression id="e" attribute="a"'
            ' operation="like" value="x"/></rule></rsc_location>',
            "/cib/configuration/constraints/rsc_location[@id='l']/rule[@id='r']/expression[@id='e']",
            "invalid operation 'like': use one of defined, eq, gt, gte, lt, lte, ne, not_defined",
        ),
        (
            '<rsc_location id="l" rsc="rsc1"><rule id="r" score="1"><expression id="e" attribute="a"'
            ' operation="eq"/></rule></rsc_location>',
            "/cib/configuration/constraints/rsc_location[@id='l']/rule[@id='r']/expression[@id='e']",
            "operation 'eq' needs a 'value' attribute to compare with",
        ),
        (
            '<rsc_location id="l" rsc="rsc1"><rule id="r" score="1"><date_expression id="d" operation="gt"'
            ' start="yesterday"/></rule></rsc_location>',
            "/cib/configuration/constraints/rsc_location[@id='l']/rule[@id='r']/date_expression[@id='d']",
            "start: invalid ISO 8601 date 'yesterday'",
        ),
        (
            '<rsc_location id="l" rsc="rsc1"><rule id="r" score="1"><date_expression id="d" operation="lt"'
            "/></rule></rsc_location>",
            "/cib/configuration/constraints/rsc_location[@id='l']/rule[@id='r']/date_expression[@id='d']",
            "operation 'lt' needs an 'end' date",
        ),
        (
            '<rsc_location id="l" rsc="rsc1"><rule id-ref="missing"/></rsc_location>',
            "/cib/configuration/constraints/rsc_location[@id='l']/rule[@id-ref='missing']",
            "id-ref 'missing' does not match any id in <configuration>: define a <rule id='missing'>"
            " or fix the reference",
        ),
        (
            '<rsc_colocation id="c" rsc="rsc1" with-rsc="ghost" score="1"/>',
            "/cib/configuration/constraints/rsc_colocation[@id='c']",
            "with-rsc 'ghost' does not name any resource: fix the name or remove the constraint",
        ),
        (
            '<rsc_colocation id="c" rsc="rsc1" with-rsc="rsc1" score="1.5"/>',
            "/cib/configuration/constraints/rsc_colocation[@id='c']",
            "invalid score '1.5': use an integer or INFINITY, +INFINITY, -INFINITY",
        ),
        (
            '<rsc_colocation id="c" with-rsc="rsc1" score="1"/>',
            "/cib/configuration/constraints/rsc_colocation[@id='c']",
            "<rsc_colocation> needs a 'rsc' attribute naming a resource",
        ),
        (
            '<rsc_order id="o" first="ghost" then="rsc1"/>',
            "/cib/configuration/constraints/rsc_order[@id='o']",
            "first 'ghost' does not name any resource: fix the name or remove the constraint",
        ),
        (
            '<rsc_order id="o" first="rsc1" then="rsc1" symmetrical="sometimes"/>',
            "/cib/configuration/constraints/rsc_order[@id='o']",
            "invalid symmetrical 'sometimes': use true or false",
        ),
    ],
)
def test_constraint_errors(constraint: str, path: str, message: str) -> None:
    problem = only_problem(cib(resources(DUMMY) + f"\n<constraints>\n{constraint}\n</constraints>"))
    assert problem.where.startswith("test.xml:")
    line, where_path = problem.where.removeprefix("test.xml:").split(" ", 1)
    assert where_path == path
    assert int(line) >= CONSTRAINT_LINE
    assert problem.message.startswith(message), problem.message


def op_primitive(op_attributes: str, inner: str = "") -> bytes:
    return cib(
        resources(
            '<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"><operations>'
            f'<op id="op1" name="monitor" {op_attributes}>{inner}</op></operations></primitive>'
        )
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            op_primitive('interval="often"'),
            "interval: invalid interval 'often': use a number of seconds (10)",
        ),
        (op_primitive('interval="10" start-delay="x"'), "start-delay: invalid interval 'x'"),
        (op_primitive(""), "an op needs an 'interval' attribute: use interval=\"0\" for one-shot ops"),
        (op_primitive('interval="10" enabled="perhaps"'), "invalid enabled 'perhaps': use true or false"),
        (
            op_primitive(
                'interval="10"',
                '<meta_attributes id="m"><nvpair id="m1" name="interval" value="soon"/></meta_attributes>',
            ),
            "interval: invalid interval 'soon'",
        ),
    ],
)
def test_op_errors(data: bytes, message: str) -> None:
    # The meta nvpair does not override the XML attribute, so the last case
    # is only an error because the XML attribute is absent... check both ways.
    problems = problems_of(data) if b"soon" not in data else problems_of(data.replace(b'interval="10"', b""))
    assert len(problems) == 1, problems
    assert problems[0].where.endswith("/operations/op[@id='op1']")
    assert problems[0].message.startswith(message), problems[0].message


def test_op_meta_nvpairs_fill_typed_fields_only_when_attribute_is_absent() -> None:
    meta = (
        '<meta_attributes id="m"><nvpair id="m1" name="timeout" value="99"/>'
        '<nvpair id="m2" name="on-fail" value="block"/><nvpair id="m3" name="enabled" value="false"/>'
        '<nvpair id="m4" name="role" value="Slave"/></meta_attributes>'
    )
    cluster, _ = load_cib(op_primitive('interval="10" timeout="20"', meta))
    op = primitive(cluster, "rsc1").ops[0]
    assert (op.timeout_ms, op.on_fail, op.enabled, op.role) == (20_000, "block", False, "Unpromoted")


@pytest.mark.parametrize(
    ("configuration", "path", "message"),
    [
        (
            resources(DUMMY + '<primitive id="rsc1" class="ocf" type="Dummy"/>'),
            "/cib/configuration/resources/primitive[@id='rsc1']",
            "duplicate id 'rsc1' (already used by <primitive> at line 6): ids must be unique within"
            " <configuration>; rename one of them",
        ),
        (
            resources('<primitive id="p" class="ocf"/>'),
            "/cib/configuration/resources/primitive[@id='p']",
            "a primitive needs 'class' and 'type' attributes (or a 'template' that has them)",
        ),
        (
            resources('<primitive id="p" template="nope"/>'),
            "/cib/configuration/resources/primitive[@id='p']",
            "template 'nope' is not defined: add a <template id='nope'> or fix the name",
        ),
        (
            resources('<primitive id="p" class="ocf" type="D"><operations id-ref="ops"/></primitive>'),
            "/cib/configuration/resources/primitive[@id='p']/operations[@id-ref='ops']",
            "id-ref 'ops' does not match any id in <configuration>: define a <operations id='ops'>",
        ),
        (
            resources(
                '<primitive id="p" class="ocf" type="D"><instance_attributes id="ia">'
                '<nvpair id-ref="ghost"/></instance_attributes></primitive>'
            ),
            "/cib/configuration/resources/primitive[@id='p']/instance_attributes[@id='ia']/nvpair[@id-ref='ghost']",
            "id-ref 'ghost' does not match any id in <configuration>: define a <nvpair id='ghost'>",
        ),
        (
            resources('<primitive id="p" class="ocf" type="D"><meta_attributes id-ref="p"/></primitive>'),
            "/cib/configuration/resources/primitive[@id='p']/meta_attributes[@id-ref='p']",
            "id-ref 'p' names a <primitive> (line 6), not a <meta_attributes>: point it at an element of the"
            " same kind",
        ),
        (
            resources('<clone id="c"><meta_attributes id="cm"/></clone>'),
            "/cib/configuration/resources/clone[@id='c']",
            "<clone> needs exactly one <primitive> or <group> inside it",
        ),
        (
            resources(
                '<primitive id="p" class="ocf" type="D">'
                '<instance_attributes id="ia" score="high"/></primitive>'
            ),
            "/cib/configuration/resources/primitive[@id='p']/instance_attributes[@id='ia']",
            "invalid score 'high'",
        ),
        (
            '<fencing-topology><fencing-level id="f" index="first" devices="d"/></fencing-topology>',
            "/cib/configuration/fencing-topology/fencing-level[@id='f']",
            "invalid index 'first': use an integer",
        ),
        (
            "<resources/><resources/>",
            "/cib/configuration/resources",
            "<resources> appears twice: merge the two sections into one",
        ),
    ],
)
def test_configuration_errors(configuration: str, path: str, message: str) -> None:
    problem = only_problem(cib(configuration))
    assert problem.where.split(" ", 1)[1] == path
    assert problem.message.startswith(message), problem.message


def test_node_without_uname_is_an_error() -> None:
    data = cib().replace(b"<nodes/>", b'<nodes><node id="n1"/></nodes>')
    problem = only_problem(data)
    assert problem.where == "test.xml:4 /cib/configuration/nodes/node[@id='n1']"
    assert problem.message == "<node> needs a 'uname' attribute: add uname=\"...\""


def test_status_errors() -> None:
    status = (
        '<node_state id="n1" uname="node1" remote_node="kind of"><lrm id="n1"><lrm_resources>'
        '<lrm_resource id="r" class="ocf" type="D"><lrm_rsc_op id="op" operation="start" call-id="x"'
        ' interval="0" rc-code="0" op-status="0"/></lrm_resource></lrm_resources></lrm></node_state>'
    )
    problems = problems_of(cib(status=status, attributes=' have-quorum="maybe" execution-date="soon"'))
    assert [p.message for p in problems] == [
        "invalid remote_node 'kind of': use true or false",
        "invalid call-id 'x': use an integer",
        "invalid have-quorum 'maybe': use 1/true or 0/false",
        "invalid execution-date 'soon': use an integer",
    ]
    assert problems[1].where.endswith("/lrm_resource[@id='r']/lrm_rsc_op[@id='op']")
    assert problems[2].where == "test.xml:1 /cib"


def test_all_problems_are_collected_at_once() -> None:
    xml = resources(DUMMY + DUMMY) + (
        '<constraints><rsc_location id="l1" rsc="ghost" node="n" score="1"/>'
        '<rsc_order id="o1" first="rsc1" then="phantom"/></constraints>'
    )
    problems = problems_of(cib(xml))
    assert [p.message.split(":")[0] for p in problems] == [
        "duplicate id 'rsc1' (already used by <primitive> at line 6)",
        "rsc 'ghost' does not name any resource",
        "then 'phantom' does not name any resource",
    ]
    assert str(InputError(problems)).count("test.xml:") == 3


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (b"", "test.xml:1:1", "malformed XML: Document is empty"),
        (b"<cib><configuration>", "test.xml:1:21", "malformed XML: "),
        (
            b"<cib>\n  <configuration a='1' a='2'/></cib>",
            "test.xml:2:",
            "malformed XML: Attribute a redefined",
        ),
        (b"\x00\x01garbage", "test.xml:1:", "malformed XML: "),
    ],
)
def test_malformed_xml_reports_line_and_column(data: bytes, where: str, message: str) -> None:
    problem = only_problem(data)
    assert problem.where.startswith(where), problem.where
    assert problem.message.startswith(message), problem.message
    assert problem.message.endswith("; fix the XML syntax there")


def test_a_document_that_is_not_a_cib() -> None:
    problem = only_problem(b"<html><body/></html>")
    assert problem == Problem(
        "test.xml:1 /html", "the root element is <html>, not <cib>: this is not a Pacemaker CIB"
    )


def test_a_cib_without_configuration() -> None:
    problem = only_problem(b"<cib><status/></cib>")
    assert problem == Problem(
        "test.xml:1 /cib",
        "<cib> has no <configuration> section: add <configuration> with at least <resources/>",
    )


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_cib(tmp_path / "absent.xml")
    assert caught.value.problems == [Problem("absent.xml", "cannot read the CIB: No such file or directory")]


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    data = (
        f'<!DOCTYPE cib [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<cib><configuration><crm_config><cluster_property_set id="c">'
        '<nvpair id="n" name="a" value="&x;"/></cluster_property_set></crm_config></configuration></cib>'
    ).encode()
    try:
        cluster, _ = load_cib(data)
    except InputError:
        return
    assert "s3cret" not in repr(cluster)


def test_junk_never_escapes_as_anything_but_input_error() -> None:
    """Truncations and byte-level corruptions of a real CIB: loaded, or InputError."""
    original = FULL.read_bytes()
    rng = random.Random(20240611)
    samples = [original[:cut] for cut in range(0, len(original), 97)]
    for _ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        samples.append(bytes(data))
    samples += [rng.randbytes(200) for _ in range(20)]
    for sample in samples:
        try:
            load_cib(sample, name="junk.xml")
        except InputError as error:
            assert error.problems and all(p.where.startswith("junk.xml") for p in error.problems)


# -- export --------------------------------------------------------------------------


def test_round_trip_of_the_full_fixture(full: tuple[Cluster, list[str]]) -> None:
    cluster = full[0]
    again, _ = load_cib(dump_cib(cluster))
    assert again == cluster


def test_dump_writes_shared_objects_once_and_refers_to_them() -> None:
    cluster, _ = load_cib(FULL)
    root = etree.fromstring(dump_cib(cluster))
    assert len(xpath(root, "//operations/@id-ref")) == 1
    assert xpath(root, "//primitive[@id='db2']/instance_attributes/@id-ref") == ["db-params"]
    assert xpath(root, "//primitive[@id='ip1']/@template") == ["tmpl"]
    assert xpath(root, "//primitive[@id='ip1']/@class") == []
    # An <obj_ref>'s or <resource_ref>'s id names a resource, as in Pacemaker's CIBs.
    ids = xpath(root, "/cib/configuration//*[not(self::obj_ref or self::resource_ref)]/@id")
    assert len(ids) == len(set(ids))
    assert xpath(root, "//tag[@id='tag1']/obj_ref/@id") == ["db"]


def test_dump_for_pacemaker_2_1_5_renames_options_and_lowers_versions(
    full: tuple[Cluster, list[str]],
) -> None:
    cluster = replace(
        full[0], cib_attributes=(("validate-with", "pacemaker-3.10"), ("crm_feature_set", "3.19.7"))
    )
    root = etree.fromstring(dump_cib(cluster, pacemaker_2_1_5=True))
    assert root.get("validate-with") == "pacemaker-3.9"
    assert root.get("crm_feature_set") == "3.16.1"
    names = xpath(root, "/cib/configuration/crm_config/cluster_property_set[@id='bootstrap']/nvpair/@name")
    assert names == ["stonith-enabled", "stop-orphan-resources", "no-quorum-policy"]
    plain = etree.fromstring(dump_cib(cluster))
    assert plain.get("validate-with") == "pacemaker-3.10"
    assert "fencing-enabled" in xpath(plain, "//nvpair/@name")


def test_dump_reflects_status_changes(full: tuple[Cluster, list[str]]) -> None:
    cluster = full[0]
    status = replace(cluster.status, have_quorum=True, dc_uuid=None, execution_date=5)
    root = etree.fromstring(dump_cib(replace(cluster, status=status)))
    assert (root.get("have-quorum"), root.get("dc-uuid"), root.get("execution-date")) == ("1", None, "5")


def test_dump_of_a_hand_built_cluster() -> None:
    config = Config(
        nodes=(Node(id="1", uname="node1"),),
        resources=(
            Primitive(
                id="r",
                cls="ocf",
                provider="pacemaker",
                type="Dummy",
                params=(NvSet(id="r-p", values=(("a#b", "1"), ("c:d", "2"))),),
                ops=(Op(id="r-m", name="monitor", interval_ms=1500, timeout_ms=20_000),),
            ),
        ),
    )
    cluster = Cluster(config=config, status=Status(nodes=(NodeState(id="1", uname="node1"),)))
    data = dump_cib(cluster)
    root = etree.fromstring(data)
    assert root.get("validate-with") == "pacemaker-3.9" and root.get("epoch") == "1"
    assert xpath(root, "//op/@interval") == ["1500ms"] and xpath(root, "//op/@timeout") == ["20"]
    assert xpath(root, "//nvpair/@id") == ["r-p-a_b", "r-p-c_d"]  # valid XML ids
    again, _ = load_cib(data)
    assert again.config == config
    assert again.status == cluster.status


# -- Pacemaker's corpus ---------------------------------------------------------------


def test_corpus_loads_and_round_trips() -> None:
    """Every corpus CIB loads, and load(dump(load(F))) == load(F)."""
    files = corpus_files()
    started = time.perf_counter()
    for path in files:
        cluster, _ = load_cib(path)
        again, _ = load_cib(dump_cib(cluster), name=f"dump of {path.name}")
        assert again == cluster, path.name
    assert time.perf_counter() - started < 60


def careful_load(data: bytes, name: str) -> tuple[Cluster | None, list[Problem], list[str]]:
    """The careful path of load_cib alone (whole tree, then the model)."""
    reader = Reader(name)
    try:
        cluster = _load_root(reader, _parse_xml(data, name))
    except InputError as error:
        return None, error.problems, []
    if reader.problems or cluster is None:
        return None, reader.problems, []
    return cluster, [], reader.warnings()


def streamed_load(data: bytes, name: str) -> tuple[Cluster | None, list[Problem], list[str]]:
    try:
        cluster, warnings = load_cib(data, name=name)
    except InputError as error:
        return None, error.problems, []
    return cluster, [], warnings


def test_transient_utilization_is_read_apart_and_dumped_back() -> None:
    """Capacities attrd writes to the status (``<utilization>`` in
    ``<transient_attributes>``) are not node attributes; a dump keeps them."""
    status = ('<node_state id="n1" uname="node1"><transient_attributes id="n1"><utilization id="u">'
              '<nvpair id="u-cpu" name="cpu" value="2"/></utilization><instance_attributes id="i">'
              '<nvpair id="i-a" name="a" value="1"/></instance_attributes></transient_attributes>'
              '</node_state>')
    cluster, _ = load_cib(cib(resources(DUMMY), status=status))
    state = cluster.status.nodes[0]
    assert (state.attributes, state.utilization) == ((("a", "1"),), (("cpu", "2"),))
    again, _ = load_cib(dump_cib(cluster))
    assert again.status.nodes == cluster.status.nodes


def test_corpus_reads_the_same_streamed_and_carefully() -> None:
    """load_cib reads a CIB of the usual shape from the parser's events,
    without a tree for the status; the result (model, problems, warnings) is
    the one of the careful path, which reads the whole tree first."""
    for path in corpus_files():
        data = path.read_bytes()
        assert streamed_load(data, path.name) == careful_load(data, path.name), path.name


@pytest.mark.parametrize(
    "status",
    [
        "",
        '<node_state id="n1" uname="node1"/><node_state uname="nameless"/><tickets/>',
        '<node_state id="n1" uname="node1"/><unknown/><node_state id="n2" uname="node2"><lrm/></node_state>',
        '<node_state id="n1" uname="node1" remote_node="kind of"/><node_state id="n2"><odd/></node_state>',
        '<node_state id="n1" uname="node1"><transient_attributes><instance_attributes>'
        '<nvpair name="a" value="1"><x/></nvpair><nvpair name="b"/></instance_attributes>'
        '</transient_attributes><lrm><lrm_resources><lrm_resource id="r" shutdown-lock="7">'
        '<lrm_rsc_op id="o" operation="start" call-id="3"><y/></lrm_rsc_op></lrm_resource>'
        '</lrm_resources></lrm></node_state>',
        '<node_state id="n1"><lrm><lrm_resources><lrm_resource id="r" shutdown-lock="soon"/>'
        '<lrm_resource id="s"><lrm_rsc_op id="o" operation="start" call-id="x"/></lrm_resource>'
        '</lrm_resources></lrm></node_state>',
        '<node_state id="n1" uname="node1"><transient_attributes><utilization id="u">'
        '<nvpair name="cpu" value="2"/></utilization><instance_attributes id="i">'
        '<nvpair name="a" value="1"/></instance_attributes><other/></transient_attributes></node_state>',
        '<tickets><ticket_state id="t1" granted="true"><z/></ticket_state></tickets>',
        '<tickets><ticket_state id="t1" granted="true"/></tickets><tickets><other/></tickets>',
        '<tickets><ticket_state id="t1" granted="perhaps"/><ticket_state standby="1"/></tickets>',
    ],
)
@pytest.mark.parametrize(
    "shape", ["usual", "status first", "two status", "two configurations", "nested", "doctype"]
)
def test_every_shape_reads_as_the_careful_path_reads_it(status: str, shape: str) -> None:
    data = cib(resources(DUMMY), status=status, attributes=' have-quorum="maybe"').decode()
    config = data[data.index("<configuration>"):data.index("</configuration>") + len("</configuration>")]
    section = f"<status>\n{status}\n</status>"
    if shape == "status first":
        data = data.replace(section, "").replace(config, section + config)
    elif shape == "two status":
        data = data.replace(section, section + section.replace('"n1"', '"n9"'))
    elif shape == "two configurations":
        data = data.replace(config, config + config.replace('"rsc1"', '"rsc9"'))
    elif shape == "nested":
        data = data.replace("<crm_config/>", "<crm_config/><node_state id='x'/>")
    elif shape == "doctype":
        data = '<!DOCTYPE cib [<!ENTITY n "node">]>\n' + data.replace('uname="node1"', 'uname="&n;1"')
    assert streamed_load(data.encode(), "t.xml") == careful_load(data.encode(), "t.xml")


CRM_SIMULATE_SAMPLES = 20
# Templates, id-refs, inherited clone parameters, validate-with 3.10 and none.
EXTRA_CRM_SIMULATE_SAMPLES = (
    "template-3",
    "nvpair-id-ref",
    "clone-anon-dup",
    "coloc-optional-promoted-dependent-moves-1",
    "priority-fencing-delay",
)


@pytest.mark.skipif(shutil.which("crm_simulate") is None, reason="Pacemaker's crm_simulate is not installed")
def test_pacemaker_2_1_5_loads_dumps(tmp_path: Path) -> None:
    files = corpus_files()
    step = max(1, len(files) // CRM_SIMULATE_SAMPLES)
    chosen = files[::step][: CRM_SIMULATE_SAMPLES + 5]
    chosen += [path for path in files if path.stem in EXTRA_CRM_SIMULATE_SAMPLES]
    for path in chosen:
        cluster, _ = load_cib(path)
        if any("<bundle>" in warning for warning in cluster.config.unsupported):
            continue  # a dropped bundle orphans its history, which 2.1.5 may fail to simulate
        dump = tmp_path / path.name
        dump.write_bytes(dump_cib(cluster, pacemaker_2_1_5=True))
        result = subprocess.run(
            ["crm_simulate", "-x", str(dump), "-S"], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, f"{path.name}: {result.stderr[-2000:]}"


def test_a_problem_in_a_shared_set_is_reported_once() -> None:
    xml = resources(
        '<primitive id="a" class="ocf" type="D"><meta_attributes id="m" score="big"/></primitive>'
        '<primitive id="b" class="ocf" type="D"><meta_attributes id-ref="m"/></primitive>'
    )
    problem = only_problem(cib(xml))
    assert problem.where.endswith("/primitive[@id='a']/meta_attributes[@id='m']")


# -- names that could steer a path, values Pacemaker refuses (issue 12) --------------


@pytest.mark.parametrize("with_status", [True, False])
@pytest.mark.parametrize(
    ("element", "ident"),
    [
        ('<primitive id="{id}" class="ocf" provider="pacemaker" type="Dummy"/>', "../../../tmp/x/PWNED"),
        ('<primitive id="{id}" class="ocf" provider="pacemaker" type="Dummy"/>', "web:0"),
        ('<primitive id="{id}" class="ocf" provider="pacemaker" type="Dummy"/>', "1web"),
        ('<primitive id="{id}" class="ocf" provider="pacemaker" type="Dummy"/>', ".."),
        ('<group id="{id}">' + DUMMY + "</group>", "a/b"),
        ('<clone id="{id}">' + DUMMY + "</clone>", "a b"),
        (
            '<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"><operations>'
            '<op id="{id}" name="monitor" interval="10"/></operations></primitive>',
            "op/../x",
        ),
    ],
)
def test_ids_that_are_not_pacemaker_ids_are_refused_one_problem_each(
    element: str, ident: str, with_status: bool
) -> None:
    xml = resources(element.format(id=ident))
    with pytest.raises(InputError) as caught:
        load_cib(cib(xml), name="test.xml", with_status=with_status)
    [problem] = caught.value.problems
    assert problem.where.startswith("test.xml:6 ")
    assert problem.message.startswith(f"id {ident!r} is not a valid id: an id starts with a letter or '_'")


def test_a_constraint_id_is_checked_too_and_ids_pacemaker_accepts_are_not() -> None:
    ok = '<primitive id="_a.b-c_1" class="ocf" provider="pacemaker" type="Dummy"/>'
    load_cib(cib(resources(ok) + '<constraints><rsc_location id="Ünïcode.1" rsc="_a.b-c_1" node="n"'
                 ' score="1"/></constraints>'))
    problem = only_problem(cib(resources(DUMMY) + '<constraints><rsc_location id="l/x" rsc="rsc1" node="n"'
                               ' score="1"/></constraints>'))
    assert "rsc_location[@id='l/x']" in problem.where and "is not a valid id" in problem.message


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            resources('<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"><operations>'
                      '<op id="m" name="monitor" interval="10" on-fail="explode"/></operations></primitive>'),
            "invalid value 'explode' for on-fail: use one of ignore, block, demote, stop, restart, standby,"
            " fence, restart-container",
        ),
        (
            '<op_defaults><meta_attributes id="od"><nvpair id="od-1" name="on-fail" value="explode"/>'
            "</meta_attributes></op_defaults>",
            "invalid value 'explode' for on-fail",
        ),
        (
            resources('<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes'
                      ' id="m"><nvpair id="m-1" name="migration-threshold" value="three"/></meta_attributes>'
                      "</primitive>"),
            "invalid value 'three' for migration-threshold: use an integer or INFINITY",
        ),
        (
            '<rsc_defaults><meta_attributes id="rd"><nvpair id="rd-1" name="migration-threshold"'
            ' value="three"/></meta_attributes></rsc_defaults>',
            "invalid value 'three' for migration-threshold",
        ),
        (
            '<crm_config><cluster_property_set id="o"><nvpair id="o-1" name="stonith-enabled" value="maybe"/>'
            "</cluster_property_set></crm_config>",
            "invalid value 'maybe' for stonith-enabled: use true or false",
        ),
        (
            '<crm_config><cluster_property_set id="o"><nvpair id="o-1" name="no-quorum-policy"'
            ' value="dance"/></cluster_property_set></crm_config>',
            "invalid value 'dance' for no-quorum-policy: use one of stop, freeze, ignore, demote, suicide,"
            " fence",
        ),
        (
            resources('<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"><operations>'
                      '<op id="m" name="monitor" interval="100000000000000000000000000"/></operations>'
                      "</primitive>"),
            "interval: '100000000000000000000000000' is too long: at most 4294967s (about 49 days)",
        ),
        (
            resources('<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"><operations>'
                      '<op id="m" name="monitor" interval="10" timeout="50d"/></operations></primitive>'
                      .replace("50d", "4294968s")),
            "timeout: '4294968s' is too long",
        ),
        (
            resources('<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"><operations>'
                      '<op id="m" name="monitor" interval="10" timeout="-5s"/></operations></primitive>'),
            "timeout: '-5s' is negative: an action needs time to run",
        ),
        (
            resources(DUMMY) + '<constraints><rsc_location id="l" rsc-pattern="([" node="n" score="1"/>'
            "</constraints>",
            "rsc-pattern '([' is not a regular expression (unterminated character set at position 1): fix it",
        ),
        (
            '<fencing-topology><fencing-level id="f" index="1" devices="d" target-pattern="*x"/>'
            "</fencing-topology>",
            "target-pattern '*x' is not a regular expression",
        ),
    ],
)
def test_values_pacemaker_refuses_are_refused_with_what_to_use(xml: str, message: str) -> None:
    data = cib(xml).replace(b"<crm_config/>\n", b"") if "<crm_config>" in xml else cib(xml)
    problem = only_problem(data)
    assert problem.message.startswith(message), problem


def test_values_pacemaker_accepts_still_load() -> None:
    xml = resources(
        '<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="m">'
        '<nvpair id="m-1" name="migration-threshold" value="-INFINITY"/>'
        '<nvpair id="m-2" name="on-fail" value="Restart"/></meta_attributes><operations>'
        '<op id="mon" name="monitor" interval="4294967s" timeout="PT10S" on-fail="fence"/></operations>'
        "</primitive>"
    ).replace("<resources>", '<crm_config><cluster_property_set id="o"><nvpair id="o-1"'
              ' name="stonith-enabled" value="No"/><nvpair id="o-2" name="no-quorum-policy" value="freeze"/>'
              "</cluster_property_set></crm_config><resources>")
    cluster, _ = load_cib(cib(xml).replace(b"<crm_config/>\n", b""))
    assert primitive(cluster, "rsc1").ops[0].interval_ms == 4_294_967_000


@pytest.mark.parametrize("doctype", ['<!DOCTYPE cib SYSTEM "pacemaker.dtd">',
                                     '<!DOCTYPE cib PUBLIC "-//x" "http://example.com/cib.dtd">'])
@pytest.mark.parametrize("with_status", [True, False])
def test_an_undeclared_entity_is_an_error_not_an_empty_value(doctype: str, with_status: bool) -> None:
    xml = resources('<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy">'
                    '<instance_attributes id="i"><nvpair id="i-1" name="state" value="&nowhere;"/>'
                    "</instance_attributes></primitive>")
    with pytest.raises(InputError) as caught:
        load_cib(doctype.encode() + b"\n" + cib(xml), name="test.xml", with_status=with_status)
    [problem] = caught.value.problems
    assert problem.where.startswith("test.xml:7:")  # the line of the nvpair
    assert problem.message.startswith("malformed XML: Entity 'nowhere' not defined: write the character")


def test_orders_in_a_circle_are_refused_naming_each_order() -> None:
    three = "".join(f'<primitive id="{r}" class="ocf" provider="pacemaker" type="Dummy"/>' for r in "abc")
    orders = ('<rsc_order id="o1" first="a" then="b"/>\n<rsc_order id="o2" first="b" then="c"/>\n'
              '<rsc_order id="o3" first="c" then="a" kind="Optional"/>\n'
              '<rsc_order id="s" first="c" then="b" kind="Serialize"/>')
    problem = only_problem(cib(resources(three) + f"<constraints>{orders}</constraints>"))
    assert "rsc_order[@id='o1']" in problem.where
    assert problem.message == (
        "these orders wait on each other in a circle, so none of their actions can ever run:"
        " o1 (a start before b start), o2 (b start before c start), o3 (c start before a start);"
        " remove one of them"
    )
    # An order between different actions of the same resources is no circle.
    ok = '<rsc_order id="o1" first="a" then="b"/><rsc_order id="o2" first="b" first-action="stop" then="a"/>'
    load_cib(cib(resources(three) + f"<constraints>{ok}</constraints>"))


# -- tickets -------------------------------------------------------------------


TICKET_RESOURCES = resources(
    '<template id="tpl" class="ocf" provider="pacemaker" type="Dummy"/>'
    '<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"/>'
    '<primitive id="rsc2" template="tpl"/><primitive id="rsc3" template="tpl"/>'
    '<clone id="ms1"><meta_attributes id="ms1-m"><nvpair id="ms1-p" name="promotable" value="true"/>'
    '</meta_attributes><primitive id="db" class="ocf" provider="pacemaker" type="Stateful"/></clone>'
)


def test_ticket_constraints_name_resources_sets_tags_and_templates() -> None:
    xml = TICKET_RESOURCES + (
        '<constraints>'
        '<rsc_ticket id="t-simple" rsc="rsc1" ticket="A"/>'
        '<rsc_ticket id="t-promoted" rsc="ms1" rsc-role="Master" ticket="A" loss-policy="demote"/>'
        '<rsc_ticket id="t-sets" ticket="B" loss-policy="freeze">'
        '<resource_set id="s0" role="Started"><resource_ref id="rsc1"/><resource_ref id="tag1"/>'
        '</resource_set><resource_set id="s1" role="Promoted"><resource_ref id="ms1"/></resource_set>'
        '</rsc_ticket>'
        '<rsc_ticket id="t-template" rsc="tpl" rsc-role="Started" ticket="C" loss-policy="fence"/>'
        '</constraints><tags><tag id="tag1"><obj_ref id="rsc2"/><obj_ref id="rsc3"/></tag></tags>'
    )
    cluster, _ = load_cib(cib(xml))
    assert cluster.config.rsc_tickets == (
        RscTicket(id="t-simple", ticket="A", rsc="rsc1"),
        RscTicket(id="t-promoted", ticket="A", rsc="ms1", rsc_role="Promoted", loss_policy="demote"),
        RscTicket(id="t-sets", ticket="B", loss_policy="freeze", sets=(
            TicketSet(id="s0", resources=("rsc1", "rsc2", "rsc3"), role="Started"),
            TicketSet(id="s1", resources=("ms1",), role="Promoted"),
        )),
        RscTicket(id="t-template", ticket="C", loss_policy="fence", sets=(
            TicketSet(id="t-template-tpl", resources=("rsc2", "rsc3"), role="Started"),
        )),
    )
    again, _ = load_cib(dump_cib(cluster))
    assert again.config.rsc_tickets == cluster.config.rsc_tickets


@pytest.mark.parametrize(("constraint", "message"), [
    ('<rsc_ticket id="t" rsc="rsc1"/>', "needs a 'ticket' attribute"),
    ('<rsc_ticket id="t" rsc="nope" ticket="A"/>', "rsc 'nope' does not name any resource"),
    ('<rsc_ticket id="t" rsc="rsc1" ticket="A" loss-policy="panic"/>',
     "invalid loss-policy 'panic': use stop, demote, fence or freeze"),
    ('<rsc_ticket id="t" rsc="rsc1" ticket="A" rsc-role="Leader"/>', "invalid rsc-role 'Leader'"),
    ('<rsc_ticket id="t" ticket="A"/>', "needs an 'rsc' attribute naming a resource, or <resource_set>"),
    ('<rsc_ticket id="t" rsc="rsc1" ticket="A"><resource_set id="s"><resource_ref id="rsc1"/>'
     '</resource_set></rsc_ticket>', "either 'rsc' or <resource_set> elements, not both"),
])
def test_bad_ticket_constraints_are_problems(constraint: str, message: str) -> None:
    problem = only_problem(cib(TICKET_RESOURCES + f"<constraints>{constraint}</constraints>"))
    assert message in problem.message


def test_demote_loss_policy_without_the_promoted_role_warns_that_it_stops() -> None:
    xml = TICKET_RESOURCES + '<constraints><rsc_ticket id="t" rsc="rsc1" ticket="A" loss-policy="demote"/>' \
        '</constraints>'
    _, warnings = load_cib(cib(xml))
    assert any("loss-policy 'demote' needs rsc-role 'Promoted': 'rsc1' is stopped instead" in w
               for w in warnings)


def test_ticket_last_granted_is_read_and_written_back() -> None:
    status = '<tickets><ticket_state id="A" granted="true" last-granted="1700000000"/>' \
        '<ticket_state id="B" standby="true" last-granted="soon"/></tickets>'
    cluster, warnings = load_cib(cib(status=status))
    assert [(t.id, t.granted, t.standby, t.last_granted) for t in cluster.status.tickets] == [
        ("A", True, False, 1700000000), ("B", False, True, None)]
    assert any("invalid last-granted 'soon' is ignored" in w for w in warnings)
    again, _ = load_cib(dump_cib(cluster))
    assert again.status.tickets == cluster.status.tickets
