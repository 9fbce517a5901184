"""The YAML configuration format: load_yaml_config, dump_yaml_config, load_config_file.

Covers what every section becomes in the model, that YAML and the
equivalent CIB are the same configuration (and schedule the same), that each
kind of bad input is reported at its YAML line with a message saying how to
fix it (and never escapes as anything but InputError), the round trip
dump -> load on hand-written examples, the documentation's examples and
Pacemaker's regression corpus, and the format sniffing of load_config_file.
"""

from __future__ import annotations

import os
import random
import re
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from vigil.errors import InputError, Problem
from vigil.formats.cib.load import load_cib
from vigil.formats.config_file import detect_format, load_config_data, load_config_file
from vigil.formats.yaml.dump import NotExpressibleInYaml, dump_yaml_config
from vigil.formats.yaml.load import load_yaml_config
from vigil.model.config import (
    Alert,
    AlertRecipient,
    AlertSelect,
    Bundle,
    Clone,
    Colocation,
    Config,
    FencingLevel,
    Group,
    Node,
    NvSet,
    Op,
    Order,
    Primitive,
    RscTicket,
    SelectedAttribute,
    Tag,
    TicketSet,
)
from vigil.model.rules import DateExpression, DateSpec, Expression, OpExpression, ResourceExpression, Rule
from vigil.model.scores import INFINITY
from vigil.scheduler import schedule

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "configuration.md"
GOLDEN = ROOT / "tests" / "golden"
CORPUS = Path(
    os.environ.get(
        "VIGIL_PACEMAKER_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "pacemaker-corpus"
    )
)


def load(text: str) -> Config:
    config, _ = load_yaml_config(textwrap.dedent(text), name="test.yaml")
    return config


def problems_of(text: str | bytes) -> list[Problem]:
    source = textwrap.dedent(text) if isinstance(text, str) else text
    with pytest.raises(InputError) as caught:
        load_yaml_config(source, name="test.yaml")
    problems = caught.value.problems
    assert problems and all(problem.where.startswith("test.yaml") for problem in problems), problems
    return problems


def only_problem(text: str | bytes) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def line_of(problem: Problem) -> int:
    match = re.fullmatch(r"test\.yaml:(\d+)(?::\d+)?", problem.where)
    assert match is not None, problem.where
    return int(match[1])


def round_trip(config: Config) -> Config:
    again, _ = load_yaml_config(dump_yaml_config(config), name="dump.yaml")
    return again


def doc_examples() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", DOCS.read_text(), re.MULTILINE | re.DOTALL)


# -- each section in the model ----------------------------------------------------------


def test_options_and_defaults_are_one_set_each_with_the_ids_pacemaker_tools_use() -> None:
    config = load(
        """
        options: {stonith-enabled: false, cluster-recheck-interval: 1min}
        rsc_defaults: {resource-stickiness: 1}
        op_defaults: {timeout: 30s}
        """
    )
    assert config.options == (
        NvSet(
            id="cib-bootstrap-options",
            values=(("stonith-enabled", "false"), ("cluster-recheck-interval", "1min")),
        ),
    )
    assert config.rsc_defaults == (
        NvSet(id="rsc_defaults-meta_attributes", values=(("resource-stickiness", "1"),)),
    )
    assert config.op_defaults == (NvSet(id="op_defaults-meta_attributes", values=(("timeout", "30s"),)),)


def test_values_are_kept_exactly_as_written() -> None:
    config = load(
        """
        options:
          a: false
          b: yes
          c: "off"
          d: 010
          e: 1.50
          f: 10s
          g: 2026-01-01
          h: ""
          i: 'null'
          j: -INFINITY
          k: 0x1F
        """
    )
    assert config.options[0].values == (
        ("a", "false"),
        ("b", "yes"),
        ("c", "off"),
        ("d", "010"),
        ("e", "1.50"),
        ("f", "10s"),
        ("g", "2026-01-01"),
        ("h", ""),
        ("i", "null"),
        ("j", "-INFINITY"),
        ("k", "0x1F"),
    )


def test_sets_as_a_list_with_ids_scores_and_rules() -> None:
    config = load(
        """
        options:
          - values: {stonith-enabled: false}
          - score: 10
            rule:
              expressions: [{date: date_spec, date-spec: {hours: 9-17}}]
            values: {cluster-recheck-interval: 5min}
          - id: mine
            values: {}
        """
    )
    assert config.options == (
        NvSet(id="cib-bootstrap-options", values=(("stonith-enabled", "false"),)),
        NvSet(
            id="cib-bootstrap-options-1",
            values=(("cluster-recheck-interval", "5min"),),
            score=10,
            rule=Rule(
                id="cib-bootstrap-options-1-rule",
                conditions=(
                    DateExpression(
                        id="cib-bootstrap-options-1-rule-expr",
                        operation="date_spec",
                        spec=DateSpec(
                            id="cib-bootstrap-options-1-rule-expr-datespec", fields=(("hours", "9-17"),)
                        ),
                    ),
                ),
            ),
        ),
        NvSet(id="mine", values=()),
    )


def test_nodes_default_their_id_to_their_name() -> None:
    config = load(
        """
        nodes:
          - name: node1
            attributes: {rack: a}
            utilization: {cpu: 4}
          - {name: node2, id: "2", type: remote}
        """
    )
    assert config.nodes == (
        Node(
            id="node1",
            uname="node1",
            attributes=(NvSet(id="nodes-node1", values=(("rack", "a"),)),),
            utilization=(NvSet(id="nodes-node1-utilization", values=(("cpu", "4"),)),),
        ),
        Node(id="2", uname="node2", type="remote"),
    )


def test_primitive_with_sets_and_ops() -> None:
    config = load(
        """
        resources:
          - id: web
            agent: ocf:heartbeat:apache
            params: {configfile: /etc/apache.conf}
            meta: {migration-threshold: 3}
            utilization: {cpu: 2}
            ops:
              - {name: start, timeout: 60s}
              - {name: monitor, interval: 10s, timeout: 20s, on-fail: restart, role: Started, start-delay: 1s}
              - {name: monitor, interval: 1min, enabled: false, record-pending: true,
                 meta: {description: deep}, params: {OCF_CHECK_LEVEL: 10}}
          - {id: fence1, agent: "stonith:fence_ipmilan"}
        """
    )
    web, fence = config.resources
    assert web == Primitive(
        id="web",
        cls="ocf",
        provider="heartbeat",
        type="apache",
        params=(NvSet(id="web-instance_attributes", values=(("configfile", "/etc/apache.conf"),)),),
        meta=(NvSet(id="web-meta_attributes", values=(("migration-threshold", "3"),)),),
        utilization=(NvSet(id="web-utilization", values=(("cpu", "2"),)),),
        ops=(
            Op(id="web-start-interval-0s", name="start", interval_ms=0, timeout_ms=60_000),
            Op(
                id="web-monitor-interval-10s",
                name="monitor",
                interval_ms=10_000,
                timeout_ms=20_000,
                role="Started",
                on_fail="restart",
                start_delay_ms=1000,
            ),
            Op(
                id="web-monitor-interval-60s",
                name="monitor",
                interval_ms=60_000,
                enabled=False,
                meta=(("record-pending", "true"), ("description", "deep")),
                params=(("OCF_CHECK_LEVEL", "10"),),
            ),
        ),
    )
    assert (fence.cls, fence.provider, fence.type) == ("stonith", None, "fence_ipmilan")


