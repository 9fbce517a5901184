"""Fixtures for the web page's tests: a real `vigil run`, and Debian's chromium driven by Playwright.

The browser is the system's (``/usr/bin/chromium``, Debian's package, which
scripts/install-test-deps.sh installs), launched by Playwright with
``executable_path``: nothing is downloaded.  Without chromium or the
``playwright`` package the browser tests are skipped, saying which is
missing; the in-process tests of the API's web routes run regardless.

The daemon runs ``ocf:vigil:Service`` resources (a real process each, its
pid file in the test's own directory), fencing off, one node.  ``web``'s
command leaves a process in its group that ignores SIGTERM, so that a stop
after ``web``'s main process was killed waits ``stop_grace`` (2 s) before
SIGKILL: the page has a moment in which ``web`` is FAILED, as an operator
would see a resource whose stop takes a while.
"""

from __future__ import annotations

import contextlib
import html
import os
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import Daemon, cib, wait_for
from vigil.store import Snapshot

CHROMIUM = Path(os.environ.get("VIGIL_CHROMIUM", "/usr/bin/chromium"))
# A child that ignores SIGTERM, and the watched main loop.
STUBBORN = "sh -c 'trap \"\" TERM; while :; do sleep 1; done' & while :; do sleep 1; done"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here; None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[test]', or scripts/install-test-deps.sh)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (Debian's chromium: scripts/install-test-deps.sh installs it)"
    return None


def service(rsc: str, state_dir: Path, *, command: str | None = None, threshold: int | None = None,
            stop_grace: int = 2) -> str:
    """An ``ocf:vigil:Service`` primitive with a 1 s monitor, its pid file in ``state_dir``."""
    params = {"state_dir": str(state_dir), "stop_grace": str(stop_grace)}
    if command is not None:
        params["command"] = command
    nvpairs = "".join(f'<nvpair id="{rsc}-p-{k}" name="{k}" value="{html.escape(v, quote=True)}"/>'
                      for k, v in params.items())
    meta = (f'<nvpair id="{rsc}-m-mt" name="migration-threshold" value="{threshold}"/>'
            if threshold is not None else "")
    return f"""      <primitive id="{rsc}" class="ocf" provider="vigil" type="Service">
        <instance_attributes id="{rsc}-params">{nvpairs}</instance_attributes>
        <meta_attributes id="{rsc}-meta">{meta}</meta_attributes>
        <operations>
          <op id="{rsc}-monitor" name="monitor" interval="1s" timeout="10s"/>
        </operations>
      </primitive>"""


def page_cluster(agents: Path) -> str:
    """``web`` (migration-threshold 3) and a group ``backend`` of ``db`` then ``cache``."""
    resources = "\n".join([
        service("web", agents, command=STUBBORN, threshold=3),
        '      <group id="backend">',
        service("db", agents),
        service("cache", agents),
        "      </group>",
    ])
    return cib(resources)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebDaemon(Daemon):
    """The daemon of the page tests, with what they need to know of it.

    It listens on the same port each time it starts, as a daemon restarted by
    systemd does, so that an open page can find it again.
    """

    port = 0

    def command(self, *args: str, leave_running: bool = False) -> list[str]:
        if not self.port:
            self.port = free_port()
        argv = super().command(*args, leave_running=leave_running)
        return [f"127.0.0.1:{self.port}" if arg == "127.0.0.1:0" else arg for arg in argv]

    @property
    def agents(self) -> Path:
        return self.workdir / "agents"

    @property
    def token(self) -> str:
        return (self.state_dir / "token").read_text().strip()

    def snapshot(self) -> Snapshot:
        """As the base class reads it, in a thread of its own: Playwright's sync API runs an event
        loop in this one, and the base class's ``asyncio.run`` cannot start inside it."""
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(super().snapshot).result()

    def service_pid(self, rsc: str) -> int | None:
        try:
            return int((self.agents / f"{rsc}.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


@pytest.fixture(scope="module")
def web_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDaemon]:
    workdir = tmp_path_factory.mktemp("web")
    ocf_root = workdir / "ocf"
    (ocf_root / "resource.d").mkdir(parents=True)
    running = WebDaemon(workdir, ocf_root)
    running.agents.mkdir()
    running.write_config(page_cluster(running.agents))
    running.start()
    try:
        wait_for("web, db and cache to run", lambda: all(
            running.resource(rsc).role == "Started" for rsc in ("web", "db", "cache")), timeout=30)
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                running.stop(timeout=60)
            if running.process is not None:
                running.kill9()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = browser_missing()
    if missing is not None:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, web_daemon: WebDaemon) -> Iterator[Any]:
    """A fresh tab (its own sessionStorage: logged out) on the daemon's page, once it is live."""
    wait_for("the cluster to settle", web_daemon.is_settled)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(web_daemon.api_url() + "/")
    opened.wait_for_selector("#connection[data-state=live]", timeout=15_000)
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"the page's script failed: {errors}"
