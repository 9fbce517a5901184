"""`vigil status --output-as xml` against Pacemaker 2.1.5's own `crm_mon --output-as=xml -1`.

Each CIB of ``data/`` (status included: online, standby, unclean, shutting
down and offline nodes, ping and promotable clones, a cloned group, failures,
node attributes, health, bans, tickets) is loaded by vigil and exported
again for Pacemaker 2.1.5 (what `vigil config show --format xml` writes),
and the same CIB goes through crm_mon (``CIB_file``) and through vigil's
report and renderer.  The two documents must agree element by element, with
the attributes in the same order, for every section; what may differ is
what names the software and the time (the stack, the DC's version, the node
feature set's value, the last update) and the order of the tickets (crm_mon
walks a hash table).  vigil's document must also validate against Pacemaker's
schema, which crm_mon's own does not always do (a failed operation without a
queue time): those CIBs are not in ``data/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from vigil.executor.environment import CRM_FEATURE_SET
from vigil.formats.cib.dump import dump_cib
from vigil.formats.cib.load import load_cib
from vigil.model.cluster import Cluster
from vigil.output.crm_mon_xml import FEATURE_SET, pacemaker_escape, render_crm_mon_xml
from vigil.output.report import ControllerInfo, FencingInfo, StatusReport, build_report
from vigil.output.status_text import render_status
from vigil.scheduler import schedule

DATA = Path(__file__).resolve().parent / "data"
CASES = sorted(DATA.glob("*.xml"))
NOW = 1_700_000_100
REQUEST = "crm_mon -1 --output-as=xml"
SCHEMA = Path("/usr/share/pacemaker/api/api-result-2.25.rng")

needs_crm_mon = pytest.mark.skipif(shutil.which("crm_mon") is None,
                                   reason="crm_mon (Pacemaker 2.1.5, pacemaker-cli-utils) is not installed")
needs_schema = pytest.mark.skipif(not SCHEMA.exists(), reason="no Pacemaker API schema (pacemaker-common)")
# Attributes whose value names the software or the time, not the cluster: compared by place only.
VERSIONED = {("stack", "type"), ("current_dc", "version"), ("last_update", "time"), ("node", "feature_set")}


def load(path: Path) -> Cluster:
    cluster, _ = load_cib(path.read_bytes(), name=path.name)
    return cluster


def report_of(cluster: Cluster) -> StatusReport:
    """The status as the daemon builds it, the CIB's DC as the controller."""
    dc = next((node.uname for node in cluster.config.nodes if node.id == cluster.status.dc_uuid), None)
    local = dc or cluster.config.nodes[0].uname
    report = build_report(cluster, schedule(cluster, NOW), NOW, ControllerInfo(node=local), 1, 1)
    return replace(report, controller=dc)


def vigil_xml(cluster: Cluster) -> etree._Element:
    return etree.fromstring(render_crm_mon_xml(report_of(cluster), cluster, REQUEST).encode())