def test_groups_and_clones_nest_as_in_a_cib() -> None:
    config = load(
        """
        resources:
          - group: g
            params: {shared: "1"}
            meta: {target-role: Started}
            members:
              - {id: a, agent: "ocf:heartbeat:Dummy", params: {own: "2"}}
              - {id: b, agent: "ocf:heartbeat:Dummy"}
          - clone: c
            meta: {interleave: true}
            resource: {id: d, agent: "ocf:heartbeat:Dummy"}
          - clone: db-clone
            meta: {promotable: true}
            resource:
              group: db-group
              members: [{id: db, agent: "ocf:heartbeat:pgsql"}]
        """
    )
    group, clone, promotable = config.resources
    assert isinstance(group, Group) and isinstance(clone, Clone) and isinstance(promotable, Clone)
    shared = NvSet(id="g-instance_attributes", values=(("shared", "1"),))
    assert group.members[0].params == (NvSet(id="a-instance_attributes", values=(("own", "2"),)), shared)
    assert group.members[1].params == (shared,)
    assert [member.parent for member in group.members] == ["g", "g"]
    assert group.meta == (NvSet(id="g-meta_attributes", values=(("target-role", "Started"),)),)
    assert clone.child.id == "d" and clone.child.parent == "c" and not clone.promotable
    assert clone.meta == (NvSet(id="c-meta_attributes", values=(("interleave", "true"),)),)
    assert promotable.promotable and isinstance(promotable.child, Group)


RESOURCES = """
resources:
  - {id: web, agent: "ocf:heartbeat:Dummy"}
  - {id: db, agent: "ocf:heartbeat:Dummy"}
"""


def test_locations_with_node_score_and_rules() -> None:
    config = load(
        RESOURCES
        + """
constraints:
  - location: l1
    resource: web
    node: node1
    score: 100
    role: Started
    resource-discovery: never
  - location: l2
    resource-pattern: "^w"
    rules:
      - score: -INFINITY
        boolean-op: or
        expressions:
          - {attribute: "#uname", operation: eq, value: node2, type: string, value-source: literal}
          - {attribute: ssd, operation: defined}
          - {date: in_range, start: "2026-01-01", duration: {days: 3}}
          - {id: nested, expressions: [{attribute: x, operation: ne, value: "1"}]}
      - {score-attribute: speed, role: Promoted, expressions: []}
"""
    )
    first, second = config.locations
    assert (first.id, first.rsc, first.node, first.score, first.role, first.resource_discovery) == (
        "l1",
        "web",
        "node1",
        100,
        "Started",
        "never",
    )
    assert (second.rsc, second.rsc_pattern, second.node, second.score) == ("", "^w", None, None)
    assert second.rules == (
        Rule(
            id="l2-rule",
            boolean_op="or",
            score=-INFINITY,
            conditions=(
                Expression(
                    id="l2-rule-expr", attribute="#uname", operation="eq", value="node2", type="string"
                ),
                Expression(id="l2-rule-expr-1", attribute="ssd", operation="defined"),
                DateExpression(
                    id="l2-rule-expr-2", operation="in_range", start="2026-01-01", duration=(("days", "3"),)
                ),
                Rule(
                    id="nested",
                    conditions=(Expression(id="nested-expr", attribute="x", operation="ne", value="1"),),
                ),
            ),
        ),
        Rule(id="l2-rule-1", conditions=(), score_attribute="speed", role="Promoted"),
    )


def test_resource_and_op_expressions_in_defaults() -> None:
    config = load(
        """
        rsc_defaults:
          - score: 10
            rule: {expressions: [{class: ocf, provider: heartbeat, type: Dummy}]}
            values: {resource-stickiness: 100}
        op_defaults:
          - rule: {expressions: [{op: monitor, interval: 10s}]}
            values: {timeout: 40s}
        """
    )
    rsc_rule = config.rsc_defaults[0].rule
    op_rule = config.op_defaults[0].rule
    assert rsc_rule is not None and op_rule is not None
    assert rsc_rule.conditions == (
        ResourceExpression(
            id="rsc_defaults-meta_attributes-rule-expr", cls="ocf", provider="heartbeat", type="Dummy"
        ),
    )
    assert op_rule.conditions == (
        OpExpression(id="op_defaults-meta_attributes-rule-expr", name="monitor", interval_ms=10_000),
    )


def test_colocations_and_orders_with_their_options() -> None:
    config = load(
        RESOURCES
        + """
constraints:
  - {colocation: c1, resource: web, with: db, score: INFINITY}
  - colocation: c2
    resource: web
    with: db
    score: -100
    resource-role: Started
    with-role: Promoted
    node-attribute: rack
    influence: false
  - {order: o1, first: db, then: web}
  - order: o2
    first: db
    then: web
    kind: Optional
    first-action: promote
    then-action: start
    symmetrical: false
    require-all: false
"""
    )
    assert config.colocations == (
        Colocation(id="c1", rsc="web", with_rsc="db", score=INFINITY),
        Colocation(
            id="c2",
            rsc="web",
            with_rsc="db",
            score=-100,
            rsc_role="Started",
            with_rsc_role="Promoted",
            node_attribute="rack",
            influence=False,
        ),
    )
    assert config.orders == (
        Order(id="o1", first="db", then="web"),
        Order(
            id="o2",
            first="db",
            then="web",
            kind="Optional",
            first_action="promote",
            then_action="start",
            symmetrical=False,
            require_all=False,
        ),
    )


def test_ticket_constraints_with_a_resource_or_sets() -> None:
    config = load(
        RESOURCES
        + """
constraints:
  - {ticket-constraint: t1, ticket: site-a, resource: web}
  - ticket-constraint: t2
    ticket: site-a
    loss-policy: demote
    resource: db
    resource-role: Promoted
  - ticket-constraint: t3
    ticket: site-b
    loss-policy: freeze
    sets:
      - {role: Started, resources: [web, db]}
      - {id: mine, resources: [db]}
"""
    )
    assert config.rsc_tickets == (
        RscTicket(id="t1", ticket="site-a", rsc="web"),
        RscTicket(id="t2", ticket="site-a", rsc="db", rsc_role="Promoted", loss_policy="demote"),
        RscTicket(id="t3", ticket="site-b", loss_policy="freeze", sets=(
            TicketSet(id="t3-0", resources=("web", "db"), role="Started"),
            TicketSet(id="mine", resources=("db",)),
        )),
    )
    assert round_trip(config) == config
    assert "id: t3-0" not in dump_yaml_config(config)


def test_tags_name_resources_for_constraints_and_read_back() -> None:
    config = load(
        RESOURCES
        + """
  - {id: ip, agent: "ocf:heartbeat:Dummy"}
tags:
  tier: [web, db]
constraints:
  - {colocation: tier-with-ip, resource: tier, with: ip, score: INFINITY}
"""
    )
    assert config.tags == (Tag(id="tier", refs=("web", "db")),)
    assert config.constrained("tier") == ("web", "db")
    assert config.colocations == (Colocation(id="tier-with-ip", rsc="tier", with_rsc="ip", score=INFINITY),)
    assert round_trip(config) == config


