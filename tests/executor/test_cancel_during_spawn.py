"""A cancellation that lands while the agent's process is still being set up ends its whole tree.

Seen in CI under load: the cancellation of a hanging agent's action arrived
inside asyncio's subprocess set-up; asyncio then killed the leader alone and
waited for the pipes the leader's children held, so the action hung as long
as the children (600 s here) and they were left running.  Here the set-up is
made slow on purpose (the real process is already running when the wrapper
pauses), the action is cancelled in that pause, and every process of the
agent's tree must be gone when the cancellation reaches the caller.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from vigil.executor import Executor

from .conftest import is_alive, kill_if_alive, run
from .test_hostile import request, wait_for_pids


def test_a_cancellation_during_the_spawn_ends_the_agents_whole_tree(executor: Executor,
                                                                   tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        real_exec = loop.subprocess_exec
        spawned = asyncio.Event()

        async def slow_exec(*args: Any, **kwargs: Any) -> Any:
            result = await real_exec(*args, **kwargs)
            spawned.set()
            await asyncio.sleep(2)  # still "setting up" when the cancellation comes
            return result

        loop.subprocess_exec = slow_exec  # type: ignore[method-assign]
        try:
            task = asyncio.create_task(executor.run(request("hang", pidfile=str(pidfile))))
            await spawned.wait()
            await wait_for_pids(pidfile, 3)
            task.cancel()
            try:
                await asyncio.wait_for(task, timeout=30)
            except asyncio.CancelledError:
                return
            raise AssertionError("the cancellation did not reach the caller")
        finally:
            loop.subprocess_exec = real_exec  # type: ignore[method-assign]

    try:
        run(scenario())
        pids = [int(p) for p in pidfile.read_text().split()]
        assert len(pids) == 3
        assert [pid for pid in pids if is_alive(pid)] == [], "the agent's tree was left running"
    finally:
        if pidfile.exists():
            kill_if_alive([int(p) for p in pidfile.read_text().split()])
