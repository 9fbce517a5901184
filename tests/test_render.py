"""Output formats, on transitions built by hand (no scheduler involved)."""

from __future__ import annotations

import json

from vigil.model.cluster import Cluster
from vigil.model.config import Clone, Config, Group, NvSet, Primitive
from vigil.model.status import Status
from vigil.model.transition import (
    Action,
    ClusterView,
    NodeView,
    ResourceView,
    SummaryLine,
    Transition,
    topological_order,
)
from vigil.output.transition import (
    format_summary_lines,
    render_json,
    render_pacemaker,
    render_text,
)

NOW = 1_700_000_400  # 2023-11-14 22:20:00Z
DUMMY = "ocf:heartbeat:Dummy"


def primitive(rsc_id: str, parent: str | None = None) -> Primitive:
    return Primitive(rsc_id, "ocf", "Dummy", "heartbeat", parent=parent)


def recovery() -> tuple[Cluster, Transition]:
    """webserver failed on node1 and is recovered there; db is left alone."""
    config = Config(resources=(primitive("webserver"), primitive("db")))
    cluster = Cluster(config, Status())
    stop_meta = (
        ("stop_reason", "failure"),
        ("stop_final", "false"),
        ("recoveries_left", "2"),
        ("stop_next_node", "node1"),
    )
    actions = (
        Action(0, "stop", "webserver", "node1", meta=stop_meta),
        Action(1, "start", "webserver", "node1", meta=(("start_reason", "recovery"),)),
        Action(2, "monitor", "webserver", "node1", interval_ms=10_000),
    )
    view = ClusterView(
        nodes=(NodeView("node2", "online"), NodeView("node1", "online")),
        resources=(
            ResourceView("webserver", DUMMY, "Started", ("node1",), failed=True),
            ResourceView("db", DUMMY, "Started", ("node2",)),
        ),
    )
    transition = Transition(
        actions=actions,
        order=((0, 1), (1, 2)),
        summary=(SummaryLine("Recover", "webserver", "( node1 )"),),
        view=view,
    )
    return cluster, transition


# --- summary alignment -------------------------------------------------------


def test_summary_pads_verb_resource_and_right_aligns_nodes() -> None:
    lines = [
        SummaryLine("Recover", "rsc4", "( node1 )"),
        SummaryLine("Restart", "rsc5", "( node1 ) due to required rsc4 start"),
        SummaryLine("Move", "rsc6", "( node1 -> node2 )"),
    ]
    assert format_summary_lines(lines) == [
        "  * Recover    rsc4    (          node1 )",
        "  * Restart    rsc5    (          node1 )  due to required rsc4 start",
        "  * Move       rsc6    ( node1 -> node2 )",
    ]


def test_resource_column_grows_in_line_order_like_pacemaker() -> None:
    # 'ClusterIP' (9) widens the column to 11; 'ClusterIP2' (10) fits in it.
    lines = [
        SummaryLine("Start", "ClusterIP", "( fc16-builder ) due to unrunnable ClusterIP3 start (blocked)"),
        SummaryLine("Start", "ClusterIP2", "( fc16-builder )"),
    ]
    assert format_summary_lines(lines) == [
        "  * Start      ClusterIP     ( fc16-builder )  due to unrunnable ClusterIP3 start (blocked)",
        "  * Start      ClusterIP2    ( fc16-builder )",
    ]


def test_fence_lines_are_not_aligned() -> None:
    lines = [
        SummaryLine("Fence", "(reboot) node2", "'rsc1 failed there'"),
        SummaryLine("Stop", "rsc1", "( node2 ) due to node availability"),
    ]
    assert format_summary_lines(lines) == [
        "  * Fence (reboot) node2 'rsc1 failed there'",
        "  * Stop       rsc1    ( node2 )  due to node availability",
    ]


# --- pacemaker layout ----------------------------------------------------------


