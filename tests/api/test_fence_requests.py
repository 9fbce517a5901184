"""``POST /api/v1/nodes/{node}/fence`` and ``/confirm-fenced``: fencing on an operator's request.

The API runs over an in-memory store with the stand-in controller of
conftest.py, and the daemon's real :class:`FenceRequests` with real fence
agents: Debian's ``fence_dummy`` (its power state in a file of the test's)
and a broken agent written here that always fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from tests.api.conftest import AUTH, TOKEN, StandInController, record
from vigil.admin.intake import Findings, parse_config
from vigil.api.app import create_app
from vigil.api.context import ApiContext
from vigil.daemon.fence_requests import FenceRequests
from vigil.events.model import Event, FencingEvent
from vigil.executor.process import Spawner
from vigil.fencing.agent import FenceAgents
from vigil.fencing.fencer import Fencer
from vigil.model.config import Config
from vigil.model.status import NodeState
from vigil.store import MemoryStore, Store
from vigil.store.base import Capabilities

FENCE_DUMMY = Path("/usr/sbin/fence_dummy")
pytestmark = pytest.mark.skipif(
    not FENCE_DUMMY.exists(),
    reason="fence-agents is not installed (scripts/install-test-deps.sh installs it)")

BROKEN = """#!/bin/sh
# A fence agent that can fence n4 and never manages to.
if grep -q '^action=metadata' ; then
    cat <<'XML'
<?xml version="1.0" ?>
<resource-agent name="fence_broken" shortdesc="always fails">
<parameters><parameter name="port" unique="0" required="0"><content type="string"/></parameter></parameters>
<actions><action name="on"/><action name="off"/><action name="reboot"/><action name="monitor"/>
<action name="metadata"/></actions>
</resource-agent>
XML
    exit 0
fi
echo "the power switch does not answer" >&2
exit 1
"""


def cib(power: Path, *, options: str = "") -> bytes:
    """Nodes n1..n4: fence_dummy fences n1 and n2, the broken device n4, nothing fences n3."""
    return f"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">{options}</cluster_property_set>
    </crm_config>
    <nodes>
      <node id="n1" uname="n1"/><node id="n2" uname="n2"/><node id="n3" uname="n3"/><node id="n4" uname="n4"/>
    </nodes>
    <resources>
      <primitive id="fence-dummy" class="stonith" type="fence_dummy">
        <instance_attributes id="fd-params">
          <nvpair id="fd-status" name="status_file" value="{power}"/>
          <nvpair id="fd-hosts" name="pcmk_host_list" value="n1 n2"/>
        </instance_attributes>
      </primitive>
      <primitive id="fence-broken" class="stonith" type="fence_broken">
        <instance_attributes id="fb-params">
          <nvpair id="fb-hosts" name="pcmk_host_list" value="n4"/>
        </instance_attributes>
      </primitive>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
""".encode()


