"""Fail-counts of resources gone from the configuration are cleared.

The corpus summaries do not show it (orphan-2 and whitebox-orphaned list it
among the executed actions): an orphan's fail-count is cleared on every
online node where it still counts, whether the orphan runs or not, and
before it stops.  An unmanaged orphan (here: fencing enabled with no device)
gets nothing.  Checked against ``crm_simulate``.
"""

from __future__ import annotations

from vigil.formats.cib.load import load_cib
from vigil.model.transition import Transition
from vigil.scheduler import schedule

NOW = 1700000000


def _cib(stonith: bool) -> bytes:
    def op(rsc: str, task: str, rc: int, call: int) -> str:
        return (f'<lrm_resource id="{rsc}" class="ocf" provider="heartbeat" type="Dummy">'
                f'<lrm_rsc_op id="{rsc}_last_0" operation_key="{rsc}_{task}_0" operation="{task}" '
                f'transition-key="{call}:1:0:x" transition-magic="0:{rc};{call}:1:0:x" call-id="{call}" '
                f'rc-code="{rc}" op-status="0" interval="0" last-rc-change="{NOW - 1000}" on_node="node1"/>'
                f'</lrm_resource>')

    return f"""<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0"
     admin_epoch="0" have-quorum="1" dc-uuid="1" execution-date="{NOW}">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="opt-stonith" name="stonith-enabled" value="{'true' if stonith else 'false'}"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources/>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>
        {op("gone", "monitor", 7, 1)}{op("active", "start", 0, 2)}
      </lrm_resources></lrm>
      <transient_attributes id="1"><instance_attributes id="status-1">
        <nvpair id="s1" name="fail-count-gone#start_0" value="INFINITY"/>
        <nvpair id="s2" name="fail-count-active#monitor_10000" value="1"/>
      </instance_attributes></transient_attributes>
    </node_state>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="2"><instance_attributes id="status-2">
        <nvpair id="t1" name="fail-count-gone#start_0" value="INFINITY"/>
      </instance_attributes></transient_attributes>
    </node_state>
  </status>
</cib>""".encode()


def _plan(stonith: bool) -> Transition:
    cluster, _ = load_cib(_cib(stonith))
    return schedule(cluster, NOW)


def test_an_orphans_fail_counts_are_cleared_before_it_stops() -> None:
    transition = _plan(stonith=False)
    clears = {(a.resource, a.node) for a in transition.actions if a.task == "clear_failcount"}
    assert clears == {("gone", "node1"), ("gone", "node2"), ("active", "node1")}
    index = {(a.resource, a.task, a.node): a.index for a in transition.actions}
    stop = index[("active", "stop", "node1")]
    assert (index[("active", "clear_failcount", "node1")], stop) in transition.order


def test_an_unmanaged_orphan_keeps_its_fail_counts() -> None:
    transition = _plan(stonith=True)
    assert not [a for a in transition.actions if a.task == "clear_failcount"]
