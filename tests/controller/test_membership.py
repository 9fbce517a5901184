"""The membership as the plan sees it: lost nodes, quorum, the controller as DC, how long a lost node stops.

Pure functions of :mod:`vigil.controller.membership`, fed small configurations
(YAML) and statuses built here; one test stores a lost node's state in a
memory store to show that what :func:`lost_state` writes leaves the node's
history and attributes alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from vigil.admin.intake import install, parse_config
from vigil.controller.loop import Controller
from vigil.controller.membership import (
    MEMBERSHIP_POLL_S,
    as_planned,
    has_quorum,
    lost_nodes,
    lost_state,
    stop_wait_s,
    unseen_nodes,
)
from vigil.controller.node_agent import NodeAgent
from vigil.executor.process import Spawner
from vigil.executor.request import ActionRequest
from vigil.executor.results import ActionResult
from vigil.fencing.agent import FenceAgents
from vigil.fencing.fencer import Fencer
from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.status import NodeState, OpRecord, ResourceHistory, Status
from vigil.store.base import ResourceRef
from vigil.store.coord import Lease
from vigil.store.memory import MemoryStore
from vigil.testing import FakeClock, ScriptedExecutor

NOW = 1_700_000_000
# ocf:heartbeat:Dummy without parameters (what the scheduler computes for it: no spurious restart).
DIGEST = "f2317cad3d54cec5d7d7aa7d0bf35cf8"


def config(text: str) -> Config:
    parsed, _warnings = parse_config(text.encode(), "test.yaml")
    return parsed


def nodes_yaml(*names: str, remote: tuple[str, ...] = ()) -> str:
    members = "".join(f"  - {{name: {name}, id: 'id-{name}'}}\n" for name in names)
    remotes = "".join(f"  - {{name: {name}, type: remote}}\n" for name in remote)
    return "nodes:\n" + members + remotes


def online(name: str, *resources: ResourceHistory, remote: bool = False,
           attributes: tuple[tuple[str, str], ...] = ()) -> NodeState:
    return NodeState(id=f"id-{name}", uname=name, in_ccm="true", crmd="online", join="member",
                     expected="member", is_remote=remote, resources=resources, attributes=attributes)


def offline(name: str) -> NodeState:
    return NodeState(id=f"id-{name}", uname=name, in_ccm="false", crmd="offline", join="down",
                     expected="down")


def started(resource: str, node: str) -> ResourceHistory:
    """``resource``'s history on ``node``: started (and so running there)."""
    record = OpRecord(id=f"{resource}_last_0", operation="start", interval_ms=0, rc=0, op_status=0, call_id=1,
                      on_node=node, op_digest=DIGEST, last_rc_change=NOW, last_run=NOW,
                      transition_key="1:1:0:test", transition_magic="0:0;1:1:0:test",
                      operation_key=f"{resource}_start_0")
    return ResourceHistory(resource, "ocf", "heartbeat", "Dummy", ops=(record,))


def cluster(conf: Config, *states: NodeState) -> Cluster:
    return Cluster(conf, Status(nodes=states))


# -- lost_nodes -----------------------------------------------------------------------------------


def test_a_lost_node_is_one_recorded_online_without_its_membership_key() -> None:
    conf = config(nodes_yaml("node1", "node2", "node3", "node4", remote=("r1",)))
    half_up = replace(offline("node4"), in_ccm="true")  # still in the membership as the status says
    view = cluster(conf, online("node1"), online("node2"), offline("node3"), half_up,
                   online("r1", remote=True))
    # node1 is a member; node3 is recorded down already; r1 is a remote node (it has no membership key).
    assert lost_nodes(view, {"node1": 5}) == ["node2", "node4"]
    assert lost_nodes(view, {"node1": 5, "node2": 7, "node4": 9}) == []


def test_a_node_whose_key_is_back_is_no_longer_lost() -> None:
    view = cluster(config(nodes_yaml("node1", "node2")), online("node1"), online("node2"))
    assert lost_nodes(view, {"node1": 1}) == ["node2"]
    assert lost_nodes(view, {"node1": 1, "node2": 12}) == []  # a new incarnation counts too


