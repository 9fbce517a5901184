"""Transition reports published to the store: never in the controller's way, never a reason to plan.

:func:`~vigil.controller.reports.publish_report` is what the controller calls
when a transition starts and when it ends.  A store that fails or hangs costs
the report, not the transition; a lost term is the controller's business and
passes through.  And a controller that writes a report after every transition
still settles: the report wakes nothing, so an idle cycle plans once and waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.store.conftest import etcd_server, etcd_url  # noqa: F401 (etcd_server: the fixture, for etcd)
from vigil.admin.intake import install, parse_config
from vigil.controller.graph import GraphResult
from vigil.controller.loop import KEPT_TRANSITIONS, Controller
from vigil.controller.reports import last_report_number, publish_report
from vigil.controller.settings import ControllerOptions
from vigil.executor.process import Spawner
from vigil.fencing.agent import FenceAgents
from vigil.fencing.fencer import Fencer
from vigil.model.activity import TransitionReport
from vigil.model.transition import Transition
from vigil.store import Guard, GuardLost, MemoryStore, Store, StoreError, open_store, sqlite_url
from vigil.store.base import Snapshot
from vigil.testing import FakeClock, ScriptedExecutor

CONFIG = """
options:
  stonith-enabled: false
nodes:
  - name: node1
resources:
  - id: web
    agent: ocf:heartbeat:Dummy
  - id: db
    agent: ocf:heartbeat:Dummy
"""


def report(number: int = 1) -> TransitionReport:
    return TransitionReport(number, 1_700_000_000.0, ("Start web ( node1 )",), 1, "start-up")


class Refusing(MemoryStore):
    """A store whose report writes fail as given."""

    def __init__(self, put: Callable[[], Awaitable[None]]) -> None:
        super().__init__()
        self._put = put

    async def put_transition_report(self, report: TransitionReport, *, term: int,
                                    guard: Guard | None = None) -> None:
        await self._put()


def test_a_report_the_store_refuses_is_logged_and_the_controller_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    async def refuse() -> None:
        raise StoreError("disk full")

    async def main() -> None:
        store = Refusing(refuse)
        with caplog.at_level(logging.WARNING, logger="vigil.controller.reports"):
            await publish_report(store, report(3), None)
        assert "transition 3: its report could not be stored (disk full)" in caplog.text
        await store.close()

    asyncio.run(main())


def test_a_store_that_hangs_costs_the_report_not_the_transition(caplog: pytest.LogCaptureFixture) -> None:
    async def hang() -> None:
        await asyncio.sleep(60)

    async def main() -> None:
        store = Refusing(hang)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with caplog.at_level(logging.WARNING, logger="vigil.controller.reports"):
            await publish_report(store, report(4), None, timeout=0.2)
        assert loop.time() - started < 2
        assert "transition 4: storing its report took more than" in caplog.text
        await store.close()

    asyncio.run(main())


def test_a_lost_term_passes_through_and_a_held_one_stores_the_report() -> None:
    async def main() -> None:
        async with MemoryStore() as store:
            lease = await store.grant_lease(10)
            term = await store.campaign("node1", lease, timeout=5)
            assert term is not None
            await publish_report(store, report(1), term)
            assert await store.transition_reports() == [report(1)]
            await lease.revoke()
            with pytest.raises(GuardLost):
                await publish_report(store, report(2), term)
            # A single node: term 0, no guard.
            await publish_report(store, report(9), None)
            assert [r.number for r in await store.transition_reports()] == [9, 1]

    asyncio.run(main())


def test_a_restarted_single_node_controller_numbers_on_from_the_stored_reports(tmp_path: Path) -> None:
    """Every run of a single node writes under term 0: counting from 1 again would overwrite the
    previous run's report 1 and sort the new one before its report 2."""
    url = sqlite_url(tmp_path / "vigil.db")

    async def main() -> None:
        async with open_store(url) as store:
            assert await last_report_number(store) == 0
            for number in (1, 2, 3):
                await publish_report(store, report(number), None)
        async with open_store(url) as restarted:
            following = await last_report_number(restarted) + 1
            assert following == 4
            await publish_report(restarted, report(following), None)
            assert [r.number for r in await restarted.transition_reports()] == [1, 2, 3, 4]

    asyncio.run(main())


