"""No result that happened is ever lost or counted twice; no command is missed (issue 14, defects 1, 2, 5).

In-process and in fake time (``scripted.py``): a memory store whose fault
hook fails writes as a full disk or a lost server would, scripted agents,
a fake clock.  Each test takes milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.controller.scripted import NODE, Events, scripted_controller
from vigil.admin import edits
from vigil.admin.commands import Admin, edit_config
from vigil.events.model import Event, ResourceEvent
from vigil.executor.request import ActionRequest
from vigil.executor.results import ActionResult
from vigil.model.results import OcfRc
from vigil.store.base import Snapshot, StoreError
from vigil.store.memory import MemoryStore
from vigil.testing import ScriptedExecutor

DUMMY = "ocf:heartbeat:Dummy"

ONE = f"""
options:
  stonith-enabled: false
resources:
  - id: web
    agent: {DUMMY}
    meta: {{migration-threshold: 3}}
    ops:
      - {{name: monitor, interval: 10s, timeout: 20s}}
"""

GROUP = f"""
options:
  stonith-enabled: false
resources:
  - group: g
    members:
      - id: a
        agent: {DUMMY}
      - id: b
        agent: {DUMMY}
"""


class Outage:
    """A fault hook: every record_operation fails (before committing) while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.refused = 0

    def __call__(self, step: str) -> None:
        if self.on and step == "record_operation:recorded":
            self.refused += 1
            raise StoreError("database or disk is full")


class EventsThatFailOnce(Events):
    """An event sink that raises on the first event of a failed recurring monitor (after it was stored)."""

    def __init__(self) -> None:
        super().__init__()
        self.raised = False

    def emit(self, event: Event) -> None:
        super().emit(event)
        if (not self.raised and isinstance(event, ResourceEvent) and event.interval_ms > 0
                and event.rc == OcfRc.NOT_RUNNING):
            self.raised = True
            raise RuntimeError("the alert dispatcher broke")


def test_a_monitor_failure_whose_report_raises_after_it_was_stored_counts_once() -> None:
    """Defect 1, the part left open: a report that raised something other than StoreError after
    the result was stored (here: the event sink) was reported again under a new call id, so the
    failure counted twice.  The controller is busy with a slow start meanwhile, so nothing cancels
    the monitor before it reports again."""
    async def scenario() -> None:
        events = EventsThatFailOnce()
        config = ONE + f"""  - id: slow
    agent: {DUMMY}
    meta: {{target-role: Stopped}}
"""
        async with scripted_controller(config, events=events) as cluster:
            admin = Admin(store=cluster.store, poke=cluster.controller.poke, clock=cluster.clock, node=NODE)
            cluster.executor.script("slow", "start", duration_s=10)
            cluster.executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
            await cluster.advance(5)
            await edit_config(admin, lambda c: edits.set_resource_meta(c, "slow", "target-role", "Started"),
                              "resource enable slow")
            await cluster.until("slow starting", lambda: len(cluster.ran("slow", "start")) == 1)
            for _ in range(8):  # the monitor fails at 10 s, its report raises, it reports again
                await cluster.advance(1)
            assert events.raised
            await cluster.advance(5)
            await cluster.until("web recovered", lambda: len(cluster.ran("web", "start")) == 2)
            await cluster.settle()
            assert await cluster.failcount("web") == 1
            failed = ("monitor", 10_000, OcfRc.NOT_RUNNING)
            assert [r for r in await cluster.records("web") if r == failed] == [failed]

    asyncio.run(scenario())


def test_a_monitor_failure_is_recorded_after_the_store_raised_something_unexpected() -> None:
    """Defect 1 (already fixed in monitors.py; kept covered): a report that raises a non-StoreError
    before anything was stored is tried again until the failure is recorded, once."""
    async def scenario() -> None:
        store = MemoryStore()
        failures = {"left": 3}

        def broken(step: str) -> None:
            if step == "record_operation:recorded" and failures["left"] > 0:
                failures["left"] -= 1
                raise RuntimeError("a bug in the store")

        async with scripted_controller(ONE, store=store) as cluster:
            store.fault_hook = broken
            cluster.executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
            await cluster.advance(10)
            for _ in range(5):
                await cluster.advance(1)
            await cluster.until("web recovered", lambda: len(cluster.ran("web", "start")) == 2)
            await cluster.settle()
            assert failures["left"] == 0
            assert await cluster.failcount("web") == 1

    asyncio.run(scenario())


