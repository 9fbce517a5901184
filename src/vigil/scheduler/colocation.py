"""Stage 4 (with location) — colocation: placing one resource relative to another.

A colocation ``rsc with with_rsc`` makes the *dependent* (``rsc``) follow the
*primary* (``with_rsc``): the primary is placed first and the dependent's
node scores are adjusted by where it went.  In the other direction, the
dependents' own preferences are folded into the primary's scores, attenuated
by score/INFINITY, so that a primary prefers nodes its dependents like.
Groups take part through their members: "group with R" is placed through
the first member, "R with group" through the last.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.model.scores import INFINITY, add
from vigil.scheduler.instances import compatible_instance, is_blocked
from vigil.scheduler.working import (
    Role,
    Work,
    WorkClone,
    WorkColocation,
    WorkGroup,
    WorkPrimitive,
    WorkResource,
)

# Marks a node that a non-negative-only merge found unusable.
INFINITY_HACK = INFINITY * -2


def role_of(text: str | None) -> Role:
    if text is None:
        return Role.UNKNOWN
    lowered = text.lower()
    if lowered in ("promoted", "master"):
        return Role.PROMOTED
    if lowered in ("unpromoted", "slave"):
        return Role.UNPROMOTED
    if lowered == "stopped":
        return Role.STOPPED
    return Role.UNKNOWN  # "Started" means any role


def insert_sorted(items: list[WorkColocation], coloc: WorkColocation, other: WorkResource,
                  other_of: Callable[[WorkColocation], WorkResource]) -> None:
    """Keep colocations ordered by the other resource: higher priority first,
    then clones, groups, primitives, then by id; a new colocation goes before
    the ones that compare equal (as Pacemaker's sorted insert does)."""
    def rank(res: WorkResource) -> tuple[int, int, str]:
        return (-res.priority, -res.variant.rank, res.id)

    new_rank = rank(other)
    index = len(items)
    for i, existing in enumerate(items):
        if rank(other_of(existing)) >= new_rank:
            index = i
            break
    items.insert(index, coloc)


def add_colocation(coloc: WorkColocation) -> None:
    insert_sorted(coloc.dependent.this_with, coloc, coloc.primary, lambda c: c.primary)
    insert_sorted(coloc.primary.with_this, coloc, coloc.dependent, lambda c: c.dependent)


def unpack_colocations(work: Work) -> None:
    for constraint in work.cluster.config.colocations:
        if constraint.score == 0:
            continue
        dependent = work.resource(constraint.rsc)
        primary = work.resource(constraint.with_rsc)
        if dependent is None or primary is None:
            continue
        add_colocation(WorkColocation(
            id=constraint.id, dependent=dependent, primary=primary, score=constraint.score,
            dependent_role=role_of(constraint.rsc_role), primary_role=role_of(constraint.with_rsc_role),
            node_attribute=constraint.node_attribute or "#uname",
            influence=constraint.influence and dependent.critical,
        ))


def has_influence(coloc: WorkColocation, primary: WorkResource | None = None) -> bool:
    rsc = primary if primary is not None else coloc.primary
    return coloc.influence or not rsc.running_on


def _affects_location(dependent: WorkPrimitive, primary: WorkPrimitive, coloc: WorkColocation) -> bool:
    if primary.provisional or not dependent.provisional:
        return False
    if coloc.score > 0:
        if coloc.dependent_role != Role.UNKNOWN and coloc.dependent_role != dependent.next_role:
            return False
        if coloc.primary_role != Role.UNKNOWN and coloc.primary_role != primary.next_role:
            return False
    if coloc.score < 0:
        if coloc.dependent_role != Role.UNKNOWN and coloc.dependent_role == dependent.next_role:
            return False
        if coloc.primary_role != Role.UNKNOWN and coloc.primary_role == primary.next_role:
            return False
    return True


def node_attr(work: Work, node: str, attribute: str) -> str | None:
    return work.nodes[node].attrs.get(attribute)


def any_node_available(work: Work, scores: dict[str, int]) -> bool:
    return any(weight >= 0 and work.nodes[name].is_available() for name, weight in scores.items())


def apply_coloc_for_dependent(work: Work, dependent: WorkResource, primary: WorkResource,
                              coloc: WorkColocation) -> None:
    """Adjust the dependent's scores now that the primary is placed."""
    if isinstance(dependent, WorkGroup):
        if not dependent.members:
            return
        if dependent.colocated:
            apply_coloc_for_dependent(work, dependent.members[0], primary, coloc)
        elif coloc.score < INFINITY:
            for member in dependent.members:
                apply_coloc_for_dependent(work, member, primary, coloc)
        return
    if isinstance(dependent, WorkClone):
        return
    if isinstance(primary, WorkClone):
        apply_coloc_with_clone(work, dependent, primary, coloc)
        return
    if isinstance(primary, WorkGroup):
        if primary.provisional or not primary.members:
            return
        if primary.colocated:
            member = primary.members[-1] if coloc.score >= INFINITY else primary.members[0]
            _apply_to_scores(work, dependent, member, coloc)
        elif coloc.score < INFINITY:
            for member in primary.members:
                _apply_to_scores(work, dependent, member, coloc)
        return
    _apply_to_scores(work, dependent, primary, coloc)


def _apply_to_scores(work: Work, dependent: WorkPrimitive, primary: WorkPrimitive,
                     coloc: WorkColocation) -> None:
    if not _affects_location(dependent, primary, coloc):
        return
    attribute = coloc.node_attribute or "#uname"
    value = node_attr(work, primary.assigned, attribute) if primary.assigned else None
    if primary.assigned is None and coloc.score < 0:
        return
    scores = dict(dependent.allowed)
    for name, weight in scores.items():
        if primary.assigned is None:
            scores[name] = add(-coloc.score, weight)
        elif _same(node_attr(work, name, attribute), value):
            if coloc.score < INFINITY:
                scores[name] = add(coloc.score, weight)
        elif coloc.score >= INFINITY:
            scores[name] = add(-coloc.score, weight)
    if abs(coloc.score) >= INFINITY or any_node_available(work, scores):
        dependent.allowed = scores


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.lower() == b.lower()


def add_colocated_node_scores(work: Work, rsc: WorkResource, nodes: dict[str, int] | None, attribute: str,
                              factor: float, only_positive: bool, select_active: bool,
                              ) -> dict[str, int] | None:
    """Fold ``rsc``'s preferences (and its dependents', recursively) into ``nodes``.

    Returns the new table, or ``nodes`` unchanged when a loop or a rollback
    leaves nothing to add.
    """
    if rsc.merging:
        return nodes
    rsc.merging = True
    try:
        if isinstance(rsc, WorkGroup):
            if not rsc.members:
                return nodes
            member = rsc.members[-1] if nodes is None else rsc.members[0]
            base = add_colocated_node_scores(work, member, dict(nodes) if nodes is not None else None,
                                             attribute, factor, only_positive, select_active)
            work_scores = dict(base) if base is not None else (dict(nodes) if nodes is not None else {})
        elif nodes is None:
            work_scores = dict(rsc.allowed)
        else:
            work_scores = dict(nodes)
            _add_matching(work, work_scores, rsc, attribute, factor, only_positive)
        if any_node_available(work, work_scores):
            multiplier = -1.0 if factor < 0 else 1.0
            source = rsc.members[-1] if isinstance(rsc, WorkGroup) else rsc
            for coloc in list(source.with_this):
                if not has_influence(coloc):
                    continue
                other_factor = multiplier * coloc.score / INFINITY
                result = add_colocated_node_scores(
                    work, coloc.dependent, work_scores, coloc.node_attribute or "#uname", other_factor,
                    only_positive, True,
                )
                if result is not None:
                    work_scores = result
        elif select_active:
            return nodes
        if only_positive:
            for name, weight in work_scores.items():
                if weight == INFINITY_HACK:
                    work_scores[name] = 1
        return work_scores
    finally:
        rsc.merging = False


def _add_matching(work: Work, scores: dict[str, int], rsc: WorkPrimitive | WorkClone, attribute: str,
                  factor: float, only_positive: bool) -> None:
    best = _best_scores_by_value(work, rsc, attribute)
    for name, weight in list(scores.items()):
        score = best.get(_attribute_key(node_attr(work, name, attribute)), -INFINITY)
        if factor < 0 and score < 0:
            continue
        if weight == INFINITY_HACK:
            continue
        product = factor * score
        rounded = int(product - 0.5) if product < 0 else int(product + 0.5)
        if rounded == 0 and score != 0:
            rounded = 1 if factor > 0 else (-1 if factor < 0 else 0)
        new_score = add(rounded, weight)
        if only_positive and new_score < 0 and weight > 0:
            scores[name] = INFINITY_HACK
            continue
        if only_positive and new_score < 0 and weight == 0:
            continue
        scores[name] = new_score


def _attribute_key(value: str | None) -> str | None:
    """Node attribute values compare without case (see ``_same``)."""
    return value.lower() if value is not None else None


def _best_scores_by_value(work: Work, rsc: WorkPrimitive | WorkClone,
                          attribute: str) -> dict[str | None, int]:
    """For each value of ``attribute``, ``rsc``'s best score on an available
    node that has it (computed once per colocation, not once per node)."""
    best: dict[str | None, int] = {}
    for name, weight in rsc.allowed.items():
        if weight <= -INFINITY or not work.nodes[name].is_available():
            continue
        key = _attribute_key(node_attr(work, name, attribute))
        if weight > best.get(key, -INFINITY):
            best[key] = weight
    return best


def apply_coloc_with_clone(work: Work, dependent: WorkPrimitive, clone: WorkClone,
                           coloc: WorkColocation) -> None:
    """Place ``dependent`` relative to a clone it is colocated with."""
    interleave = isinstance(coloc.dependent, WorkClone) and coloc.dependent.interleave
    if clone.provisional:
        return
    if interleave:
        partner = compatible_instance(work, dependent, clone, False)
        if partner is not None:
            apply_coloc_for_dependent(work, dependent, partner, coloc)
        elif coloc.score >= INFINITY:
            for node in dependent.allowed:
                dependent.allowed[node] = -INFINITY
        return
    if coloc.score >= INFINITY:
        placed: set[str] = set()
        for instance in clone.instances:
            where = instance.variant.location(instance)
            if where is not None and not is_blocked(instance):
                placed.add(where)
        for node in dependent.allowed:
            if node not in placed:
                dependent.allowed[node] = -INFINITY
        for node in placed:
            dependent.allowed.setdefault(node, -INFINITY)
        return
    for instance in clone.instances:
        apply_coloc_for_dependent(work, dependent, instance, coloc)
