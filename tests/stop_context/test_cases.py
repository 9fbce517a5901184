"""The stop context, case by case, as DESIGN.md's list defines it.

Each test builds a small cluster, schedules it with the real scheduler and
checks the meta of the stops and starts an agent would receive.  Where a
case needs a sequence (failures 1, 2, 3), the simulator plays it step by step
the way ``vigil simulate --fail ... --steps`` does.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.stop_context.cibs import (
    NOW,
    History,
    NodeStatus,
    cib,
    group,
    primitive,
)
from vigil.formats.cib.load import load_cib
from vigil.model.transition import Action, Transition
from vigil.scheduler import schedule
from vigil.simulator.from_file import simulate_steps
from vigil.simulator.steps import Failure

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


CRM_SIMULATE = shutil.which("crm_simulate") or (
    "/usr/sbin/crm_simulate" if Path("/usr/sbin/crm_simulate").exists() else None
)


def pacemaker_summary(xml: bytes) -> list[str]:
    """What Pacemaker's own scheduler plans for the same CIB."""
    assert CRM_SIMULATE is not None
    with tempfile.NamedTemporaryFile(suffix=".xml") as handle:
        handle.write(xml)
        handle.flush()
        out = subprocess.run([CRM_SIMULATE, "-x", handle.name, "-S"], capture_output=True, text=True,
                             check=False, timeout=60).stdout
    block = out.split("Transition Summary:", 1)[1].split("Executing Cluster Transition:", 1)[0]
    return [" ".join(line.split()) for line in block.splitlines() if line.strip().startswith("*")]


def plan(xml: bytes) -> Transition:
    """vigil's transition — and, where Pacemaker is installed, a check that
    Pacemaker plans the same actions, so every scenario here is a real one."""
    cluster, _ = load_cib(xml)
    transition = schedule(cluster, NOW)
    if CRM_SIMULATE is not None:
        ours = [" ".join(line.render().split()) for line in transition.summary]
        assert sorted(ours) == sorted(pacemaker_summary(xml))
    return transition


def action(transition: Transition, task: str, rsc: str, node: str | None = None) -> dict[str, str]:
    found: list[Action] = [
        a for a in transition.actions
        if a.task == task and a.resource == rsc and a.interval_ms == 0 and (node is None or a.node == node)
    ]
    listed = [(a.task, a.resource, a.node) for a in transition.actions]
    assert found, f"no {task} of {rsc} on {node}: {listed}"
    return dict(found[0].meta)


def has_action(transition: Transition, task: str, rsc: str) -> bool:
    return any(a.task == task and a.resource == rsc and a.interval_ms == 0 for a in transition.actions)


def two_nodes(*histories1: History, attrs1: dict[str, str] | None = None,
              histories2: tuple[History, ...] = ()) -> list[NodeStatus]:
    return [NodeStatus("node1", list(histories1), attrs1 or {}), NodeStatus("node2", list(histories2))]


def failcount(rsc: str, count: int | str) -> dict[str, str]:
    return {
        f"fail-count-{rsc}#monitor_10000": str(count),
        f"last-failure-{rsc}#monitor_10000": str(NOW - 100),
    }


# --- case 1: migration-threshold 3, failures 1, 2, 3 -------------------------


@pytest.mark.parametrize(("count", "left", "final"),
                         [(1, "2", "false"), (2, "1", "false"), (3, "0", "true")])
def test_threshold_three_counts_down_and_the_third_failure_is_final(count: int, left: str,
                                                                    final: str) -> None:
    xml = cib(
        primitive("web", meta={"migration-threshold": "3"}),
        two_nodes(History("web", failed_monitor=True), attrs1=failcount("web", count),
                  histories2=(History("web", running=False),)),
    )
    transition = plan(xml)
    stop = action(transition, "stop", "web", "node1")
    assert stop["stop_reason"] == "failure"
    assert stop["stop_cause"] == "web"
    assert stop["recoveries_left"] == left
    assert stop["stop_final"] == final
    # The proposal's names carry the same number, so agents written to it work.
    assert stop["recovery_left"] == stop["retries_left"] == left
    if final == "true":
        assert stop["stop_next_node"] == "node2"  # the third failure moves it away
        start = action(transition, "start", "web", "node2")
        assert start["start_reason"] == "recovery"
        assert start["recoveries_left"] == "3"  # a fresh budget on the new node
    else:
        assert stop["stop_next_node"] == "node1"


