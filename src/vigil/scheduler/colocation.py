"""Colocation: placing one resource relative to another.

A colocation ``rsc with with_rsc`` makes the *dependent* (``rsc``) follow the
*primary* (``with_rsc``): the primary is placed first and the dependent's
node scores are adjusted by where it went.  In the other direction, the
dependents' own preferences are folded into the primary's scores, attenuated
by score/INFINITY, so that a primary prefers nodes its dependents like.
"""

from __future__ import annotations

from vigil.model.config import Colocation
from vigil.model.scores import INFINITY, add
from vigil.scheduler.working import Role, WRsc, Work

# Marks a node that a non-negative-only merge found unusable.
INFINITY_HACK = INFINITY * -2


def unpack_colocations(work: Work) -> None:
    for coloc in work.cluster.config.colocations:
        if coloc.score == 0:
            continue
        dependents = _members(work, coloc.rsc)
        primaries = _members(work, coloc.with_rsc)
        if not dependents or not primaries:
            continue
        # Until groups and clones are modelled, a colocation with one applies
        # to its first primitive.
        dependent, primary = dependents[0], primaries[0]
        dependent.this_with.append(coloc)
        primary.with_this.append(coloc)


def _members(work: Work, rsc_id: str) -> list[WRsc]:
    if rsc_id in work.rscs:
        return [work.rscs[rsc_id]]
    return [r for r in work.rscs.values() if r.prim.parent == rsc_id]


def _role(text: str | None) -> Role:
    if text is None:
        return Role.UNKNOWN
    lowered = text.lower()
    if lowered in ("promoted", "master"):
        return Role.PROMOTED
    if lowered in ("unpromoted", "slave"):
        return Role.UNPROMOTED
    if lowered == "started":
        return Role.STARTED
    if lowered == "stopped":
        return Role.STOPPED
    return Role.UNKNOWN


def has_influence(coloc: Colocation, primary: WRsc) -> bool:
    return coloc.influence or not primary.running_on


def colocation_affects_location(work: Work, dependent: WRsc, primary: WRsc, coloc: Colocation) -> bool:
    if primary.provisional:
        return False
    if not dependent.provisional:
        return False
    dep_role = _role(coloc.rsc_role)
    pri_role = _role(coloc.with_rsc_role)
    if coloc.score > 0:
        if dep_role not in (Role.UNKNOWN, Role.STARTED) and dep_role != dependent.next_role:
            return False
        if pri_role not in (Role.UNKNOWN, Role.STARTED) and pri_role != primary.next_role:
            return False
    if coloc.score < 0:
        if dep_role not in (Role.UNKNOWN, Role.STARTED) and dep_role == dependent.next_role:
            return False
        if pri_role not in (Role.UNKNOWN, Role.STARTED) and pri_role == primary.next_role:
            return False
    return True


def node_attr(work: Work, node: str, attribute: str) -> str | None:
    return work.nodes[node].attrs.get(attribute)


def any_node_available(work: Work, scores: dict[str, int]) -> bool:
    return any(
        weight >= 0 and work.nodes[name].is_available() for name, weight in scores.items()
    )


def apply_coloc_to_dependent(work: Work, dependent: WRsc, primary: WRsc, coloc: Colocation) -> None:
    """Adjust the dependent's scores now that the primary is placed."""
    if not colocation_affects_location(work, dependent, primary, coloc):
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


def add_colocated_node_scores(work: Work, rsc: WRsc, nodes: dict[str, int] | None, attribute: str,
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
        if nodes is None:
            work_scores = dict(rsc.allowed)
        else:
            work_scores = dict(nodes)
            _add_matching(work, work_scores, rsc, attribute, factor, only_positive)
        if any_node_available(work, work_scores):
            multiplier = -1.0 if factor < 0 else 1.0
            for coloc in rsc.with_this:
                if not has_influence(coloc, rsc):
                    continue
                other = work.rscs.get(coloc.rsc) or _first_member(work, coloc.rsc)
                if other is None:
                    continue
                other_factor = multiplier * coloc.score / INFINITY
                result = add_colocated_node_scores(
                    work, other, work_scores, coloc.node_attribute or "#uname", other_factor,
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


def _first_member(work: Work, rsc_id: str) -> WRsc | None:
    members = _members(work, rsc_id)
    return members[0] if members else None


def _add_matching(work: Work, scores: dict[str, int], rsc: WRsc, attribute: str, factor: float,
                  only_positive: bool) -> None:
    for name, weight in list(scores.items()):
        value = node_attr(work, name, attribute)
        score = _best_score_matching(work, rsc, attribute, value)
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


def _best_score_matching(work: Work, rsc: WRsc, attribute: str, value: str | None) -> int:
    best = -INFINITY
    for name, weight in rsc.allowed.items():
        if weight > best and work.nodes[name].is_available() and _same(value, node_attr(work, name, attribute)):
            best = weight
    return best
