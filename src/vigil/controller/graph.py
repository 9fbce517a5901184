"""Run a transition's graph: each action once all the actions before it are done.

One runner, a table of handlers (STYLE.md; Pacemaker's graph functions
table): the runner knows only the order between actions, the limit on how
many run at once, and when to give up; what an action *does* is its
handler's business.  The table has one handler per kind of action: an
agent action (start, stop, monitor ...), fencing (``stonith``), a cluster
operation that only changes records (``clear_failcount``), and a pseudo
action, which runs nothing and completes at once, so it only carries order.
The daemon's controller and ``vigil simulate --steps`` plug in their own
tables (see :mod:`vigil.controller.actions` and :mod:`vigil.simulator.steps`).

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

from vigil.model.transition import Action, OrderGraph, Transition

log = logging.getLogger(__name__)

# Runs one (non-pseudo) action; True when it did what the transition needed.
Handler = Callable[[Action], Coroutine[Any, Any, bool]]

FENCING = "stonith"
# Actions that change the cluster's records and run no agent.
CLUSTER_OPERATIONS = frozenset({"clear_failcount"})


def _nothing(action: Action) -> None:
    """A pseudo action runs nothing."""


@dataclass(frozen=True)
class Handlers:
    """What runs each kind of action: the table a graph runner is given."""

    agent: Handler
    fencing: Handler
    cluster: Handler
    # Told of each pseudo action as it completes (it cannot fail).
    pseudo: Callable[[Action], None] = _nothing

    def for_action(self, action: Action) -> Handler:
        """The handler of a (non-pseudo) action."""
        if action.task == FENCING:
            return self.fencing
        if action.task in CLUSTER_OPERATIONS:
            return self.cluster
        return self.agent

    def each(self, wrap: Callable[[Handler], Handler]) -> Handlers:
        """The same table with every runnable handler wrapped (a guard shared by all)."""
        return Handlers(wrap(self.agent), wrap(self.fencing), wrap(self.cluster), self.pseudo)


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


def surviving_abort(transition: Transition) -> frozenset[int]:
    """The actions that still run, once ready, in a transition that was aborted.

    As in Pacemaker, whose post-notifications (and the pseudo-actions leading to them) have
    priority INFINITY: an instance that was promoted, started or stopped before the abort has its
    peers told so, or a replicated service (redis, galera) never learns its new primary, since
    the agent's own write during a promote (``crm_attribute``) is a change that aborts.  So: the
    post-notifications and their pseudo-actions, and the pseudo-action that each waits for
    (the clone's running, stopped, promoted or demoted)."""
    post = {action.index for action in transition.actions if dict(action.meta).get("notify_type") == "post"}
    pseudo = {action.index for action in transition.actions if action.pseudo}
    feeding = {before for before, after in transition.order if after in post and before in pseudo}
    return frozenset(post | feeding)


async def run_graph(
    transition: Transition, handlers: Handlers, *, limit: int, abort: asyncio.Event | None = None
) -> GraphResult:
    """Run every action of ``transition`` in order, at most ``limit`` at a time.

    ``abort``, when set from outside (a command, a monitor's failure), stops
    new actions from starting, but for the post-notifications of what was done
    (:func:`surviving_abort`); the ones running are waited for.
    """
    actions = transition.actions
    graph = OrderGraph.of(transition)
    ready = graph.ready()
    by_index = {action.index: action for action in actions}
    survivors = surviving_abort(transition)
    result = GraphResult()
    running: dict[asyncio.Future[bool], Action] = {}
    abort_event = abort if abort is not None else asyncio.Event()
    started: set[int] = set()
    # One waiter for the whole run; once the abort is set, only the running actions are waited for.
    abort_waiter = asyncio.ensure_future(abort_event.wait())

    def finish(index: int) -> None:
        ready.extend(graph.finish(index))
        ready.sort()

    try:
        while True:
            stopping = result.aborted or abort_event.is_set()
            if abort_event.is_set() and not result.aborted:
                result.aborted = True
                result.abort_reason = result.abort_reason or "a change arrived while it ran"
            while ready:
                action = by_index[ready[0]]
                if stopping and action.index not in survivors:
                    ready.pop(0)  # it stays not started
                    continue
                if action.pseudo:
                    ready.pop(0)
                    started.add(action.index)
                    handlers.pseudo(action)
                    result.completed.append(action)
                    finish(action.index)
                    continue
                if len(running) >= max(1, limit):
                    break
                ready.pop(0)
                started.add(action.index)
                task = asyncio.create_task(handlers.for_action(action)(action), name=f"action {action.key}")
                running[task] = action
            if not running:
                break
            waiting: set[asyncio.Future[Any]] = set(running)
            if not abort_event.is_set():
                waiting.add(abort_waiter)
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                if finished is abort_waiter:
                    continue
                action = running.pop(finished)
                try:
                    succeeded = finished.result()
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
        abort_waiter.cancel()
        for unfinished in running:
            unfinished.cancel()
    result.not_started = [action for action in actions if action.index not in started]
    return result
