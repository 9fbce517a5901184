"""Node attributes on a real daemon: set by hand, acted on by rules and node health, shown by `vigil status`.

One `vigil run` (node n1) over SQLite, Debian's ``ocf:heartbeat:Dummy``.
``vigil node attribute`` writes the attribute through the API; the
controller plans again at once, so a location rule on the attribute
(Pacemaker's ping idiom, ``pingd lte 0 or not_defined pingd`` → -INFINITY)
or a ``#health-*`` attribute under a ``node-health-strategy`` starts or
stops the resource.  `vigil status` shows the attribute in its three
formats, the XML validated against Pacemaker's own schema.  Moving a
resource between two nodes is tested on a two-node cluster
(test_node_attributes_move.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from tests.daemon.conftest import VIGIL, Daemon, cib, needs_dummy, primitive, wait_for

SCHEMA = Path("/usr/share/pacemaker/api/api-result-2.25.rng")
needs_schema = pytest.mark.skipif(not SCHEMA.exists(), reason="no Pacemaker API schema (pacemaker-common)")

PING_RULE = """
      <rsc_location id="R-needs-pingd" rsc="R">
        <rule id="R-needs-pingd-rule" score="-INFINITY" boolean-op="or">
          <expression id="R-pingd-undefined" attribute="pingd" operation="not_defined"/>
          <expression id="R-pingd-zero" attribute="pingd" operation="lte" value="0" type="integer"/>
        </rule>
      </rsc_location>"""


def vigil(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIGIL), *args, "--state-dir", str(daemon.state_dir)], capture_output=True,
                          text=True, check=False, timeout=60)


def ok(daemon: Daemon, *args: str) -> str:
    done = vigil(daemon, *args)
    assert done.returncode == 0, f"vigil {' '.join(args)}: {done.stderr}"
    return done.stdout


def role_of(daemon: Daemon, rsc: str) -> str:
    found = daemon.resource(rsc)
    return found.role if found.nodes else "Stopped"


def start_with(daemon: Daemon, tmp_path: Path, *, options: str = "", constraints: str = "") -> None:
    resource = primitive("R", "ocf:heartbeat:Dummy", {"state": str(tmp_path / "R.state")}, interval="2s")
    daemon.write_config(cib(resource, options=options, constraints=constraints))
    daemon.start()
    wait_for("the cluster to settle", daemon.is_settled)


def first(document: etree._Element, path: str) -> etree._Element:
    found = document.find(path)
    assert found is not None, f"no {path} in the document"
    return found


def valid_crm_mon_xml(text: str) -> etree._Element:
    document = etree.fromstring(text.encode())
    schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
    assert schema.validate(document), schema.error_log
    return document


@needs_dummy
@needs_schema
def test_a_rule_on_pingd_set_by_hand_starts_and_stops_the_resource_and_every_status_format_shows_it(
    daemon: Daemon, tmp_path: Path
) -> None:
    start_with(daemon, tmp_path, constraints=PING_RULE)
    assert role_of(daemon, "R") == "Stopped"  # pingd is not defined: banned

    assert "n1: pingd=1000 (transient)" in ok(daemon, "node", "attribute", "n1", "pingd", "1000",
                                                "--lifetime", "reboot")
    wait_for("R to start once pingd is set", lambda: role_of(daemon, "R") == "Started")
    assert ok(daemon, "node", "attribute", "n1", "pingd") == "1000\n"
    assert daemon.attribute("pingd") == "1000"

    report = json.loads(ok(daemon, "status", "--format", "json"))
    assert [(n["name"], n["attributes"], n["health"]) for n in report["nodes"]] == [
        ("n1", {"pingd": "1000"}, "green")]
    text = ok(daemon, "status")
    assert "Node Attributes:\n  * Node: n1:\n    * pingd                           \t: 1000      \n" in text
    document = valid_crm_mon_xml(ok(daemon, "status", "--output-as", "xml"))
    assert [(a.get("name"), a.get("value")) for a in document.iterfind("node_attributes/node/attribute")] == [
        ("pingd", "1000")]
    assert first(document, "resources/resource").get("role") == "Started"
    assert first(document, "nodes/node").get("is_dc") == "true"

    ok(daemon, "node", "attribute", "n1", "pingd", "0", "--lifetime", "reboot")
    wait_for("R to stop once pingd is 0", lambda: role_of(daemon, "R") == "Stopped")

    assert ok(daemon, "node", "attribute", "n1", "pingd", "--delete") == "n1: pingd removed (transient)\n"
    missing = vigil(daemon, "node", "attribute", "n1", "pingd")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert "pingd is not set on n1" in missing.stderr
    assert daemon.attribute("pingd") is None


@needs_dummy
def test_a_permanent_attribute_set_by_hand_lives_in_the_configuration_and_the_rule_reads_it(
    daemon: Daemon, tmp_path: Path
) -> None:
    start_with(daemon, tmp_path, constraints=PING_RULE)
    assert "n1: pingd=5 (permanent)" in ok(daemon, "node", "attribute", "n1", "pingd", "5")
    wait_for("R to start on the permanent pingd", lambda: role_of(daemon, "R") == "Started")
    assert daemon.attribute("pingd") is None  # not a transient one
    assert "pingd=5" in ok(daemon, "node", "attribute", "n1").splitlines()
    assert ok(daemon, "node", "attribute", "n1", "pingd", "--lifetime", "forever") == "5\n"
    # A transient value goes over the permanent one, as in Pacemaker.
    ok(daemon, "node", "attribute", "n1", "pingd", "0", "--lifetime", "reboot")
    wait_for("R to stop on the transient pingd=0", lambda: role_of(daemon, "R") == "Stopped")
    assert ok(daemon, "node", "attribute", "n1", "pingd") == "0\n"


@needs_dummy
def test_node_attribute_refuses_a_value_with_delete_and_names_an_unknown_node(
    daemon: Daemon, tmp_path: Path
) -> None:
    start_with(daemon, tmp_path)
    both = vigil(daemon, "node", "attribute", "n1", "pingd", "1", "--delete")
    assert both.returncode == 2 and "not both" in both.stderr
    unknown = vigil(daemon, "node", "attribute", "n9", "pingd", "1", "--lifetime", "reboot")
    assert unknown.returncode != 0 and "n9" in unknown.stderr and "Traceback" not in unknown.stderr


@needs_dummy
@needs_schema
def test_health_red_under_migrate_on_red_stops_the_resource_on_the_node_and_green_lets_it_back(
    daemon: Daemon, tmp_path: Path
) -> None:
    strategy = '<nvpair id="opt-health" name="node-health-strategy" value="migrate-on-red"/>'
    start_with(daemon, tmp_path, options=strategy)
    wait_for("R to start on the healthy node", lambda: role_of(daemon, "R") == "Started")

    ok(daemon, "node", "attribute", "n1", "#health-cpu", "red", "--lifetime", "reboot")
    wait_for("R to leave the red node", lambda: role_of(daemon, "R") == "Stopped")
    assert "  * Node n1: online (health is RED)" in ok(daemon, "status")
    document = valid_crm_mon_xml(ok(daemon, "status", "--format", "xml"))
    assert first(document, "nodes/node").get("health") == "red"
    assert json.loads(ok(daemon, "status", "--format", "json"))["nodes"][0]["health"] == "red"

    ok(daemon, "node", "attribute", "n1", "#health-cpu", "green", "--lifetime", "reboot")
    wait_for("R to start again on the green node", lambda: role_of(daemon, "R") == "Started")
