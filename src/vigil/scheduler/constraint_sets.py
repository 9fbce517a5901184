"""Stages 4 and 7: what a constraint of resource sets stands for.

A location, colocation or order of ``<resource_set>`` elements means, to
Pacemaker, a list of plain pairwise constraints; this module spells them
out, in Pacemaker's order (each set's own, then the previous set's relation
to it), so that the rest of the scheduler only ever sees plain ones.  Tags
and templates in a set stand for their members.

- Location: each resource of each set gets the constraint, with the set's
  ``role``, and (for a constraint on a node) the set's ``score``.
- Colocation: inside a set (unless ``sequential="false"``) each resource
  goes with the previous one, or with a negative score is kept away from
  every earlier one; between two sets the earlier set goes with the later
  one, through the first resource of a sequential dependent set and the last
  resource of a sequential primary set (else all of them).
- Order: inside a sequential set each resource's action waits for the
  previous one's (a Serialize set serializes every pair); between two sets
  the later set waits for the earlier, through the ends of a set written
  ``sequential="true"`` (else all of them); a set with ``require-all="false"``
  lets the next set go once any one of its resources has started, through a
  ``one-or-more:<set id>`` pseudo-action.  A symmetrical order also undoes
  in reverse: stops (demotes) wait the other way round.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Literal

from vigil.model.config import Colocation, Config, Location, Order, OrderKind, ResourceSet

Symmetry = Literal["symmetric", "asymmetric", "inverse"]

_INVERSE = {"start": "stop", "stop": "start", "promote": "demote", "demote": "promote"}


# -- locations ------------------------------------------------------------------------------


def plain_locations(config: Config) -> Iterator[Location]:
    """Every location constraint, those of sets as one per resource."""
    for location in config.locations:
        if not location.sets:
            yield location
            continue
        for resource_set in location.sets:
            on_node = location.node is not None
            score = resource_set.score if on_node and resource_set.score is not None else location.score
            role = resource_set.role if on_node and resource_set.role is not None else location.role
            for rsc in config.set_members(resource_set):
                yield replace(location, rsc=rsc, score=score, role=role, sets=())


# -- colocations ----------------------------------------------------------------------------


def plain_colocations(config: Config) -> Iterator[Colocation]:
    """Every colocation, those of sets as the pairs they stand for."""
    for colocation in config.colocations:
        if not colocation.sets:
            yield colocation
            continue
        previous: tuple[ResourceSet, tuple[str, ...]] | None = None
        for resource_set in colocation.sets:
            members = config.set_members(resource_set)
            yield from _colocations_in_set(colocation, resource_set, members)
            if previous is not None:
                yield from _colocations_between(colocation, *previous, resource_set, members)
            previous = (resource_set, members)


def _colocations_in_set(colocation: Colocation, resource_set: ResourceSet,
                        members: tuple[str, ...]) -> Iterator[Colocation]:
    score = resource_set.score if resource_set.score is not None else colocation.score
    if score == 0 or resource_set.sequential is False:
        return
    role = resource_set.role

    def pair(dependent: str, primary: str) -> Colocation:
        return Colocation(id=resource_set.id, rsc=dependent, with_rsc=primary, score=score,
                          rsc_role=role, with_rsc_role=role, influence=colocation.influence)

    if score > 0:
        with_previous = resource_set.ordering in (None, "group")
        for earlier, later in pairwise(members):
            yield pair(later, earlier) if with_previous else pair(earlier, later)
        return
    # Kept away from every earlier resource: the only way that no two of them share a node.
    for index, rsc in enumerate(members):
        for earlier in members[:index]:
            yield pair(rsc, earlier)


def _colocations_between(colocation: Colocation, dependent_set: ResourceSet, dependents: tuple[str, ...],
                         primary_set: ResourceSet, primaries: tuple[str, ...]) -> Iterator[Colocation]:
    if colocation.score == 0:
        return
    if dependent_set.is_sequential:
        dependents = dependents[:1]
    if primary_set.is_sequential:
        primaries = primaries[-1:]
    for dependent in dependents:
        for primary in primaries:
            yield Colocation(id=colocation.id, rsc=dependent, with_rsc=primary, score=colocation.score,
                             rsc_role=dependent_set.role, with_rsc_role=primary_set.role,
                             influence=colocation.influence)


# -- orders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetOrdering:
    """One ordering an order of sets stands for: ``first`` ``first_task``
    before ``then`` ``then_task``, with the flags of ``kind`` and ``symmetry``.

    ``point`` names a one-or-more pseudo-action that stands in for the
    side that is None: "then" of each resource of a ``require-all="false"``
    set, "first" of each resource of the next set.
    """

    first: str | None
    first_task: str
    then: str | None
    then_task: str
    kind: OrderKind
    symmetry: Symmetry
    point: str | None = None


def set_orderings(config: Config, order: Order) -> list[SetOrdering]:
    """The orderings ``order`` (an order of sets) stands for, in Pacemaker's order."""
    symmetric = order.symmetrical is not False and order.kind != "Serialize"
    found: list[SetOrdering] = []
    previous: tuple[ResourceSet, tuple[str, ...]] | None = None
    for resource_set in order.sets:
        members = config.set_members(resource_set)
        found.extend(_orderings_in_set(order, resource_set, members))
        if previous is not None:
            found.extend(_orderings_between(order.kind, *previous, resource_set, members,
                                            "symmetric" if symmetric else "asymmetric"))
            if symmetric:
                found.extend(_orderings_between(order.kind, resource_set, members, *previous, "inverse"))
        previous = (resource_set, members)
    return found