def test_sequence_two_one_zero_when_failing_step_by_step() -> None:
    # `vigil simulate --steps 3 --fail nova-compute:node1 examples/compute.xml`
    sims = simulate_steps(EXAMPLES / "compute.xml", [Failure("nova-compute", "node1")], 3)
    stops = [action(sim.transition, "stop", "nova-compute:0", "node1") for sim in sims]
    assert [s["recoveries_left"] for s in stops] == ["2", "1", "0"]
    assert [s["stop_final"] for s in stops] == ["false", "false", "true"]
    assert all(s["stop_reason"] == "failure" for s in stops)


def test_nowhere_else_to_go_stops_for_good() -> None:
    xml = cib(
        primitive("web", meta={"migration-threshold": "1"}),
        [NodeStatus("node1", [History("web", failed_monitor=True)], failcount("web", 1))],
    )
    transition = plan(xml)
    stop = action(transition, "stop", "web", "node1")
    assert stop["stop_reason"] == "failure"
    assert stop["stop_final"] == "true"
    assert stop["recoveries_left"] == "0"
    assert "stop_next_node" not in stop
    assert not has_action(transition, "start", "web")


# --- case 2: fail-count cleared in the same transition -----------------------


def test_cleared_failcount_restores_the_budget_and_is_not_final() -> None:
    # At threshold, but the resource's definition has changed since the
    # failed operation ran, so this transition clears the fail-count: the stop
    # is a recovery with the budget restored, never a final stop.
    xml = cib(
        primitive("web", meta={"migration-threshold": "3"}, params={"state": "/run/web.state"}),
        two_nodes(History("web", failed_monitor=True), attrs1=failcount("web", 3),
                  histories2=(History("web", running=False),)),
    )
    transition = plan(xml)
    assert has_action(transition, "clear_failcount", "web")
    stop = action(transition, "stop", "web", "node1")
    assert stop["stop_reason"] == "failure"
    assert stop["stop_final"] == "false"
    assert stop["recoveries_left"] == "2"


# --- case 3: restarts and moves for other reasons ----------------------------


def test_definition_change_is_a_config_restart_not_final() -> None:
    xml = cib(
        primitive("web", params={"port": "8080"}),
        [NodeStatus("node1", [History("web")])],  # recorded with no parameters
    )
    transition = plan(xml)
    stop = action(transition, "stop", "web", "node1")
    assert stop["stop_reason"] == "config"
    assert stop["stop_cause"] == "web"
    assert stop["stop_final"] == "false"
    assert stop["stop_next_node"] == "node1"
    assert "recoveries_left" not in stop
    assert action(transition, "start", "web", "node1")["start_reason"] == "config"


def test_move_for_a_constraint_is_final_on_the_old_node() -> None:
    xml = cib(
        primitive("web"),
        two_nodes(History("web"), histories2=(History("web", running=False),)),
        constraints='<rsc_location id="prefer-node2" rsc="web" node="node2" score="INFINITY"/>',
    )
    transition = plan(xml)
    stop = action(transition, "stop", "web", "node1")
    assert stop["stop_reason"] == "move"
    assert stop["stop_final"] == "true"
    assert stop["stop_next_node"] == "node2"
    assert "stop_cause" not in stop and "recoveries_left" not in stop
    assert action(transition, "start", "web", "node2")["start_reason"] == "move"


def test_standby_moves_with_reason_standby() -> None:
    xml = cib(
        primitive("web"),
        two_nodes(History("web"), attrs1={"standby": "on"}, histories2=(History("web", running=False),)),
    )
    stop = action(plan(xml), "stop", "web", "node1")
    assert stop["stop_reason"] == "standby"
    assert stop["stop_final"] == "true"
    assert stop["stop_next_node"] == "node2"
    assert "recoveries_left" not in stop


def test_admin_disable_is_final() -> None:
    xml = cib(primitive("web", meta={"target-role": "Stopped"}), [NodeStatus("node1", [History("web")])])
    stop = action(plan(xml), "stop", "web", "node1")
    assert stop["stop_reason"] == "admin"
    assert stop["stop_cause"] == "web"
    assert stop["stop_final"] == "true"


def test_operator_ban_is_admin() -> None:
    xml = cib(
        primitive("web"),
        two_nodes(History("web"), histories2=(History("web", running=False),)),
        constraints='<rsc_location id="cli-ban-web-on-node1" rsc="web" node="node1" score="-INFINITY"/>',
    )
    stop = action(plan(xml), "stop", "web", "node1")
    assert stop["stop_reason"] == "admin"
    assert stop["stop_next_node"] == "node2"


