"""Live migration, end to end: what vigil plans, what the controller records, and what it plans next.

Pacemaker's corpus pins the summaries ("Migrate R ( n1 -> n2 )"); these
tests pin what the corpus does not show: the meta each migration step
passes to the agent, the order of the steps, the records the controller's
handlers write for them (their own ids, with both ends), and that those
records read back as a finished migration, or as a half-done one that
continues, both to vigil and to Pacemaker's own scheduler.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.stop_context.cibs import NOW, History, NodeStatus, cib, primitive
from vigil.formats.cib.dump import dump_cib
from vigil.formats.cib.load import load_cib
from vigil.model.cluster import Cluster
from vigil.model.status import OpRecord
from vigil.model.transition import Action, Transition
from vigil.scheduler import schedule
from vigil.simulator.steps import apply_transition

needs_crm_simulate = pytest.mark.skipif(shutil.which("crm_simulate") is None,
                                        reason="Pacemaker's crm_simulate is not installed")

MOVE_TO_NODE2 = '<rsc_location id="vm-on-2" rsc="vm" node="node2" score="INFINITY"/>'


def moving_vm() -> Cluster:
    """vm (allow-migrate) runs on node1; a location constraint wants it on node2."""
    xml = cib(primitive("vm", meta={"allow-migrate": "true"}),
              [NodeStatus("node1", [History("vm")]), NodeStatus("node2", [History("vm", running=False)])],
              constraints=MOVE_TO_NODE2)
    cluster, _ = load_cib(xml)
    return cluster


def lines(transition: Transition) -> list[str]:
    return [line.render() for line in transition.summary]


def find(transition: Transition, task: str, node: str) -> Action:
    found = [a for a in transition.actions if a.task == task and a.node == node and a.interval_ms == 0]
    assert len(found) == 1, (task, node, transition.actions)
    return found[0]


def before(transition: Transition, first: Action, then: Action) -> bool:
    """Whether the graph runs ``first`` (directly or not) before ``then``."""
    after: dict[int, set[int]] = {}
    for a, b in transition.order:
        after.setdefault(a, set()).add(b)
    seen, todo = set(), [first.index]
    while todo:
        for nxt in after.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return then.index in seen


def pacemaker_lines(cluster: Cluster, tmp_path: Path) -> list[str]:
    """crm_simulate's transition summary for ``cluster`` (its lines, normalised)."""
    path = tmp_path / "cib.xml"
    path.write_bytes(dump_cib(cluster))
    output = subprocess.run(["crm_simulate", "-S", "-x", str(path)], capture_output=True, text=True,
                            check=True).stdout
    block = output.split("Transition Summary:", 1)[1].split("Executing Cluster Transition:", 1)[0]
    return [re.sub(r"\s+", " ", line.strip()) for line in block.splitlines() if line.strip()]


def test_a_move_is_a_migration_with_pacemakers_meta_and_order() -> None:
    transition = schedule(moving_vm(), NOW)
    assert lines(transition) == ["* Migrate vm ( node1 -> node2 )"]
    migrate_to = find(transition, "migrate_to", "node1")
    migrate_from = find(transition, "migrate_from", "node2")
    stop = find(transition, "stop", "node1")
    start = find(transition, "start", "node2")
    ends = {"migrate_source": "node1", "migrate_target": "node2"}
    assert dict(migrate_to.meta) == {**ends, "record_pending": "true"}
    assert dict(migrate_from.meta) == {**ends, "start_reason": "move"}
    assert start.pseudo and not migrate_to.pseudo and not migrate_from.pseudo
    assert dict(stop.meta) == {"stop_reason": "move", "stop_final": "true", "stop_next_node": "node2"}
    assert before(transition, migrate_to, migrate_from)
    assert before(transition, migrate_from, stop)
    assert before(transition, migrate_from, start)


def test_without_allow_migrate_it_is_a_stop_and_a_start() -> None:
    xml = cib(primitive("vm"),
              [NodeStatus("node1", [History("vm")]), NodeStatus("node2", [History("vm", running=False)])],
              constraints=MOVE_TO_NODE2)
    cluster, _ = load_cib(xml)
    transition = schedule(cluster, NOW)
    assert lines(transition) == ["* Move vm ( node1 -> node2 )"]
    assert not [a for a in transition.actions if a.task.startswith("migrate")]