def test_a_constraint_whose_tag_names_no_resource_is_skipped_with_a_warning() -> None:
    config, warnings = load_yaml_config(textwrap.dedent(
        RESOURCES
        + """
tags:
  tier: [web, nosuch]
constraints:
  - {location: l1, resource: tier, node: node1, score: 100}
"""), name="test.yaml")
    assert config.locations == ()
    assert any("'nosuch'" in warning and "skipped" in warning for warning in warnings)


def test_a_colocation_between_two_tags_is_skipped_with_a_warning() -> None:
    config, warnings = load_yaml_config(textwrap.dedent(
        RESOURCES
        + """
tags:
  left: [web]
  right: [db]
constraints:
  - {colocation: c1, resource: left, with: right, score: INFINITY}
"""), name="test.yaml")
    assert config.colocations == ()
    assert any("tag or template with another one" in warning for warning in warnings)


def test_fencing_topology() -> None:
    config = load(
        """
        fencing-topology:
          - {target: node1, index: 1, devices: [ipmi1, pdu]}
          - {id: lvl2, target-pattern: "node\\\\d", index: 2, devices: [pdu]}
          - {target-attribute: rack, target-value: a, index: 1, devices: [pdu]}
        """
    )
    assert config.fencing_levels == (
        FencingLevel(id="fl-node1-1", index=1, devices=("ipmi1", "pdu"), target="node1"),
        FencingLevel(id="lvl2", index=2, devices=("pdu",), target_pattern="node\\d"),
        FencingLevel(id="fl-rack_a-1", index=1, devices=("pdu",), target_attribute="rack", target_value="a"),
    )


def test_generated_ids_never_clash_with_the_ids_written() -> None:
    config = load(
        """
        resources:
          - {id: web-meta_attributes, agent: "ocf:heartbeat:Dummy"}
          - {id: web, agent: "ocf:heartbeat:Dummy", meta: {a: "1"}}
        """
    )
    web = config.resources[1]
    assert isinstance(web, Primitive) and web.meta[0].id == "web-meta_attributes-2"


# -- alerts -----------------------------------------------------------------------------------

ALERTS_YAML = """
alerts:
  - id: file-log
    path: /usr/share/pacemaker/alerts/alert_file.sh.sample
    description: to a log
    meta: {timeout: 10s, timestamp-format: "%Y-%m-%d %H:%M:%S.%06N"}
    params: {debug_exec_order: false}
    select: [nodes, resources, {attributes: [standby, {id: file-shutdown, name: shutdown}]}]
    recipients:
      - value: /var/log/cluster-alerts.log
        description: main log
        meta: {timeout: 5s}
        params: {debug_exec_order: "true"}
      - {id: other-log, value: /var/log/other.log}
  - path: vigil:webhook
    meta: {retries: 3, retry-delay: 2s}
    params: {header-Authorization: Bearer xyz}
    recipients: [{value: "http://127.0.0.1:8080/events"}]
  - {path: /bin/true, select: []}
"""

# The same alerts as pcs would have written them (its ids for sets and recipients).
ALERTS_CIB = """<alerts>
  <alert id="file-log" path="/usr/share/pacemaker/alerts/alert_file.sh.sample" description="to a log">
    <meta_attributes id="file-log-meta_attributes">
      <nvpair id="f1" name="timeout" value="10s"/>
      <nvpair id="f2" name="timestamp-format" value="%Y-%m-%d %H:%M:%S.%06N"/>
    </meta_attributes>
    <instance_attributes id="file-log-instance_attributes">
      <nvpair id="f3" name="debug_exec_order" value="false"/>
    </instance_attributes>
    <select>
      <select_nodes/>
      <select_resources/>
      <select_attributes>
        <attribute id="file-log-select-standby" name="standby"/>
        <attribute id="file-shutdown" name="shutdown"/>
      </select_attributes>
    </select>
    <recipient id="file-log-recipient" value="/var/log/cluster-alerts.log" description="main log">
      <meta_attributes id="file-log-recipient-meta_attributes">
        <nvpair id="r1" name="timeout" value="5s"/>
      </meta_attributes>
      <instance_attributes id="file-log-recipient-instance_attributes">
        <nvpair id="r2" name="debug_exec_order" value="true"/>
      </instance_attributes>
    </recipient>
    <recipient id="other-log" value="/var/log/other.log"/>
  </alert>
  <alert id="alert-1" path="vigil:webhook">
    <meta_attributes id="alert-1-meta_attributes">
      <nvpair id="h1" name="retries" value="3"/>
      <nvpair id="h2" name="retry-delay" value="2s"/>
    </meta_attributes>
    <instance_attributes id="alert-1-instance_attributes">
      <nvpair id="h3" name="header-Authorization" value="Bearer xyz"/>
    </instance_attributes>
    <recipient id="alert-1-recipient" value="http://127.0.0.1:8080/events"/>
  </alert>
  <alert id="alert-2" path="/bin/true"><select/></alert>
</alerts>"""


def alerts_cib(alerts: str) -> bytes:
    return f"<cib><configuration><crm_config/><nodes/><resources/>{alerts}</configuration></cib>".encode()


def test_alerts_with_every_feature() -> None:
    assert load(ALERTS_YAML).alerts == (
        Alert(
            id="file-log",
            path="/usr/share/pacemaker/alerts/alert_file.sh.sample",
            description="to a log",
            params=(NvSet("file-log-instance_attributes", (("debug_exec_order", "false"),)),),
            meta=(
                NvSet(
                    "file-log-meta_attributes",
                    (("timeout", "10s"), ("timestamp-format", "%Y-%m-%d %H:%M:%S.%06N")),
                ),
            ),
            select=AlertSelect(
                nodes=True,
                resources=True,
                attributes=True,
                attribute_names=(
                    SelectedAttribute("file-log-select-standby", "standby"),
                    SelectedAttribute("file-shutdown", "shutdown"),
                ),
            ),
            recipients=(
                AlertRecipient(
                    "file-log-recipient",
                    "/var/log/cluster-alerts.log",
                    "main log",
                    params=(
                        NvSet("file-log-recipient-instance_attributes", (("debug_exec_order", "true"),)),
                    ),
                    meta=(NvSet("file-log-recipient-meta_attributes", (("timeout", "5s"),)),),
                ),
                AlertRecipient("other-log", "/var/log/other.log"),
            ),
        ),
        Alert(
            id="alert-1",
            path="vigil:webhook",
            params=(NvSet("alert-1-instance_attributes", (("header-Authorization", "Bearer xyz"),)),),
            meta=(NvSet("alert-1-meta_attributes", (("retries", "3"), ("retry-delay", "2s"))),),
            recipients=(AlertRecipient("alert-1-recipient", "http://127.0.0.1:8080/events"),),
        ),
        Alert(id="alert-2", path="/bin/true", select=AlertSelect()),
    )