def test_node_shutdown() -> None:
    xml = cib(
        primitive("web"),
        two_nodes(History("web"), attrs1={"shutdown": str(NOW)}, histories2=(History("web", running=False),)),
    )
    stop = action(plan(xml), "stop", "web", "node1")
    assert stop["stop_reason"] == "shutdown"
    assert stop["stop_final"] == "true"
    assert "stop_cause" not in stop


# --- case 4: dependents ------------------------------------------------------


def test_group_member_after_a_failed_member_is_a_dependency_with_its_budget() -> None:
    # libvirtd -> neutron-agent -> nova-compute; neutron-agent failed once.
    xml = cib(
        group("stack", "libvirtd", "neutron-agent", "nova-compute", meta={"migration-threshold": "3"}),
        [NodeStatus("node1", [History("libvirtd"), History("neutron-agent", failed_monitor=True),
                              History("nova-compute")], failcount("neutron-agent", 1))],
    )
    transition = plan(xml)
    failed = action(transition, "stop", "neutron-agent", "node1")
    assert failed["stop_reason"] == "failure"
    assert failed["recoveries_left"] == "2"
    dependent = action(transition, "stop", "nova-compute", "node1")
    assert dependent["stop_reason"] == "dependency"
    assert dependent["stop_cause"] == "neutron-agent"
    assert dependent["recoveries_left"] == "2"
    assert dependent["stop_final"] == "false"
    start = action(transition, "start", "nova-compute", "node1")
    assert start["start_reason"] == "dependency"
    assert start["recoveries_left"] == "2"
    # Earlier members are untouched.
    assert not has_action(transition, "stop", "libvirtd")


@pytest.mark.parametrize("layout", ["compute.xml", "compute-interleaved.xml"])
def test_compute_stack_at_threshold_is_final_for_its_dependents(layout: str) -> None:
    sims = simulate_steps(EXAMPLES / layout, [Failure("neutron-agent", "node1")], 3)
    first, last = sims[0].transition, sims[2].transition
    assert action(first, "stop", "nova-compute:0", "node1")["stop_final"] == "false"
    nova = action(last, "stop", "nova-compute:0", "node1")
    assert nova["stop_reason"] == "dependency"
    assert nova["stop_cause"] == "neutron-agent"
    assert nova["recoveries_left"] == "0"
    assert nova["stop_final"] == "true"
    neutron = action(last, "stop", "neutron-agent:0", "node1")
    assert neutron["stop_reason"] == "failure"
    assert neutron["stop_final"] == "true"


# --- failures that must not look like a recovery -------------------------------


def test_ignored_failure_never_looks_like_a_recovery() -> None:
    xml = cib(
        primitive("web", on_fail="ignore", meta={"migration-threshold": "3"}),
        two_nodes(History("web", failed_monitor=True), attrs1={"standby": "on", **failcount("web", 2)},
                  histories2=(History("web", running=False),)),
    )
    stop = action(plan(xml), "stop", "web", "node1")
    assert stop["stop_reason"] == "standby"
    assert "recoveries_left" not in stop


def test_stale_failcount_of_a_healthy_resource_is_not_a_recovery() -> None:
    xml = cib(
        primitive("web", meta={"migration-threshold": "3"}),
        two_nodes(History("web"), attrs1={"standby": "on", **failcount("web", 2)},
                  histories2=(History("web", running=False),)),
    )
    stop = action(plan(xml), "stop", "web", "node1")
    assert stop["stop_reason"] == "standby"
    assert "recoveries_left" not in stop


def test_no_threshold_means_infinity() -> None:
    xml = cib(
        primitive("web"),
        [NodeStatus("node1", [History("web", failed_monitor=True)], failcount("web", 5))],
    )
    stop = action(plan(xml), "stop", "web", "node1")
    assert stop["stop_reason"] == "failure"
    assert stop["recoveries_left"] == "INFINITY"
    assert stop["stop_final"] == "false"


def test_first_start_is_initial_and_carries_no_budget() -> None:
    xml = cib(primitive("web"), [NodeStatus("node1", [History("web", running=False)])])
    start = action(plan(xml), "start", "web", "node1")
    assert start == {"start_reason": "initial"}
