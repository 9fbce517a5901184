"""The web page in a real browser (Debian's chromium, headless) against a real `vigil run`.

Every check reads the page as an operator would (the words on it) while the
cluster changes underneath, without reloading it: the page follows the
daemon's live feed.  Set VIGIL_SCREENSHOT=1 to write the README's
screenshot (docs/images/web.png); a screenshot is always written to the
test's own directory and checked.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.daemon.conftest import wait_for
from tests.web.conftest import WebDaemon

expect = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing (pip install -e '.[test]', or "
    "scripts/install-test-deps.sh)").expect

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "images" / "web.png"
# Long enough for a failure to be noticed (1 s monitor), recorded and pushed; the stop then takes 2 s.
SEEN_S = 15_000


def resource_row(page: Any, rsc: str) -> Any:
    return page.locator("#resources-body tr", has=page.locator(f'button[data-key="rsc:{rsc}"]'))


def log_in(page: Any, token: str) -> None:
    page.get_by_role("button", name="Log in with the token").click()
    page.get_by_role("textbox", name="API token").fill(token)
    page.locator("#login-submit").click()
    page.wait_for_selector("#login-state.in", timeout=5_000)


def open_resource(page: Any, rsc: str) -> Any:
    page.locator(f'button[data-key="rsc:{rsc}"]').click()
    dialog = page.locator("#detail-dialog")
    dialog.wait_for(state="visible")
    return dialog


def take_screenshot(page: Any, path: Path) -> None:
    """The top of the page, down to the order graph, small enough for the README."""
    bottom = page.evaluate("document.querySelector('#graph-area').getBoundingClientRect().bottom + scrollY")
    height = min(int(bottom) + 16, 1700)
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": height})


def test_a_killed_resource_is_shown_failed_then_started_with_2_recoveries_left_and_a_cleanup_clears_it(
        page: Any, web_daemon: WebDaemon, tmp_path: Path) -> None:
    row = resource_row(page, "web")
    assert row.locator(".state").inner_text() == "Started"
    page.evaluate("window.notReloaded = true")
    pid = web_daemon.service_pid("web")
    assert pid is not None

    os.kill(pid, signal.SIGKILL)

    expect(row.locator(".state")).to_have_text("FAILED", timeout=SEEN_S)
    expect(row.locator(".state")).to_have_text("Started", timeout=SEEN_S)
    assert row.locator("td").nth(4).inner_text() == "n1: 2 recoveries left"
    failures = page.locator("#failcounts-body")
    assert "2 recoveries left" in failures.inner_text()
    assert "fail-count=1 (monitor_1000: 1) of migration-threshold=3" in failures.inner_text()
    assert "is gone" in page.locator("#failed-body").inner_text()  # the agent's exit reason
    expect(page.locator("#transitions-body")).to_contain_text("stop_final", timeout=SEEN_S)
    told = page.locator("#transitions-body details").first.inner_text()
    assert "stop_reason=failure" in told and "recoveries_left=2" in told and "start_reason=recovery" in told
    assert page.evaluate("window.notReloaded") is True, "the page was reloaded"
    take_screenshot(page, tmp_path / "web.png")
    assert (tmp_path / "web.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("VIGIL_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        take_screenshot(page, SCREENSHOT)

    log_in(page, web_daemon.token)
    dialog = open_resource(page, "web")
    dialog.get_by_role("button", name="Clean up").click()
    expect(page.locator("#detail-status")).to_contain_text("cleaned up web", timeout=SEEN_S)
    dialog.get_by_role("button", name="Close").click()

    expect(page.locator("#failcounts-body")).to_have_text("No failures.", timeout=SEEN_S)
    assert page.locator("#failed-body").inner_text() == "No failed actions."
    # Its history forgotten, it is probed again: found running, Started, with no failure.
    expect(row.locator(".state")).to_have_text("Started", timeout=SEEN_S)
    assert page.locator("#failcounts-body").inner_text() == "No failures."
    assert page.evaluate("window.notReloaded") is True


def test_without_the_token_no_action_is_enabled_and_a_change_without_it_changes_nothing(
        page: Any, web_daemon: WebDaemon) -> None:
    assert page.locator("#login-state").inner_text() == "Read-only"
    dialog = open_resource(page, "web")
    actions = dialog.locator("[data-action]")
    assert actions.count() >= 8
    for index in range(actions.count()):
        assert actions.nth(index).is_disabled(), actions.nth(index).inner_text()
    dialog.get_by_role("button", name="Close").click()
    page.locator('button[data-key="node:n1"]').click()
    node_actions = page.locator("#detail-dialog [data-action]")
    assert node_actions.count() == 4
    assert all(node_actions.nth(i).is_disabled() for i in range(4))
    page.locator("#detail-close").click()

    revision = web_daemon.snapshot().config_revision
    # From the page itself (same origin) and from outside, without the token: refused, nothing changed.
    status = page.evaluate("fetch('/api/v1/resources/web/stop', {method: 'POST'}).then(r => r.status)")
    assert status == 401
    answer = httpx.post(f"{web_daemon.api_url()}/api/v1/nodes/n1/standby", timeout=10)
    assert answer.status_code == 401
    # With the token but from another origin's page: refused too.
    foreign = httpx.post(f"{web_daemon.api_url()}/api/v1/resources/web/stop", timeout=10,
                         headers={"Authorization": f"Bearer {web_daemon.token}",
                                  "Origin": "http://evil.example"})
    assert foreign.status_code == 403, foreign.text
    assert web_daemon.snapshot().config_revision == revision
    assert web_daemon.resource("web").role == "Started"
    assert "web\t(ocf:vigil:Service):\t Started n1" in httpx.get(
        f"{web_daemon.api_url()}/api/v1/status?format=text", timeout=10).text


def test_what_if_shows_what_each_agent_would_be_told(page: Any, web_daemon: WebDaemon) -> None:
    counts = httpx.get(f"{web_daemon.api_url()}/api/v1/failcounts?resource=web", timeout=10).json()
    failures = sum(count["count"] for count in counts)
    expected_left = max(3 - (failures + 1), 0)
    revision = web_daemon.snapshot().revision

    page.locator("#what-if").scroll_into_view_if_needed()
    page.locator("#what-if-kind").select_option("monitor")
    page.locator("#what-if-resource").select_option("web")
    page.locator("#what-if-node").select_option("n1")
    page.get_by_role("button", name="Show the plan").click()

    result = page.locator("#what-if-result")
    result.locator("table").wait_for(timeout=SEEN_S)
    headers = result.locator("th").all_inner_texts()
    assert "recoveries_left" in headers and "stop_final" in headers
    stop = result.locator("tr", has=page.locator("td", has_text="web stop"))
    cells = dict(zip(headers, stop.locator("td").all_inner_texts(), strict=True))
    assert cells["stop_reason"] == "failure"
    assert cells["recoveries_left"] == str(expected_left)
    assert cells["stop_final"] == ("false" if expected_left > 0 else "true")
    assert "web's monitor fails on n1" in result.inner_text()
    assert result.locator("svg rect").count() >= 2  # the plan's order graph is drawn

    page.locator("#what-if-kind").select_option("standby")
    assert page.locator("#what-if-resource").is_hidden()
    page.get_by_role("button", name="Show the plan").click()
    expect(result).to_contain_text("put in standby", timeout=SEEN_S)
    assert "stop_reason" in result.inner_text() and "standby" in result.inner_text()
    wait_for("nothing to change in the store", lambda: web_daemon.is_settled())
    assert web_daemon.snapshot().revision == revision, "what-if changed the store"
    assert web_daemon.resource("web").role == "Started"


def test_the_page_says_when_it_lost_the_daemon_and_comes_back_by_itself(
        page: Any, web_daemon: WebDaemon) -> None:
    page.evaluate("window.notReloaded = true")
    web_daemon.stop()
    page.wait_for_selector("#connection[data-state=lost]", timeout=SEEN_S)
    assert "Connection lost" in page.locator("#connection").inner_text()
    web_daemon.start(config=False)
    page.wait_for_selector("#connection[data-state=live]", timeout=30_000)
    assert page.evaluate("window.notReloaded") is True
    # The restarted daemon probes what runs (web shows Stopped a moment), and finds web still running.
    expect(resource_row(page, "web").locator(".state")).to_have_text("Started", timeout=SEEN_S)


def test_a_granted_ticket_appears_and_goes_without_a_reload(page: Any, web_daemon: WebDaemon) -> None:
    """No ticket, no Tickets table; a grant (through the API) shows it granted, a revoke revoked, and
    removing its state takes the table away again."""
    heading = page.locator("#tickets-h")
    expect(heading).to_be_hidden()
    auth = {"Authorization": f"Bearer {web_daemon.token}"}

    def ticket(action: str) -> None:
        method = "DELETE" if action == "cleanup" else "POST"
        path = "/api/v1/tickets/siteB" + ("" if action == "cleanup" else f"/{action}")
        answer = httpx.request(method, f"{web_daemon.api_url()}{path}", headers=auth, timeout=10)
        assert answer.status_code == 200, answer.text

    try:
        ticket("grant")
        row = page.locator("#tickets-body tr", has_text="siteB")
        expect(row).to_contain_text("granted", timeout=SEEN_S)
        expect(heading).to_be_visible()
        ticket("revoke")
        expect(row).to_contain_text("revoked", timeout=SEEN_S)
    finally:
        ticket("revoke")
        ticket("cleanup")
    expect(heading).to_be_hidden(timeout=SEEN_S)
    expect(page.locator("#tickets-body tr")).to_have_count(0)