def test_alerts_in_yaml_and_in_the_equivalent_cib_are_the_same() -> None:
    cluster, warnings = load_cib(alerts_cib(ALERTS_CIB))
    assert load(ALERTS_YAML) == cluster.config
    assert not [warning for warning in warnings if "alert" in warning]
    # Written back, the ids pcs would generate are left out again.
    text = dump_yaml_config(cluster.config)
    assert re.findall(r"\bid: (\S+?)[,}\n]", text) == ["file-log", "file-shutdown", "other-log"]
    assert "select: [nodes, resources, {attributes: [standby, {id: file-shutdown, name: shutdown}]}]" in text
    assert round_trip(cluster.config) == cluster.config


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        ("[resources, fencing]", AlertSelect(resources=True, fencing=True)),
        ("{resources: true, fencing: yes, nodes: false}", AlertSelect(resources=True, fencing=True)),
        ("[attributes]", AlertSelect(attributes=True)),
        ("{attributes: true}", AlertSelect(attributes=True)),
        ("{attributes: []}", AlertSelect(attributes=True)),
        (
            "{nodes: true, attributes: [standby]}",
            AlertSelect(
                nodes=True,
                attributes=True,
                attribute_names=(SelectedAttribute("a-select-standby", "standby"),),
            ),
        ),
        (
            '[{attributes: ["#health-cpu"]}]',
            AlertSelect(
                attributes=True, attribute_names=(SelectedAttribute("a-select-_health-cpu", "#health-cpu"),)
            ),
        ),
        ("[nodes, fencing, resources, attributes]", AlertSelect(True, True, True, True)),
        ("[]", AlertSelect()),
        ("{}", AlertSelect()),
    ],
)
def test_select_as_a_list_or_a_mapping_of_kinds(select: str, expected: AlertSelect) -> None:
    config = load(f"alerts:\n  - {{id: a, path: /x, select: {select}}}\n")
    assert config.alerts == (Alert("a", "/x", select=expected),)
    assert round_trip(config) == config


def test_alert_ids_are_generated_as_pcs_names_them() -> None:
    config = load(
        """
        alerts:
          - {path: /a, recipients: [{value: x}, {value: y}], meta: [{values: {timeout: 5s}}, {values: {}}]}
          - {path: /b}
        """
    )
    first, second = config.alerts
    assert (first.id, second.id) == ("alert", "alert-1")
    assert [recipient.id for recipient in first.recipients] == ["alert-recipient", "alert-recipient-1"]
    assert [nvset.id for nvset in first.meta] == ["alert-meta_attributes", "alert-meta_attributes-1"]
    assert "id:" not in dump_yaml_config(config)
    # An id the document gives itself is never generated again.
    clash = load("resources: [{id: alert, agent: 'lsb:a'}]\nalerts: [{path: /a}]\n")
    assert clash.alerts[0].id == "alert-2"
    assert round_trip(clash) == clash


def test_alert_sets_take_lists_with_ids_scores_and_rules() -> None:
    config = load(
        """
        alerts:
          - id: a
            path: /x
            params:
              - values: {level: low}
              - score: 10
                rule: {expressions: [{date: date_spec, date-spec: {hours: 9-17}}]}
                values: {level: high}
        """
    )
    (alert,) = config.alerts
    assert [nvset.id for nvset in alert.params] == ["a-instance_attributes", "a-instance_attributes-1"]
    assert alert.params[1].score == 10 and alert.params[1].rule is not None
    assert round_trip(config) == config


