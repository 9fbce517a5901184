"""The API the commands for agents use: node attributes (transient, permanent, dampened), utilization,
cluster options, membership, the CIB with status, an agent's ban, fence devices and history (FastAPI over
an in-memory store, see tests/api/conftest.py)."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
from lxml import etree

from tests.api.conftest import AUTH, Api, run_api
from vigil.admin.intake import parse_config
from vigil.admin.tree import find_node
from vigil.model.config import Config, Primitive
from vigil.model.nvsets import plain_value
from vigil.model.resources import find

CIB = b"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy"/>
      <clone id="db-clone">
        <primitive id="db" class="ocf" provider="heartbeat" type="Dummy"/>
      </clone>
      <group id="g">
        <primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
      </group>
      <primitive id="fence-n2" class="stonith" type="fence_dummy">
        <instance_attributes id="fence-n2-params"><nvpair id="f2-h" name="pcmk_host_list" value="n2"/>
        </instance_attributes>
      </primitive>
      <primitive id="fence-any" class="stonith" type="fence_dummy"/>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""


def config() -> Config:
    return parse_config(CIB, "tools.xml")[0]


def attr(node: str, name: str) -> str:
    return f"/api/v1/nodes/{node}/attributes/{quote(name, safe='')}"


async def stored(api: Api, node: str, name: str) -> str | None:
    state = (await api.store.snapshot()).cluster.status.node(node)
    return state.attribute(name) if state is not None else None


def permanent(config: Config, node: str, name: str) -> str | None:
    return plain_value(find_node(config, node).attributes, name)


def ok(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_transient_attributes_are_the_nodes_status_and_changes_poke_the_controller() -> None:
    async def scenario(api: Api) -> None:
        assert ok(await api.client.get(attr("n1", "#health-cpu")))["value"] is None
        result = ok(await api.client.put(attr("n1", "#health-cpu"), json={"value": "red"}, headers=AUTH))
        assert result["changed"] is True
        assert await stored(api, "n1", "#health-cpu") == "red"
        assert api.controller.pokes[-1] == "node attribute #health-cpu of n1"
        got = ok(await api.client.get(attr("n1", "#health-cpu")))
        assert (got["value"], got["stored"], got["held"]) == ("red", "red", False)
        again = ok(await api.client.put(attr("n1", "#health-cpu"), json={"value": "red"}, headers=AUTH))
        assert again["changed"] is False
        assert ok(await api.client.get("/api/v1/attributes/%23health-cpu"))["values"] == {"n1": "red"}
        ok(await api.client.delete(attr("n1", "#health-cpu"), headers=AUTH))
        assert await stored(api, "n1", "#health-cpu") is None
        # The configuration is left alone.
        assert (await api.config())[1] == 1

    run_api(scenario, config=config())


def test_permanent_attributes_are_the_configurations_nodes() -> None:
    async def scenario(api: Api) -> None:
        body = {"value": "rabbit@n2", "lifetime": "forever"}
        _, before = await api.config()
        ok(await api.client.put(attr("n2", "rmq-last"), json=body, headers=AUTH))
        current, revision = await api.config()
        assert permanent(current, "n2", "rmq-last") == "rabbit@n2" and revision > before
        assert await stored(api, "n2", "rmq-last") is None
        got = ok(await api.client.get(attr("n2", "rmq-last"), params={"lifetime": "forever"}))
        assert got["value"] == "rabbit@n2"
        assert ok(await api.client.get(attr("n2", "rmq-last")))["value"] is None  # not transient
        both = ok(await api.client.get("/api/v1/nodes/n2/attributes"))
        assert both["attributes"] == {"rmq-last": "rabbit@n2"}
        ok(await api.client.delete(attr("n2", "rmq-last"), params={"lifetime": "forever"}, headers=AUTH))
        assert permanent((await api.config())[0], "n2", "rmq-last") is None

    run_api(scenario, config=config())


def test_unknown_nodes_bad_names_and_missing_tokens_are_refused() -> None:
    async def scenario(api: Api) -> None:
        missing = await api.client.get(attr("nx", "pingd"))
        assert missing.status_code == 404 and missing.json()["error"] == "no node 'nx'"
        unknown = await api.client.put(attr("nx", "pingd"), json={"value": "1"}, headers=AUTH)
        assert unknown.status_code == 404
        assert (await api.client.put(attr("n1", "pingd"), json={"value": "1"})).status_code == 401
        bad = await api.client.put(attr("n1", "a b"), json={"value": "1"}, headers=AUTH)
        assert bad.status_code == 400 and "not valid" in bad.json()["error"]
        newline = await api.client.put(attr("n1", "x"), json={"value": "1\n2"}, headers=AUTH)
        assert newline.status_code == 400
        forever_delay = {"value": "1", "lifetime": "forever", "delay": "5s"}
        assert (await api.client.put(attr("n1", "x"), json=forever_delay, headers=AUTH)).status_code == 400
        soon = {"value": "1", "delay": "soon"}
        not_a_delay = await api.client.put(attr("n1", "x"), json=soon, headers=AUTH)
        assert not_a_delay.status_code == 400 and "not a duration" in not_a_delay.json()["error"]

    run_api(scenario, config=config())


async def values_until(api: Api, name: str, wanted: str | None, timeout: float = 10.0) -> list[str | None]:
    """Every value the store shows for ``name`` on n1 until it is ``wanted`` (polled)."""
    seen: list[str | None] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = await stored(api, "n1", name)
        if not seen or seen[-1] != value:
            seen.append(value)
        if value == wanted:
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"{name} never became {wanted!r}: {seen}")


def test_a_dampened_value_is_held_then_written_and_the_last_value_wins() -> None:
    async def scenario(api: Api) -> None:
        first = ok(await api.client.put(attr("n1", "pingd"), json={"value": "100", "delay": "1s"},
                                        headers=AUTH))
        assert first["changed"] is True and "held" in str(first["message"])
        assert await stored(api, "n1", "pingd") is None
        got = ok(await api.client.get(attr("n1", "pingd")))
        assert (got["value"], got["stored"], got["held"]) == ("100", None, True)
        assert ok(await api.client.get("/api/v1/attributes/pingd"))["values"] == {"n1": "100"}
        # A change while it is held replaces it (the attribute keeps its dampening): 100 is never written.
        ok(await api.client.put(attr("n1", "pingd"), json={"value": "200"}, headers=AUTH))
        assert ok(await api.client.get(attr("n1", "pingd")))["value"] == "200"
        assert await values_until(api, "pingd", "200") == [None, "200"]
        # A removal is dampened too (ping's stop); a query sees the held removal at once.
        ok(await api.client.delete(attr("n1", "pingd"), params={"delay": "1s"}, headers=AUTH))
        assert ok(await api.client.get(attr("n1", "pingd")))["value"] is None
        assert await stored(api, "n1", "pingd") == "200"
        assert await values_until(api, "pingd", None) == ["200", None]
        # Without a delay (0), a write goes at once and ends what was held.
        ok(await api.client.put(attr("n1", "pingd"), json={"value": "3", "delay": "5s"}, headers=AUTH))
        ok(await api.client.put(attr("n1", "pingd"), json={"value": "1", "delay": "0"}, headers=AUTH))
        assert await stored(api, "n1", "pingd") == "1"
        assert ok(await api.client.get(attr("n1", "pingd")))["held"] is False

    run_api(scenario, config=config())


def test_utilization_of_nodes_and_primitives() -> None:
    async def scenario(api: Api) -> None:
        ok(await api.client.put("/api/v1/nodes/n1/utilization/cpu", json={"value": "8"}, headers=AUTH))
        assert ok(await api.client.get("/api/v1/nodes/n1/utilization"))["utilization"] == {"cpu": "8"}
        # An agent names its clone instance: the primitive's utilization.
        ok(await api.client.put("/api/v1/resources/db:0/utilization/cpu", json={"value": "2"}, headers=AUTH))
        current, _ = await api.config()
        found = find(current, "db")
        assert found is not None and isinstance(found.resource, Primitive)
        assert plain_value(found.resource.utilization, "cpu") == "2"
        assert ok(await api.client.get("/api/v1/resources/db/utilization"))["utilization"] == {"cpu": "2"}
        group = await api.client.put("/api/v1/resources/g/utilization/cpu", json={"value": "1"}, headers=AUTH)
        assert group.status_code == 400 and "not a primitive" in group.json()["error"]
        ok(await api.client.delete("/api/v1/resources/db/utilization/cpu", headers=AUTH))
        assert ok(await api.client.get("/api/v1/resources/db/utilization"))["utilization"] == {}

    run_api(scenario, config=config())


def test_cluster_options_in_the_default_set_or_an_agents_own() -> None:
    async def scenario(api: Api) -> None:
        assert ok(await api.client.get("/api/v1/options/stonith-enabled"))["value"] == "false"
        assert ok(await api.client.get("/api/v1/options/no-such"))["value"] is None
        body = {"value": "n1:mysql-bin.000003:245", "set": "mysql_replication"}
        ok(await api.client.put("/api/v1/options/db_REPL_INFO", json=body, headers=AUTH))
        current, _ = await api.config()
        assert [s.id for s in current.options] == ["opts", "mysql_replication"]
        named = ok(await api.client.get("/api/v1/options/db_REPL_INFO", params={"set": "mysql_replication"}))
        assert named["value"] == "n1:mysql-bin.000003:245"
        elsewhere = ok(await api.client.get("/api/v1/options/db_REPL_INFO", params={"set": "opts"}))
        assert elsewhere["value"] is None
        taken = await api.client.put("/api/v1/options/x", json={"value": "1", "set": "web"}, headers=AUTH)
        assert taken.status_code == 400 and "id of something else" in taken.json()["error"]
        ok(await api.client.delete("/api/v1/options/db_REPL_INFO", params={"set": "mysql_replication"},
                                   headers=AUTH))
        assert [s.id for s in (await api.config())[0].options] == ["opts"]

    run_api(scenario, config=config())


def test_membership_and_the_cib_with_its_status() -> None:
    async def scenario(api: Api) -> None:
        ok(await api.client.put(attr("n1", "pingd"), json={"value": "1"}, headers=AUTH))
        membership = ok(await api.client.get("/api/v1/membership"))
        assert (membership["node"], membership["node_id"], membership["have_quorum"]) == ("n1", "1", True)
        assert membership["nodes"] == [{"id": "1", "name": "n1", "member": True},
                                       {"id": "2", "name": "n2", "member": False}]
        assert (await api.client.get("/api/v1/cib")).status_code == 401  # it holds every secret
        answer = await api.client.get("/api/v1/cib", headers=AUTH)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
        cib = etree.fromstring(answer.content)
        assert cib.get("epoch") == "1"
        found = cib.xpath("//node_state[@crmd='online']//nvpair[@name='pingd']/@value")
        assert found == ["1"]

    run_api(scenario, config=config())


def test_an_agents_ban_of_a_clone_member_bans_the_clone() -> None:
    async def scenario(api: Api) -> None:
        ok(await api.client.post("/api/v1/resources/db/ban-from-agent", json={"node": "n2"}, headers=AUTH))
        ok(await api.client.post("/api/v1/resources/web/ban-from-agent", json={"node": "n2"}, headers=AUTH))
        current, _ = await api.config()
        assert [(c.id, c.rsc, c.node) for c in current.locations] == [
            ("cli-ban-db-clone-on-n2", "db-clone", "n2"), ("cli-ban-web-on-n2", "web", "n2")]

    run_api(scenario, config=config())


def test_fence_devices_for_a_node_and_the_fence_history() -> None:
    async def scenario(api: Api) -> None:
        n2 = ok(await api.client.get("/api/v1/fencing/devices", params={"target": "n2"}))
        assert n2["devices"] == ["fence-n2", "fence-any"]
        n1 = ok(await api.client.get("/api/v1/fencing/devices", params={"target": "n1"}))
        assert n1["devices"] == ["fence-any"]
        history = await api.client.get("/api/v1/fencing/history")
        assert history.status_code == 200 and history.json() == []

    run_api(scenario, config=config())