# -- has_quorum -----------------------------------------------------------------------------------


def test_quorum_is_more_than_half_of_the_configured_nodes() -> None:
    three = config(nodes_yaml("node1", "node2", "node3"))
    assert has_quorum(three, {"node1": 1, "node2": 2})
    assert not has_quorum(three, {"node1": 1})
    assert not has_quorum(three, {})
    four = config(nodes_yaml("node1", "node2", "node3", "node4"))
    assert not has_quorum(four, {"node1": 1, "node2": 2})  # half is not more than half
    assert has_quorum(four, {"node1": 1, "node2": 2, "node3": 3})


def test_a_configuration_naming_no_node_is_quorate() -> None:
    assert has_quorum(config("options: {stonith-enabled: false}\n"), {})


def test_only_configured_cluster_nodes_count_for_quorum() -> None:
    three = config(nodes_yaml("node1", "node2", "node3"))
    # Members the configuration does not name (a stray process, a typo) are not votes.
    assert not has_quorum(three, {"node1": 1, "stray": 2, "other": 3})
    # Remote nodes are not counted among the configured: two of three cluster nodes are quorate.
    with_remotes = config(nodes_yaml("node1", "node2", "node3", remote=("r1", "r2")))
    assert has_quorum(with_remotes, {"node1": 1, "node2": 2})


# -- as_planned -----------------------------------------------------------------------------------


def test_as_planned_counts_the_controller_alive_and_makes_it_the_dc() -> None:
    conf = config(nodes_yaml("node1", "node2", "node3"))
    view = cluster(conf, online("node1"), online("node2"), offline("node3"))
    # The controller (node1) holds the leader key, not necessarily a membership key: it counts.
    planned = as_planned(view, {"node2": 4}, "node1")
    assert planned.status.have_quorum is True
    assert planned.status.dc_uuid == "id-node1"  # the configured node id, not its name
    assert planned.status.nodes == view.status.nodes and planned.config is conf
    alone = as_planned(view, {}, "node1")
    assert alone.status.have_quorum is False and alone.status.dc_uuid == "id-node1"
    # Without the controller counted, node2 alone would be one of three: no quorum.
    assert not has_quorum(conf, {"node2": 4})


def test_as_planned_names_an_unconfigured_controller_by_its_name() -> None:
    view = cluster(config(nodes_yaml("node1")), online("node1"))
    assert as_planned(view, {"node1": 1}, "elsewhere").status.dc_uuid == "elsewhere"


def test_as_planned_leaves_a_cluster_that_already_says_so_unchanged() -> None:
    conf = config(nodes_yaml("node1", "node2"))
    view = Cluster(conf, Status(nodes=(online("node1"),), have_quorum=True, dc_uuid="id-node1"))
    assert as_planned(view, {"node1": 1, "node2": 2}, "node1") is view


# -- lost_state -----------------------------------------------------------------------------------


def test_a_lost_node_to_be_fenced_is_recorded_unclean() -> None:
    before = online("node2", started("web", "node2"), attributes=(("fail-count-web#start_0", "1"),))
    state = lost_state(before, fenced_by_cluster=True)
    assert (state.id, state.uname, state.in_ccm, state.crmd, state.join, state.expected) == \
        ("id-node2", "node2", "false", "offline", "down", "member")
    assert state.attributes == () and state.resources == ()


def test_a_lost_node_without_fencing_is_recorded_down_and_clean() -> None:
    state = lost_state(online("node2", started("web", "node2")), fenced_by_cluster=False)
    assert (state.in_ccm, state.crmd, state.join, state.expected) == ("false", "offline", "down", "down")
    assert state.attributes == () and state.resources == ()
    assert lost_state(online("r1", remote=True), fenced_by_cluster=False).is_remote


