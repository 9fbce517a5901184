"""An exported CIB means to Pacemaker what the operator's command meant: crm_simulate agrees.

The edits write what pcs and crm_resource write (target-role, cli-ban and
cli-prefer constraints, node standby), so Pacemaker's own scheduler, given
the exported CIB, plans what vigil's plans.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from vigil.admin import edits
from vigil.admin.errors import AdminError
from vigil.formats.cib.dump import dump_cib
from vigil.formats.cib.load import load_cib
from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.output.transition import format_summary_lines
from vigil.scheduler import schedule

RUNNING = b"""<cib validate-with="pacemaker-3.9" epoch="5" num_updates="0" admin_epoch="0"
     crm_feature_set="3.16.1" have-quorum="1" dc-uuid="1" execution-date="1700000000">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="n1"/>
      <node id="2" uname="n2"/>
    </nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1">
        <lrm_resources>
          <lrm_resource id="web" class="ocf" provider="heartbeat" type="Dummy">
            <lrm_rsc_op id="web_last_0" operation_key="web_start_0" operation="start" crm-debug-origin="test"
                op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8" crm_feature_set="3.16.1"
                transition-key="1:1:0:abc" transition-magic="0:0;1:1:0:abc"
                exit-reason="" on_node="n1" call-id="2" rc-code="0" op-status="0" interval="0"
                last-rc-change="1699999000" exec-time="10" queue-time="0"/>
          </lrm_resource>
        </lrm_resources>
      </lrm>
    </node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="2">
        <lrm_resources>
          <lrm_resource id="web" class="ocf" provider="heartbeat" type="Dummy">
            <lrm_rsc_op id="web_last_0" operation_key="web_monitor_0" operation="monitor"
                crm-debug-origin="test" crm_feature_set="3.16.1" transition-key="1:1:7:abc"
                transition-magic="0:7;1:1:7:abc" exit-reason="" on_node="n2" call-id="1" rc-code="7"
                op-status="0" interval="0" last-rc-change="1699999000" exec-time="10" queue-time="0"/>
          </lrm_resource>
        </lrm_resources>
      </lrm>
    </node_state>
  </status>
</cib>
"""

needs_crm_simulate = pytest.mark.skipif(shutil.which("crm_simulate") is None,
                                        reason="crm_simulate (pacemaker-cli-utils) is not installed")


def pacemaker_summary(cluster: Cluster, tmp_path: Path) -> list[str]:
    cib = tmp_path / "exported.xml"
    cib.write_bytes(dump_cib(cluster, pacemaker_2_1_5=True))
    output = subprocess.run(["crm_simulate", "-S", "-x", str(cib)], capture_output=True, text=True,
                            check=True, timeout=60).stdout
    block = output.split("Transition Summary:", 1)[1].split("Executing Cluster Transition:", 1)[0]
    return [" ".join(line.split()) for line in block.splitlines() if line.strip().startswith("*")]


def vigil_summary(cluster: Cluster) -> list[str]:
    transition = schedule(cluster, 1_700_000_000)
    return [" ".join(line.split()) for line in format_summary_lines(transition.summary)]


@needs_crm_simulate
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (lambda c: edits.set_target_role(c, "web", "Stopped"), "* Stop web ( n1 ) due to node availability"),
        (lambda c: edits.ban_from(c, "web", "n1"), "* Move web ( n1 -> n2 )"),
        (lambda c: edits.move_to(c, "web", "n2"), "* Move web ( n1 -> n2 )"),
        (lambda c: edits.set_standby(c, "n1", True), "* Move web ( n1 -> n2 )"),
    ],
    ids=["stop", "ban", "move", "standby"],
)
def test_pacemaker_plans_what_vigil_plans(command: Callable[[Config], Config], expected: str,
                                          tmp_path: Path) -> None:
    cluster, _ = load_cib(RUNNING, name="running.xml")
    assert vigil_summary(cluster) == []
    edited = Cluster(command(cluster.config), cluster.status, cluster.cib_attributes)
    assert vigil_summary(edited) == [expected]
    assert pacemaker_summary(edited, tmp_path) == [expected]


# A promotable clone promoted on node1 (promotion score 10) and unpromoted on node2 (5), settled.
PROMOTABLE_CASE = (Path(__file__).resolve().parents[1] / "scheduler" / "cases"
                   / "promoted-fails-once-recovered-and-promoted-in-place" / "cib.xml")


def promoted_and_settled() -> Cluster:
    """The scheduler case without its failure: nothing to do."""
    text = PROMOTABLE_CASE.read_text()
    text = re.sub(r'<nvpair id="st-node1-(fc|lf)"[^>]*/>', "", text)
    text = re.sub(r'<lrm_rsc_op id="db_last_failure_0"[^>]*/>', "", text)
    cluster, _ = load_cib(text.encode(), name="promoted.xml")
    return cluster


PROMOTION_MOVES = ["* Demote db:0 ( Promoted -> Unpromoted node1 )",
                   "* Promote db:1 ( Unpromoted -> Promoted node2 )"]


@needs_crm_simulate
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (lambda c: edits.move_to(c, "db-clone", "node2", promoted=True), PROMOTION_MOVES),
        (lambda c: edits.ban_from(c, "db-clone", "node1", promoted=True), PROMOTION_MOVES),
    ],
    ids=["move-promoted", "ban-promoted"],
)
def test_a_promoted_move_or_ban_moves_only_the_promoted_role(
        command: Callable[[Config], Config], expected: list[str], tmp_path: Path) -> None:
    cluster = promoted_and_settled()
    assert vigil_summary(cluster) == []
    assert pacemaker_summary(cluster, tmp_path) == []
    edited = Cluster(command(cluster.config), cluster.status, cluster.cib_attributes)
    assert vigil_summary(edited) == expected
    assert pacemaker_summary(edited, tmp_path) == expected


def test_promoted_needs_a_promotable_clone() -> None:
    cluster, _ = load_cib(RUNNING, name="running.xml")
    with pytest.raises(AdminError, match="web is not one"):
        edits.move_to(cluster.config, "web", "n2", promoted=True)
