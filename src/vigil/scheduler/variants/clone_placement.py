"""Clone placement: handing out a clone's instances to nodes.

First each active instance stays where it runs (so instances do not
shuffle), then the rest go to the best nodes, at most ``clone-node-max`` per
node and ``clone-max`` in all.  The order in which instances are placed is
Pacemaker's, sort algorithm included, since that order shows in the result.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.model.scores import INFINITY, add
from vigil.scheduler.bundles import replica_guest
from vigil.scheduler.colocation import (
    add_colocated_node_scores,
    has_influence,
    insert_sorted,
)
from vigil.scheduler.instances import Instance, did_fail, instance_number
from vigil.scheduler.location import ban_everywhere, base_weight
from vigil.scheduler.variants.promotable import add_promotion_scores, set_instance_roles
from vigil.scheduler.working import Work
from vigil.scheduler.working_resources import WorkClone, WorkResource


def _compare_instances(work: Work, clone: WorkClone) -> Callable[[Instance, Instance], int]:
    """Pacemaker's order for placing instances: active ones first (the less
    multiply active first), then by priority, by whether their current node
    can still run them and has fewer instances, unfailed first, by how much
    the clone's colocations like their current node, then by number."""
    colocated: dict[int, int] = {}

    def active(instance: Instance) -> tuple[str | None, int]:
        nodes = instance.running_on
        return (work.current_node(instance) if nodes else None), len(nodes)

    def allowed_here(instance: Instance, node: str | None) -> bool:
        return node is None or instance.allowed.get(node, -INFINITY) >= 0

    def colocation_score(instance: Instance, node: str) -> int:
        found = colocated.get(id(instance))
        if found is None:
            found = colocated[id(instance)] = _colocated_score(work, clone, instance, node)
        return found

    def compare(a: Instance, b: Instance) -> int:
        node_a, count_a = active(a)
        node_b, count_b = active(b)
        if count_a and count_b and count_a != count_b:
            return -1 if count_a < count_b else 1
        can_a, can_b = allowed_here(a, node_a), allowed_here(b, node_b)
        if can_a != can_b:
            return -1 if can_a else 1
        # An instance active where it is no longer allowed counts as inactive
        # from here on.
        node_a = node_a if can_a else None
        node_b = node_b if can_b else None
        if a.priority != b.priority:
            return -1 if a.priority > b.priority else 1
        if node_a is None and node_b is None:
            return 0
        if node_a is None:
            return 1
        if node_b is None:
            return -1
        avail_a, avail_b = work.nodes[node_a].is_available(), work.nodes[node_b].is_available()
        if avail_a != avail_b:
            return -1 if avail_a else 1
        top_a, top_b = node_a in clone.allowed, node_b in clone.allowed
        if not top_a and not top_b:
            return 0
        if top_a != top_b:
            return -1 if top_a else 1
        used_a, used_b = clone.counts.get(node_a, 0), clone.counts.get(node_b, 0)
        if used_a != used_b:
            return -1 if used_a < used_b else 1
        failed_a, failed_b = did_fail(a), did_fail(b)
        if failed_a != failed_b:
            return -1 if not failed_a else 1
        score_a, score_b = colocation_score(a, node_a), colocation_score(b, node_b)
        if score_a != score_b:
            return -1 if score_a > score_b else 1
        return instance_number(a) - instance_number(b)

    return compare


def _colocated_score(work: Work, clone: WorkClone, instance: Instance, node: str) -> int:
    """How much the clone's colocations (both ways) like ``node``, where
    ``instance`` runs: of two instances, the one whose node they like more
    keeps its place first."""
    # The node's own weight (-INFINITY for a node that is down or leaving).
    scores: dict[str, int] = {node: base_weight(work, node)}
    for coloc in clone.this_with:
        result = add_colocated_node_scores(work, coloc.primary, scores, coloc.node_attribute or "#uname",
                                           coloc.score / INFINITY, False, False, coloc)
        if result is not None:
            scores = result
    for coloc in clone.with_this:
        if not has_influence(coloc, instance):
            continue
        result = add_colocated_node_scores(work, coloc.dependent, scores, coloc.node_attribute or "#uname",
                                           coloc.score / INFINITY, True, False, coloc)
        if result is not None:
            scores = result
    return scores.get(node, -INFINITY)


MergeSort = Callable[[list[Instance], Callable[[Instance, Instance], int]], list[Instance]]


def _merge_sort(items: list[Instance], compare: Callable[[Instance, Instance], int]) -> list[Instance]:
    """GLib's list sort (a merge sort taking ties from the left half).  The
    instance comparison is not a total order, so the algorithm shows in the
    result; this keeps instance placement the same as Pacemaker's."""
    if len(items) <= 1:
        return list(items)
    middle = len(items) // 2
    left, right = _merge_sort(items[:middle], compare), _merge_sort(items[middle:], compare)
    merged: list[Instance] = []
    i = j = 0
    while i < len(left) and j < len(right):
        if compare(left[i], right[j]) <= 0:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged + left[i:] + right[j:]


def _set_score(instance: WorkResource, node: str, score: int) -> None:
    """Add ``score`` on ``node`` to an instance and everything inside it."""
    if node in instance.allowed:
        current = instance.allowed[node]
        instance.allowed[node] = add(current, score)
    for member in instance.children():
        _set_score(member, node, score)


