"""The controller in-process and in fake time: a memory store, a scripted executor, a fake clock.

``scripted_controller`` runs the real :class:`~vigil.controller.loop.Controller`
(its graph runner, recorder, recurring monitors and timers) on the test's
event loop with agents that answer at once from a script
(:class:`vigil.testing.ScriptedExecutor`) and time that moves only when the
test says (:class:`vigil.testing.FakeClock`), so a test of ten recurring
monitor intervals or a failure-timeout of an hour runs in milliseconds and
never sleeps.  ``settle`` lets every task run until nothing can without time
passing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from vigil.admin.intake import install, parse_config, with_node
from vigil.controller.loop import Controller
from vigil.events.model import Event
from vigil.executor.process import Spawner
from vigil.fencing.agent import FenceAgents
from vigil.fencing.fencer import Fencer
from vigil.model.status import NodeState
from vigil.store.memory import MemoryStore
from vigil.testing import FakeClock, ScriptedExecutor

NODE = "node1"
# How many turns of the event loop a condition may take to hold: far more than any
# cycle needs, so running out means the controller is waiting (for time, a change).
_TURNS = 20_000


@dataclass
class Events:
    """An event sink that keeps every event, in order."""

    seen: list[Event] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.seen.append(event)

    def of(self, kind: type[Event]) -> list[Event]:
        return [event for event in self.seen if isinstance(event, kind)]


@dataclass
class Scripted:
    """A controller for ``NODE`` with what drives it."""

    controller: Controller
    store: MemoryStore
    executor: ScriptedExecutor
    clock: FakeClock
    events: Events

    async def until(self, what: str, condition: Callable[[], object]) -> None:
        """Let the loop run until ``condition`` holds (it may be a coroutine function); no time passes."""
        for _ in range(_TURNS):
            value = condition()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"{what}: never happened without time passing")

    async def settle(self) -> None:
        """Let the controller plan and run until it waits for time or a change."""
        await self.until("the cluster to settle", lambda: self.controller.settled.is_set())
        await self.clock.run_ready()

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass, firing every timer due on the way."""
        await self.clock.advance(seconds)

    async def node(self) -> NodeState:
        state = (await self.store.snapshot()).cluster.status.node(NODE)
        assert state is not None
        return state

    async def attribute(self, name: str) -> str | None:
        return (await self.node()).attribute(name)

    async def failcount(self, resource: str) -> int:
        total = 0
        for name, value in (await self.node()).attributes:
            if name.startswith(f"fail-count-{resource}#"):
                total += 1_000_000 if value == "INFINITY" else int(value)
        return total

    async def records(self, resource: str) -> list[tuple[str, int, int]]:
        """(operation, interval_ms, rc) of every result recorded for ``resource``, in order."""
        entries = await self.store.operation_log(resource, NODE, limit=10_000)
        return [(e.record.operation, e.record.interval_ms, e.record.rc) for e in entries]

    def ran(self, resource: str | None = None, action: str | None = None,
            interval_ms: int | None = None) -> list[tuple[str, str, dict[str, str]]]:
        """(resource, action, meta) of every action the executor was given, in order."""
        return [(r.resource_id, r.action, dict(r.meta))
                for r in self.executor.ran(resource, action, interval_ms)]


@contextlib.asynccontextmanager
async def scripted_controller(yaml_config: str, *, executor: ScriptedExecutor | None = None,
                              settle: bool = True, store: MemoryStore | None = None,
                              events: Events | None = None,
                              record_retry_s: float | None = None) -> AsyncIterator[Scripted]:
    """A controller running ``yaml_config`` in fake time; stopped (resources too) on exit.

    ``store``: a memory store of the test's (one with a hook, say); ``record_retry_s``: how long
    a result is retried before the node stops acting (the controller's default otherwise).
    """
    config, _warnings = parse_config(yaml_config.encode(), "test.yaml")
    store = store if store is not None else MemoryStore()
    await install(store, with_node(config, NODE))
    clock = FakeClock()
    executor = executor or ScriptedExecutor(clock)
    executor.clock = executor.clock or clock
    events = events if events is not None else Events()
    controller = Controller(store, executor, NODE, fencer=Fencer(FenceAgents(Spawner())), clock=clock,
                            events=events,
                            **({"record_retry_s": record_retry_s} if record_retry_s is not None else {}))
    task = asyncio.create_task(controller.run())
    scripted = Scripted(controller, store, executor, clock, events)
    try:
        if settle:
            await scripted.settle()
        yield scripted
    finally:
        await controller.stop()
        for _ in range(100):
            if task.done():
                break
            # Stops that take time (scripted durations) end as the clock passes them.
            await clock.advance(60)
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.done() and not task.cancelled() and task.exception() is None, "the controller did not end"
