"""The graph runner: order, the handler table, the batch limit, and aborting."""

from __future__ import annotations

import asyncio

from vigil.controller.graph import Handlers, run_graph
from vigil.model.transition import Action, Transition


def graph() -> Transition:
    actions = (
        Action(0, "stop", "web", "node1"),
        Action(1, "stopped", "grp", None, pseudo=True),
        Action(2, "clear_failcount", "web", "node1"),
        Action(3, "stonith", None, "node2"),
        Action(4, "start", "web", "node1"),
        Action(5, "start", "db", "node1"),
    )
    return Transition(actions=actions, order=((0, 1), (1, 2), (2, 4), (3, 4)))


class Table:
    """A handler table that writes down who ran what, and can hold or fail an action."""

    def __init__(self, fail: frozenset[int] = frozenset()) -> None:
        self.ran: list[tuple[str, int]] = []
        self.fail = fail
        self.release = asyncio.Event()
        self.hold: frozenset[int] = frozenset()
        self.running = 0
        self.most_at_once = 0

    def kind(self, name: str):  # type: ignore[no-untyped-def]
        async def handler(action: Action) -> bool:
            self.ran.append((name, action.index))
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            if action.index in self.hold:
                await self.release.wait()
            await asyncio.sleep(0)
            self.running -= 1
            return action.index not in self.fail
        return handler

    def handlers(self) -> Handlers:
        return Handlers(agent=self.kind("agent"), fencing=self.kind("fencing"), cluster=self.kind("cluster"),
                        pseudo=lambda action: self.ran.append(("pseudo", action.index)))


def test_each_action_goes_to_its_kind_of_handler_after_what_it_follows() -> None:
    table = Table()
    result = asyncio.run(run_graph(graph(), table.handlers(), limit=1))
    assert result.is_complete
    assert table.ran == [("agent", 0), ("pseudo", 1), ("cluster", 2), ("fencing", 3), ("agent", 4),
                         ("agent", 5)]
    assert [a.index for a in result.completed] == [0, 1, 2, 3, 4, 5]


def test_no_more_run_at_once_than_the_limit() -> None:
    table = Table()
    asyncio.run(run_graph(graph(), table.handlers(), limit=2))
    assert table.most_at_once == 2


def test_a_failed_action_aborts_what_depends_on_it_and_what_has_not_started() -> None:
    table = Table(fail=frozenset({2}))
    result = asyncio.run(run_graph(graph(), table.handlers(), limit=1))
    assert result.aborted and result.abort_reason == "web_clear_failcount_0 on node1 did not succeed"
    assert [a.index for a in result.failed] == [2]
    assert [a.index for a in result.not_started] == [3, 4, 5]


def test_an_abort_from_outside_lets_what_runs_finish_and_starts_nothing_new() -> None:
    async def scenario() -> None:
        table = Table()
        table.hold = frozenset({0})
        abort = asyncio.Event()
        running = asyncio.create_task(run_graph(graph(), table.handlers(), limit=1, abort=abort))
        for _ in range(10):
            await asyncio.sleep(0)
        abort.set()
        for _ in range(10):
            await asyncio.sleep(0)
        assert not running.done(), "the action in flight is waited for"
        table.release.set()
        result = await running
        assert result.aborted and result.abort_reason == "a change arrived while it ran"
        assert [a.index for a in result.completed] == [0]
        assert [a.index for a in result.not_started] == [1, 2, 3, 4, 5]

    asyncio.run(scenario())


def test_an_aborted_transition_still_tells_the_peers_of_a_promote_it_made() -> None:
    """Pacemaker's post-notifications run at priority INFINITY: a redis replica learns its new
    primary although the promote's own attribute write aborted the transition."""
    post = (("notify_type", "post"), ("notify_operation", "promote"))
    actions = (
        Action(0, "promote", "redis:0", "node1"),
        Action(1, "promoted", "redis-clone", None, pseudo=True),
        Action(2, "notify", "redis-clone", None, pseudo=True, meta=post),
        Action(3, "notify", "redis:1", "node2", meta=post),
        Action(4, "notified", "redis-clone", None, pseudo=True, meta=post),
        Action(5, "monitor", "redis:1", "node2", interval_ms=3000),
        Action(6, "start", "other", "node2"),
    )
    transition = Transition(actions=actions, order=((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 6)))

    async def scenario() -> None:
        table = Table()
        table.hold = frozenset({0})
        abort = asyncio.Event()
        running = asyncio.create_task(run_graph(transition, table.handlers(), limit=1, abort=abort))
        for _ in range(10):
            await asyncio.sleep(0)
        abort.set()
        table.release.set()
        result = await running
        assert result.aborted
        assert [a.index for a in result.completed] == [0, 1, 2, 3, 4]
        assert [a.index for a in result.not_started] == [5, 6]

    asyncio.run(scenario())
