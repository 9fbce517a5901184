"""Run a transition's graph: each action once all the actions before it are done.

One runner, pluggable handlers (STYLE.md): the runner knows only the order
between actions, the limit on how many run at once, and when to give up;
what an action *does* is the handler's business (run an agent, clear a
fail-count, cancel a monitor).  Pseudo-actions run nothing and complete at
once, so they only carry order.

As in Pacemaker, a transition is aborted when an action does not do what
was expected or when something else changed meanwhile: actions in flight
finish, nothing new starts, and the controller plans again from what
actually happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from vigil.model.transition import Action, Transition

log = logging.getLogger(__name__)

# Runs one (non-pseudo) action; True when it did what the transition needed.
Handler = Callable[[Action], Coroutine[Any, Any, bool]]


@dataclass
class GraphResult:
    """What became of a transition's actions."""

    completed: list[Action] = field(default_factory=list)
    failed: list[Action] = field(default_factory=list)
    not_started: list[Action] = field(default_factory=list)
    aborted: bool = False
    # Why it was aborted, for the log: the first failure or the outside change.
    abort_reason: str = ""

    @property
    def is_complete(self) -> bool:
        return not self.aborted and not self.failed and not self.not_started


async def run_graph(
    transition: Transition, handler: Handler, *, limit: int, abort: asyncio.Event | None = None
) -> GraphResult:
    """Run every action of ``transition`` in order, at most ``limit`` at a time.

    ``abort``, when set from outside (a command, a monitor's failure), stops
    new actions from starting; the ones running are waited for.
    """
    actions = transition.actions
    waiting_on = {action.index: 0 for action in actions}
    after: dict[int, list[int]] = {action.index: [] for action in actions}
    for before, then in transition.order:
        if before in waiting_on and then in waiting_on:
            waiting_on[then] += 1
            after[before].append(then)
    ready = sorted(index for index, count in waiting_on.items() if count == 0)
    by_index = {action.index: action for action in actions}
    result = GraphResult()
    running: dict[asyncio.Task[bool], Action] = {}
    abort_event = abort if abort is not None else asyncio.Event()
    started: set[int] = set()

    def finish(index: int) -> None:
        for then in after[index]:
            waiting_on[then] -= 1
            if waiting_on[then] == 0:
                ready.append(then)
        ready.sort()

    try:
        while True:
            stopping = result.aborted or abort_event.is_set()
            if abort_event.is_set() and not result.aborted:
                result.aborted = True
                result.abort_reason = result.abort_reason or "a change arrived while it ran"
            while ready and not stopping:
                action = by_index[ready[0]]
                if action.pseudo:
                    ready.pop(0)
                    started.add(action.index)
                    result.completed.append(action)
                    finish(action.index)
                    continue
                if len(running) >= max(1, limit):
                    break
                ready.pop(0)
                started.add(action.index)
                running[asyncio.create_task(handler(action), name=f"action {action.key}")] = action
            if not running:
                break
            abort_waiter = asyncio.create_task(abort_event.wait())
            done, _ = await asyncio.wait({*running, abort_waiter}, return_when=asyncio.FIRST_COMPLETED)
            abort_waiter.cancel()
            for task in done:
                if task is abort_waiter:
                    continue
                action = running.pop(task)
                try:
                    succeeded = task.result()
                except Exception:  # a handler bug must not take the controller down
                    log.exception("running %s on %s failed", action.key, action.node)
                    succeeded = False
                if succeeded:
                    result.completed.append(action)
                    finish(action.index)
                else:
                    result.failed.append(action)
                    if not result.aborted:
                        result.aborted = True
                        result.abort_reason = f"{action.key} on {action.node} did not succeed"
    finally:
        for task in running:
            task.cancel()
    result.not_started = [action for action in actions if action.index not in started]
    return result