def test_the_records_of_a_migration_read_as_the_resource_moved() -> None:
    cluster = moving_vm()
    after = apply_transition(cluster, schedule(cluster, NOW), NOW)
    node1, node2 = after.status.node("node1"), after.status.node("node2")
    assert node1 is not None and node2 is not None
    source = {op.id: op for history in node1.resources for op in history.ops}
    target = {op.id: op for history in node2.resources for op in history.ops}
    migrate_to, stop = source["vm_migrate_to_0"], source["vm_last_0"]
    assert (migrate_to.operation, migrate_to.migrate_source, migrate_to.migrate_target) == (
        "migrate_to", "node1", "node2")
    assert stop.operation == "stop" and stop.call_id > migrate_to.call_id
    migrate_from = target["vm_migrate_from_0"]
    assert (migrate_from.migrate_source, migrate_from.migrate_target) == ("node1", "node2")
    settled = schedule(after, NOW)
    assert lines(settled) == []
    assert settled.view is not None
    assert [r.nodes for r in settled.view.resources if r.id == "vm"] == [("node2",)]


def half_migrated() -> tuple[Cluster, Transition]:
    """Only the migrate_to of the move ran (the transition was interrupted)."""
    cluster = moving_vm()
    transition = schedule(cluster, NOW)
    migrate_to = find(transition, "migrate_to", "node1")
    only = dataclasses.replace(transition, actions=(dataclasses.replace(migrate_to, index=0),), order=())
    return apply_transition(cluster, only, NOW), transition


def test_a_partial_migration_continues_without_a_second_migrate_to() -> None:
    cluster, _ = half_migrated()
    transition = schedule(cluster, NOW)
    assert lines(transition) == ["* Migrate vm ( node1 -> node2 )"]
    assert not [a for a in transition.actions if a.task == "migrate_to"]
    migrate_from = find(transition, "migrate_from", "node2")
    assert before(transition, migrate_from, find(transition, "stop", "node1"))
    # No stop on the target, where the migration goes on.
    assert not [a for a in transition.actions if a.task == "stop" and a.node == "node2"]


def retargeted() -> Cluster:
    """Half migrated, and then nothing wants node2 any more."""
    cluster, _ = half_migrated()
    return dataclasses.replace(cluster, config=dataclasses.replace(cluster.config, locations=()))


def test_a_partial_migration_whose_target_changed_stops_on_both_nodes() -> None:
    transition = schedule(retargeted(), NOW)
    assert not [a for a in transition.actions if a.task.startswith("migrate")]
    assert {a.node for a in transition.actions if a.task == "stop"} == {"node1", "node2"}


@needs_crm_simulate
def test_pacemaker_reads_the_records_as_vigil_does(tmp_path: Path) -> None:
    cluster = moving_vm()
    assert pacemaker_lines(cluster, tmp_path) == lines(schedule(cluster, NOW))
    half, _ = half_migrated()
    assert pacemaker_lines(half, tmp_path) == lines(schedule(half, NOW))
    assert pacemaker_lines(retargeted(), tmp_path) == lines(schedule(retargeted(), NOW))
    done = apply_transition(cluster, schedule(cluster, NOW), NOW)
    assert pacemaker_lines(done, tmp_path) == lines(schedule(done, NOW)) == []


def migrating_when_the_source_was_lost() -> Cluster:
    """migrate_to was recorded as pending on node1 (see the controller's
    record_pending), and then node1 left the cluster; fencing is enabled."""
    cluster, _ = half_migrated()
    node1 = cluster.status.node("node1")
    assert node1 is not None
    def in_flight(op: OpRecord) -> OpRecord:
        if op.operation != "migrate_to":
            return op
        return op._replace(call_id=-1, rc=193, op_status=-1, transition_magic=f"-1:193;{op.transition_key}")

    histories = tuple(history._replace(ops=tuple(in_flight(op) for op in history.ops))
                      for history in node1.resources)
    xml = dump_cib(dataclasses.replace(cluster, status=dataclasses.replace(
        cluster.status, nodes=tuple(dataclasses.replace(n, resources=histories) if n.uname == "node1" else n
                                    for n in cluster.status.nodes))))
    xml = xml.replace(b'name="stonith-enabled" value="false"', b'name="stonith-enabled" value="true"')
    xml = xml.replace(b'in_ccm="true" crmd="online" join="member" expected="member">',
                      b'in_ccm="false" crmd="offline" join="down" expected="member">', 1)
    fencing = b'<primitive id="fencing" class="stonith" type="fence_dummy"/>'
    xml = xml.replace(b"<resources>", b"<resources>" + fencing, 1)
    lost, _ = load_cib(xml)
    return lost


def test_a_migrate_to_in_flight_on_a_lost_source_stops_the_resource_on_the_target() -> None:
    lost = migrating_when_the_source_was_lost()
    node1 = lost.status.node("node1")
    assert node1 is not None and node1.in_ccm == "false"
    transition = schedule(lost, NOW)
    assert any(a.task == "stop" and a.resource == "vm" and a.node == "node2" for a in transition.actions)


@needs_crm_simulate
def test_pacemaker_also_stops_a_migration_in_flight_from_a_lost_source(tmp_path: Path) -> None:
    lost = migrating_when_the_source_was_lost()
    assert pacemaker_lines(lost, tmp_path) == lines(schedule(lost, NOW))