def _restrict_to_runnable(work: Work, clone: WorkClone, instance: Instance, limit: int) -> None:
    """Forbid nodes where this instance cannot go (down, banned, or full).
    A bundle's inner instance may still go to its own guest node while that
    node is down: the connection's orderings then decide if it can start."""
    orphan = any(p.orphan for p in instance.primitives())
    guest = replica_guest(work, instance)
    for node in list(instance.allowed):
        if orphan or not (work.nodes[node].is_available() or node == guest):
            _set_score(instance, node, -INFINITY)
            continue
        top = clone.allowed.get(node)
        if top is None or top < 0 or clone.counts.get(node, 0) >= limit:
            _set_score(instance, node, -INFINITY)


def _append_parent_colocations(clone: WorkClone, instance: Instance) -> None:
    """Every colocation of the clone, as the instance's own (once): since
    instances keep their nodes (see _assign_early), the clone's optional
    colocations no longer need holding back to avoid shuffling."""
    for coloc in clone.this_with:
        if not any(c is coloc for c in instance.this_with):
            insert_sorted(instance.this_with, coloc, coloc.primary, lambda c: c.primary)
    for coloc in clone.with_this:
        if has_influence(coloc, instance) and not any(c is coloc for c in instance.with_this):
            insert_sorted(instance.with_this, coloc, coloc.dependent, lambda c: c.dependent)


def _assign_instance(work: Work, clone: WorkClone, instance: Instance, prefer: str | None,
                     limit: int) -> str | None:
    """Place one instance, at most ``limit`` per node; a placement with
    ``prefer`` is tentative (its failure has no side effects).  Counts it on
    the clone's node."""
    if not instance.provisional:
        return instance.variant.location(instance)
    if instance.allocating:
        return None
    _append_parent_colocations(clone, instance)
    _restrict_to_runnable(work, clone, instance, limit)
    chosen = instance.variant.assign(work, instance, prefer, prefer is None)
    if chosen is not None:
        clone.counts[chosen] = clone.counts.get(chosen, 0) + 1
    return chosen


def _node_tables(instance: WorkResource) -> list[tuple[WorkResource, dict[str, int]]]:
    """Copies of the scores of an instance and everything inside it."""
    tables: list[tuple[WorkResource, dict[str, int]]] = [(instance, dict(instance.allowed))]
    for child in instance.children():
        tables.extend(_node_tables(child))
    return tables


def _restore_node_tables(tables: list[tuple[WorkResource, dict[str, int]]]) -> None:
    for rsc, allowed in tables:
        rsc.allowed = dict(allowed)


def _assign_early(work: Work, clone: WorkClone, instance: Instance, current: str, available: int) -> bool:
    """Try to keep an active instance on its current node.

    When placement would rather put it elsewhere, one instance is reserved
    for that node and the instance is tried again: nodes get their fair
    share of instances, but each node keeps the instances already running
    there instead of swapping them with another node's."""
    allowed = instance.allowed.get(current)
    if allowed is None or allowed < 0 or not work.nodes[current].is_available():
        return False
    tables = _node_tables(instance)
    counts = dict(clone.counts)
    reserved = 0
    chosen: str | None = None
    while reserved < available:
        chosen = _assign_instance(work, clone, instance, current, clone.clone_node_max)
        if chosen == current:
            break
        _restore_node_tables(tables)
        if chosen is None:
            # Only the instance itself is open again: the members of a
            # cloned group that found no node stay placed nowhere, as
            # Pacemaker leaves them (the instance will then stop).
            instance.provisional = True
            break
        reserved += 1
        instance.variant.unassign(work, instance)
        chosen = None
    clone.counts = counts
    if chosen is None:
        return False
    clone.counts[chosen] = clone.counts.get(chosen, 0) + 1
    return True


def assign_clone(work: Work, clone: WorkClone) -> None:
    """Place the clone's instances: those active first, where they run."""
    if not clone.provisional or clone.allocating:
        return
    clone.allocating = True
    if clone.promotable:
        add_promotion_scores(work, clone)
    for coloc in list(clone.this_with):
        coloc.primary.variant.assign(work, coloc.primary, None)
    for coloc in list(clone.with_this):
        if has_influence(coloc):
            result = add_colocated_node_scores(
                work, coloc.dependent, clone.allowed, coloc.node_attribute or "#uname",
                coloc.score / INFINITY, True, True, coloc,
            )
            if result is not None:
                clone.allowed = result
    clone.instances[:] = _merge_sort(clone.instances, _compare_instances(work, clone))
    _distribute(work, clone)
    if clone.promotable:
        set_instance_roles(work, clone, _merge_sort, _compare_instances(work, clone))
    clone.allocating = False
    clone.provisional = False


def _preferred_node(work: Work, clone: WorkClone, instance: Instance, optimal: int) -> str | None:
    """Where an active, healthy, unplaced instance would like to stay: its
    current node, unless that node cannot run it or already has its share."""
    if not instance.running_on or not instance.provisional or instance.failed:
        return None
    current = work.current_node(instance)
    if current is None or not work.nodes[current].is_available():
        return None
    if current in clone.allowed and clone.counts.get(current, 0) >= optimal:
        return None
    return current


def _distribute(work: Work, clone: WorkClone) -> None:
    clone.counts = dict.fromkeys(clone.allowed, 0)
    available = sum(1 for node in clone.allowed if work.nodes[node].is_available())
    max_total = clone.clone_max
    optimal = max(1, max_total // available) if available else 1
    assigned = 0
    for instance in clone.instances:
        if assigned >= max_total:
            break
        current = _preferred_node(work, clone, instance, optimal)
        if current is not None and _assign_early(work, clone, instance, current, max_total - assigned):
            assigned += 1
    for instance in clone.instances:
        if not instance.provisional:
            continue
        if assigned >= max_total:
            ban_everywhere(work, instance)
            instance.variant.assign(work, instance, None)
        elif _assign_instance(work, clone, instance, None, clone.clone_node_max):
            assigned += 1

