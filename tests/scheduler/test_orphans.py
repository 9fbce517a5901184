"""Fail-counts of resources gone from the configuration are cleared.

The corpus summaries do not show it (orphan-2 and whitebox-orphaned list it
among the executed actions): an orphan's fail-count is cleared on every
online node where it still counts, whether the orphan runs or not, and
before it stops.  An unmanaged orphan (here: fencing enabled with no device)
gets nothing.  Checked against ``crm_simulate``.
"""

from __future__ import annotations

from tests.scheduler.cib_text import NOW, last_op, lrm, two_node_cib
from vigil.formats.cib.load import load_cib
from vigil.model.transition import Transition
from vigil.scheduler import schedule


def _cib(stonith: bool) -> bytes:
    def op(rsc: str, task: str, rc: int, call: int) -> str:
        return last_op(rsc, task, rc, call, age=1000)

    node1 = lrm("1", op("gone", "monitor", 7, 1) + op("active", "start", 0, 2)) + """
      <transient_attributes id="1"><instance_attributes id="status-1">
        <nvpair id="s1" name="fail-count-gone#start_0" value="INFINITY"/>
        <nvpair id="s2" name="fail-count-active#monitor_10000" value="1"/>
      </instance_attributes></transient_attributes>"""
    node2 = """
      <transient_attributes id="2"><instance_attributes id="status-2">
        <nvpair id="t1" name="fail-count-gone#start_0" value="INFINITY"/>
      </instance_attributes></transient_attributes>"""
    return two_node_cib(node1=node1, node2=node2, stonith=stonith)


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