class StartTriggers(ScriptedExecutor):
    """Runs ``on_start`` when the start of ``resource`` runs (the store fails from then on)."""

    def __init__(self, resource: str, on_start: Callable[[], None]) -> None:
        super().__init__()
        self.resource = resource
        self.on_start = on_start

    async def run(self, request: ActionRequest) -> ActionResult:
        if request.resource_id == self.resource and request.action == "start":
            self.on_start()
        return await super().run(request)


def test_a_result_the_store_refuses_is_kept_and_the_node_stops_acting_until_it_is_stored() -> None:
    """Defect 2: the start of ``a`` happened while the store refused; it used to be dropped (the
    handler returned failure), so ``a`` was started a second time.  Now: kept and retried, and
    nothing else starts (not ``b``, next in the group) until it is stored."""
    async def scenario() -> None:
        store = MemoryStore()
        outage = Outage()
        store.fault_hook = outage

        def fail_from_now() -> None:
            outage.on = True

        executor = StartTriggers("a", fail_from_now)
        async with scripted_controller(GROUP, store=store, executor=executor, settle=False,
                                       record_retry_s=2) as cluster:
            await cluster.until("a started", lambda: len(cluster.ran("a", "start")) == 1)
            # Long past record_retry_s: the node has stopped acting, and keeps trying.
            for _ in range(30):
                await cluster.advance(1)
            # Nothing acted on the lost knowledge: a not started again, b not started.
            assert len(cluster.ran("a", "start")) == 1
            assert cluster.ran("b", "start") == []
            assert cluster.controller.recorder.unstored
            assert cluster.controller.stats.store_failing_since is not None
            refused = outage.refused
            await cluster.advance(10)
            assert outage.refused > refused  # still trying
            outage.on = False
            await cluster.advance(10)
            await cluster.settle()
            assert not cluster.controller.recorder.unstored
            # The start that happened is recorded, once; a was never started again; b then started.
            assert len(cluster.ran("a", "start")) == 1
            assert [r for r in await cluster.records("a") if r[0] == "start"] == [("start", 0, 0)]
            assert len(cluster.ran("b", "start")) == 1
            assert cluster.controller.stats.store_failing_since is None

    asyncio.run(scenario())


class PokedDuringSnapshot(MemoryStore):
    """A memory store that runs ``during`` (once) after reading a snapshot and before returning it."""

    during: Callable[[], Awaitable[None]] | None = None

    async def snapshot(self) -> Snapshot:
        snapshot = await super().snapshot()
        during, self.during = self.during, None
        if during is not None:
            await during()
        return snapshot


def test_a_command_that_arrives_while_the_snapshot_is_read_aborts_the_stale_plan() -> None:
    """Defect 5: the controller cleared the wake flag after planning, so a command that arrived
    while it read its snapshot was lost, and the stale transition ran to its end (here: ``b`` was
    started although the command had just disabled it)."""
    async def scenario() -> None:
        store = PokedDuringSnapshot()
        config = GROUP.replace("      - id: b\n", "      - id: b\n        meta: {target-role: Stopped}\n")
        config = config.replace("      - id: a\n", "      - id: a\n        meta: {target-role: Stopped}\n")
        async with scripted_controller(config, store=store) as cluster:
            admin = Admin(store=store, poke=cluster.controller.poke, clock=cluster.clock, node=NODE)

            async def disable_b() -> None:
                await edit_config(admin, lambda c: edits.set_resource_meta(c, "b", "target-role", "Stopped"),
                                  "resource disable b")

            # Enable both; the controller's next snapshot sees both enabled, and while it reads it
            # a second command disables b again.
            await edit_config(admin, lambda c: edits.set_resource_meta(
                edits.set_resource_meta(c, "a", "target-role", "Started"), "b", "target-role", "Started"),
                "resource enable a b")
            store.during = disable_b
            await cluster.until("the snapshot was read", lambda: store.during is None)
            await cluster.until("a started", lambda: len(cluster.ran("a", "start")) == 1)
            await cluster.settle()
            assert cluster.ran("b", "start") == []
            assert len(cluster.ran("a", "start")) == 1

    asyncio.run(scenario())
