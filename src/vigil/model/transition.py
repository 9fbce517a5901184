"""The scheduler's output: the actions to run and the order between them."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Action:
    """One action of a transition.

    ``task`` is the agent action (start, stop, monitor, promote, demote,
    notify, cancel), ``stonith`` for fencing, ``clear_failcount``, or a
    pseudo-action name when ``pseudo`` is true (an action that runs nothing but
    marks a point in the graph, e.g. a stop implied by fencing).
    """

    index: int
    task: str
    resource: str | None
    node: str | None
    interval_ms: int = 0
    pseudo: bool = False
    meta: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """Pacemaker's action key, e.g. ``rsc1_monitor_10000``, or for a
        clone's notification ``web-clone_pre_notify_start_0``."""
        meta = dict(self.meta)
        kind, operation = meta.get("notify_key_type"), meta.get("notify_key_operation")
        if self.task in ("notify", "notified") and kind and operation:
            return f"{self.resource or ''}_{kind}_notify_{operation}_{self.interval_ms}"
        return f"{self.resource or ''}_{self.task}_{self.interval_ms}"


@dataclass(frozen=True)
class SummaryLine:
    """One line of the transition summary, e.g. ``Recover rsc1 ( node2 )``.

    ``text`` is the part after the resource, as Pacemaker prints it.
    """

    verb: str
    subject: str
    text: str = ""

    def render(self) -> str:
        parts = ["*", self.verb, self.subject]
        if self.text:
            parts.append(self.text)
        return " ".join(parts)


@dataclass(frozen=True)
class Transition:
    actions: tuple[Action, ...] = ()
    # Edges (before, after) as indexes into ``actions``.
    order: tuple[tuple[int, int], ...] = ()
    summary: tuple[SummaryLine, ...] = ()
    # Messages the scheduler wants the user to see (config it ignored, ...).
    notes: tuple[str, ...] = field(default=(), compare=False)
    # The scheduler's view of the cluster before this transition.
    view: ClusterView | None = field(default=None, compare=False)
    # The earliest time (epoch seconds) at which the plan may change with
    # nothing recorded meanwhile (a failure-timeout expiring); None if never.
    recheck_by: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class NodeView:
    """How the scheduler sees a node, for status displays.

    ``state`` is one of: online, offline, standby, standby-with-resources,
    maintenance, unclean-online, unclean-offline, pending, shutting-down.
    """

    name: str
    state: str
    is_remote: bool = False


@dataclass(frozen=True)
class ResourceView:
    """How the scheduler sees a primitive (or clone instance) before acting.

    ``role`` is Started, Stopped, Promoted, Unpromoted, or Unknown; ``nodes``
    lists where it is active (several when multiply active).
    """

    id: str
    agent: str
    role: str
    nodes: tuple[str, ...] = ()
    failed: bool = False
    managed: bool = True
    blocked: bool = False
    orphan: bool = False
    disabled: bool = False  # target-role=Stopped
    parent: str | None = None  # group or clone id


@dataclass(frozen=True)
class ClusterView:
    """The current state as derived from the status section."""

    nodes: tuple[NodeView, ...] = ()
    resources: tuple[ResourceView, ...] = ()
    have_quorum: bool = True


@dataclass
class OrderGraph:
    """A transition's order edges as the graph runner and the printers walk it (once:
    :meth:`finish` counts down ``waiting_on``).

    ``waiting_on[i]``: how many actions must finish before action ``i`` may
    start; ``after[i]``: the actions that wait for ``i``.  Edges naming an
    action that is not in the transition (a part of one) are left out.
    """

    waiting_on: dict[int, int]
    after: dict[int, list[int]]

    @classmethod
    def of(cls, transition: Transition) -> OrderGraph:
        indexes = {action.index for action in transition.actions}
        waiting_on = dict.fromkeys(indexes, 0)
        after: dict[int, list[int]] = {index: [] for index in indexes}
        for before, then in transition.order:
            if before in indexes and then in indexes:
                after[before].append(then)
                waiting_on[then] += 1
        return cls(waiting_on, after)

    def ready(self) -> list[int]:
        """The actions that wait for nothing, lowest index first."""
        return sorted(index for index, count in self.waiting_on.items() if count == 0)

    def finish(self, index: int) -> list[int]:
        """Action ``index`` is done: the actions that this frees (that now wait for nothing)."""
        freed = []
        for then in self.after[index]:
            self.waiting_on[then] -= 1
            if self.waiting_on[then] == 0:
                freed.append(then)
        return freed


def topological_order(transition: Transition) -> list[Action]:
    """The actions in an order the graph allows, lowest index first on ties.

    Deterministic, so that the same transition always prints the same way.
    Edges that form a cycle (a scheduler bug) do not lose actions: whatever
    is left once no action is free is appended in index order.
    """
    by_index = {action.index: action for action in transition.actions}
    graph = OrderGraph.of(transition)
    ready = graph.ready()
    heapq.heapify(ready)
    ordered: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        ordered.append(index)
        for then in graph.finish(index):
            heapq.heappush(ready, then)
    seen = set(ordered)
    ordered.extend(sorted(index for index in by_index if index not in seen))
    return [by_index[index] for index in ordered]
