"""The REST API: every route's effect on the store, auth, and errors (FastAPI over an in-memory store
with a stand-in controller; see conftest.py)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.conftest import AUTH, CIB, Api, record, run_api
from vigil.admin import edits
from vigil.admin.tree import find_node
from vigil.formats.yaml.load import load_yaml_config
from vigil.model.config import Config
from vigil.store import MemoryStore
from vigil.store.base import RevisionConflict, StoreError

CHANGES = [
    ("POST", "/api/v1/resources/web/start", None),
    ("POST", "/api/v1/resources/web/stop", None),
    ("POST", "/api/v1/resources/web/enable", None),
    ("POST", "/api/v1/resources/web/disable", None),
    ("POST", "/api/v1/resources/web/restart", {"timeout": 1}),
    ("POST", "/api/v1/resources/web/move", {"node": "n1"}),
    ("POST", "/api/v1/resources/web/ban", {"node": "n1"}),
    ("POST", "/api/v1/resources/web/clear", None),
    ("POST", "/api/v1/resources/web/cleanup", None),
    ("POST", "/api/v1/cleanup", None),
    ("POST", "/api/v1/resources/web/maintenance", {"enabled": True}),
    ("DELETE", "/api/v1/failcounts/web", None),
    ("POST", "/api/v1/nodes/n1/standby", None),
    ("POST", "/api/v1/nodes/n1/online", None),
    ("POST", "/api/v1/nodes/n1/maintenance", None),
    ("PUT", "/api/v1/config", None),
    ("POST", "/api/v1/tickets/T1/grant", None),
    ("POST", "/api/v1/tickets/T1/revoke", {"force": True}),
    ("POST", "/api/v1/tickets/T1/standby", None),
    ("POST", "/api/v1/tickets/T1/activate", None),
    ("DELETE", "/api/v1/tickets/T1", None),
]
READS = ["/healthz", "/metrics", "/api/v1/status", "/api/v1/status?format=text", "/api/v1/resources",
         "/api/v1/resources/g", "/api/v1/nodes", "/api/v1/nodes/n1", "/api/v1/failcounts",
         "/api/v1/resources/web/history", "/api/v1/config", "/api/v1/simulate", "/api/v1/tickets",
         "/api/v1/tickets/T1"]


def error_of(response: httpx.Response) -> tuple[int, str, list[str]]:
    body = response.json()
    assert set(body) == {"error", "details"}, body
    return response.status_code, body["error"], body["details"]


def test_openapi_lists_every_route() -> None:
    async def scenario(api: Api) -> None:
        paths = (await api.client.get("/openapi.json")).json()["paths"]
        for method, path, _ in CHANGES:
            assert method.lower() in paths[path.replace("/web/", "/{rsc}/").replace("/n1/", "/{node}/")
                                            .replace("failcounts/web", "failcounts/{rsc}")
                                            .replace("/T1", "/{ticket}")], path
        for path in READS:
            assert path.split("?")[0].replace("/web/", "/{rsc}/").replace("/g", "/{rsc}")\
                .replace("nodes/n1", "nodes/{node}").replace("/T1", "/{ticket}") in paths
        restart = paths["/api/v1/resources/{rsc}/restart"]["post"]
        assert "401" in restart["responses"]

    run_api(scenario)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}],
                         ids=["no token", "wrong token", "not bearer"])
def test_changes_need_the_token(headers: dict[str, str]) -> None:
    async def scenario(api: Api) -> None:
        before = await api.store.revision()
        for method, path, body in CHANGES:
            response = await api.client.request(method, path, json=body, headers=headers)
            status, message, _ = error_of(response)
            assert status == 401, path
            assert "token" in message
            assert response.headers["WWW-Authenticate"] == "Bearer"
        assert await api.store.revision() == before
        assert api.controller.pokes == []

    run_api(scenario)


def test_reads_need_no_token() -> None:
    async def scenario(api: Api) -> None:
        for path in READS:
            assert (await api.client.get(path)).status_code == 200, path

    run_api(scenario)


def test_start_stop_enable_disable_set_target_role() -> None:
    async def scenario(api: Api) -> None:
        async def post(action: str, rsc: str = "web") -> dict[str, object]:
            response = await api.client.post(f"/api/v1/resources/{rsc}/{action}", headers=AUTH)
            assert response.status_code == 200, response.text
            result: dict[str, object] = response.json()
            return result

        result = await post("stop")
        assert result["message"] == "web: target-role=Stopped (was unset)" and result["changed"] is True
        config, revision = await api.config()
        assert edits.meta_value(config, "web", "target-role") == "Stopped" and result["revision"] == revision
        assert api.controller.pokes == ["resource stop web"]
        assert (await post("stop"))["changed"] is False
        assert len(api.controller.pokes) == 1
        await post("start")
        assert edits.meta_value((await api.config())[0], "web", "target-role") == "Started"
        await post("enable")
        assert edits.meta_value((await api.config())[0], "web", "target-role") is None
        await post("disable", "g")
        assert edits.meta_value((await api.config())[0], "g", "target-role") == "Stopped"
        started = await post("start", "a")
        assert started["notes"] == ["a stays stopped while g has target-role=Stopped: "
                                    "`vigil resource start g` starts it"]

    run_api(scenario)


def test_unknown_resource_or_node_is_404_listing_the_known_ones() -> None:
    async def scenario(api: Api) -> None:
        before = await api.store.revision()
        for method, path, body in [("POST", "/api/v1/resources/nope/stop", None),
                                   ("POST", "/api/v1/resources/nope/cleanup", None),
                                   ("DELETE", "/api/v1/failcounts/nope", None)]:
            response = await api.client.request(method, path, json=body, headers=AUTH)
            assert error_of(response) == (404, "no resource 'nope'", ["known resources: web, g, a, b"])
        for path in ["/api/v1/resources/nope", "/api/v1/resources/nope/history"]:
            assert error_of(await api.client.get(path))[:2] == (404, "no resource 'nope'")
        for method, path, body in [("POST", "/api/v1/nodes/n9/standby", None),
                                   ("POST", "/api/v1/resources/web/move", {"node": "n9"}),
                                   ("POST", "/api/v1/resources/web/cleanup", {"node": "n9"})]:
            response = await api.client.request(method, path, json=body, headers=AUTH)
            assert error_of(response) == (404, "no node 'n9'", ["known nodes: n1"])
        assert error_of(await api.client.get("/api/v1/nodes/n9"))[0] == 404
        assert await api.store.revision() == before

    run_api(scenario)


def test_bad_bodies_are_422_with_a_readable_message() -> None:
    async def scenario(api: Api) -> None:
        for body, detail in [({"timeout": -1}, "body.timeout: Input should be greater than 0"),
                             ({"timeout": "soon"}, "body.timeout: Input should be a valid number"),
                             ({"tiemout": 5}, "body.tiemout: Extra inputs are not permitted")]:
            status, message, details = error_of(
                await api.client.post("/api/v1/resources/web/restart", json=body, headers=AUTH))
            assert status == 422 and any(d.startswith(detail) for d in details) and detail in message
        status, _, details = error_of(await api.client.post(
            "/api/v1/resources/web/maintenance", json={"enabled": "perhaps"}, headers=AUTH))
        assert status == 422 and details[0].startswith("body.enabled:")

    run_api(scenario)


class ConflictingStore(MemoryStore):
    """Once armed, another writer always gets in first."""

    armed = False

    async def put_config(self, config: Config, expected_revision: int) -> int:
        if self.armed:
            raise RevisionConflict(expected_revision, expected_revision + 1)
        return await super().put_config(config, expected_revision)


def test_a_configuration_that_keeps_changing_is_409_and_nothing_changes() -> None:
    async def scenario(api: Api) -> None:
        store.armed = True
        status, message, _ = error_of(await api.client.post("/api/v1/resources/web/stop", headers=AUTH))
        assert status == 409 and "kept changing" in message
        assert edits.meta_value((await api.config())[0], "web", "target-role") is None
        assert api.controller.pokes == []

    store = ConflictingStore()
    run_api(scenario, store=store)


def test_move_ban_and_clear() -> None:
    async def scenario(api: Api) -> None:
        status, message, _ = error_of(await api.client.post("/api/v1/resources/web/move", headers=AUTH))
        assert (status, message) == (409, "web is not active on any node: give the node to move it from")
        await record(api.store, "web", "start", 0, 0)
        response = await api.client.post("/api/v1/resources/web/ban", headers=AUTH)
        assert response.json()["message"] == "web is banned from n1"
        config, _ = await api.config()
        assert [(loc.id, loc.node, loc.score) for loc in config.locations] == [
            ("cli-ban-web-on-n1", "n1", -1_000_000)]
        response = await api.client.post("/api/v1/resources/web/move", json={"node": "n1"}, headers=AUTH)
        assert response.json()["message"] == "web is moving to n1"
        assert [loc.id for loc in (await api.config())[0].locations] == ["cli-prefer-web"]
        response = await api.client.post("/api/v1/resources/web/clear", headers=AUTH)
        assert response.json()["message"] == "removed cli-prefer-web"
        assert (await api.config())[0].locations == ()
        status, message, _ = error_of(await api.client.post("/api/v1/resources/a/ban", json={}, headers=AUTH))
        assert status == 409 and "not active" in message

    run_api(scenario)


def test_cleanup_clears_the_failcount_and_forgets_the_history() -> None:
    async def scenario(api: Api) -> None:
        await record(api.store, "web", "start", 0, 0)
        await record(api.store, "web", "monitor", 10000, 7, failcount=1, reason="gone")
        await record(api.store, "a", "start", 0, 0)
        counts = (await api.client.get("/api/v1/failcounts")).json()
        assert [(c["resource"], c["count"], c["recoveries_left"]) for c in counts] == [("web", 1, "2")]
        # Without a resource: only what failed.
        response = await api.client.post("/api/v1/cleanup", headers=AUTH)
        assert response.json()["message"].startswith("cleaned up web on n1")
        snapshot = await api.store.snapshot()
        state = snapshot.cluster.status.node("n1")
        assert state is not None
        assert [h.id for h in state.resources] == ["a"]
        assert not [name for name, _ in state.attributes if "web" in name]
        assert api.controller.pokes == ["cleanup of failed resources"]
        assert len(await api.store.operation_log("web")) == 2  # the log keeps what happened
        await api.client.post("/api/v1/resources/g/cleanup", json={"node": "n1"}, headers=AUTH)
        state = (await api.store.snapshot()).cluster.status.node("n1")
        assert state is not None and state.resources == ()
        nothing = await api.client.post("/api/v1/cleanup", headers=AUTH)
        assert nothing.json() == {"message": "nothing to clean up", "changed": False,
                                  "revision": await api.store.revision(), "notes": []}

    run_api(scenario)


def test_failcount_clear_keeps_the_history() -> None:
    async def scenario(api: Api) -> None:
        await record(api.store, "web", "monitor", 10000, 7, failcount=1)
        await record(api.store, "web", "monitor", 10000, 7, failcount=1)
        counts = (await api.client.get("/api/v1/failcounts", params={"resource": "web", "node": "n1"})).json()
        assert [(c["count"], c["migration_threshold"], c["recoveries_left"]) for c in counts] == [(2, 3, "1")]
        response = await api.client.delete("/api/v1/failcounts/web", headers=AUTH)
        assert response.json()["message"] == "fail-counts of web cleared on every node"
        assert (await api.client.get("/api/v1/failcounts")).json() == []
        state = (await api.store.snapshot()).cluster.status.node("n1")
        assert state is not None and [h.id for h in state.resources] == ["web"]
        again = await api.client.delete("/api/v1/failcounts/web", params={"node": "n1"}, headers=AUTH)
        assert again.json()["message"] == "web has no fail-count on n1"

    run_api(scenario)


def test_history_shows_each_result_with_the_stop_context() -> None:
    async def scenario(api: Api) -> None:
        await record(api.store, "web", "monitor", 0, 7, expected=7)
        await record(api.store, "web", "start", 0, 0, meta={"start_reason": "initial"})
        await record(api.store, "web", "monitor", 10000, 7, failcount=1, reason="No process state file found")
        await record(api.store, "web", "stop", 0, 0, meta={
            "stop_reason": "failure", "stop_final": "false", "stop_cause": "web", "stop_next_node": "n1",
            "recoveries_left": "2", "recovery_left": "2", "retries_left": "2"})
        entries = (await api.client.get("/api/v1/resources/web/history")).json()
        assert [(e["task"], e["interval_ms"], e["rc"], e["rc_name"], e["failed"]) for e in entries] == [
            ("probe", 0, 7, "OCF_NOT_RUNNING", False), ("start", 0, 0, "OCF_SUCCESS", False),
            ("monitor", 10000, 7, "OCF_NOT_RUNNING", True), ("stop", 0, 0, "OCF_SUCCESS", False)]
        assert entries[2]["exit_reason"] == "No process state file found"
        assert entries[3]["context"] == [["stop_reason", "failure"], ["stop_final", "false"],
                                         ["stop_cause", "web"], ["stop_next_node", "n1"],
                                         ["recoveries_left", "2"]]
        assert entries[1]["context"] == [["start_reason", "initial"]]
        limited = (await api.client.get("/api/v1/resources/web/history", params={"limit": 1})).json()
        assert [e["task"] for e in limited] == ["stop"]
        group = (await api.client.get("/api/v1/resources/g/history")).json()
        assert group == []

    run_api(scenario)


def test_nodes_standby_online_maintenance() -> None:
    async def scenario(api: Api) -> None:
        response = await api.client.post("/api/v1/nodes/n1/standby", headers=AUTH)
        assert response.json()["message"] == "n1 is in standby: its resources move away or stop"
        attributes = find_node((await api.config())[0], "n1").attributes
        assert [nvset.values for nvset in attributes] == [(("standby", "on"),)]
        nodes = (await api.client.get("/api/v1/nodes")).json()
        assert [(n["name"], n["state"], n["standby"]) for n in nodes] == [("n1", "standby", True)]
        await api.client.post("/api/v1/nodes/n1/online", headers=AUTH)
        assert find_node((await api.config())[0], "n1").attributes == ()
        await api.client.post("/api/v1/nodes/n1/maintenance", headers=AUTH)
        node = (await api.client.get("/api/v1/nodes/n1")).json()
        assert (node["state"], node["maintenance"]) == ("maintenance", True)
        await api.client.post("/api/v1/nodes/n1/maintenance", json={"enabled": False}, headers=AUTH)
        assert find_node((await api.config())[0], "n1").attributes == ()
        assert api.controller.pokes == ["node standby n1", "node online n1", "node maintenance n1 on",
                                        "node maintenance n1 off"]

    run_api(scenario)


def test_online_also_ends_a_transient_standby() -> None:
    """The on-recovery-exhausted=standby policy puts a node in standby with a transient attribute."""

    async def scenario(api: Api) -> None:
        await api.store.set_node_attribute("n1", "standby", "on")
        response = await api.client.post("/api/v1/nodes/n1/online", headers=AUTH)
        assert response.status_code == 200 and response.json()["changed"] is True
        state = (await api.store.snapshot()).cluster.status.node("n1")
        assert state is not None and state.attribute("standby") is None
        assert api.controller.pokes == ["node online n1"]

    run_api(scenario)


def test_maintenance_of_a_resource() -> None:
    async def scenario(api: Api) -> None:
        await record(api.store, "web", "start", 0, 0)
        await api.client.post("/api/v1/resources/web/maintenance", headers=AUTH)
        assert edits.meta_value((await api.config())[0], "web", "maintenance") == "true"
        web = (await api.client.get("/api/v1/resources/web")).json()
        assert (web["maintenance"], web["managed"]) == (True, False)
        # The scheduler leaves it alone: nothing would be done with it.
        plan = (await api.client.get("/api/v1/simulate", params={"format": "json"})).json()
        assert all(action["resource"] != "web" for action in plan["actions"])
        await api.client.post("/api/v1/resources/web/maintenance", json={"enabled": False}, headers=AUTH)
        assert edits.meta_value((await api.config())[0], "web", "maintenance") == "false"

    run_api(scenario)


def test_restart_stops_restores_and_waits_for_the_start() -> None:
    async def scenario(api: Api) -> None:
        await record(api.store, "web", "start", 0, 0)
        config, _ = await api.config()
        response = await api.client.post("/api/v1/resources/web/restart", json={"timeout": 10}, headers=AUTH,
                                         timeout=20)
        assert response.status_code == 200, response.text
        assert response.json()["message"] == "web restarted: stopped everywhere, then started on n1"
        assert (await api.config())[0] == config  # the target-role it had (none) is back
        assert api.controller.pokes == ["resource restart web (stopping)",
                                        "resource restart web (starting again)"]
        tasks = [e.record.operation for e in await api.store.operation_log("web")]
        assert tasks[-2:] == ["stop", "start"]

    run_api(scenario, acting=True)


def test_restart_that_times_out_restores_the_target_role() -> None:
    async def scenario(api: Api) -> None:
        status, message, _ = error_of(await api.client.post("/api/v1/resources/web/restart", headers=AUTH))
        assert (status, message) == (409, "web is not active on any node: nothing to restart "
                                          "(`vigil resource start web` starts it)")
        await record(api.store, "web", "start", 0, 0)
        await api.client.post("/api/v1/resources/web/start", headers=AUTH)
        status, message, _ = error_of(
            await api.client.post("/api/v1/resources/web/restart", json={"timeout": 0.3}, headers=AUTH))
        assert status == 409
        assert message == ("web did not stop within 0.3 s; its target-role was restored "
                           "(target-role=Started): see `vigil status`")
        assert edits.meta_value((await api.config())[0], "web", "target-role") == "Started"

    run_api(scenario)


BAD_XML = b"<cib><configuration><resources>\n<primitive id='x'\n</resources></cib>"


def test_a_bad_configuration_is_400_with_every_problem_and_changes_nothing() -> None:
    async def scenario(api: Api) -> None:
        before = await api.config()
        status, message, details = error_of(
            await api.client.put("/api/v1/config", content=BAD_XML, params={"name": "bad.xml"}, headers=AUTH))
        assert status == 400 and message == "bad.xml: 1 problem; nothing was changed"
        assert details[0].startswith("bad.xml:3")
        missing = CIB.replace(b'type="Dummy"', b'type="../NoSuchAgent"', 1).replace(
            b'<node id="n1" uname="n1"/>', b'<node id="n2" uname="n2"/>')
        status, message, details = error_of(
            await api.client.put("/api/v1/config", content=missing, params={"name": "cib.xml"}, headers=AUTH))
        assert status == 400 and message == "cib.xml: 2 problems; nothing was changed"
        assert details[0].startswith("nodes: this node 'n1' is not among the configured nodes (n2)")
        assert details[1].startswith("resource web: agent 'ocf:heartbeat:../NoSuchAgent': its type")
        status, message, _ = error_of(await api.client.put("/api/v1/config", content=b"  ", headers=AUTH))
        assert status == 400 and "empty" in message
        assert await api.config() == before
        assert api.controller.pokes == []

    run_api(scenario)


def test_config_round_trip_and_compare_and_set() -> None:
    async def scenario(api: Api) -> None:
        shown = await api.client.get("/api/v1/config")
        assert shown.headers["content-type"] == "application/xml"
        revision = int(shown.headers["X-Vigil-Config-Revision"])
        assert shown.headers["ETag"] == f'"{revision}"'
        assert f'epoch="{revision}"' in shown.text
        same = await api.client.put("/api/v1/config", content=shown.content, headers=AUTH)
        assert same.json()["changed"] is False
        changed = shown.text.replace('value="3"', 'value="5"')
        stale = await api.client.put("/api/v1/config", content=changed.encode(),
                                     headers={**AUTH, "If-Match": f'"{revision - 1}"'})
        assert error_of(stale)[0] == 409
        loaded = await api.client.put("/api/v1/config", content=changed.encode(),
                                      headers={**AUTH, "If-Match": f'"{revision}"'},
                                      params={"name": "new.xml"})
        assert loaded.status_code == 200, loaded.text
        new_revision = loaded.json()["revision"]
        assert loaded.json()["message"] == f"new.xml: configuration loaded (revision {new_revision})"
        assert edits.meta_value((await api.config())[0], "web", "migration-threshold") == "5"
        assert api.controller.pokes == ["configuration loaded from new.xml"]
        # A configuration that names no node gets the daemon's.
        no_nodes = CIB.replace(b'<node id="n1" uname="n1"/>', b"")
        await api.client.put("/api/v1/config", content=no_nodes, headers=AUTH)
        assert [n.uname for n in (await api.config())[0].nodes] == ["n1"]

    run_api(scenario)


def test_config_is_shown_as_yaml_that_loads_back_equal() -> None:
    async def scenario(api: Api) -> None:
        shown = await api.client.get("/api/v1/config", params={"format": "yaml"})
        assert (shown.status_code, shown.headers["content-type"]) == (200, "application/yaml")
        assert load_yaml_config(shown.text.encode(), "shown.yaml")[0] == (await api.config())[0]

    run_api(scenario)


def test_status_json_and_text() -> None:
    async def scenario(api: Api) -> None:
        await record(api.store, "web", "start", 0, 0)
        await record(api.store, "web", "monitor", 10000, 7, failcount=1, reason="gone")
        status = (await api.client.get("/api/v1/status")).json()
        assert status["node"] == "n1"
        assert [(n["name"], n["state"]) for n in status["nodes"]] == [("n1", "online")]
        assert [(r["id"], r["kind"]) for r in status["resources"]] == [("web", "primitive"), ("g", "group")]
        assert status["resources"][0]["failed"] is True
        assert [m["id"] for m in status["resources"][1]["members"]] == ["a", "b"]
        assert [(a["key"], a["rc"], a["exit_reason"]) for a in status["failed_actions"]] == [
            ("web_monitor_10000", 7, "gone")]
        assert [(f["resource"], f["recoveries_left"]) for f in status["failcounts"]] == [("web", "2")]
        assert "Recover web ( n1 )" in status["pending"]
        text = (await api.client.get("/api/v1/status", params={"format": "text"})).text
        assert "  * web\t(ocf:heartbeat:Dummy):\t FAILED n1" in text.splitlines()
        assert "2 recoveries left" in text

    run_api(scenario)


def test_simulate_live_in_every_format() -> None:
    async def scenario(api: Api) -> None:
        text = (await api.client.get("/api/v1/simulate")).text
        assert "Plan:" in text and "  * Start web ( n1 )" in text
        pacemaker = await api.client.get("/api/v1/simulate", params={"format": "pacemaker"})
        assert "Transition Summary:" in pacemaker.text and "Start      web" in pacemaker.text
        as_json = await api.client.get("/api/v1/simulate", params={"format": "json"})
        assert as_json.headers["content-type"] == "application/json"
        assert "* Start web ( n1 )" in json.loads(as_json.text)["summary"]
        assert (await api.client.get("/api/v1/simulate", params={"format": "html"})).status_code == 422
        # Nothing was done.
        assert api.controller.pokes == []

    run_api(scenario)


def test_metrics_after_a_failure() -> None:
    async def scenario(api: Api) -> None:
        await record(api.store, "web", "start", 0, 0)
        await record(api.store, "web", "monitor", 10000, 7, failcount=1)
        response = await api.client.get("/metrics")
        assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        lines = response.text.splitlines()
        assert 'vigil_recoveries_left{resource="web",node="n1"} 2' in lines
        assert 'vigil_recoveries_left{resource="a",node="n1"} +Inf' in lines
        assert 'vigil_fail_count{resource="web",node="n1"} 1' in lines
        assert "# TYPE vigil_transitions_total counter" in lines

    run_api(scenario)


def test_a_failing_store_is_a_json_error() -> None:
    async def scenario(api: Api) -> None:
        await api.store.close()
        status, message, _ = error_of(await api.client.get("/api/v1/status"))
        assert status == 503 and message.startswith("the store failed:")

    run_api(scenario)


def test_a_store_that_cannot_record_is_reported_unhealthy_everywhere() -> None:
    async def scenario(api: Api) -> None:
        assert (await api.client.get("/healthz")).status_code == 200
        api.controller.stats.store_failed(StoreError("vigil.db: database or disk is full"), 1_800_000_000.0)
        health = await api.client.get("/healthz")
        assert health.status_code == 503
        assert "disk is full" in health.json()["error"]
        metrics = (await api.client.get("/metrics")).text
        assert "\nvigil_store_up 0\n" in metrics and "\nvigil_store_errors_total 1\n" in metrics
        text = (await api.client.get("/api/v1/status?format=text")).text
        assert text.startswith("WARNING: the store cannot record since")
        status = (await api.client.get("/api/v1/status")).json()
        assert "disk is full" in status["store_problem"]["error"]
        api.controller.stats.store_ok()
        assert (await api.client.get("/healthz")).status_code == 200
        assert (await api.client.get("/api/v1/status")).json()["store_problem"] is None

    run_api(scenario)