def test_storing_a_lost_state_keeps_the_nodes_history_and_attributes() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        try:
            await store.set_node_state(online("node2"))
            record = started("web", "node2").ops[0]
            await store.record_operation("node2", ResourceRef("web", "ocf", "heartbeat", "Dummy"), record)
            await store.set_node_attribute("node2", "rack", "a")
            before = (await store.snapshot()).cluster.status.node("node2")
            assert before is not None
            await store.set_node_state(lost_state(before, fenced_by_cluster=True))
            after = (await store.snapshot()).cluster.status.node("node2")
            assert after is not None
            assert (after.crmd, after.expected) == ("offline", "member")
            assert [history.id for history in after.resources] == ["web"]
            assert after.attribute("rack") == "a"
        finally:
            await store.close()

    asyncio.run(scenario())


# -- unseen_nodes ---------------------------------------------------------------------------------


def test_unseen_nodes_are_configured_cluster_nodes_with_no_state_at_all() -> None:
    conf = config(nodes_yaml("node1", "node2", "node3", "node4", remote=("r1",)))
    view = cluster(conf, online("node1"), offline("node3"))
    # node3 was seen (it is down now, not unseen); r1 is remote and never joins as a member.
    assert unseen_nodes(view) == ["node2", "node4"]
    assert unseen_nodes(cluster(conf, online("node1"), online("node2"), offline("node3"),
                                online("node4"))) == []


# -- stop_wait_s ----------------------------------------------------------------------------------

RESOURCES = """
resources:
  - id: quick
    agent: ocf:heartbeat:Dummy
    ops:
      - {name: monitor, interval: 10s, timeout: 90s}
  - id: slow
    agent: ocf:heartbeat:Dummy
    ops:
      - {name: stop, interval: 0, timeout: 45s}
"""


def test_stop_wait_is_the_longest_stop_timeout_of_what_the_node_ran() -> None:
    conf = config(nodes_yaml("node1", "node2") + RESOURCES)
    both = cluster(conf, online("node1", started("quick", "node1")),
                   online("node2", started("quick", "node2"), started("slow", "node2")))
    assert stop_wait_s(both, "node2", NOW) == 45.0
    # quick has no stop op: the default 20 s (its monitor's 90 s timeout is not a stop's).
    assert stop_wait_s(both, "node1", NOW) == 20.0


def test_stop_wait_uses_op_defaults_for_a_stop_without_its_own_timeout() -> None:
    conf = config(nodes_yaml("node1", "node2") + "op_defaults:\n  timeout: 33s\n" + RESOURCES)
    view = cluster(conf, online("node1"), online("node2", started("quick", "node2")))
    assert stop_wait_s(view, "node2", NOW) == 33.0
    slow = cluster(conf, online("node1"),
                   online("node2", started("quick", "node2"), started("slow", "node2")))
    assert stop_wait_s(slow, "node2", NOW) == 45.0  # the op's own timeout wins over op_defaults


def test_an_orphan_stops_with_the_default_timeout() -> None:
    conf = config(nodes_yaml("node1", "node2") + "op_defaults:\n  timeout: 5s\n" + RESOURCES)
    view = cluster(conf, online("node1"),
                   online("node2", started("gone", "node2"), started("quick", "node2")))
    # "gone" is no longer configured: 20 s, more than op_defaults' 5 s for quick.
    assert stop_wait_s(view, "node2", NOW) == 20.0


def test_a_node_that_ran_nothing_or_is_unknown_has_nothing_to_wait_for() -> None:
    conf = config(nodes_yaml("node1", "node2") + RESOURCES)
    view = cluster(conf, online("node1"), online("node2"))
    assert stop_wait_s(view, "node2", NOW) == 0.0
    assert stop_wait_s(view, "node9", NOW) == 0.0


# -- the controller follows the membership (in-process, fake time) ---------------------------------
#
# One memory store stands for the cluster's etcd; node1 runs the real Controller holding the leader's
# term, node2 a NodeAgent holding its membership (as tests/controller/test_work_orders.py), each with its
# own scripted executor, both on one fake clock.  node2 is lost by revoking its membership lease.

FENCE_DUMMY = Path("/usr/sbin/fence_dummy")


