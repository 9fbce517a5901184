"""``vigil status`` on any node of a cluster: the store's transitions, its DC, fence history, node words.

The API tests run the real app over a memory store with a stand-in
controller (tests/api/conftest.py).  A node that is not the controller
knows no transition itself: what it shows comes from the store, so the
stand-in's own (in-memory) transitions are deliberately different from the
stored ones.  The node words are checked on reports built from a cluster
state directly, as the status builds them (the scheduler's view of it).
"""

from __future__ import annotations

import time
from typing import ClassVar

from tests.api.conftest import Api, run_api
from vigil.admin.intake import parse_config
from vigil.model.activity import TransitionReport
from vigil.model.cluster import Cluster
from vigil.model.status import NodeState, Status
from vigil.output.report import ControllerInfo, build_report
from vigil.output.status_text import render_status
from vigil.scheduler import schedule
from vigil.store import Capabilities, FenceEntry, MemoryStore

NOW = 1_700_000_000


class SharedMemoryStore(MemoryStore):
    """A memory store that says it is shared between machines, as etcd is: the status then names
    the elected controller rather than this node."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        backend="memory (as shared)", multi_node=True, durable=False, shared_between_processes=False)


def stored(number: int, outcome: str, summary: str) -> TransitionReport:
    started = time.time() - 60
    return TransitionReport(number, started, (summary,), 1, "a change in the store", started + 2, outcome)


def test_status_shows_the_transitions_the_store_keeps_not_this_nodes_memory() -> None:
    async def check(api: Api) -> None:
        # What this node's controller view keeps in memory (it ran none of the stored ones).
        api.controller.transitions.append(stored(1, "complete", "Start web ( n1 ) [this node]"))
        text = (await api.client.get("/api/v1/status?format=text")).text
        assert "  * none recorded yet" in text.splitlines()
        # Another node's controller (term 9), then its successor (term 12), wrote theirs.
        await api.store.put_transition_report(stored(7, "complete", "Stop web ( n2 )"), term=9)
        await api.store.put_transition_report(stored(2, "aborted: a node was lost", "Start web ( n1 )"),
                                              term=12)
        body = (await api.client.get("/api/v1/status")).json()
        last = body["last_transition"]
        assert (last["number"], last["outcome"], last["summary"]) == \
            (2, "aborted: a node was lost", ["Start web ( n1 )"])
        lines = (await api.client.get("/api/v1/status?format=text")).text.splitlines()
        at = lines.index("Last Transition:")
        assert lines[at + 1].startswith("  * Transition 2: aborted: a node was lost, 1 action, at ")
        assert lines[at + 2:at + 4] == ["    after: a change in the store", "    * Start web ( n1 )"]
        assert "this node" not in "\n".join(lines)

    run_api(check)


def test_the_dc_is_this_node_on_one_machine() -> None:
    async def check(api: Api) -> None:
        body = (await api.client.get("/api/v1/status")).json()
        assert body["controller"] == "n1"
        text = (await api.client.get("/api/v1/status?format=text")).text
        assert "  * Current DC: n1" in text.splitlines()

    run_api(check)


def test_the_dc_on_a_shared_store_is_the_elected_controller_or_none() -> None:
    async def check(api: Api) -> None:
        body = (await api.client.get("/api/v1/status")).json()
        assert body["controller"] is None
        text = (await api.client.get("/api/v1/status?format=text")).text
        assert "  * Current DC: NONE" in text.splitlines()
        assert await api.store.campaign("n2", await api.store.grant_lease(10), timeout=5) is not None
        body = (await api.client.get("/api/v1/status")).json()
        assert (body["node"], body["controller"]) == ("n1", "n2")
        lines = (await api.client.get("/api/v1/status?format=text")).text.splitlines()
        assert lines[1:3] == ["  * Current node: n1 (vigil) - partition with quorum", "  * Current DC: n2"]

    run_api(check, store=SharedMemoryStore())


def test_the_fence_history_is_the_stores_whoever_fenced() -> None:
    async def check(api: Api) -> None:
        assert "Fencing History:" not in (await api.client.get("/api/v1/status?format=text")).text
        # Recorded by the controller on node n2; this node (n1) shows it.
        await api.store.record_fencing(FenceEntry("n3", "reboot", True, NOW, executioner="n2", origin="n2",
                                                  client="vigil.4242", device="fence1"))
        await api.store.record_fencing(FenceEntry("n3", "off", False, NOW + 60, executioner="n2",
                                                  origin="n2", client="vigil.4242", device="fence1"))
        lines = (await api.client.get("/api/v1/status?format=text")).text.splitlines()
        at = lines.index("Fencing History:")
        assert lines[at + 1:at + 3] == [
            "  * off of n3 failed: delegate=n2, client=vigil.4242, origin=n2, "
            "last-failed='2023-11-14 22:14:20Z'",
            "  * reboot of n3 successful: delegate=n2, client=vigil.4242, origin=n2, "
            "completed='2023-11-14 22:13:20Z'",
        ]
        fencing = (await api.client.get("/api/v1/status")).json()["fencing"]
        assert [(f["target"], f["action"], f["succeeded"]) for f in fencing] == \
            [("n3", "reboot", True), ("n3", "off", False)]

    run_api(check)


# -- the node words (crm_mon's), from the scheduler's view of each node's recorded state -------------

NODES_CONFIG = """
options:
  stonith-enabled: {stonith}
nodes:
  - name: n1
  - name: n2
  - name: n3
  - name: n4
  - name: n5
  - name: n6
  - name: n7
resources:
  - id: web
    agent: ocf:heartbeat:Dummy
"""


def state(name: str, in_ccm: str, crmd: str, join: str, expected: str, **attributes: str) -> NodeState:
    return NodeState(id=name, uname=name, in_ccm=in_ccm, crmd=crmd, join=join, expected=expected,
                     attributes=tuple(sorted(attributes.items())))


def node_lines(stonith: bool) -> list[str]:
    config, _ = parse_config(NODES_CONFIG.format(stonith=str(stonith).lower()).encode(), "nodes.yaml")
    member, gone = ("true", "online", "member", "member"), ("false", "offline", "down", "down")
    states = (
        state("n1", *member),
        # Lost without leaving (expected back), and not fenced yet.
        state("n2", "false", "offline", "member", "member"),
        state("n3", *gone),
        state("n4", *member, standby="on"),
        state("n5", *member, maintenance="true"),
        state("n6", *gone, standby="on"),
        # In the membership, but its vigil is gone.
        state("n7", "true", "offline", "member", "member"),
    )
    cluster = Cluster(config, Status(nodes=states))
    report = build_report(cluster, schedule(cluster, NOW), NOW, ControllerInfo(node="n1"), revision=1,
                          config_revision=1)
    lines = render_status(report).splitlines()
    start = lines.index("Node List:") + 1
    return lines[start:lines.index("", start)]


def test_each_node_is_shown_in_crm_mons_words() -> None:
    assert node_lines(stonith=True) == [
        "  * Node n2: UNCLEAN (offline)",
        "  * Node n4: standby",
        "  * Node n5: maintenance",
        "  * Node n6: OFFLINE (standby)",
        "  * Node n7: UNCLEAN (online)",
        "  * Online: [ n1 ]",
        "  * OFFLINE: [ n3 ]",
    ]


def test_without_fencing_a_lost_node_is_offline_not_unclean() -> None:
    lines = node_lines(stonith=False)
    assert "  * Node n2: UNCLEAN (offline)" not in lines
    assert lines[-1] == "  * OFFLINE: [ n2 n3 ]"