def test_a_store_that_cannot_tell_numbers_from_1(caplog: pytest.LogCaptureFixture) -> None:
    class Unreadable(MemoryStore):
        async def transition_reports(self, limit: int = 20) -> list[TransitionReport]:
            raise StoreError("etcd unreachable")

    async def main() -> None:
        async with Unreadable() as store:
            with caplog.at_level(logging.WARNING, logger="vigil.controller.reports"):
                assert await last_report_number(store) == 0
        assert "cannot read the stored transition reports (etcd unreachable)" in caplog.text

    asyncio.run(main())


# -- a controller that publishes its reports (as loop.py is to) settles -----------------------------


class _Publishing(deque[TransitionReport]):
    """The controller's report list, publishing each new report as the transition starts."""

    def __init__(self, store: Store, tasks: list[asyncio.Future[None]]) -> None:
        super().__init__(maxlen=KEPT_TRANSITIONS)
        self.store = store
        self.tasks = tasks

    def append(self, item: TransitionReport) -> None:
        super().append(item)
        self.tasks.append(asyncio.ensure_future(publish_report(self.store, item, None)))


class ReportingController(Controller):
    """:class:`Controller` with the two report writes the loop is to make: at the start of each
    transition and once it has ended."""

    def __init__(self, store: Store, executor: ScriptedExecutor, clock: FakeClock) -> None:
        super().__init__(store, executor, "node1", fencer=Fencer(FenceAgents(Spawner())), clock=clock)
        self.publishing: list[asyncio.Future[None]] = []
        self.transitions = _Publishing(store, self.publishing)

    async def _execute(self, transition: Transition, snapshot: Snapshot,
                       options: ControllerOptions) -> GraphResult:
        result = await super()._execute(transition, snapshot, options)
        await asyncio.gather(*self.publishing)
        await publish_report(self.store, self.transitions[-1], None)
        return result

    def plans(self) -> int:
        return sum(self.stats.plans.values())


async def _until(what: str, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Until ``condition`` holds, at most ``timeout_s`` of real time (a store on another thread,
    etcd's included, takes real time; a loaded machine takes longer)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: never happened")
        await asyncio.sleep(0.005)


@pytest.mark.parametrize("backend", ["memory", "sqlite", "etcd"])
def test_a_controller_that_publishes_its_reports_settles_and_idles(backend: str, tmp_path: Path,
                                                                   request: pytest.FixtureRequest) -> None:
    """On etcd a report moves the revision (not d/head): the next snapshot is taken after it, so the
    wait that follows starts from it and nothing wakes it."""
    if backend == "etcd":
        url = etcd_url(request.getfixturevalue("etcd_server"))
    else:
        url = "memory://" if backend == "memory" else sqlite_url(tmp_path / "vigil.db")

    async def main() -> None:
        store = open_store(url)
        config, _ = parse_config(CONFIG.encode(), "test.yaml")
        await install(store, config)
        clock = FakeClock()
        controller = ReportingController(store, ScriptedExecutor(clock), clock)
        task = asyncio.create_task(controller.run())
        try:
            await _until("the controller to settle", controller.settled.is_set)
            await asyncio.sleep(0.6)  # real time: SQLite's watcher polls the file meanwhile
            plans, revision = controller.plans(), await store.revision()
            stored = await store.transition_reports()
            assert stored == list(controller.transitions) and stored
            assert all(r.outcome == "complete" for r in stored)
            # Idle: no plan, no write, however long the loop runs.
            for _ in range(2_000):
                await asyncio.sleep(0)
            await asyncio.sleep(0.6)
            assert (controller.plans(), await store.revision()) == (plans, revision)
            # A command makes one more transition, whose report is stored, and it settles again.
            text = CONFIG.replace("  - id: db\n", "  - id: db\n    meta: {target-role: Stopped}\n")
            stopped, _ = parse_config(text.encode(), "test.yaml")
            assert stopped != config
            await install(store, stopped)
            controller.poke("db stopped")
            # (One more transition, or two when the configuration's change aborts the first.)
            await _until("the next transition", lambda: len(controller.transitions) > len(stored)
                         and controller.transitions[-1].outcome == "complete")
            await asyncio.sleep(0.6)
            settled_at = controller.plans(), await store.revision()
            await asyncio.sleep(0.6)
            assert (controller.plans(), await store.revision()) == settled_at
            assert await store.transition_reports() == list(controller.transitions)
            assert controller.transitions[-1].summary == ("Stop db ( node1 ) due to node availability",)
        finally:
            await controller.stop(leave_running=True)
            await asyncio.wait_for(task, timeout=10)
            await store.close()

    asyncio.run(main())