def _orderings_in_set(order: Order, resource_set: ResourceSet, members: tuple[str, ...]) -> list[SetOrdering]:
    if len(members) < 2:
        return []
    kind = resource_set.kind or order.kind
    action = resource_set.action or "start"
    symmetric = order.symmetrical is not False and kind != "Serialize"
    symmetry: Symmetry = "symmetric" if symmetric else "asymmetric"
    if kind == "Serialize":
        return [SetOrdering(rsc, action, later, action, kind, symmetry)
                for index, rsc in enumerate(members) for later in members[index + 1:]]
    if not resource_set.is_sequential:
        return []
    found = [SetOrdering(earlier, action, later, action, kind, symmetry)
             for earlier, later in pairwise(members)]
    inverse = _INVERSE.get(action)
    if symmetry == "symmetric" and inverse is not None:
        found.extend(SetOrdering(later, inverse, earlier, inverse, kind, "inverse")
                     for earlier, later in pairwise(members))
    return found


def _orderings_between(kind: OrderKind, set1: ResourceSet, members1: tuple[str, ...], set2: ResourceSet,
                       members2: tuple[str, ...], symmetry: Symmetry) -> list[SetOrdering]:
    """``set2`` after ``set1`` (for the inverse, ``set1`` is the later set undone first).

    The flags follow ``set1``'s action, as in Pacemaker since 2.1.10 (2.1.5
    took ``set2``'s: a start set followed by a stop set differs)."""
    action1 = set1.action or "start"
    action2 = set2.action or "start"
    if symmetry == "inverse":
        action1 = _INVERSE.get(action1, action1)
        action2 = _INVERSE.get(action2, action2)
    # Any one of a set is enough only to go up: going down, each waits for all.
    require_all = set1.require_all is not False or action1 in ("stop", "demote")
    if not require_all:
        point = f"one-or-more:{set1.id}"
        return [*(SetOrdering(rsc, action1, None, action1, kind, symmetry, point) for rsc in members1),
                *(SetOrdering(None, action1, rsc, action2, kind, symmetry, point) for rsc in members2)]
    # Only a set written sequential="true" is ordered through its ends here.
    if set1.sequential is True:
        members1 = members1[:1] if symmetry == "inverse" else members1[-1:]
    if set2.sequential is True:
        members2 = members2[-1:] if symmetry == "inverse" else members2[:1]
    return [SetOrdering(first, action1, then, action2, kind, symmetry)
            for first in members1 for then in members2]