class FenceAwareExecutor(ScriptedExecutor):
    """node1's executor: notes, for every start it is asked to run, whether the store's fence history
    already had node2 fenced (what "started only after the fencing" means)."""

    def __init__(self, clock: FakeClock, store: MemoryStore) -> None:
        super().__init__(clock)
        self.store = store
        self.node2_fenced_at_start: list[tuple[str, bool]] = []

    async def run(self, request: ActionRequest) -> ActionResult:
        if request.action == "start":
            fenced = any(entry.succeeded for entry in await self.store.fence_history("node2"))
            self.node2_fenced_at_start.append((request.resource_id, fenced))
        return await super().run(request)


@dataclass
class Members:
    store: MemoryStore
    clock: FakeClock
    node1: FenceAwareExecutor
    node2: ScriptedExecutor
    node2_lease: Lease
    agent: NodeAgent
    controller: Controller

    def starts(self, executor: ScriptedExecutor, resource: str = "web") -> list[str]:
        return [r.action for r in executor.ran(resource) if r.action in ("start", "stop")]

    async def node2_state(self) -> NodeState:
        state = (await self.store.snapshot()).cluster.status.node("node2")
        assert state is not None
        return state


async def until(what: str, condition: Callable[[], object], timeout: float = 4.0) -> None:
    """Let the loop run (in real time: a fence agent is a process) until ``condition`` holds; no fake
    time passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: never happened without fake time passing")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def controller_and_node2(yaml_config: str) -> AsyncIterator[Members]:
    """node1 leading and running the controller, node2 a member whose agent runs (node3, when
    configured, never joins); everything ended on exit."""
    store = MemoryStore()
    conf = config(yaml_config)
    await install(store, conf)
    clock = FakeClock()
    term = await store.campaign("node1", await store.grant_lease(30), timeout=5)
    assert term is not None
    node2_lease = await store.grant_lease(30)
    incarnation = await store.join("node2", node2_lease)
    node2 = ScriptedExecutor(clock)
    agent = NodeAgent(store, node2, "node2", incarnation, clock=clock)
    agent_task = asyncio.create_task(agent.run())
    node1 = FenceAwareExecutor(clock, store)
    controller = Controller(store, node1, "node1", fencer=Fencer(FenceAgents(Spawner())), clock=clock,
                            term=term)
    task: asyncio.Task[None] | None = None
    try:
        await until("node2's agent to join", agent.ready.is_set)
        task = asyncio.create_task(controller.run())
        yield Members(store, clock, node1, node2, node2_lease, agent, controller)
    finally:
        if task is not None:
            await controller.stop()
            for _ in range(10):
                if task.done():
                    break
                await clock.advance(60)  # stops that take time end as the clock passes them
            if not task.done():
                task.cancel()  # a failing test must still end (and show its own failure)
            await asyncio.gather(task, return_exceptions=True)
        agent.stop()
        await asyncio.wait_for(agent_task, timeout=5)
        await store.close()


def two_node_config(*, stonith: bool, fence_status: Path | None = None) -> str:
    device = ("  - id: fence-node2\n    agent: stonith:fence_dummy\n"
              f"    params: {{pcmk_host_list: node2, status_file: {fence_status}}}\n") if fence_status else ""
    return f"""
options:
  stonith-enabled: {str(stonith).lower()}
  no-quorum-policy: ignore     # two nodes: the survivor alone must go on
nodes:
  - name: node1
  - name: node2
resources:
  - id: web
    agent: ocf:heartbeat:Dummy
    ops:
      - {{name: monitor, interval: 10s, timeout: 20s}}
      - {{name: stop, interval: 0, timeout: 40s}}
{device}constraints:
  - {{location: web-prefers-node2, resource: web, node: node2, score: 100}}
