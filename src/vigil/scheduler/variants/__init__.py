"""Resource variants: what differs between a primitive, a group and a clone.

Every resource of a run carries its variant (``rsc.variant``), one object
per kind, as Pacemaker's resources carry their table of assignment methods
(``pcmk__assignment_methods``).  The stages ask the variant instead of asking
"what kind of resource is this": placement, colocation scores, action
creation, the orderings that hold a resource together, the flags of its
actions and how an ordering carries them through it, probes, and where it
is placed.  Members are on the working types themselves (``primitives()``,
``children()``).

Adding a variant (promotable clones, bundles) means adding a module here with
one class that implements :class:`Variant`, a working type for it in
:mod:`vigil.scheduler.working_resources`, and its unpacking; no stage changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vigil.scheduler.instances import InstanceActions
    from vigil.scheduler.working import Work
    from vigil.scheduler.working_actions import OrderTuple, OrdFlags, Updates, WorkAction
    from vigil.scheduler.working_resources import Role, WorkColocation, WorkPrimitive, WorkResource

# For a node: the primitives to probe there, each with the resource whose
# start the probe must precede.
ProbeTargets = Callable[[str], "list[tuple[WorkPrimitive, WorkResource]]"]


class Propagation(Protocol):
    """What a variant needs from the ordering propagation (see
    :mod:`vigil.scheduler.ordering`) to carry a rule through its resource."""

    work: Work
    # Which instance actions a clone's action stands for, found once.
    instances: InstanceActions

    def push(self, action: WorkAction) -> None:
        """Revisit ``action`` at once (as a nested update)."""

    def push_after(self, action: WorkAction) -> None:
        """Revisit every action ordered after ``action``."""

    def update_one(self, first: WorkAction, then: WorkAction, f_optional: bool, f_runnable: bool,
                   check_optional: bool, check_runnable: bool, kind: OrdFlags) -> Updates:
        """Apply one rule to one pair of actions (as a primitive does)."""

    def ordering_flags(self, action: WorkAction, node: str | None) -> tuple[bool, bool]:
        """(optional, runnable) of ``action`` as an ordering with an action
        on ``node`` sees them."""


class Variant(Protocol):
    """The operations that differ by kind of resource.

    Each method takes the resource it is asked about (``rsc``), whose
    ``variant`` is this object, so a variant holds no state of its own.
    """

    # Pacemaker's order of variants (primitive < group < clone), which breaks
    # ties when colocations are sorted.
    rank: int
    # Made of other resources, its own actions being node-less pseudo-actions
    # that stand for its members' (a group, a clone); a primitive's actions
    # are real ones, on a node.
    collective: bool

    # --- placement ------------------------------------------------------------

    def assign(self, work: Work, rsc: WorkResource, prefer: str | None,
               stop_if_fail: bool = True) -> str | None:
        """Place ``rsc`` (preferring ``prefer`` when it is as good as the
        best); the node it is placed on, or None.  With ``stop_if_fail``
        false, finding no node has no side effects on roles or actions (a
        clone's tentative placement of an instance on its current node)."""

    def unassign(self, work: Work, rsc: WorkResource) -> None:
        """Take back a placement a clone did not want (its instance went
        elsewhere than the node it was offered), members included."""

    def location(self, rsc: WorkResource) -> str | None:
        """The one node ``rsc`` is placed on, or None (none, or several)."""

    def current_node(self, work: Work, rsc: WorkResource) -> str | None:
        """Where ``rsc`` is considered active now, or None."""

    def apply_location_inside(self, rsc: WorkResource, scored: list[tuple[str, int]]) -> None:
        """Hand a location constraint's (node, score) pairs, already applied
        to ``rsc``, down to what is inside it."""

    def named_members(self, rsc: WorkResource) -> list[WorkResource]:
        """The resources inside ``rsc`` that the configuration names by their
        own id (what an ``rsc-pattern`` location can match)."""

    def constraint_ids(self, rsc: WorkResource) -> tuple[str, ...]:
        """The ids a constraint may name ``rsc`` by."""

    def stops_together(self, rsc: WorkResource) -> list[WorkPrimitive]:
        """The primitives inside ``rsc`` tied to each other both ways (a group's members: each
        depends on the one before it, and a member that must leave a node takes the whole group
        with it), for the stop context's ``dependency``; none for other variants."""

    # --- colocation -----------------------------------------------------------

    def apply_colocation(self, work: Work, dependent: WorkResource, primary: WorkResource,
                         coloc: WorkColocation) -> int:
        """Asked of the dependent: adjust its scores now that ``primary`` is
        placed, or for a placed instance of a promotable clone its
        promotion priority (Pacemaker's apply_coloc_score on behalf of the
        dependent); returns what the priority changed by."""

    def constrain_dependent(self, work: Work, dependent: WorkPrimitive, primary: WorkResource,
                            coloc: WorkColocation) -> int:
        """Asked of the primary: adjust the primitive ``dependent``'s scores
        (or promotion priority) by where ``primary`` went (apply_coloc_score
        on behalf of the primary); returns what the priority changed by."""

    def colocation_node_scores(self, work: Work, rsc: WorkResource, nodes: dict[str, int] | None,
                               attribute: str, factor: float, only_positive: bool,
                               select_active: bool, coloc: WorkColocation | None = None,
                               ) -> dict[str, int] | None:
        """``nodes`` with ``rsc``'s own preferences folded in (``rsc``'s
        scores when ``nodes`` is None), before its dependents' are; None when
        it has nothing to say (``nodes`` stands)."""

    def configured_stickiness(self, rsc: WorkResource) -> int:
        """``rsc``'s own resource-stickiness, as configured (what a primary
        weighs against an anti-colocated dependent's aversion)."""

    def with_this_colocations(self, rsc: WorkResource) -> list[WorkColocation]:
        """The colocations whose dependents' preferences fold into ``rsc``'s."""

    def colocated_resources(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource]) -> None:
        """Add ``rsc`` and what must run with it to ``found`` (see utilization)."""

    def add_utilization(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource],
                        total: dict[str, int]) -> None:
        """Add to ``total`` what ``rsc`` will use where it is placed, if it is
        not placed yet and not already counted in ``found``."""

    # --- actions and orderings ------------------------------------------------

    def create_actions(self, work: Work, rsc: WorkResource) -> None:
        """Create the actions of ``rsc`` and of everything inside it."""

    def probe_targets(self, rsc: WorkResource) -> ProbeTargets:
        """Which primitives of ``rsc`` to probe on a node, and what each
        probe precedes."""

    def internal_orderings(self, rsc: WorkResource) -> list[OrderTuple]:
        """The orderings that hold ``rsc`` together (its members' included)."""

    def minimum_runnable(self, rsc: WorkResource, require_all: bool) -> int:
        """How many of ``rsc``'s instances must run before what an ordering
        puts after it may (0: the ordering is an ordinary one)."""

    def action_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                     instances: InstanceActions) -> tuple[bool, bool]:
        """(optional, runnable) of an action of ``rsc`` on ``node`` (None:
        anywhere); a group's or clone's pseudo-action stands for its members'."""

    def ordering_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                       instances: InstanceActions) -> tuple[bool, bool]:
        """(optional, runnable) of an action of ``rsc`` as an ordering with an
        action on ``node`` sees them."""

    def start_node(self, rsc: WorkResource, start: WorkAction) -> str | None:
        """The node ``rsc``'s start happens on, as an ordering sees it."""

    def update_ordered_actions(self, prop: Propagation, rsc: WorkResource, first: WorkAction,
                               then: WorkAction, f_optional: bool, f_runnable: bool, check_optional: bool,
                               check_runnable: bool, kind: OrdFlags) -> Updates:
        """Apply one ordering rule between ``first`` and ``then`` through
        ``rsc`` (the side that owns the rule); a group or clone carries it on
        to what is inside it.  Yields actions to revisit at once; returns
        (first changed, then changed)."""

    # --- what a resource is, for the history and the stop context -------------

    def is_anonymous_clone(self, rsc: WorkResource) -> bool:
        """A clone whose instances are interchangeable: they share one name
        (history, fail-counts, the agent's instance name) and one ban."""

    def is_unique_clone(self, rsc: WorkResource) -> bool:
        """A clone whose instances each have a name of their own."""

    def is_promotable(self, rsc: WorkResource) -> bool:
        """A promotable clone: its instances are Unpromoted or Promoted."""

    def ordering_point(self, rsc: WorkResource, task: str) -> WorkAction | None:
        """What an ordering after ``rsc``'s ``task`` waits for: a group's or
        clone's completion point (start -> running, ...), or the end of the
        notifications after it when a clone notifies; None for a primitive
        (its own action)."""

    def create_notifications(self, work: Work, rsc: WorkResource) -> None:
        """Once the orderings have settled: the notifications of a clone
        with ``notify=true`` (none for other variants)."""

    def notify_after_fencing(self, work: Work, rsc: WorkResource, prim: WorkPrimitive, stop: WorkAction,
                             fencing: WorkAction) -> None:
        """``prim`` (inside ``rsc``) stops because its node is fenced: tell
        the rest of a notifying clone after the fencing."""

    def state(self, rsc: WorkResource, current: bool) -> Role:
        """The role ``rsc`` has now (``current``) or will have: a group's or
        clone's is the highest of what is inside it."""