class SharedMemoryStore(MemoryStore):
    """The memory store, passing for one that several machines share (as etcd)."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        backend="memory", multi_node=True, durable=False, shared_between_processes=False)


@dataclass
class Fencing:
    client: httpx.AsyncClient
    store: Store
    controller: StandInController
    power: Path
    events: list[Event] = field(default_factory=list)

    def fencings(self) -> list[FencingEvent]:
        return [event for event in self.events if isinstance(event, FencingEvent)]


class ListSink:
    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def emit(self, event: Event) -> None:
        self.events.append(event)


def member(node: str) -> NodeState:
    return NodeState(id=node, uname=node, in_ccm="true", crmd="online", join="member", expected="member")


def run_fencing(test: Callable[[Fencing], Awaitable[None]], tmp_path: Path, *, options: str = "",
                store: Store | None = None, offered: bool = True) -> None:
    """Run ``test`` against the API of node n1, whose daemon fences with the agents of ``tmp_path/sbin``."""
    sbin = tmp_path / "sbin"
    sbin.mkdir(exist_ok=True)
    if not (sbin / "fence_dummy").exists():
        (sbin / "fence_dummy").symlink_to(FENCE_DUMMY)
        (sbin / "fence_broken").write_text(BROKEN)
        (sbin / "fence_broken").chmod(0o755)
    power = tmp_path / "power"

    async def main() -> None:
        used = store or MemoryStore()
        await used.put_config(parse_config(cib(power, options=options), "fencing.xml")[0], 0)
        for node in ("n1", "n2", "n3", "n4"):
            await used.set_node_state(member(node))
        controller = StandInController(used)
        found = Fencing(httpx.AsyncClient(), used, controller, power)
        fencing = FenceRequests(used, Fencer(FenceAgents(Spawner(), sbin)), ListSink(found.events), "n1",
                                time.time, controller)

        async def check(_: Config) -> Findings:
            return Findings()

        context = ApiContext(store=used, controller=controller, token=TOKEN, parse_config=parse_config,
                             check_config=check, clock=time.time,
                             fencing=fencing if offered else None)
        transport = httpx.ASGITransport(app=create_app(context))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://vigil") as client:
                found.client = client
                await test(found)
        finally:
            await used.close()

    asyncio.run(main())


def error_of(response: httpx.Response) -> tuple[int, str, list[str]]:
    body = response.json()
    assert set(body) == {"error", "details"}, body
    return response.status_code, body["error"], body["details"]


# -- fence ----------------------------------------------------------------------------------------


def test_fencing_a_node_runs_its_device_records_it_and_forgets_what_the_node_ran(tmp_path: Path) -> None:
    async def scenario(api: Fencing) -> None:
        await record(api.store, "web", "start", 0, 0, node="n2")
        await api.store.set_node_attribute("n2", "fail-count-web#monitor_10000", "1")
        response = await api.client.post("/api/v1/nodes/n2/fence", headers=AUTH)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["succeeded"] is True and body["changed"] is True
        assert (body["target"], body["action"], body["device"]) == ("n2", "reboot", "fence-dummy")
        assert body["message"].startswith("n2 was fenced (reboot by fence-dummy)")
        assert body["description"].startswith("Operation reboot of n2 by n1 for vigil.")
        assert ": OK (ref=" in body["description"] and body["notes"] == [body["description"]]
        assert api.power.read_text().strip() == "on"  # fence_dummy's reboot: off, then on
        [entry] = await api.store.fence_history()
        assert (entry.target, entry.action, entry.succeeded, entry.device, entry.executioner, entry.origin) \
            == ("n2", "reboot", True, "fence-dummy", "n1", "n1")
        assert body["revision"] == await api.store.revision()
        state = (await api.store.snapshot()).cluster.status.node("n2")
        assert state is not None
        assert state.resources == () and state.attributes == ()
        assert (state.crmd, state.expected) == ("offline", "down")
        assert api.controller.pokes == ["node n2 fenced on request"]
        [event] = api.fencings()
        assert (event.target, event.succeeded, event.device, event.desc) == (
            "n2", True, "fence-dummy", body["description"])

    run_fencing(scenario, tmp_path)


def test_the_action_is_the_requests_else_the_cluster_option_stonith_action(tmp_path: Path) -> None:
    async def scenario(api: Fencing) -> None:
        response = await api.client.post("/api/v1/nodes/n2/fence", headers=AUTH, json={"action": "reboot"})
        assert response.json()["action"] == "reboot"
        assert api.power.read_text().strip() == "on"
        response = await api.client.post("/api/v1/nodes/n2/fence", headers=AUTH)  # poweroff: off
        assert response.json()["action"] == "off"
        assert api.power.read_text().strip() == "off"
        assert [e.action for e in await api.store.fence_history()] == ["reboot", "off"]

    run_fencing(scenario, tmp_path, options='<nvpair id="o-sa" name="stonith-action" value="poweroff"/>')


def test_a_node_with_no_device_is_not_fenced_and_the_failure_is_recorded(tmp_path: Path) -> None:
    async def scenario(api: Fencing) -> None:
        await record(api.store, "web", "start", 0, 0, node="n3")
        status, message, details = error_of(await api.client.post("/api/v1/nodes/n3/fence", headers=AUTH))
        assert status == 502
        assert message.startswith("fencing n3 failed: Operation reboot of n3 by n1 for vigil.")
        assert "No fence device (no fence device can fence n3)" in message
        assert any("fence history" in detail for detail in details)
        [entry] = await api.store.fence_history()
        assert (entry.target, entry.succeeded, entry.device) == ("n3", False, "")
        state = (await api.store.snapshot()).cluster.status.node("n3")
        assert state is not None and [r.id for r in state.resources] == ["web"]  # kept: not fenced
        assert state.crmd == "online"
        assert api.controller.pokes == []
        assert [e.succeeded for e in api.fencings()] == [False]

    run_fencing(scenario, tmp_path)


def test_a_device_that_fails_is_recorded_as_a_failed_fencing(tmp_path: Path) -> None:
    async def scenario(api: Fencing) -> None:
        status, message, _ = error_of(await api.client.post("/api/v1/nodes/n4/fence", headers=AUTH,
                                                            json={"action": "off"}))
        assert status == 502 and "Operation off of n4" in message and ": Error (fence-broken:" in message
        [entry] = await api.store.fence_history()
        assert (entry.target, entry.action, entry.succeeded, entry.device) == ("n4", "off", False,
                                                                               "fence-broken")

    run_fencing(scenario, tmp_path)


def test_a_single_node_fences_itself(tmp_path: Path) -> None:
    async def scenario(api: Fencing) -> None:
        response = await api.client.post("/api/v1/nodes/n1/fence", headers=AUTH)
        assert response.status_code == 200, response.text
        assert [(e.target, e.succeeded) for e in await api.store.fence_history()] == [("n1", True)]
        assert api.controller.pokes == ["node n1 fenced on request"]

    run_fencing(scenario, tmp_path)


def test_in_a_cluster_a_node_does_not_fence_itself(tmp_path: Path) -> None:
    async def scenario(api: Fencing) -> None:
        status, message, _ = error_of(await api.client.post("/api/v1/nodes/n1/fence", headers=AUTH))
        assert status == 409 and "run it on another node" in message
        assert not api.power.exists() and await api.store.fence_history() == []
        assert (await api.client.post("/api/v1/nodes/n2/fence", headers=AUTH)).status_code == 200

    run_fencing(scenario, tmp_path, store=SharedMemoryStore())


def test_fencing_is_refused_when_disabled_or_unknown_or_malformed(tmp_path: Path) -> None:
    async def scenario(api: Fencing) -> None:
        before = await api.store.revision()
        status, message, details = error_of(await api.client.post("/api/v1/nodes/n2/fence", headers=AUTH))
        assert status == 409 and "stonith-enabled is false" in message
        assert any("vigil node confirm-fenced n2" in detail for detail in details)
        status, message, details = error_of(await api.client.post("/api/v1/nodes/n9/fence", headers=AUTH))
        assert (status, message, details) == (404, "no node 'n9'", ["known nodes: n1, n2, n3, n4"])
        for body in ({"action": "on"}, {"action": "cycle"}, {"actoin": "off"}, [1]):
            status, _, _ = error_of(await api.client.post("/api/v1/nodes/n2/fence", headers=AUTH, json=body))
            assert status == 422, body
        status, _, _ = error_of(await api.client.post("/api/v1/nodes/n2/fence"))
        assert status == 401
        assert await api.store.revision() == before and not api.power.exists() and api.events == []
        assert api.controller.pokes == []

    run_fencing(scenario, tmp_path, options='<nvpair id="o-se" name="stonith-enabled" value="false"/>')


def test_without_fencing_offered_the_routes_answer_503(tmp_path: Path) -> None:
    async def scenario(api: Fencing) -> None:
        for path in ("/api/v1/nodes/n2/fence", "/api/v1/nodes/n2/confirm-fenced"):
            status, message, _ = error_of(await api.client.post(path, headers=AUTH))
            assert status == 503 and "fencing" in message

    run_fencing(scenario, tmp_path, offered=False)


# -- confirm-fenced ---------------------------------------------------------------------------------


def test_confirming_a_node_is_down_records_it_as_fenced(tmp_path: Path) -> None:
    async def scenario(api: Fencing) -> None:
        await record(api.store, "web", "start", 0, 0, node="n3")
        response = await api.client.post("/api/v1/nodes/n3/confirm-fenced", headers=AUTH)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["target"], body["action"], body["device"], body["succeeded"]) == ("n3", "off", "manual",
                                                                                        True)
        assert body["message"].startswith("n3 is recorded as fenced (confirmed by hand)")
        [entry] = await api.store.fence_history()
        assert (entry.target, entry.action, entry.succeeded, entry.device, entry.executioner, entry.origin) \
            == ("n3", "off", True, "manual", "operator", "n1")
        state = (await api.store.snapshot()).cluster.status.node("n3")
        assert state is not None and state.resources == () and state.expected == "down"
        assert api.controller.pokes == ["node n3 fenced on request"]
        [event] = api.fencings()
        assert (event.target, event.action, event.succeeded, event.device) == ("n3", "off", True, "manual")
        assert not api.power.exists()  # no device ran

    # Fencing disabled does not matter: nothing is fenced, an operator says it was.
    run_fencing(scenario, tmp_path, options='<nvpair id="o-se" name="stonith-enabled" value="false"/>')


def test_a_live_member_is_not_confirmed_down_unless_forced(tmp_path: Path) -> None:
    store = SharedMemoryStore()

    async def scenario(api: Fencing) -> None:
        lease = await store.grant_lease(30)
        await store.join("n2", lease)
        status, message, details = error_of(await api.client.post("/api/v1/nodes/n2/confirm-fenced",
                                                                  headers=AUTH))
        assert status == 409 and message == "n2 is a live member of the cluster (its vigil is running): " \
                                            "it is not down"
        assert any("corrupt" in detail for detail in details) and any("--force" in d for d in details)
        assert await store.fence_history() == [] and api.controller.pokes == []
        response = await api.client.post("/api/v1/nodes/n2/confirm-fenced", headers=AUTH,
                                         json={"force": True})
        assert response.status_code == 200, response.text
        assert [(e.target, e.device) for e in await store.fence_history()] == [("n2", "manual")]
        # This node is up whatever one says, in a cluster.
        status, message, _ = error_of(await api.client.post("/api/v1/nodes/n1/confirm-fenced", headers=AUTH,
                                                            json={"force": True}))
        assert status == 409 and "the node this vigil runs on" in message
        status, _, _ = error_of(await api.client.post("/api/v1/nodes/n9/confirm-fenced", headers=AUTH))
        assert status == 404
        status, _, _ = error_of(await api.client.post("/api/v1/nodes/n2/confirm-fenced", headers=AUTH,
                                                      json={"force": "very"}))
        assert status == 422
        await lease.revoke()

    run_fencing(scenario, tmp_path, store=store)


def test_the_openapi_description_lists_both_routes_with_their_errors(tmp_path: Path) -> None:
    async def scenario(api: Fencing) -> None:
        paths = (await api.client.get("/openapi.json")).json()["paths"]
        fence = paths["/api/v1/nodes/{node}/fence"]["post"]
        assert {"401", "404", "409", "422", "502"} <= set(fence["responses"])
        assert {"401", "409"} <= set(paths["/api/v1/nodes/{node}/confirm-fenced"]["post"]["responses"])

    run_fencing(scenario, tmp_path)
