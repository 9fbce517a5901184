"""The web page's side of the API, in process: the Origin check, the page's files, the overview,
what-if and scores, the live feed and the recent events (no browser, an in-memory store)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.conftest import AUTH, DIGEST, TOKEN, StandInController, base_config
from tests.api.test_security import SECRETS, secrets_config
from vigil.admin.commands import Admin
from vigil.admin.intake import Findings, parse_config
from vigil.api.app import create_app
from vigil.api.context import ApiContext
from vigil.api.live import LiveFeed
from vigil.api.origin import is_same_origin, refusal
from vigil.api.overview import build_overview, transition_entry
from vigil.api.page import close_live_feed
from vigil.events.model import FencingEvent, RecoveryExhausted, ResourceEvent
from vigil.events.recent import RecentEvents
from vigil.model.activity import TransitionReport
from vigil.model.config import Config, Node, NvSet
from vigil.model.status import NodeState, OpRecord
from vigil.model.transition import Action, Transition
from vigil.output.graph import graph_json
from vigil.simulator.what_if import imagine
from vigil.store import MemoryStore, ResourceRef, Store
from vigil.store.base import LogEntry, StoreError
from vigil.store.codec import decode_transition_report, encode_transition_report

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Web:
    client: httpx.AsyncClient
    store: Store
    controller: StandInController
    app: FastAPI
    recent: RecentEvents


WebTest = Callable[[Web], Awaitable[None]]


def n1_online() -> NodeState:
    return NodeState(id="n1", uname="n1", in_ccm="true", crmd="online", join="member", expected="member")


async def logged(store: Store, rsc: str, operation: str, interval_ms: int, rc: int, key: str, when: int, *,
                 meta: dict[str, str] | None = None, failcount: int = 0, reason: str | None = None) -> None:
    """A result recorded as the controller records it, with transition key ``key`` at ``when``."""
    base = f"{rsc}_{operation}_{interval_ms}" if interval_ms else f"{rsc}_last_0"
    record = OpRecord(id=base, operation=operation, interval_ms=interval_ms, rc=rc, op_status=0,
                      call_id=int(key.split(":")[1]) + 10 * when % 1000, on_node="n1", op_digest=DIGEST,
                      last_rc_change=when, last_run=when, exec_time_ms=5, transition_key=key,
                      transition_magic=f"0:{rc};{key}", exit_reason=reason,
                      operation_key=f"{rsc}_{operation}_{interval_ms}")
    also = (record._replace(id=f"{rsc}_last_failure_0"),) if failcount else ()
    await store.record_operation("n1", ResourceRef(rsc, "ocf", "heartbeat", "Dummy"), record,
                                 failcount_delta=failcount, meta=meta, also=also)


async def web_started(store: Store) -> None:
    """web runs on n1, started by transition 1 (its start and its monitor)."""
    now = int(time.time())
    await logged(store, "web", "start", 0, 0, "1:0:0:test", now)
    await logged(store, "web", "monitor", 10000, 0, "1:1:0:test", now)


def run_web(test: WebTest, *, config: Config | None = None, with_what_if: bool = True) -> None:
    async def main() -> None:
        store = MemoryStore()
        await store.put_config(config or base_config(), 0)
        await store.set_node_state(n1_online())

        async def check(_: Config) -> Findings:
            return Findings()

        controller = StandInController(store)
        recent = RecentEvents()
        context = ApiContext(store=store, controller=controller, token=TOKEN, parse_config=parse_config,
                             check_config=check, clock=time.time, recent_events=recent,
                             what_if=imagine if with_what_if else None)
        app = create_app(context)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://vigil") as client:
                await test(Web(client, store, controller, app, recent))
        finally:
            await close_live_feed(app)
            await store.close()

    asyncio.run(main())


# -- the Origin check -------------------------------------------------------------------------


@pytest.mark.parametrize(("origin", "host", "same"), [
    ("http://127.0.0.1:7945", "127.0.0.1:7945", True),
    ("HTTP://LocalHost:7945", "localhost:7945", True),
    ("http://[::1]:7945", "[::1]:7945", True),
    ("https://vigil.example.com", "vigil.example.com", True),  # a TLS proxy passing the Host on
    ("https://vigil.example.com", "vigil.example.com:443", True),
    ("http://localhost:7945", "127.0.0.1:7945", False),  # another name is another origin
    ("http://127.0.0.1:8080", "127.0.0.1:7945", False),  # another port too
    ("http://vigil.example.com", "vigil.example.com:8080", False),
    ("http://evil.example", "vigil.example.com", False),
    ("null", "127.0.0.1:7945", False),
    ("http://127.0.0.1:7945/page", "127.0.0.1:7945", False),
    ("ftp://127.0.0.1:7945", "127.0.0.1:7945", False),
    ("http://127.0.0.1:7945", None, False),
])
def test_an_origin_is_the_requests_own_only_with_the_same_host_and_port(origin: str, host: str | None,
                                                                         same: bool) -> None:
    assert is_same_origin(origin, host) is same


def test_only_changes_are_checked_and_a_request_no_browser_marked_goes_on() -> None:
    foreign = {"origin": "http://evil.example", "host": "vigil"}
    assert refusal("GET", foreign) is None
    assert refusal("HEAD", foreign) is None
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert refusal(method, foreign) is not None
    assert refusal("POST", {"host": "vigil"}) is None  # curl, the vigil commands
    assert refusal("POST", {"host": "vigil", "sec-fetch-site": "same-origin"}) is None
    assert refusal("POST", {"host": "vigil", "sec-fetch-site": "cross-site"}) is not None
    assert refusal("POST", {"host": "vigil", "sec-fetch-site": "same-site"}) is not None


def test_a_change_from_another_origins_page_is_refused_even_with_the_token_and_changes_nothing() -> None:
    async def scenario(web: Web) -> None:
        _, revision = await web.store.get_config()
        for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                        {"Origin": "http://vigil:8080"}, {"Sec-Fetch-Site": "cross-site"}):
            response = await web.client.post("/api/v1/resources/web/stop", headers={**AUTH, **headers})
            assert response.status_code == 403, (headers, response.text)
            assert "another" in response.json()["error"] and "nothing was changed" in response.json()["error"]
        assert (await web.store.get_config())[1] == revision
        assert web.controller.pokes == []
        # Reads are open to any page (no CORS header lets another origin read them anyway).
        read = await web.client.get("/api/v1/status", headers={"Origin": "http://evil.example"})
        assert read.status_code == 200 and "access-control-allow-origin" not in read.headers
        # The page's own origin, and programs that send none, go on to the token check.
        same = await web.client.post("/api/v1/resources/web/stop", headers={**AUTH, "Origin": "http://vigil"})
        assert same.status_code == 200, same.text
        plain = await web.client.post("/api/v1/resources/web/start", headers=AUTH)
        assert plain.status_code == 200, plain.text
        anonymous = await web.client.post("/api/v1/resources/web/stop", headers={"Origin": "http://vigil"})
        assert anonymous.status_code == 401

    run_web(scenario)


# -- the page and its files -------------------------------------------------------------------


def test_the_page_is_served_with_a_policy_that_lets_it_load_and_reach_nothing_else() -> None:
    async def scenario(web: Web) -> None:
        page = await web.client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        for directive in ("default-src 'none'", "script-src 'self'", "connect-src 'self'",
                          "frame-ancestors 'none'"):
            assert directive in policy
        assert page.headers["x-frame-options"] == "DENY"
        assert '<script type="module" src="/web/app.js">' in page.text
        for module in ("dom.js", "graph.js"):
            served = await web.client.get(f"/web/{module}")
            assert served.status_code == 200 and served.headers["content-type"].startswith("text/javascript")
        script = await web.client.get("/web/app.js")
        assert script.headers["content-type"].startswith("text/javascript") and "EventSource" in script.text
        style = await web.client.get("/web/style.css")
        assert style.headers["content-type"].startswith("text/css") and "prefers-color-scheme" in style.text
        assert (await web.client.get("/web/other.js")).status_code == 404

    run_web(scenario)


def test_the_page_loads_nothing_from_elsewhere_and_writes_no_html_from_data() -> None:
    web = resources.files("vigil.api").joinpath("web")
    for name in ("index.html", "app.js", "dom.js", "graph.js", "style.css"):
        text = web.joinpath(name).read_text()
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert urls == set(), (name, urls)
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "eval(" not in text
        assert "onclick=" not in text.lower() or name == "app.js"  # no inline handlers in the HTML


def test_the_pages_files_ship_in_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "api/web/*" in project["tool"]["setuptools"]["package-data"]["vigil"]
    assert any(dep.startswith("playwright") for dep in project["project"]["optional-dependencies"]["test"])
    assert "chromium" in (REPO / "scripts" / "install-test-deps.sh").read_text()


def test_whoami_says_whether_the_token_is_right_without_changing_anything() -> None:
    async def scenario(web: Web) -> None:
        assert (await web.client.get("/api/v1/whoami")).json() == {"token": False, "node": "n1"}
        assert (await web.client.get("/api/v1/whoami", headers=AUTH)).json() == {"token": True, "node": "n1"}
        wrong = await web.client.get("/api/v1/whoami", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert web.controller.pokes == []

    run_web(scenario)


# -- the overview -----------------------------------------------------------------------------


def recovery() -> Transition:
    stop = Action(0, "stop", "web", "n1", meta=(("recoveries_left", "2"), ("stop_cause", "web"),
                                                ("stop_final", "false"), ("stop_next_node", "n1"),
                                                ("stop_reason", "failure")))
    start = Action(1, "start", "web", "n1", meta=(("recoveries_left", "2"), ("start_reason", "recovery")))
    monitor = Action(2, "monitor", "web", "n1", 10000)
    return Transition(actions=(stop, start, monitor), order=((0, 1), (1, 2)))


def test_a_transition_lists_each_planned_action_with_its_context_and_the_result_it_had() -> None:
    async def scenario(web: Web) -> None:
        started = time.time() - 30
        report = TransitionReport(7, started, ("Recover web ( n1 )",), 3, "web_monitor_10000 on n1 failed",
                                  started + 2, "complete", graph=graph_json(recovery()))
        await web.store.put_transition_report(report, term=0)
        at = int(started) + 1
        await logged(web.store, "web", "stop", 0, 0, "7:0:0:test", at, meta=dict(recovery().actions[0].meta))
        await logged(web.store, "web", "start", 0, 0, "7:1:0:test", at, meta=dict(recovery().actions[1].meta))
        await logged(web.store, "web", "monitor", 10000, 0, "7:2:0:test", at)
        # Later, the same monitor fails: it keeps transition 7's key, but is not what 7 did.
        await logged(web.store, "web", "monitor", 10000, 7, "7:2:0:test", int(time.time()), failcount=1,
                     reason="gone")

        overview = (await web.client.get("/api/v1/overview")).json()

        entry = overview["transitions"][0]
        assert (entry["number"], entry["outcome"], entry["graph_kept"]) == (7, "complete", True)
        stop, start, monitor = entry["actions"]
        assert stop["context"] == {"stop_reason": "failure", "stop_final": "false", "stop_cause": "web",
                                   "stop_next_node": "n1", "recoveries_left": "2"}  # no aliases
        assert start["context"] == {"recoveries_left": "2", "start_reason": "recovery"}
        assert stop["result"]["failed"] is False and start["result"]["rc_name"] == "ok"
        assert monitor["result"]["rc"] == 0, "the later failure is not transition 7's result"
        assert overview["graph"]["number"] == 7 and overview["graph"]["order"] == [[0, 1], [1, 2]]
        status = overview["status"]
        assert status["failcounts"][0]["recoveries_left"] == "2"
        assert status["failed_actions"][0]["exit_reason"] == "gone"

    run_web(scenario)


def test_a_transition_that_kept_no_graph_lists_what_the_operation_log_holds() -> None:
    now = time.time()
    report = TransitionReport(3, now - 5, ("Start web ( n1 )",), 2, "start-up", now - 4, "complete")
    log = [LogEntry(1, "n1", "web", OpRecord("web_last_0", "start", 0, 0, 0, 5, last_rc_change=int(now) - 4,
                                             transition_key="3:4:0:x"), (("start_reason", "initial"),)),
           LogEntry(2, "n1", "web", OpRecord("web_last_0", "stop", 0, 0, 0, 6, last_rc_change=int(now) - 4,
                                             transition_key="2:0:0:x"))]
    entry = transition_entry(report, log, now)
    assert entry["graph_kept"] is False
    assert [(a["id"], a["task"], a["context"]) for a in entry["actions"]] == [
        (4, "start", {"start_reason": "initial"})]


def test_node_attributes_are_shown_permanent_and_transient_without_fail_counts() -> None:
    config = dataclasses.replace(base_config(), nodes=(
        Node("n1", "n1", attributes=(NvSet("n1-attrs", (("rack", "r7"),)),)),))

    async def scenario(web: Web) -> None:
        await web.store.set_node_attribute("n1", "pingd", "100")
        await logged(web.store, "web", "monitor", 10000, 7, "1:1:0:test", int(time.time()), failcount=1)
        overview = (await web.client.get("/api/v1/overview")).json()
        assert overview["attributes"]["n1"] == [{"name": "rack", "value": "r7", "lifetime": "forever"},
                                                {"name": "pingd", "value": "100", "lifetime": "reboot"}]

    run_web(scenario, config=config)


def test_no_read_the_page_makes_shows_a_secret() -> None:
    async def scenario(web: Web) -> None:
        await logged(web.store, "web", "start", 0, 0, "1:0:0:test", int(time.time()))
        reads = ["/api/v1/overview", "/api/v1/scores", "/api/v1/what-if?kind=standby&node=n1",
                 "/api/v1/what-if?kind=monitor&node=n1&resource=web"]
        for path in reads:
            response = await web.client.get(path)
            assert response.status_code == 200, (path, response.text)
            for secret in SECRETS:
                assert secret not in response.text, (path, secret)

    run_web(scenario, config=parse_config(secrets_config(), "secrets.xml")[0])


# -- what if, scores ----------------------------------------------------------------------------


def by_task(answer: dict[str, Any], task: str, rsc: str) -> dict[str, Any]:
    return next(a for a in answer["actions"] if a["task"] == task and a["resource"] == rsc)


def test_what_if_a_monitor_fails_shows_the_stop_and_start_context_and_changes_nothing() -> None:
    async def scenario(web: Web) -> None:
        await web_started(web.store)
        revision = await web.store.revision()
        response = await web.client.get("/api/v1/what-if", params={"kind": "monitor", "node": "n1",
                                                                    "resource": "web"})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["description"] == "web's monitor fails on n1"
        assert answer["summary"][0] == "Recover web ( n1 )"  # a and b are not started yet here
        stop = by_task(answer, "stop", "web")["meta"]
        assert (stop["stop_reason"], stop["stop_final"], stop["recoveries_left"]) == ("failure", "false", "2")
        assert by_task(answer, "start", "web")["meta"]["start_reason"] == "recovery"
        stop_id, start_id = by_task(answer, "stop", "web")["id"], by_task(answer, "start", "web")["id"]
        assert [stop_id, start_id] in answer["order"]
        assert await web.store.revision() == revision
        assert (await web.client.get("/api/v1/failcounts")).json() == []

    run_web(scenario)


def test_what_if_a_node_is_put_in_standby_or_lost() -> None:
    async def scenario(web: Web) -> None:
        await web_started(web.store)
        standby = (await web.client.get("/api/v1/what-if", params={"kind": "standby", "node": "n1"})).json()
        stop = by_task(standby, "stop", "web")["meta"]
        assert (stop["stop_reason"], stop["stop_final"]) == ("standby", "true")
        lost = (await web.client.get("/api/v1/what-if", params={"kind": "node-lost", "node": "n1"})).json()
        assert lost["description"].startswith("n1 is lost")
        assert any("fencing is disabled" in note for note in lost["notes"])
        config, _ = await web.store.get_config()
        assert config == base_config()

    run_web(scenario)


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"kind": "monitor", "node": "n1", "resource": "nosuch"}, 404, "no resource 'nosuch'"),
    ({"kind": "monitor", "node": "n9", "resource": "web"}, 404, "no node 'n9'"),
    ({"kind": "monitor", "node": "n1", "resource": "g"}, 400, "pick the primitive that fails (a, b)"),
    ({"kind": "monitor", "node": "n1"}, 400, "names the resource"),
    ({"kind": "monitor", "node": "n1", "resource": "web", "operation": "dance"}, 400, "unknown operation"),
    ({"kind": "standby", "node": "n1", "resource": "web"}, 400, "names a node only"),
    ({"kind": "explode", "node": "n1"}, 422, "kind"),
])
def test_what_if_refuses_a_failure_it_cannot_imagine_saying_why(params: dict[str, str], status: int,
                                                                 words: str) -> None:
    async def scenario(web: Web) -> None:
        response = await web.client.get("/api/v1/what-if", params=params)
        assert response.status_code == status, response.text
        assert words in json.dumps(response.json()), response.text

    run_web(scenario)


def test_what_if_is_refused_where_no_simulator_was_handed_in() -> None:
    async def scenario(web: Web) -> None:
        response = await web.client.get("/api/v1/what-if", params={"kind": "standby", "node": "n1"})
        assert response.status_code == 503 and "what-if" in response.json()["error"]

    run_web(scenario, with_what_if=False)


def test_scores_show_where_each_primitive_may_run() -> None:
    async def scenario(web: Web) -> None:
        await web_started(web.store)
        scores = (await web.client.get("/api/v1/scores", params={"resource": "web"})).json()
        assert scores == [{"resource": "web", "assigned": "n1", "scores": [{"node": "n1", "score": "0"}]}]
        group = (await web.client.get("/api/v1/scores", params={"resource": "g"})).json()
        assert [entry["resource"] for entry in group] == ["a", "b"]
        missing = await web.client.get("/api/v1/scores", params={"resource": "nosuch"})
        assert missing.status_code == 404 and "known resources" in missing.text

    run_web(scenario)


# -- the live feed ----------------------------------------------------------------------------


async def next_event(stream: AsyncIterator[str], timeout: float = 3.0) -> tuple[str, Any]:
    """The next event of a stream (comments and the retry line skipped)."""
    while True:
        message = await asyncio.wait_for(anext(stream), timeout)
        if message.startswith("event: "):
            name, data = message.split("\n", 2)[:2]
            return name.removeprefix("event: "), json.loads(data.removeprefix("data: "))


def feed_of(web: Web, built: list[int]) -> LiveFeed:
    admin = Admin(web.store, web.controller.poke, time.time, "n1")

    async def build() -> dict[str, Any]:
        built.append(1)
        return await build_overview(admin, web.controller, web.recent)

    return LiveFeed(build, web.store, web.controller, web.recent)


def test_the_live_feed_pushes_the_overview_at_each_change_once_for_every_page() -> None:
    async def scenario(web: Web) -> None:
        built: list[int] = []
        feed = feed_of(web, built)
        first, second = feed.stream(), feed.stream()
        assert await anext(first) == "retry: 1000\n\n"
        name, overview = await next_event(first)
        assert name == "overview" and overview["status"]["revision"] == await web.store.revision()
        assert (await next_event(second))[1]["status"]["revision"] == overview["status"]["revision"]

        started = time.monotonic()
        await web.store.set_node_attribute("n1", "pingd", "100")
        _, changed = await next_event(first, timeout=1.0)
        assert time.monotonic() - started < 1.0
        assert {"name": "pingd", "value": "100", "lifetime": "reboot"} in changed["attributes"]["n1"]
        _, also = await next_event(second, timeout=1.0)
        assert also["status"]["revision"] == changed["status"]["revision"]
        assert len(built) == 2, "one document per change, whatever the number of pages"

        web.recent.add(FencingEvent("n2", "reboot", True, 0, "Operation reboot of n2: OK", time.time()))
        _, with_event = await next_event(first, timeout=1.0)
        assert with_event["events"][0]["kind"] == "fencing"

        # A transition's end is not a change of the store; it is pushed all the same.
        await web.store.put_transition_report(TransitionReport(1, time.time(), (), 0, "test", time.time(),
                                                               "complete"), term=0)
        _, with_report = await next_event(first, timeout=2.5)
        assert with_report["transitions"][0]["number"] == 1

        await feed.close()
        with pytest.raises(StopAsyncIteration):
            while True:
                await asyncio.wait_for(anext(first), 1.0)
        await second.aclose()
        assert feed.streams == 0 and feed._task is None, "no producer is left behind"

    run_web(scenario)


def test_the_live_feed_builds_nothing_while_no_page_follows_it() -> None:
    async def scenario(web: Web) -> None:
        built: list[int] = []
        feed = feed_of(web, built)
        stream = feed.stream()
        await next_event(stream)
        await stream.aclose()
        assert feed.streams == 0 and feed._task is None
        await web.store.set_node_attribute("n1", "pingd", "1")
        await asyncio.sleep(0.3)
        assert built == [1]

    run_web(scenario)


def test_the_daemon_ends_the_pages_streams_when_it_stops() -> None:
    async def scenario(web: Web) -> None:
        feed: LiveFeed = web.app.state.live_feed
        stream = feed.stream()
        await next_event(stream)
        await close_live_feed(web.app)
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(stream), 1.0)

    run_web(scenario)


# -- recent events, the kept graph --------------------------------------------------------------


def probe(rc: int, target: int = 7) -> ResourceEvent:
    return ResourceEvent("n1", "n1", "web", "monitor", 0, rc, 0, target, 5, time.time())


def test_recent_events_are_bounded_newest_first_and_expected_probes_are_not_news() -> None:
    recent = RecentEvents(limit=3)
    woken: list[int] = []
    stop = recent.follow(lambda: woken.append(recent.last_seq))
    recent.add(probe(7))  # found stopped, as expected
    assert recent.newest() == [] and woken == []
    for rc in (1, 2, 3, 4):
        recent.add(probe(rc, target=0))
    exhausted = RecoveryExhausted("n1", "n1", "web", "3", "3", "0", None, "none", "migration-threshold",
                                  time.time())
    recent.add(exhausted)
    newest = recent.newest()
    assert [event.seq for event in newest] == [5, 4, 3]
    assert newest[0].kind == "recovery-exhausted" and "recovery exhausted" in newest[0].text
    assert newest[1].fields["rc"] == 4
    assert woken == [1, 2, 3, 4, 5]
    stop()
    recent.add(probe(5, target=0))
    assert woken == [1, 2, 3, 4, 5]


def test_a_transition_report_keeps_its_graph_through_the_store_up_to_a_size() -> None:
    graph = graph_json(recovery())
    assert graph is not None and json.loads(graph)["order"] == [[0, 1], [1, 2]]
    assert graph_json(recovery(), limit=2) is None
    report = TransitionReport(1, 1.5, ("Recover web ( n1 )",), 3, "test", 2.5, "complete", graph=graph)
    assert decode_transition_report(encode_transition_report(report), "test") == report
    older = json.loads(encode_transition_report(report))
    del older["graph"]
    assert decode_transition_report(json.dumps(older), "test").graph is None


def test_the_live_feed_tells_the_pages_when_the_store_fails_and_goes_on() -> None:
    async def scenario(web: Web) -> None:
        failing = [True]

        async def build() -> dict[str, Any]:
            if failing[0]:
                raise StoreError("disk full")
            return {"status": "fine"}

        feed = LiveFeed(build, web.store, web.controller, web.recent)
        stream = feed.stream()
        assert await next_event(stream) == ("problem", {"error": "the store failed: disk full"})
        failing[0] = False
        assert await next_event(stream, timeout=2.5) == ("overview", {"status": "fine"})
        await feed.close()

    run_web(scenario)