def crm_mon(cluster: Cluster, tmp_path: Path, *args: str, tz: str = "UTC") -> str:
    """Pacemaker's crm_mon on ``cluster`` as vigil exports it, times in the zone ``tz``."""
    cib = tmp_path / "exported.xml"
    cib.write_bytes(dump_cib(cluster, pacemaker_2_1_5=True))
    done = subprocess.run(["crm_mon", "-1", *args], env={**os.environ, "CIB_file": str(cib), "TZ": tz},
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


class Shape(NamedTuple):
    """An element as comparable data: tag, attributes in order, children."""

    tag: str
    attrs: tuple[tuple[str, str], ...]
    children: tuple[Shape, ...]


def shape(element: etree._Element) -> Shape:
    """``element`` as a :class:`Shape`, versioned values blanked."""
    attrs = tuple((str(name), "*" if (element.tag, name) in VERSIONED else str(value))
                  for name, value in element.attrib.items())
    return Shape(str(element.tag), attrs, tuple(shape(child) for child in element))


def lines(element: etree._Element) -> list[str]:
    """One line per element, indented, for a readable difference."""
    def walk(item: Shape, depth: int) -> Iterator[str]:
        yield "  " * depth + f"<{item.tag} " + " ".join(f'{k}="{v}"' for k, v in item.attrs) + ">"
        for child in item.children:
            yield from walk(child, depth + 1)

    return list(walk(shape(element), 0))


def first(document: etree._Element, path: str) -> etree._Element:
    found = document.find(path)
    assert found is not None, f"no {path}"
    return found


@needs_crm_mon
@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_vigil_writes_the_document_crm_mon_writes_for_the_same_cib(case: Path, tmp_path: Path) -> None:
    cluster = load(case)
    ours = vigil_xml(cluster)
    theirs = etree.fromstring(crm_mon(cluster, tmp_path, "--output-as=xml").encode())
    assert [child.tag for child in ours] == [child.tag for child in theirs]
    for mine, reference in zip(ours, theirs, strict=True):
        if mine.tag == "tickets":
            assert sorted(map(shape, mine)) == sorted(map(shape, reference))
        else:
            assert lines(mine) == lines(reference), f"section {mine.tag} differs"
    assert ours.attrib.items() == theirs.attrib.items()


@needs_schema
@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_the_document_is_valid_against_pacemakers_schema(case: Path) -> None:
    schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
    assert schema.validate(vigil_xml(load(case))), schema.error_log


@needs_schema
def test_the_fence_history_is_listed_newest_first_and_valid() -> None:
    cluster = load(DATA / "ping-health-bans.xml")
    report = replace(report_of(cluster), fencing=(
        FencingInfo("n3", "reboot", True, 1_700_000_000, "n1", "n1", "vigil-controller.n1"),
        FencingInfo("n3", "off", False, 1_700_000_050, "", "n1", "vigil-controller.n1"),
    ))
    document = etree.fromstring(render_crm_mon_xml(report, cluster).encode())
    events = [event.attrib.items() for event in document.iterfind("fence_history/fence_event")]
    assert events == [
        [("action", "off"), ("target", "n3"), ("client", "vigil-controller.n1"), ("origin", "n1"),
         ("status", "failed"), ("completed", "2023-11-14 22:14:10Z")],
        [("action", "reboot"), ("target", "n3"), ("client", "vigil-controller.n1"), ("origin", "n1"),
         ("status", "success"), ("delegate", "n1"), ("completed", "2023-11-14 22:13:20Z")],
    ]
    schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
    assert schema.validate(document), schema.error_log


@needs_crm_mon
def test_times_are_in_the_zone_with_its_offset_as_crm_mon_writes_them(tmp_path: Path) -> None:
    cluster = load(DATA / "failures-unclean-unmanaged.xml")
    zone = ZoneInfo("America/New_York")
    ours = etree.fromstring(render_crm_mon_xml(report_of(cluster), cluster, REQUEST, zone=zone).encode())
    theirs = etree.fromstring(crm_mon(cluster, tmp_path, "--output-as=xml", tz="America/New_York").encode())
    for section in ("node_history", "failures"):
        assert lines(first(ours, section)) == lines(first(theirs, section))
    assert first(ours, "failures/failure").get("last-rc-change") == "2023-11-14 17:14:10 -05:00"
    assert first(ours, "summary/last_update").get("time") == "Tue Nov 14 17:15:00 2023"


def test_the_feature_set_is_the_one_vigil_gives_its_agents() -> None:
    assert FEATURE_SET == CRM_FEATURE_SET


@needs_crm_mon
@pytest.mark.parametrize("case", ["ping-health-bans", "clones-tickets"])
def test_the_text_shows_node_attributes_as_crm_mon_dash_a_does(case: str, tmp_path: Path) -> None:
    cluster = load(DATA / f"{case}.xml")

    def section(text: str) -> list[str]:
        found = text.split("\nNode Attributes:\n", 1)[1]
        return found.split("\n\n", 1)[0].splitlines()

    ours = section(render_status(report_of(cluster)))
    assert ours == section(crm_mon(cluster, tmp_path, "-A"))
    assert ours  # the cases have attributes to show


@needs_crm_mon
def test_the_text_shows_tickets_as_crm_mon_dash_dash_tickets_does(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Granted with its last grant, in standby, and named only by a constraint (revoked); crm_mon
    lists them in its hash table's order, vigil by id.  Both in local time, here UTC."""
    cluster = load(DATA / "clones-tickets.xml")

    def section(text: str) -> list[str]:
        return sorted(text.split("\nTickets:\n", 1)[1].split("\n\n", 1)[0].strip("\n").splitlines())

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        ours = section(render_status(report_of(cluster)))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert ours == section(crm_mon(cluster, tmp_path, "--tickets"))
    assert ours == ['  * t1: granted last-granted="Tue Nov 14 22:13:20 2023"', "  * t2: revoked [standby]",
                    "  * t3: revoked"]


def test_values_are_escaped_as_pacemaker_escapes_them() -> None:
    assert pacemaker_escape("<a & 'b'>\"") == "&lt;a &amp; &apos;b&apos;&gt;&quot;"
    assert pacemaker_escape("one\ttwo\nthree\x01") == "one    two\\nthree\\001"
    # crm_xml_escape stops at the first non-ASCII character and leaves the rest alone
    assert pacemaker_escape("é<b>") == "é<b>"


def test_the_document_has_no_declaration_and_ends_with_its_status() -> None:
    cluster = load(DATA / "clones-tickets.xml")
    text = render_crm_mon_xml(report_of(cluster), cluster, 'crm_mon -1 "-X"')
    assert text.splitlines()[0] == '<pacemaker-result api-version="2.25" request="crm_mon -1 &quot;-X&quot;">'
    assert text.endswith('  <status code="0" message="OK"/>\n</pacemaker-result>\n')