def test_pacemaker_layout_of_a_recovery() -> None:
    cluster, transition = recovery()
    assert render_pacemaker(cluster, transition, NOW) == (
        "Current cluster status:\n"
        "  * Node List:\n"
        "    * Online: [ node1 node2 ]\n"
        "\n"
        "  * Full List of Resources:\n"
        "    * webserver\t(ocf:heartbeat:Dummy):\t FAILED node1\n"
        "    * db\t(ocf:heartbeat:Dummy):\t Started node2\n"
        "\n"
        "Transition Summary:\n"
        "  * Recover    webserver     ( node1 )\n"
        "\n"
        "Executing Cluster Transition:\n"
        "  * Resource action: webserver       stop on node1\n"
        "  * Resource action: webserver       start on node1\n"
        "  * Resource action: webserver       monitor=10000 on node1\n"
    )


def test_pacemaker_node_states_and_resource_flags() -> None:
    config = Config(
        resources=(
            primitive("a"),
            Group("grp", (primitive("b", "grp"), primitive("c", "grp")),
                  meta=(NvSet("grp-meta", (("target-role", "Stopped"),)),)),
            Clone("cl", primitive("d", "cl")),
        )
    )
    view = ClusterView(
        nodes=(
            NodeView("node10", "online"),
            NodeView("node2", "online"),
            NodeView("node3", "unclean-offline"),
            NodeView("node4", "standby-with-resources"),
            NodeView("node5", "offline"),
            NodeView("remote1", "online", is_remote=True),
            NodeView("remote2", "unclean-offline", is_remote=True),
        ),
        resources=(
            ResourceView("a", DUMMY, "Started", ("node3",)),
            ResourceView("b", DUMMY, "Started", ("node4",), disabled=True, managed=False),
            ResourceView("c", DUMMY, "Stopped", blocked=True),
            ResourceView("d:0", DUMMY, "Started", ("node2",), parent="cl"),
            ResourceView("d:1", DUMMY, "Started", ("node10",), failed=True, parent="cl"),
            ResourceView("gone", DUMMY, "Started", ("node2", "node10"), orphan=True),
        ),
    )
    text = render_pacemaker(Cluster(config, Status()), Transition(view=view), NOW)
    assert text.startswith("1 of 6 resource instances DISABLED and 1 BLOCKED from further action")
    assert (
        "  * Node List:\n"
        "    * Node node3: UNCLEAN (offline)\n"
        "    * Node node4: standby (with active resources)\n"
        "    * RemoteNode remote2: UNCLEAN (offline)\n"
        "    * Online: [ node2 node10 ]\n"
        "    * OFFLINE: [ node5 ]\n"
        "    * RemoteOnline: [ remote1 ]\n"
    ) in text
    assert (
        "    * a\t(ocf:heartbeat:Dummy):\t Started node3 (UNCLEAN)\n"
        "    * Resource Group: grp (disabled):\n"
        "      * b\t(ocf:heartbeat:Dummy):\t Started node4 (disabled, unmanaged)\n"
        "      * c\t(ocf:heartbeat:Dummy):\t Stopped (blocked)\n"
        "    * Clone Set: cl [d]:\n"
        "      * d\t(ocf:heartbeat:Dummy):\t FAILED node10\n"
        "      * Started: [ node2 ]\n"
        "      * Stopped: [ node3 node4 node5 remote1 remote2 ]\n"
        "    * gone\t(ocf:heartbeat:Dummy):\t ORPHANED Started [ node2 node10 ]\n"
    ) in text
    assert "Transition Summary:\n\nExecuting Cluster Transition:\n" in text


def test_pacemaker_says_when_now_is_the_cibs_execution_date() -> None:
    cluster, transition = recovery()
    dated = Cluster(cluster.config, Status(execution_date=NOW))
    assert render_pacemaker(dated, transition, NOW).startswith(
        "Using the original execution date of: 2023-11-14 22:20:00Z\nCurrent cluster status:\n"
    )
    assert render_pacemaker(dated, transition, NOW + 60).startswith("Current cluster status:\n")


def test_pacemaker_without_a_view_still_prints_the_summary() -> None:
    transition = Transition(summary=(SummaryLine("Start", "rsc1", "( node1 )"),))
    text = render_pacemaker(Cluster(Config(), Status()), transition, NOW)
    assert "Transition Summary:\n  * Start      rsc1    ( node1 )\n" in text


