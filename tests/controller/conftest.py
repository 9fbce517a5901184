"""The controller in-process: a memory store, the real executor and agents, no daemon.

The controller takes its store, executor and clock as arguments, so these
tests build one, let it run on the test's event loop, and read the store it
writes.  Agents are real (vigil's bundled ``ocf:vigil:*`` and small scripts a
test writes); nothing is started as a separate vigil process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from vigil.admin.intake import install, parse_config, with_node
from vigil.controller.loop import Controller
from vigil.controller.recording import RECORD_RETRY_S
from vigil.executor.executor import Executor
from vigil.fencing.agent import FenceAgents
from vigil.fencing.device import StonithClass
from vigil.fencing.fencer import Fencer
from vigil.store.base import Store
from vigil.store.memory import MemoryStore

NODE = "node1"


async def eventually(what: str, condition: Callable[[], object], timeout: float) -> float:
    """Poll ``condition`` on the event loop until it holds; the seconds it took."""
    started = time.monotonic()
    while not await _holds(condition):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _holds(condition: Callable[[], object]) -> bool:
    value = condition()
    if asyncio.iscoroutine(value):
        value = await value
    return bool(value)


@contextlib.asynccontextmanager
async def running_controller(yaml_config: str, *, ocf_root: Path | None = None,
                             store: Store | None = None,
                             record_retry_s: float = RECORD_RETRY_S) -> AsyncIterator[Controller]:
    """A controller for ``NODE`` running ``yaml_config``; stopped (resources too) on exit."""
    config, _warnings = parse_config(yaml_config.encode(), "test.yaml")
    store = store or MemoryStore()
    await install(store, with_node(config, NODE))
    executor = Executor(ocf_root_dir=ocf_root) if ocf_root is not None else Executor()
    # Fence devices and fencing as `vigil run` wires them.
    fence_agents = FenceAgents(executor.spawner)
    executor.classes["stonith"] = StonithClass(fence_agents)
    controller = Controller(store, executor, NODE, fencer=Fencer(fence_agents), record_retry_s=record_retry_s)
    task = asyncio.create_task(controller.run())
    try:
        yield controller
    finally:
        await controller.stop(leave_running=False)
        try:
            await asyncio.wait_for(task, timeout=30)
        finally:
            await executor.close()
