"""Stage 4 (with location) — colocation: placing one resource relative to another.

A colocation ``rsc with with_rsc`` makes the *dependent* (``rsc``) follow the
*primary* (``with_rsc``): the primary is placed first and the dependent's
node scores are adjusted by where it went.  In the other direction, the
dependents' own preferences are folded into the primary's scores, attenuated
by score/INFINITY, so that a primary prefers nodes its dependents like.
What differs by kind of resource is asked of its variant: groups take part
through their members ("group with R" is placed through the first member,
"R with group" through the last), clones through their instances.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.model.config import Colocation
from vigil.model.scores import INFINITY, add, lenient_score
from vigil.scheduler.bundle_constraints import bundle_colocation_side, bundle_names_side
from vigil.scheduler.constraint_sets import plain_colocations
from vigil.scheduler.working import BUNDLE_HOST, Work
from vigil.scheduler.working_resources import Role, WorkColocation, WorkPrimitive, WorkResource

# Marks a node that a non-negative-only merge found unusable.
INFINITY_HACK = INFINITY * -2

# The ids of the colocations vigil adds itself (see variants/group.py).
GROUP_COLOCATION = "group:internal_colocation"
CONTAINER_COLOCATION = "resource-with-container"


def is_configured(coloc: WorkColocation) -> bool:
    """A colocation from the configuration (not one vigil adds itself)."""
    return coloc.id not in (GROUP_COLOCATION, CONTAINER_COLOCATION)


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
    """Each colocation, one per pair of resources when it names a tag (each
    resource tagged is colocated, as a set that is not sequential); those
    of resource sets as the pairs they stand for."""
    config = work.cluster.config
    for constraint in plain_colocations(config):
        if constraint.score == 0:
            continue
        for dependent_id in config.constrained(constraint.rsc):
            for primary_id in config.constrained(constraint.with_rsc):
                _add_configured(work, constraint, dependent_id, primary_id)


def _add_configured(work: Work, constraint: Colocation, dependent_id: str, primary_id: str) -> None:
    """One configured pair; a side naming a bundle stands for what is inside it
    (its containers, or its inner clone by role), and then guest nodes count as
    their hosts."""
    dependent_role, primary_role = role_of(constraint.rsc_role), role_of(constraint.with_rsc_role)
    attribute = constraint.node_attribute or "#uname"
    dependents = bundle_colocation_side(work, dependent_id, dependent_role, dependent=True)
    primaries = bundle_colocation_side(work, primary_id, primary_role, dependent=False)
    if dependents is None:
        found = work.resource(dependent_id)
        dependents = [found] if found is not None else []
    if primaries is None:
        found = work.resource(primary_id)
        primaries = [found] if found is not None else []
    if bundle_names_side(work, dependent_id, primary_id) and attribute == "#uname":
        attribute = BUNDLE_HOST
    for dependent in dependents:
        for primary in primaries:
            add_colocation(WorkColocation(
                id=constraint.id, dependent=dependent, primary=primary, score=constraint.score,
                dependent_role=dependent_role, primary_role=primary_role, node_attribute=attribute,
                influence=constraint.influence and dependent.critical,
            ))


def has_influence(coloc: WorkColocation, primary: WorkResource | None = None) -> bool:
    rsc = primary if primary is not None else coloc.primary
    return coloc.influence or not rsc.running_on


def colocation_affects(dependent: WorkPrimitive, primary: WorkPrimitive, coloc: WorkColocation) -> str:
    """What a colocation can still change about ``dependent``: "location"
    while it is being placed, "role" for a colocation by role of a placed
    instance of a promotable clone (its promotion priority), else "nothing".
    A role on either side limits the colocation to resources that will have
    that role."""
    if primary.provisional:
        return "nothing"
    if coloc.dependent_role >= Role.UNPROMOTED and dependent.parent is not None \
            and _in_promotable(dependent) and not dependent.provisional:
        return "role"
    if not dependent.provisional:
        return "nothing"
    if coloc.dependent_role != Role.UNKNOWN and coloc.dependent_role != dependent.next_role:
        return "nothing"
    if coloc.primary_role != Role.UNKNOWN and coloc.primary_role != primary.next_role:
        return "nothing"
    return "location"


def node_attr(work: Work, node: str, attribute: str) -> str | None:
    if attribute == "#uname":
        return work.nodes[node].attrs.get(attribute)
    return work.node_attribute(node, attribute)


def any_node_available(work: Work, scores: dict[str, int]) -> bool:
    return any(weight >= 0 and work.nodes[name].is_available() for name, weight in scores.items())


def _in_promotable(rsc: WorkResource) -> bool:
    """Whether ``rsc`` is (inside) an instance of a promotable clone."""
    top = rsc
    while top.parent is not None:
        top = top.parent
    return top.variant.is_promotable(top)


def apply_to_scores(work: Work, dependent: WorkPrimitive, primary: WorkPrimitive,
                    coloc: WorkColocation) -> int:
    """Adjust a primitive dependent's scores by where a primitive primary
    went, or a promotable instance's promotion priority by its role (the
    change in priority is returned)."""
    affects = colocation_affects(dependent, primary, coloc)
    if affects == "role":
        return apply_to_priority(work, dependent, primary, coloc)
    if affects != "location":
        return 0
    attribute = coloc.node_attribute or "#uname"
    value = node_attr(work, primary.assigned, attribute) if primary.assigned else None
    if primary.assigned is None and coloc.score < 0:
        return 0
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
    return 0


def apply_to_priority(work: Work, dependent: WorkPrimitive, primary: WorkPrimitive,
                      coloc: WorkColocation) -> int:
    """A colocation by role of a placed promotable instance: with a Promoted
    dependent it adds its score to the instance's promotion priority where
    the primary (in its role) is with it; with an Unpromoted dependent it
    takes the score away there; a mandatory Promoted-with colocation where
    the primary is not forbids promotion."""
    dependent_node = dependent.assigned
    primary_node = primary.assigned
    if dependent_node is None:
        return 0
    if primary_node is not None and coloc.primary_role != Role.UNKNOWN \
            and coloc.primary_role != primary.next_role:
        return 0
    attribute = coloc.node_attribute or "#uname"
    dependent_value = node_attr(work, dependent_node, attribute)
    primary_value = node_attr(work, primary_node, attribute) if primary_node is not None else None
    multiplier = 1
    if not _same(dependent_value, primary_value):
        if coloc.score == INFINITY and coloc.dependent_role == Role.PROMOTED:
            multiplier = -1
        else:
            return 0
    elif coloc.dependent_role == Role.UNPROMOTED:
        multiplier = -1
    dependent.priority = add(multiplier * coloc.score, dependent.priority)
    return multiplier * coloc.score


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.lower() == b.lower()


def add_colocated_node_scores(work: Work, rsc: WorkResource, nodes: dict[str, int] | None, attribute: str,
                              factor: float, only_positive: bool, select_active: bool,
                              coloc: WorkColocation | None = None) -> dict[str, int] | None:
    """Fold ``rsc``'s preferences (and its dependents', recursively) into ``nodes``.

    ``coloc`` is the colocation that brings ``rsc`` in (see
    ``_add_matching``).  Returns the new table, or ``nodes`` unchanged when
    a loop or a rollback leaves nothing to add.
    """
    if rsc.merging:
        return nodes
    rsc.merging = True
    try:
        work_scores = rsc.variant.colocation_node_scores(work, rsc, nodes, attribute, factor, only_positive,
                                                         select_active, coloc)
        if work_scores is None:
            return nodes
        if any_node_available(work, work_scores):
            for further in list(rsc.variant.with_this_colocations(rsc)):
                if not has_influence(further):
                    continue
                # Attenuated along the chain (each step multiplies).
                other_factor = factor * further.score / INFINITY
                result = add_colocated_node_scores(
                    work, further.dependent, work_scores, further.node_attribute or "#uname", other_factor,
                    only_positive, True, further,
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


def own_node_scores(work: Work, rsc: WorkResource, nodes: dict[str, int] | None, attribute: str,
                    factor: float, only_positive: bool, coloc: WorkColocation | None = None,
                    allowed: dict[str, int] | None = None) -> dict[str, int]:
    """A copy of ``nodes`` with ``rsc``'s own best scores added (by node
    attribute value, times ``factor``); ``rsc``'s scores when ``nodes`` is None.
    ``allowed`` stands for ``rsc``'s scores when its variant says they are
    not the whole story (a group member speaking for its group)."""
    if nodes is None:
        return dict(rsc.allowed)
    scores = dict(nodes)
    _add_matching(work, scores, allowed if allowed is not None else rsc.allowed, attribute, factor,
                  only_positive, coloc)
    return scores


def _add_matching(work: Work, scores: dict[str, int], allowed: dict[str, int], attribute: str,
                  factor: float, only_positive: bool, coloc: WorkColocation | None) -> None:
    """Add ``rsc``'s best score for each node's attribute value, times
    ``factor``.  Where an anti-colocated dependent avoids a node, the
    primary is not drawn to it, unless that dependent can run on one node
    only and the primary is not sticky enough to outweigh keeping the
    dependent up (the primary then moves out of its way)."""
    best = _best_scores_by_value(work, allowed, attribute)
    for name, weight in list(scores.items()):
        score = best.get(_attribute_key(node_attr(work, name, attribute)), -INFINITY)
        if factor < 0 and score < 0 and not _avoidance_counts(coloc, score):
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


def _avoidance_counts(coloc: WorkColocation | None, score: int) -> bool:
    """Whether an anti-colocated dependent's negative score for a node
    pushes the primary towards it: only through a colocation with
    influence, whose dependent has a single node it may run on, and whose
    primary's stickiness is less than the dependent's aversion."""
    if coloc is None:
        return False
    primary = coloc.primary
    return (primary.variant.configured_stickiness(primary) < -score and has_influence(coloc)
            and _allowed_on_one(coloc.dependent))


def meta_stickiness(rsc: WorkResource) -> int:
    """A group's or clone's resource-stickiness, from its meta attributes."""
    value = rsc.meta.get("resource-stickiness", rsc.meta.get("resource_stickiness"))
    return lenient_score(value) if value is not None else 0


def _allowed_on_one(rsc: WorkResource) -> bool:
    """Whether exactly one node has a non-negative score for ``rsc``."""
    return sum(1 for weight in rsc.allowed.values() if weight >= 0) == 1


def _attribute_key(value: str | None) -> str | None:
    """Node attribute values compare without case (see ``_same``)."""
    return value.lower() if value is not None else None


def _best_scores_by_value(work: Work, allowed: dict[str, int], attribute: str) -> dict[str | None, int]:
    """For each value of ``attribute``, the best score in ``allowed`` on an
    available node that has it (computed once per colocation, not once per
    node)."""
    best: dict[str | None, int] = {}
    for name, weight in allowed.items():
        if weight <= -INFINITY or not work.nodes[name].is_available():
            continue
        key = _attribute_key(node_attr(work, name, attribute))
        if weight > best.get(key, -INFINITY):
            best[key] = weight
    return best