ALERT = "alerts:\n  - id: a\n    path: /x\n"
BAD_ALERTS = [
    ("alerts: {}\n", 1, "alerts must be a list"),
    ("alerts: [x]\n", 1, "alert 1 must be a mapping"),
    ("alerts:\n  - id: a\n", 2, "alert 'a' needs 'path': the alert agent's executable, or vigil:webhook"),
    ("alerts:\n  - path:\n", 2, "'path' of alert 1 has no value"),
    ("alerts:\n  - path: [a, b]\n", 2, "'path' of alert 1 must be a single value, not a list"),
    (
        ALERT + "    recipient: []\n",
        4,
        "unknown key 'recipient' in alert 'a'; did you mean 'recipients'?"
        " (allowed: id, path, description, meta, params, select, recipients)",
    ),
    (ALERT + "    meta: [1]\n", 4, "set 1 of the meta of alert 'a' must be a mapping"),
    (ALERT + "    meta:\n      - values: {timeout: 5s}\n        score: high\n", 6, "invalid score 'high'"),
    (ALERT + "    recipients: /var/log/x\n", 4, "the recipients of alert 'a' must be a list"),
    (ALERT + "    recipients: [/var/log/x]\n", 4, "recipient 1 of alert 'a' must be a mapping"),
    (ALERT + "    recipients:\n      - id: r\n", 5, "recipient 1 of alert 'a' needs 'value'"),
    (
        ALERT + "    recipients:\n      - value: x\n        timeout: 5s\n",
        6,
        "unknown key 'timeout' in recipient 1 of alert 'a' (allowed: id, value, description, meta, params)",
    ),
    (ALERT + "    select: nodes\n", 4, "the select of alert 'a' must be a list of the kinds nodes, fencing"),
    (
        ALERT + "    select: [node]\n",
        4,
        "unknown kind 'node' in the select of alert 'a': did you mean 'nodes'?",
    ),
    (ALERT + "    select:\n      - nodes\n      - nodes\n", 6, "'nodes' is selected twice in the select of"),
    (ALERT + "    select: [attributes, {attributes: [x]}]\n", 4, "'attributes' is selected twice"),
    (ALERT + "    select:\n      nodes: maybe\n", 5, "invalid nodes 'maybe' in the select of alert 'a'"),
    (
        ALERT + "    select: {resource: true}\n",
        4,
        "unknown key 'resource' in the select of alert 'a'; did you",
    ),
    (
        ALERT + "    select: {attributes: [{id: x}]}\n",
        4,
        "attribute 1 of the attributes of the select of alert",
    ),
    (
        "alerts:\n  - {id: a, path: /x}\n  - {id: a, path: /y}\n",
        3,
        "duplicate id 'a' (already used by an alert",
    ),
    (
        "resources: [{id: web, agent: 'lsb:web'}]\nalerts:\n  - {id: web, path: /x}\n",
        3,
        "duplicate id 'web' (already used by a resource at line 1)",
    ),
    (
        ALERT + "    recipients: [{id: a, value: x}]\n",
        4,
        "duplicate id 'a' (already used by an alert at line 2)",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_ALERTS)
def test_bad_alerts_are_reported_at_their_line(text: str, line: int, message: str) -> None:
    problem = only_problem(text)
    assert message in problem.message
    assert line_of(problem) == line


def test_alert_problems_point_at_the_key_and_column() -> None:
    problem = only_problem(ALERT + "    recipients:\n      - {value: x, meta: {timeout: 5s}, params: x}\n")
    assert problem.where == "test.yaml:5:49"  # the value
    assert problem.message.startswith("the params of recipient 1 of alert 'a' must be a mapping")


def test_alerts_round_trip_with_ids_descriptions_and_empty_values() -> None:
    named = NvSet("m", (("timeout", "5s"),))
    config = Config(
        alerts=(
            Alert(
                id="x",
                path="",
                description="",
                meta=(named,),
                select=AlertSelect(attributes=True, attribute_names=(SelectedAttribute("s", "null"),)),
                recipients=(AlertRecipient("r", "", description="~"), AlertRecipient("x-recipient-1", "y")),
            ),
            Alert(id="alert-1", path="vigil:webhook", select=AlertSelect(fencing=True)),
        )
    )
    text = dump_yaml_config(config)
    assert "- path: vigil:webhook\n  select: [fencing]\n" in text
    assert round_trip(config) == config


def test_dump_refuses_what_an_alert_cannot_carry_in_yaml() -> None:
    stray = AlertSelect(nodes=True, attribute_names=(SelectedAttribute("s", "standby"),))
    assert "names attributes without selecting" in refusal(Config(alerts=(Alert("a", "/x", select=stray),)))
    shared = NvSet("shared", (("timeout", "5s"),))
    twice = (Alert("a", "/x", meta=(shared,)), Alert("b", "/y", meta=(shared,)))
    assert "shared through id-ref" in refusal(Config(alerts=twice))


# -- the same as a CIB ----------------------------------------------------------------------

EQUIVALENT_YAML = """
options: {stonith-enabled: false}
nodes:
  - name: node1
    attributes: {rack: a}
resources:
  - id: web
    agent: ocf:heartbeat:Dummy
    meta: {migration-threshold: 3}
    ops:
      - {name: monitor, interval: 10s, timeout: 20s}
  - clone: db-clone
    meta: {interleave: true}
    resource: {id: db, agent: "ocf:heartbeat:Dummy"}
constraints:
  - location: web-not-node2
    resource: web
    rules: [{score: -INFINITY, expressions: [{attribute: "#uname", operation: eq, value: node2}]}]
  - {colocation: web-with-db, resource: web, with: db-clone, score: INFINITY}
  - {order: db-then-web, first: db-clone, then: web, kind: Mandatory}
"""

EQUIVALENT_CIB = b"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
<configuration>
  <crm_config>
    <cluster_property_set id="cib-bootstrap-options">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set>
  </crm_config>
  <nodes>
    <node id="node1" uname="node1">
      <instance_attributes id="nodes-node1"><nvpair id="n1" name="rack" value="a"/></instance_attributes>
    </node>
  </nodes>
  <resources>
    <primitive id="web" class="ocf" provider="heartbeat" type="Dummy">
      <meta_attributes id="web-meta_attributes">
        <nvpair id="w1" name="migration-threshold" value="3"/>
      </meta_attributes>
      <operations>
        <op id="web-monitor-interval-10s" name="monitor" interval="10s" timeout="20s"/>
      </operations>
    </primitive>
    <clone id="db-clone">
      <meta_attributes id="db-clone-meta_attributes">
        <nvpair id="c1" name="interleave" value="true"/>
      </meta_attributes>
      <primitive id="db" class="ocf" provider="heartbeat" type="Dummy"/>
    </clone>
  </resources>
  <constraints>
    <rsc_location id="web-not-node2" rsc="web">
      <rule id="web-not-node2-rule" score="-INFINITY">
        <expression id="web-not-node2-rule-expr" attribute="#uname" operation="eq" value="node2"/>
      </rule>
    </rsc_location>
    <rsc_colocation id="web-with-db" rsc="web" with-rsc="db-clone" score="INFINITY"/>
    <rsc_order id="db-then-web" first="db-clone" then="web" kind="Mandatory"/>
  </constraints>
</configuration>
<status/>
</cib>
"""


def test_yaml_and_the_equivalent_cib_are_the_same_configuration() -> None:
    cluster, _ = load_cib(EQUIVALENT_CIB)
    assert load(EQUIVALENT_YAML) == cluster.config


@pytest.mark.parametrize("scenario", ["compute-neutron-fail1", "compute-neutron-fail3", "compute-nova-fail1"])
def test_the_documented_compute_stack_schedules_as_the_golden_cib(scenario: str) -> None:
    """The docs' compute example (generated ids, YAML values) in the golden scenarios' place."""
    cluster, _ = load_cib(GOLDEN / f"{scenario}.xml")
    compute = load_yaml_config(doc_examples()[0], name="compute.yaml")[0]
    assert [rsc.id for rsc in compute.primitives()] == [rsc.id for rsc in cluster.config.primitives()]
    now = cluster.status.execution_date or 0
    from_yaml = schedule(type(cluster)(config=compute, status=cluster.status), now, sanitized=True)
    from_cib = schedule(cluster, now, sanitized=True)
    assert from_yaml.summary and from_yaml == from_cib


# -- problems, each at its line --------------------------------------------------------------

BAD_INPUTS = [
    ("", 1, "the configuration is empty"),
    ("# only a comment\n", 1, "the configuration is empty"),
    ("- resources\n", 1, "the configuration must be a mapping of sections (options:, nodes:, resources:"),
    (
        "just text\n",
        1,
        "must be a mapping of sections (options:, nodes:, resources:, constraints: ...), not the value",
    ),
    ("resources:\n\t- id: x\n", 2, "tabs for indentation"),
    ("resources: [\n", 2, "invalid YAML"),
    ("options: {a: 1}\n---\nresources: []\n", 2, "several YAML documents"),
    ("options: &o {a: 1}\nrsc_defaults: *o\n", 1, "alias"),
    (
        "bogus: 1\n",
        1,
        "unknown key 'bogus' in the top level (allowed: options, rsc_defaults, op_defaults, nodes",
    ),
    ("resource: []\n", 1, "did you mean 'resources'?"),
    ("options: {a: 1}\noptions: {b: 2}\n", 2, "duplicate key 'options' in the top level (first at line 1)"),
    ("resources: {}\n", 1, "resources must be a list"),
    ("options: [1]\n", 1, "must be a mapping"),
    ("options:\n  a:\n", 2, "'a' in options has no value"),
    ("options:\n  a: [1, 2]\n", 2, "must be a single value, not a list"),
    ("options:\n  ? [a]\n  : 1\n", 2, "must be a plain name"),
    (
        "resources:\n  - agent: ocf:heartbeat:Dummy\n",
        2,
        "needs 'id' and 'agent' (a primitive), 'group' or 'clone'",
    ),
    ("resources:\n  - id: a\n", 2, "resource 'a' needs 'agent'"),
    ("resources:\n  - id: a\n    agent: Dummy\n", 3, "invalid agent 'Dummy': write class:provider:type"),
    ("resources:\n  - id: a\n    agent: ocf:Dummy\n", 3, "lacks its provider"),
    ("resources:\n  - id: a\n    agent: foo:bar\n", 3, "unknown agent class 'foo'"),
    ("resources:\n  - id: a\n    agent: lsb:a\n    parms: {}\n", 4, "did you mean 'params'?"),
    ("resources:\n  - id: a\n    agent: lsb:a\n    ops: [{interval: 10s}]\n", 4, "needs 'name'"),
    ("resources:\n  - id: a\n    agent: lsb:a\n    ops:\n      - {name: monitor}\n", 5, "needs 'interval'"),
    (
        "resources:\n  - id: a\n    agent: lsb:a\n    ops:\n      - {name: monitor, interval: soon}\n",
        5,
        "invalid interval 'soon'",
    ),
    (
        "resources:\n  - id: a\n    agent: lsb:a\n    ops:\n      - {name: start, enabled: maybe}\n",
        5,
        "invalid enabled",
    ),
    (
        "resources:\n  - id: a\n    agent: lsb:a\n  - id: a\n    agent: lsb:b\n",
        4,
        "duplicate id 'a' (already used by a resource at line 2): ids must be unique in the",
    ),
    (
        "resources:\n  - group: g\n    members:\n      - group: h\n        members: []\n",
        4,
        "a group inside a group",
    ),
    ("resources:\n  - group: g\n    members:\n      - clone: h\n", 4, "clone the whole group instead"),
    ("resources:\n  - clone: c\n    resource:\n      clone: d\n", 4, "a clone inside a clone"),
    ("resources:\n  - clone: c\n", 2, "clone 'c' needs 'resource'"),
    ("resources:\n  - group: g\n    members: []\n", 3, "group 'g' needs 'members'"),
    ("resources:\n  - id: a\n    agent: lsb:a\n    meta:\n      x: 1\n      x: 2\n", 6, "duplicate key 'x'"),
    (
        "resources:\n  - id: a\n    agent: lsb:a\n    meta:\n      - values: {x: 1}\n        score: high\n",
        6,
        "invalid score",
    ),
    ("constraints:\n  - {location: l, resource: web, node: n1}\n", 2, "has 'node' but no 'score'"),
    (
        "constraints:\n  - {location: l, resource: web, rules: []}\n",
        2,
        "needs 'node' and 'score', or 'rules'",
    ),
    (
        "constraints:\n  - {location: l, resource: web, rules: x}\n",
        2,
        "the rules of location 'l' must be a list",
    ),
    ("constraints:\n  - location: l\n    node: n1\n    score: 1\n", 2, "needs 'resource'"),
    (
        "constraints:\n  - {locaton: l}\n",
        2,
        "must start with exactly one of 'location:', 'colocation:', 'order:' or 'ticket-constraint:'",
    ),
]

# References are checked against a resource "web" defined first.
RULE = "- location: l\n  resource: web\n  rules:\n    - score: 1\n"
BAD_CONSTRAINTS = [
    (
        "- location: l\n  resource: webb\n  node: n1\n  score: 1\n",
        2,
        "resource: 'webb' does not name any resource",
    ),
    (
        "- {colocation: c, resource: web, with: ghost, score: 1}\n",
        1,
        "with: 'ghost' does not name any resource",
    ),
    ("- colocation: c\n  resource: web\n  with: web\n  score: lots\n", 4, "invalid score 'lots'"),
    ("- {colocation: c, resource: web, with: web}\n", 1, "colocation 'c' needs 'score'"),
    ("- {colocation: c, resource: web, with: web, score: 1, influence: perhaps}\n", 1, "invalid influence"),
    ("- order: o\n  first: web\n  then: nope\n", 3, "then 'nope' does not name any resource"),
    ("- {order: o, first: web, then: web, kind: Sometimes}\n", 1, "invalid kind 'Sometimes'"),
    ("- {order: o, then: web}\n", 1, "order 'o' needs 'first'"),
    (
        "- location: l\n  resource: web\n  resource-discovery: maybe\n  node: n\n  score: 1\n",
        3,
        "resource-discovery",
    ),
    ("- location: l\n  resource: web\n  rules: [{score: 1}]\n", 3, "needs 'expressions'"),
    (RULE + "      expressions: [{value: 1}]\n", 5, "needs one of"),
    (
        RULE + "      expressions:\n        - {attribute: a, operation: like, value: 1}\n",
        6,
        "operation 'like'",
    ),
    (RULE + "      expressions:\n        - {date: in_range, start: someday}\n", 6, "start: invalid ISO 8601"),
    (RULE + "      boolean-op: xor\n      expressions: []\n", 5, "invalid boolean-op"),
    ("- {location: web, resource: web, node: n, score: 1}\n", 1, "duplicate id 'web'"),
    ("- {ticket-constraint: t, resource: web}\n", 1, "ticket constraint 't' needs 'ticket'"),
    ("- {ticket-constraint: t, ticket: A}\n", 1, "needs either 'resource' or 'sets' (not both)"),
    ("- {ticket-constraint: t, ticket: A, resource: web, loss-policy: panic}\n", 1,
     "invalid loss-policy 'panic'"),
    ("- ticket-constraint: t\n  ticket: A\n  sets:\n    - {role: Started}\n", 4, "needs 'resources'"),
    ("- ticket-constraint: t\n  ticket: A\n  sets:\n    - {resources: [ghost]}\n", 4,
     "id 'ghost' does not name any resource"),
    ("- {ticket-constraint: t, ticket: A, resource: web, resource-role: Boss}\n", 1,
     "invalid resource-role 'Boss'"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_INPUTS)
def test_bad_input_is_reported_at_its_line(text: str, line: int, message: str) -> None:
    problem = only_problem(text)
    assert message in problem.message
    assert line_of(problem) == line


@pytest.mark.parametrize(("constraints", "line", "message"), BAD_CONSTRAINTS)
def test_bad_constraints_are_reported_at_their_line(constraints: str, line: int, message: str) -> None:
    head = "resources:\n  - {id: web, agent: 'ocf:heartbeat:Dummy'}\nconstraints:\n"
    problem = only_problem(head + textwrap.indent(constraints, "  "))
    assert message in problem.message
    assert line_of(problem) == line + 3


def test_problems_point_at_the_key_and_column() -> None:
    problem = only_problem(
        "resources:\n  - id: a\n    agent: lsb:a\n    ops:\n      - {name: start, timeout: 5s, x: 1}\n"
    )
    assert problem.where == "test.yaml:5:36"
    assert problem.message.startswith("unknown key 'x' in op 1 of resource 'a'")


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    problems = problems_of(
        """
        options: {a: }
        resources:
          - id: web
            agent: ocf:heartbeat
          - {group: g, members: [{group: h, members: []}]}
        constraints:
          - {order: o, first: web, then: ghost}
        extra: 1
        """
    )
    assert [line_of(problem) for problem in problems] == [2, 5, 6, 8, 9]


def test_rules_nested_too_deeply_for_the_reader() -> None:
    depth = 400
    rules = "{expressions: [" * depth + "{attribute: a, operation: defined}" + "]}" * depth
    problem = only_problem(
        RESOURCES + f"constraints:\n  - {{location: l, resource: web, rules: [{rules}]}}\n"
    )
    assert problem == Problem(
        "test.yaml", "the configuration is nested too deeply (rules within rules?): flatten it"
    )


def test_non_utf8_and_control_characters() -> None:
    assert "not UTF-8" in only_problem(b"options:\n  a: \xff\n").message
    assert line_of(only_problem(b"options:\n  a: \xff\n")) == 2
    assert "invalid YAML" in only_problem("options: {a: \x07}\n").message
    assert "control characters" in only_problem('options: {a: "\\x01"}\n').message


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_yaml_config(tmp_path / "absent.yaml")
    assert caught.value.problems == [
        Problem("absent.yaml", "cannot read the configuration: No such file or directory")
    ]


def test_junk_never_escapes_as_anything_but_input_error() -> None:
    """Truncations and corruptions of a full document: loaded, or InputError at a line of it."""
    original = doc_examples()[0].encode()
    rng = random.Random(20261202)
    samples = [original[:cut] for cut in range(0, len(original), 41)]
    alphabet = b" :-{}[]#&*!|>'\"%@`,?\t\n0aZ"
    for _ in range(400):
        data = bytearray(original)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.choice(alphabet)
        samples.append(bytes(data))
    samples += [rng.randbytes(120) for _ in range(20)] + [b"[" * 5000, b"a:\n" + b"  - " * 3000]
    for sample in samples:
        try:
            load_yaml_config(sample, name="junk.yaml")
        except InputError as error:
            assert error.problems and all(p.where.startswith("junk.yaml") for p in error.problems)


# -- writing YAML ----------------------------------------------------------------------------


def test_dump_leaves_out_the_ids_the_reader_generates() -> None:
    text = dump_yaml_config(load(EQUIVALENT_YAML))
    assert re.findall(r"\bid: (\S+)", text) == ["web", "db"]  # the resources' own ids only
    assert "{name: monitor, interval: 10s, timeout: 20s}" in text
    assert "stonith-enabled: false\n" in text


def test_dump_writes_ids_that_differ_from_the_generated_ones() -> None:
    cluster, _ = load_cib(EQUIVALENT_CIB.replace(b'id="web-monitor-interval-10s"', b'id="web-mon"'))
    text = dump_yaml_config(cluster.config)
    assert "{id: web-mon, name: monitor, interval: 10s, timeout: 20s}" in text
    assert round_trip(cluster.config) == cluster.config


def test_dump_quotes_only_what_would_otherwise_read_differently() -> None:
    values = (("a", "false"), ("b", ""), ("c", "null"), ("d", "~"), ("e", "#x"), ("f", "a: b"), ("g", " x"))
    config = Config(options=(NvSet(id="cib-bootstrap-options", values=values),))
    text = dump_yaml_config(config)
    assert "a: false\n" in text and "b: ''" in text and "c: 'null'" in text
    assert round_trip(config) == config


@pytest.mark.parametrize("index", range(len(doc_examples())))
def test_documented_examples_load_and_round_trip(index: int) -> None:
    config, warnings = load_yaml_config(doc_examples()[index], name=f"example {index}")
    assert warnings == []
    assert round_trip(config) == config


def test_round_trip_of_every_construct() -> None:
    config = load(
        EQUIVALENT_YAML
        + """
  - location: l2
    resource-pattern: "^w"
    role: Promoted
    resource-discovery: exclusive
    rules:
      - {score-attribute: speed, boolean-op: or, expressions: [{date: gt, start: "2020-01-01"}, {op: start}]}
  - {colocation: c2, resource: web, with: web, score: "0", node-attribute: rack, influence: false}
  - {order: o2, first: web, then: db-clone, kind: Serialize, symmetrical: true, require-all: false}
op_defaults:
  - values: {timeout: 20s}
  - id: slow
    score: 5
    rule: {expressions: [{class: ocf, type: Dummy}]}
    values: {timeout: 90s}
fencing-topology:
  - {target: node1, index: 1, devices: [a, b]}
"""
    )
    assert round_trip(config) == config


def refusal(config: Config) -> str:
    with pytest.raises(NotExpressibleInYaml) as caught:
        dump_yaml_config(config)
    assert all("use --format xml" in problem.message for problem in caught.value.problems)
    return str(caught.value)


def test_dump_refuses_what_yaml_cannot_carry() -> None:
    web = Primitive(id="web", cls="ocf", provider="heartbeat", type="Dummy")
    shared = NvSet(id="shared", values=(("a", "1"),))
    assert "template" in refusal(Config(resources=(web,), templates=(web,)))
    assert "<master>" in refusal(Config(resources=(Clone(id="m", child=web, promotable=True),)))
    twins = (
        Primitive(id="a", cls="lsb", type="a", params=(shared,)),
        Primitive(id="b", cls="lsb", type="b", params=(shared,)),
    )
    assert "shared through id-ref" in refusal(Config(resources=twins))
    repeated = NvSet(id="cib-bootstrap-options", values=(("a", "1"), ("a", "2")))
    assert "sets 'a' more than once" in refusal(Config(options=(repeated,)))
    assert "resource_set" in refusal(
        Config(unsupported=("unsupported element <resource_set> at /x is ignored",))
    )


def test_an_empty_configuration() -> None:
    assert dump_yaml_config(Config()) == "resources: []\n"
    assert round_trip(Config()) == Config()


def test_empty_sets_survive() -> None:
    config = Config(
        options=(NvSet(id="cib-bootstrap-options", values=()),),
        nodes=(Node(id="n", uname="n", attributes=(NvSet(id="nodes-n", values=()),)),),
    )
    assert "options: {}" in dump_yaml_config(config)
    assert round_trip(config) == config


def test_group_parameters_are_written_once_on_the_group() -> None:
    cluster, _ = load_cib(
        b"<cib><configuration><crm_config/><nodes/><resources><clone id='c'>"
        b"<instance_attributes id='ci'><nvpair id='c1' name='x' value='1'/></instance_attributes>"
        b"<group id='g'>"
        b"<instance_attributes id='gi'><nvpair id='g1' name='y' value='2'/></instance_attributes>"
        b"<primitive id='a' class='lsb' type='a'/><primitive id='b' class='lsb' type='b'/></group>"
        b"</clone></resources><constraints/></configuration></cib>"
    )
    text = dump_yaml_config(cluster.config)
    assert text.count("x: 1") == 1 and text.count("y: 2") == 1
    assert round_trip(cluster.config) == cluster.config


def test_pacemaker_corpus_round_trips_where_yaml_can_express_it() -> None:
    """load(dump(config)) == config for every corpus configuration YAML can carry; the rest are refused."""
    xml = CORPUS / "xml"
    if not xml.is_dir():
        pytest.skip(f"Pacemaker corpus not found at {xml} (set VIGIL_PACEMAKER_CORPUS to its directory)")
    files = sorted(xml.glob("*.xml"))
    round_tripped = 0
    reasons: Counter[str] = Counter()
    for path in files:
        config, _ = load_config_file(path)
        try:
            text = dump_yaml_config(config)
        except NotExpressibleInYaml as error:
            reasons[_reason(error.problems[0].message)] += 1
            continue
        again, _ = load_yaml_config(text, name=f"yaml of {path.name}")
        assert again == config, path.name
        round_tripped += 1
    summary = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
    print(f"\nYAML round trip: {round_tripped} of {len(files)} corpus configurations; refused: {summary}")
    # 596 when alerts arrived in YAML; 535 since an agent is named by plain names only: the
    # configurations with cluster-glue stonith plugins (stonith:external/ssh) or init scripts
    # given by their path (lsb:/usr/lib/...) are refused, as vigil would refuse to run them.
    assert round_tripped >= 535
    assert not [reason for reason in reasons if "alert" in reason]


def _reason(message: str) -> str:
    element = re.search(r"<(\w+)>", message)
    if element is not None:
        return f"<{element[1]}>"
    if "template" in message:
        return "template"
    if "id-ref" in message:
        return "id-ref"
    if "more than once" in message:
        return "a name twice in one set"
    return message.split(":")[0]


# -- load_config_file -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<cib/>", "xml"),
        (b"\xef\xbb\xbf  \n\t<cib/>", "xml"),
        ("  <cib/>", "xml"),
        (b"resources: []", "yaml"),
        (b"# <cib>\nresources: []", "yaml"),
        (b"", "yaml"),
    ],
)
def test_the_format_is_told_by_the_content(data: bytes | str, expected: str) -> None:
    assert detect_format(data) == expected


def test_a_cib_file_gives_its_configuration_and_ignores_its_status(tmp_path: Path) -> None:
    path = tmp_path / "cluster.conf"
    path.write_bytes(EQUIVALENT_CIB.replace(b"<status/>", b"<status><node_state id='x' bogus='1'/></status>"))
    config, warnings = load_config_file(path)
    assert config == load(EQUIVALENT_YAML)
    assert any("<status> section is ignored" in warning for warning in warnings)


def test_a_yaml_file_whatever_its_name(tmp_path: Path) -> None:
    path = tmp_path / "cluster.conf"
    path.write_text(EQUIVALENT_YAML)
    assert load_config_file(path)[0] == load(EQUIVALENT_YAML)
    assert load_config_data(EQUIVALENT_YAML.encode(), "upload")[0] == load(EQUIVALENT_YAML)


def test_a_name_promising_the_other_format_is_explained() -> None:
    with pytest.raises(InputError) as caught:
        load_config_data(b"resources: [\n", "cluster.xml")
    first = caught.value.problems[0]
    assert first == Problem(
        "cluster.xml", "the name ends in .xml but the content does not start with '<': it was read as YAML"
    )
    assert caught.value.problems[1].where.startswith("cluster.xml:")


@pytest.mark.parametrize("name", ["absent.yaml", ""])
def test_an_unreadable_file_names_the_path_and_the_reason(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(InputError) as caught:
        load_config_file(path)
    (problem,) = caught.value.problems
    assert problem.where == str(path)
    reason = "No such file or directory" if name else "Is a directory"
    assert problem.message == f"cannot read the configuration file: {reason}"


# -- names that could steer a path, values Pacemaker refuses (issue 12) --------------


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        ("ocf:../../../../tmp/x:evil", "its provider '../../../../tmp/x' is not a plain name"),
        ("ocf:heartbeat:../../../tmp/evil", "its type '../../../tmp/evil' is not a plain name"),
        ("ocf:..:Dummy", "its provider '..' is not a plain name"),
        ("lsb:/etc/init.d/evil", "its type '/etc/init.d/evil' is not a plain name"),
        ("stonith:external/ssh", "its type 'external/ssh' is not a plain name"),
    ],
)
def test_agents_that_are_not_plain_names_are_refused_at_their_line(agent: str, message: str) -> None:
    problem = only_problem(f"""
        resources:
          - id: web
            agent: "{agent}"
        """)
    assert problem.where == "test.yaml:4:12"
    assert problem.message == f"agent {agent!r}: {message} of letters, digits and '_.+@-' (no '/', not" \
        " starting with '.' or '-'): an agent is found by its name in its class's directory"


def test_ids_that_are_not_pacemaker_ids_are_refused_at_their_line() -> None:
    problems = problems_of("""
        resources:
          - id: ../../../tmp/x/PWNED
            agent: ocf:vigil:Service
          - group: "g:1"
            members:
              - id: fine
                agent: ocf:vigil:Service
                ops:
                  - id: "my op"
                    name: monitor
                    interval: 10s
        constraints:
          - order: "o/1"
            first: fine
            then: ../../../tmp/x/PWNED
        """)
    assert [(line_of(p), p.message.split(":")[0]) for p in problems] == [
        (3, "id '../../../tmp/x/PWNED' is not a valid id"),
        (5, "id 'g"),
        (10, "id 'my op' is not a valid id"),
        (14, "id 'o/1' is not a valid id"),
    ]


def test_values_pacemaker_refuses_are_refused_at_their_line() -> None:
    problems = problems_of("""
        options:
          stonith-enabled: maybe
          no-quorum-policy: dance
        rsc_defaults:
          migration-threshold: three
        resources:
          - id: web
            agent: ocf:vigil:Service
            ops:
              - name: monitor
                interval: 100000000000000000000000000s
                timeout: -5
                on-fail: explode
        constraints:
          - location: l
            resource-pattern: "(["
            node: n1
            score: 10
        """)
    assert [(line_of(p), p.message) for p in problems] == [
        (3, "invalid value 'maybe' for stonith-enabled: use true or false"),
        (4, "invalid value 'dance' for no-quorum-policy: use one of stop, freeze, ignore, demote, suicide,"
            " fence"),
        (6, "invalid value 'three' for migration-threshold: use an integer or INFINITY"),
        (12, "interval: '100000000000000000000000000s' is too long: at most 4294967s (about 49 days), what"
             " Pacemaker's 32-bit count of milliseconds holds"),
        (13, "timeout: '-5' is negative: an action needs time to run"),
        (14, "invalid value 'explode' for on-fail: use one of ignore, block, demote, stop, restart, standby,"
             " fence, restart-container"),
        (17, "resource-pattern: '([' is not a regular expression (unterminated character set at position 1):"
             " fix it"),
    ]


def test_orders_in_a_circle_are_refused_at_the_first_order() -> None:
    problem = only_problem("""
        resources:
          - id: a
            agent: ocf:vigil:Service
          - id: b
            agent: ocf:vigil:Service
        constraints:
          - order: a-then-b
            first: a
            then: b
          - order: b-then-a
            first: b
            then: a
        """)
    assert line_of(problem) == 8
    assert problem.message == (
        "these orders wait on each other in a circle, so none of their actions can ever run:"
        " a-then-b (a start before b start), b-then-a (b start before a start); remove one of them"
    )


def test_the_warnings_are_kept_with_the_configuration_for_vigil_status() -> None:
    config, warnings = load_yaml_config(textwrap.dedent("""
        resources:
          - id: web
            agent: ocf:vigil:Service
            ops:
              - name: monitor
                interval: 10s
                timeout: soon
        """), name="test.yaml")
    assert config.warnings == tuple(warnings) and "timeout: invalid interval 'soon'" in warnings[0]


def test_bundles_have_no_yaml_form_and_say_so() -> None:
    problem = only_problem(
        """
        resources:
          - bundle: web
            docker: {image: httpd}
        """
    )
    assert "bundles have no YAML form yet" in problem.message and "CIB XML" in problem.message
    bundle = Bundle(id="web-bundle", kind="docker", image="httpd")
    assert "bundle 'web-bundle'" in refusal(Config(resources=(bundle,)))