"""


async def web_runs_on_node2(cluster: Members) -> None:
    await until("web to start on node2", lambda: cluster.node2.ran("web", "start"))
    await until("the cluster to settle", cluster.controller.settled.is_set)
    assert cluster.starts(cluster.node1) == []


@pytest.mark.skipif(not FENCE_DUMMY.exists(),
                    reason="no fence_dummy (fence-agents: scripts/install-test-deps.sh installs it)")
def test_a_lost_node_is_fenced_before_its_resource_starts_on_the_controllers_node(tmp_path: Path) -> None:
    power = tmp_path / "fence-node2.status"

    async def scenario() -> None:
        async with controller_and_node2(two_node_config(stonith=True, fence_status=power)) as cluster:
            await web_runs_on_node2(cluster)
            assert await cluster.store.fence_history() == []
            await cluster.node2_lease.revoke()
            # The controller reads the membership every MEMBERSHIP_POLL_S of its clock.
            await cluster.clock.advance(MEMBERSHIP_POLL_S)
            await until("web to start on node1", lambda: cluster.node1.ran("web", "start"), timeout=4.5)
            [entry] = await cluster.store.fence_history()
            assert (entry.target, entry.action, entry.succeeded, entry.device) == \
                ("node2", "reboot", True, "fence-node2")
            assert power.read_text().strip() == "on"  # fence_dummy ran: a reboot ends powered on
            # The one start of web on node1 came after the fencing was recorded.
            assert [(rsc, fenced) for rsc, fenced in cluster.node1.node2_fenced_at_start if rsc == "web"] == \
                [("web", True)]
            state = await cluster.node2_state()
            assert (state.crmd, state.in_ccm) == ("offline", "false")

    asyncio.run(scenario())


def test_without_fencing_a_lost_nodes_resource_starts_elsewhere_after_its_longest_stop() -> None:
    async def scenario() -> None:
        async with controller_and_node2(two_node_config(stonith=False)) as cluster:
            await web_runs_on_node2(cluster)
            await cluster.node2_lease.revoke()
            await cluster.clock.advance(MEMBERSHIP_POLL_S)  # the controller sees node2 gone now
            # web's stop timeout is 40 s: node2 may be stopping it by itself until then.
            await cluster.clock.advance(39)
            assert cluster.starts(cluster.node1) == []
            state = await cluster.node2_state()
            assert state.crmd == "online", "node2 recorded down before it can have stopped web"
            await cluster.clock.advance(1.5)
            await until("web to start on node1", lambda: cluster.node1.ran("web", "start"))
            assert cluster.starts(cluster.node1) == ["start"]
            state = await cluster.node2_state()
            assert (state.crmd, state.expected) == ("offline", "down")
            assert await cluster.store.fence_history() == []

    asyncio.run(scenario())


QUORUM_CONFIG = """
options:
  stonith-enabled: false
  no-quorum-policy: stop
  dc-deadtime: 20s
nodes:
  - name: node1
  - name: node2
  - name: node3
resources:
  - id: web
    agent: ocf:heartbeat:Dummy
    ops:
      - {name: monitor, interval: 10s, timeout: 20s}
constraints:
  - {location: web-on-node1, resource: web, node: node1, score: INFINITY}
"""


def test_a_controller_that_loses_quorum_stops_its_resources() -> None:
    async def scenario() -> None:
        async with controller_and_node2(QUORUM_CONFIG) as cluster:
            # node3 never joined: the new controller waits dc-deadtime for it before planning anything.
            await cluster.clock.advance(19)
            assert cluster.node1.requests == [] and cluster.node2.requests == []
            await cluster.clock.advance(1.5)
            # Two of three: quorate; web starts on node1.
            await until("web to start on node1", lambda: cluster.node1.ran("web", "start"))
            await until("the cluster to settle", cluster.controller.settled.is_set)
            assert cluster.starts(cluster.node1) == ["start"]
            await cluster.node2_lease.revoke()
            await cluster.clock.advance(MEMBERSHIP_POLL_S)
            # One of three: no quorum; no-quorum-policy=stop stops web on node1.
            await until("web to stop on node1", lambda: cluster.starts(cluster.node1) == ["start", "stop"])
            assert cluster.starts(cluster.node2) == []

    asyncio.run(scenario())
