"""Shutdown locks: what the corpus does not show (the recheck time, the stop's lock time).

Pacemaker's corpus (shutdown-lock, shutdown-lock-expiration) pins the plans;
these pin what the controller is handed besides: when to plan again because
a lock expires, and the lock time a stop on the shutting-down node carries.
"""

from __future__ import annotations

from vigil.formats.cib.load import load_cib
from vigil.scheduler import schedule

SHUTDOWN_AT = 1_700_000_000


def _cib(limit: str, lock_history: str = "", shutdown: str = "") -> bytes:
    return f"""<cib have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
      <nvpair id="o2" name="shutdown-lock" value="true"/>
      <nvpair id="o3" name="shutdown-lock-limit" value="{limit}"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources><primitive class="ocf" id="db" provider="heartbeat" type="Dummy"/></resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="1">
        <instance_attributes id="s1">{shutdown}</instance_attributes>
      </transient_attributes>
      <lrm id="1"><lrm_resources>{lock_history}</lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>""".encode()


RUNNING = """<lrm_resource id="db" class="ocf" provider="heartbeat" type="Dummy">
  <lrm_rsc_op id="db_last_0" operation_key="db_start_0" operation="start" call-id="3" rc-code="0"
   op-status="0" interval="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x"/>
</lrm_resource>"""


def test_a_resource_on_a_node_shutting_down_stops_there_with_the_lock_time() -> None:
    shutdown = f'<nvpair id="s1-shutdown" name="shutdown" value="{SHUTDOWN_AT}"/>'
    cluster, _ = load_cib(_cib("10m", RUNNING, shutdown))
    transition = schedule(cluster, SHUTDOWN_AT + 5)
    assert [line.render() for line in transition.summary] == ["* Stop db ( n1 ) due to node availability"]
    stop = next(a for a in transition.actions if a.task == "stop")
    assert dict(stop.meta)["shutdown-lock"] == str(SHUTDOWN_AT)
    assert transition.recheck_by == SHUTDOWN_AT + 600 + 1


def test_without_a_limit_a_lock_never_asks_for_a_recheck() -> None:
    shutdown = f'<nvpair id="s1-shutdown" name="shutdown" value="{SHUTDOWN_AT}"/>'
    cluster, _ = load_cib(_cib("0", RUNNING, shutdown))
    assert schedule(cluster, SHUTDOWN_AT + 5).recheck_by is None