def test_fencing_cluster_and_pseudo_actions_in_the_executing_block() -> None:
    transition = Transition(
        actions=(
            Action(0, "stonith", None, "node2", meta=(("stonith_action", "off"),)),
            Action(1, "stop", "rsc1", "node2", pseudo=True),
            Action(2, "clear_failcount", "rsc1", "node1"),
        ),
        order=((0, 1),),
    )
    text = render_pacemaker(Cluster(Config(), Status()), transition, NOW)
    assert text.endswith(
        "Executing Cluster Transition:\n"
        "  * Fencing node2 (off)\n"
        "  * Pseudo action:   rsc1_stop_0\n"
        "  * Cluster action:  clear_failcount for rsc1 on node1\n"
    )


# --- graph order -----------------------------------------------------------------


def test_topological_order_follows_edges_then_index() -> None:
    actions = tuple(Action(i, "start", f"r{i}", "n") for i in range(4))
    transition = Transition(actions=actions, order=((3, 0), (2, 1)))
    assert [a.index for a in topological_order(transition)] == [2, 1, 3, 0]


def test_topological_order_keeps_actions_caught_in_a_cycle() -> None:
    actions = tuple(Action(i, "start", f"r{i}", "n") for i in range(3))
    transition = Transition(actions=actions, order=((0, 1), (1, 0)))
    assert [a.index for a in topological_order(transition)] == [2, 0, 1]


# --- json ------------------------------------------------------------------------


def test_json_lists_actions_with_meta_order_and_summary() -> None:
    _, transition = recovery()
    document = json.loads(render_json(transition))
    assert document["actions"][0] == {
        "id": 0,
        "task": "stop",
        "resource": "webserver",
        "node": "node1",
        "interval": 0,
        "pseudo": False,
        "meta": {
            "recoveries_left": "2",
            "stop_final": "false",
            "stop_next_node": "node1",
            "stop_reason": "failure",
        },
    }
    assert document["actions"][2]["interval"] == 10_000
    assert document["order"] == [[0, 1], [1, 2]]
    assert document["summary"] == ["* Recover webserver ( node1 )"]


def test_json_is_stable() -> None:
    _, transition = recovery()
    text = render_json(transition)
    assert text == render_json(transition)
    assert text.startswith('{\n  "actions": [\n')
    assert text.endswith("}\n")


# --- text --------------------------------------------------------------------------


def test_text_shows_state_plan_and_each_actions_meta() -> None:
    cluster, transition = recovery()
    text = render_text(cluster, transition, NOW)
    assert text.startswith("Now: 2023-11-14 22:20:00Z\n")
    assert "Nodes (2 of 2 online, quorum: yes):\n  node1  online\n  node2  online\n" in text
    assert "  webserver  ocf:heartbeat:Dummy  FAILED on node1" in text
    assert "Plan:\n  * Recover webserver ( node1 )\n" in text
    assert (
        "  webserver:\n"
        "    stop on node1\n"
        "        stop_reason=failure\n"
        "        stop_final=false\n"
        "        recoveries_left=2\n"
        "        stop_next_node=node1\n"
        "    start on node1\n"
        "        start_reason=recovery\n"
        "    monitor=10000 on node1\n"
    ) in text


def test_text_of_an_empty_transition() -> None:
    text = render_text(Cluster(Config(), Status()), Transition(notes=("ignored <tag>",)), NOW)
    assert "Plan:\n  nothing to do\n" in text
    assert "Actions" not in text
    assert text.endswith("Notes:\n  ignored <tag>\n")


def test_group_header_inherits_target_role_from_rsc_defaults() -> None:
    config = Config(
        resources=(Group("grp", (primitive("b", "grp"),)),),
        rsc_defaults=(NvSet("defaults", (("target-role", "Stopped"),)),),
    )
    view = ClusterView(
        nodes=(NodeView("node1", "online"),),
        resources=(ResourceView("b", DUMMY, "Stopped", disabled=True, parent="grp"),),
    )
    text = render_pacemaker(Cluster(config, Status()), Transition(view=view), NOW)
    assert (
        "    * Resource Group: grp (disabled):\n"
        "      * b\t(ocf:heartbeat:Dummy):\t Stopped (disabled)\n"
    ) in text
