"""The actions a run plans and the orderings between them.

An action is one task of one resource on one node (or a pseudo-action, or a
fencing), with the flags that the ordering propagation updates; orderings are
``befores``/``afters`` pairs whose kind is a set of :class:`Ord` bits.  Kept
apart from the resources they act on: from action creation on, the stages
(orderings, their propagation, the graph) work on these.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

from vigil.scheduler.working_resources import WorkResource


class Ord:
    """How an ordering ties two actions' flags together: bits of an ``int``
    (an :data:`OrdFlags`).  Plain integers rather than an ``IntFlag``: the
    propagation combines and tests them a few hundred thousand times in a
    large cluster, and on Python 3.11 every ``IntFlag`` operation builds a
    new member through ``Enum.__call__`` (about 2 us, against 30 ns)."""

    NONE = 0
    OPTIONAL = 1 << 0
    IMPLIES_THEN = 1 << 1
    IMPLIES_FIRST = 1 << 2
    RUNNABLE_LEFT = 1 << 3
    RESTART = 1 << 4
    ASYMMETRICAL = 1 << 5
    PRESERVE = 1 << 6
    SERIALIZE_ONLY = 1 << 7
    SAME_NODE = 1 << 8
    THEN_CANCELS_FIRST = 1 << 9
    PROBE = 1 << 10
    PROMOTED_IMPLIES_FIRST = 1 << 11
    # Only shapes the graph (Pacemaker's "printed" and anti-colocation kinds).
    GRAPH_ONLY = 1 << 12
    # Counts towards a minimum of runnable "first" actions (clone-min).
    ONE_OR_MORE = 1 << 13
    # Live migration (see migration): "first" cannot run unless "then" can
    # still be part of the migration, and is required when "then" is.
    UNMIGRATABLE_THEN_BLOCKS = 1 << 14
    # Shapes the graph only when "first" is not part of a migration.
    IF_FIRST_UNMIGRATABLE = 1 << 15
    # When "first" (a migrate_from) cannot run, "then" (the start it stands
    # for) is no longer part of a migration and becomes a real start.
    FIRST_ELSE_THEN = 1 << 16


# A combination of Ord bits.
OrdFlags = int


@dataclass(eq=False)
class WorkAction:
    id: int
    rsc: WorkResource | None
    task: str
    node: str | None
    interval_ms: int = 0
    optional: bool = True
    runnable: bool = True
    pseudo: bool = False
    reason: str | None = None
    needs: str = "nothing"  # nothing | quorum | fencing
    implied_by_stonith: bool = False
    # Part of a live migration still possible (Pacemaker's "migratable"
    # flag): cleared as orderings rule the migration out.
    migratable: bool = False
    # A stop that ends a dangling migration (it implies nothing after it).
    migration_abort: bool = False
    print_always: bool = False
    name: str | None = None  # for rsc-less actions (stonith, pseudo)
    # Runnable only when enough of the actions before it are (clone-min).
    required_runnable_before: int = 0
    meta: dict[str, str] = field(default_factory=dict)
    # The action whose state first made this one required / unrunnable,
    # kept to explain a stop or start (the stop context).
    required_by: WorkAction | None = None
    blocked_by: WorkAction | None = None
    befores: list[tuple[WorkAction, OrdFlags]] = field(default_factory=list)
    afters: list[tuple[WorkAction, OrdFlags]] = field(default_factory=list)

    @property
    def key(self) -> str:
        owner = self.rsc.id if self.rsc is not None else (self.name or "")
        return f"{owner}_{self.task}_{self.interval_ms}"

    def set_reason(self, reason: str | None, overwrite: bool = False) -> None:
        if self.reason is None or overwrite:
            self.reason = reason


@dataclass(eq=False)
class NotifyPoints:
    """A notifying clone's pseudo-actions around one of its tasks: notify
    before ("pre"), all notified before, notify after ("post"), all notified
    after.  Either pair is missing when the task has no start (end) point."""

    task: str
    pre: WorkAction | None = None
    pre_done: WorkAction | None = None
    post: WorkAction | None = None
    post_done: WorkAction | None = None


# An ordering between two resources' actions: (first, its task, then, its task, flags).
OrderTuple = tuple[WorkResource, str, WorkResource, str, OrdFlags]


# A step of the ordering propagation: yields actions to revisit at once
# (nested, as Pacemaker's recursive update does) and returns (first changed,
# then changed).
Updates = Generator[WorkAction, None, tuple[bool, bool]]


def order(first: WorkAction, then: WorkAction, flags: OrdFlags) -> None:
    """Record "first before then" with ``flags``.  A second ordering of the
    same pair that shares a flag with the first is a duplicate and dropped
    whole (its other flags too), as Pacemaker filters them; one with other
    flags only adds them."""
    if first is then:
        return
    for index, (other, existing) in enumerate(then.befores):
        if other is first:
            if existing & flags:
                return
            merged = existing | flags
            then.befores[index] = (first, merged)
            for j, (after, _) in enumerate(first.afters):
                if after is then:
                    first.afters[j] = (then, merged)
            return
    then.befores.append((first, flags))
    first.afters.append((then, flags))


def find_first_action(rsc: WorkResource, task: str, node: str | None) -> WorkAction | None:
    """The newest one-shot action of ``rsc`` for ``task`` (on ``node`` if given)."""
    for action in reversed(rsc.actions_by_task.get(task, ())):
        if action.interval_ms == 0 and (node is None or action.node == node):
            return action
    return None
