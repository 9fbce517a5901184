"""Clones: numbered instances of one primitive or group, one set per node.

Placement hands out instances to nodes: first each active instance stays
where it runs (so instances do not shuffle), then the rest go to the best
nodes, at most ``clone-node-max`` per node and ``clone-max`` in all.  The
clone itself is a set of pseudo-actions (start, running, stop, stopped) that
other resources order against; with ``interleave``, an ordering between two
clones ties each instance only to the instance on the same node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vigil.model.scores import INFINITY, add
from vigil.scheduler.bundles import replica_guest
from vigil.scheduler.colocation import (
    add_colocated_node_scores,
    has_influence,
    insert_sorted,
    own_node_scores,
)
from vigil.scheduler.instances import (
    Instance,
    InstanceActions,
    compatible_instance,
    did_fail,
    instance_number,
    instance_task,
    is_blocked,
    original_task,
    update_interleaved,
)
from vigil.scheduler.location import ban_everywhere, base_weight, merge_score
from vigil.scheduler.utilization import colocated_with
from vigil.scheduler.variants.notify import (
    COMPLETION,
    create_clone_notify_points,
    create_notifications,
    notified_point,
    notify_after_fencing,
)
from vigil.scheduler.variants.primitive import place_nowhere
from vigil.scheduler.variants.promotable import (
    add_promotion_scores,
    create_promotable_pseudo_actions,
    promotable_ordering_specs,
    reset_instance_priorities,
    set_instance_roles,
    update_dependent_with_promotable,
    update_promotable_dependent_priority,
)
from vigil.scheduler.working import BUNDLE_HOST, Work
from vigil.scheduler.working_actions import Ord, OrderTuple, OrdFlags, Updates, WorkAction, find_first_action
from vigil.scheduler.working_resources import Role, WorkClone, WorkColocation, WorkPrimitive, WorkResource

if TYPE_CHECKING:
    from vigil.scheduler.variants import ProbeTargets, Propagation


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
                                           coloc.score / INFINITY, False, False)
        if result is not None:
            scores = result
    for coloc in clone.with_this:
        if not has_influence(coloc, instance):
            continue
        result = add_colocated_node_scores(work, coloc.dependent, scores, coloc.node_attribute or "#uname",
                                           coloc.score / INFINITY, True, False)
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
                coloc.score / INFINITY, True, True,
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


# --- actions ------------------------------------------------------------------


def create_clone_actions(work: Work, clone: WorkClone) -> None:
    """The instances' actions, then the clone's pseudo-actions, optional
    unless an instance starts or stops."""
    for instance in clone.instances:
        instance.variant.create_actions(work, instance)
    active = starting = stopping = restarting = False
    for prim in clone.primitives():
        if prim.running_on:
            active = True
        prim_starting = prim_stopping = False
        for action in prim.actions:
            if action.optional or not (action.pseudo or action.runnable):
                continue
            if action.task == "stop":
                prim_stopping = True
            elif action.task == "start" and action.runnable:
                prim_starting = True
        starting |= prim_starting
        stopping |= prim_stopping
        restarting |= prim_starting and prim_stopping
    created: dict[str, WorkAction] = {}
    for task, optional, runnable in (
        ("start", not starting, True),
        ("running", not starting, active or starting),
        ("stop", not stopping, True),
        ("stopped", not stopping, True),
    ):
        action = work.new_action(clone, task, None)
        action.pseudo = True
        action.optional = optional
        action.runnable = runnable
        created[task] = action
    # Its stop does not rule out the migration of what must stop before it
    # unless an instance restarts.
    created["stop"].migratable = not restarting
    if clone.promotable:
        created.update(create_promotable_pseudo_actions(work, clone))
        reset_instance_priorities(clone)
    create_clone_notify_points(work, clone, created)


def clone_ordering_specs(clone: WorkClone) -> list[OrderTuple]:
    """The orderings that make a clone a clone, each instance's own included."""
    specs: list[OrderTuple] = [
        (clone, "stopped", clone, "start", Ord.OPTIONAL),
        (clone, "start", clone, "running", Ord.RUNNABLE_LEFT),
        (clone, "stop", clone, "stopped", Ord.RUNNABLE_LEFT),
    ]
    instances = sorted(clone.instances, key=instance_number) if clone.ordered else clone.instances
    previous: Instance | None = None
    for instance in instances:
        specs.extend(instance.variant.internal_orderings(instance))
        specs.append((clone, "start", instance, "start", Ord.RUNNABLE_LEFT | Ord.GRAPH_ONLY))
        specs.append((instance, "start", clone, "running", Ord.GRAPH_ONLY))
        if clone.ordered and previous is not None:
            specs.append((previous, "start", instance, "start", Ord.OPTIONAL))
        specs.append((clone, "stop", instance, "stop", Ord.GRAPH_ONLY))
        specs.append((instance, "stop", clone, "stopped", Ord.GRAPH_ONLY))
        if clone.ordered and previous is not None:
            specs.append((instance, "stop", previous, "stop", Ord.OPTIONAL))
        previous = instance
    if clone.promotable:
        specs.extend(promotable_ordering_specs(clone))
    return specs


def clone_action_flags(clone: WorkClone, action: WorkAction, node: str | None, instances: InstanceActions,
                       ) -> tuple[bool, bool]:
    """(optional, runnable) of a clone pseudo-action, from its instances'.

    Required when any instance's action is; runnable when at least one is.
    A notification stands for the instances' task it is about.
    """
    task = instance_task(clone, original_task(action))
    optional = True
    any_runnable = False
    actions = instances.of_primitives(clone, task, node)
    if actions is not None:
        # Primitive instances: their actions' own flags, read without side effects.
        if not all(child.optional for child in actions):
            optional = False
            action.optional = False
        any_runnable = any(child.runnable for child in actions)
    else:
        for instance, found in instances.of(clone, task, node):
            child_optional, child_runnable = instance.variant.action_flags(instance, found, node, instances)
            if optional and not child_optional:
                optional = False
                action.optional = False
            if child_runnable:
                any_runnable = True
    runnable = True
    if not any_runnable:
        runnable = False
        if node is None:
            action.runnable = False
    return optional, runnable


def can_interleave(first: WorkAction, then: WorkAction) -> bool:
    """Whether an ordering between two clones' actions ties instances to
    instances (``interleave`` on the clone whose instances wait)."""
    if first.rsc is None or then.rsc is None or first.rsc is then.rsc:
        return False
    if not isinstance(first.rsc, WorkClone) or not isinstance(then.rsc, WorkClone):
        return False
    owner = first.rsc if then.task in ("stop", "demote") else then.rsc
    return owner.interleave


def probe_instances(clone: WorkClone) -> Callable[[str], list[Instance]]:
    """Which instances to probe on a node: every instance of a unique clone;
    for an anonymous clone just one (none where an instance is known, else
    the one placed there, else the first), in instance number order.  Worked
    out once per clone, for all nodes."""
    # Instances are handled in number order from here on, as Pacemaker does.
    clone.instances.sort(key=instance_number)
    ordered = list(clone.instances)
    if clone.unique:
        return lambda node: ordered
    known: set[str] = set()
    placed: dict[str, Instance] = {}
    for instance in ordered:
        for prim in instance.primitives():
            known.update(prim.known_on)
        location = instance.variant.location(instance)
        if location is not None:
            placed.setdefault(location, instance)
    first = ordered[:1]

    def targets(node: str) -> list[Instance]:
        if node in known:
            return []
        found = placed.get(node)
        return [found] if found is not None else first

    return targets


def clone_ordering_flags(clone: WorkClone, action: WorkAction, node: str | None,
                         instances: InstanceActions) -> tuple[bool, bool]:
    """(optional, runnable) of a clone's action as an ordering sees them:
    ``node`` narrows "required" to the instances on that node, while it stays
    runnable when any instance can run."""
    optional, runnable = clone_action_flags(clone, action, None, instances)
    if node is None:
        return optional, runnable
    on_optional, on_runnable = clone_action_flags(clone, action, node, instances)
    return on_optional, on_runnable or runnable


def minimum_runnable(clone: WorkClone, require_all: bool) -> int:
    """How many instances must run before what is ordered after the clone
    may (clone-min, or the older require-all=false meaning one)."""
    if "clone-min" in clone.meta:
        return clone.clone_min
    return 0 if require_all else 1


def constrain_clone_dependent(work: Work, dependent: WorkPrimitive, clone: WorkClone,
                              coloc: WorkColocation) -> int:
    """Place ``dependent`` relative to a clone it is colocated with: with the
    instance on its own node when its clone interleaves, else where any
    instance is (mandatory) or by each instance's node (advisory).  A
    colocation with a role of a promotable clone counts where instances in
    that role are.  Returns what ``dependent``'s promotion priority changed by."""
    interleave = isinstance(coloc.dependent, WorkClone) and coloc.dependent.interleave
    if clone.provisional:
        return 0
    if clone.promotable and coloc.primary_role != Role.UNKNOWN:
        if dependent.provisional:
            update_dependent_with_promotable(work, clone, dependent, coloc)
            return 0
        if coloc.dependent_role == Role.PROMOTED:
            return update_promotable_dependent_priority(work, clone, dependent, coloc)
    if interleave:
        partner = compatible_instance(work, dependent, clone, False)
        if partner is not None:
            return partner.variant.constrain_dependent(work, dependent, partner, coloc)
        if coloc.score >= INFINITY and dependent.provisional:
            place_nowhere(work, dependent)
        return 0
    if coloc.score >= INFINITY:
        placed: set[str] = set()
        for instance in clone.instances:
            where = instance.variant.location(instance)
            if where is not None and not is_blocked(instance):
                placed.add(where)
        if coloc.node_attribute == BUNDLE_HOST:
            # A bundle's instances are on guest nodes: the dependent goes to their hosts.
            placed = {host for host in (work.bundle_host(node) for node in placed) if host is not None}
        for node in dependent.allowed:
            if node not in placed:
                dependent.allowed[node] = -INFINITY
        for node in placed:
            dependent.allowed.setdefault(node, -INFINITY)
        return 0
    delta = 0
    for instance in clone.instances:
        delta = add(delta, instance.variant.constrain_dependent(work, dependent, instance, coloc))
    return delta


class CloneVariant:
    """A clone: numbered instances of a primitive or group, one set per node."""

    rank = 2
    collective = True

    # --- placement

    def assign(self, work: Work, rsc: WorkResource, prefer: str | None,
               stop_if_fail: bool = True) -> str | None:
        assert isinstance(rsc, WorkClone)
        assign_clone(work, rsc)
        return None

    def unassign(self, work: Work, rsc: WorkResource) -> None:
        # A clone is never an instance: nothing asks it to give a node back.
        return None

    def location(self, rsc: WorkResource) -> str | None:
        return None

    def current_node(self, work: Work, rsc: WorkResource) -> str | None:
        return rsc.running_on[0] if rsc.running_on else None

    def apply_location_inside(self, rsc: WorkResource, scored: list[tuple[str, int]]) -> None:
        # Every instance as if the constraint named it.
        assert isinstance(rsc, WorkClone)
        for instance in rsc.instances:
            for name, score in scored:
                merge_score(instance, name, score)
            instance.variant.apply_location_inside(instance, scored)

    def named_members(self, rsc: WorkResource) -> list[WorkResource]:
        # Its instances are named after the clone's child, whose id names
        # the clone itself.
        return []

    def stops_together(self, rsc: WorkResource) -> list[WorkPrimitive]:
        return []  # instances are independent of each other

    def constraint_ids(self, rsc: WorkResource) -> tuple[str, ...]:
        assert isinstance(rsc, WorkClone)
        return (rsc.id, rsc.template_id)

    # --- colocation

    def apply_colocation(self, work: Work, dependent: WorkResource, primary: WorkResource,
                         coloc: WorkColocation) -> int:
        # A clone's instances carry its colocations as their own (see
        # _append_parent_colocations); the clone itself has no scores to adjust.
        return 0

    def constrain_dependent(self, work: Work, dependent: WorkPrimitive, primary: WorkResource,
                            coloc: WorkColocation) -> int:
        assert isinstance(primary, WorkClone)
        return constrain_clone_dependent(work, dependent, primary, coloc)

    def colocation_node_scores(self, work: Work, rsc: WorkResource, nodes: dict[str, int] | None,
                               attribute: str, factor: float, only_positive: bool,
                               select_active: bool) -> dict[str, int] | None:
        return own_node_scores(work, rsc, nodes, attribute, factor, only_positive)

    def with_this_colocations(self, rsc: WorkResource) -> list[WorkColocation]:
        return rsc.with_this

    def colocated_resources(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource]) -> None:
        colocated_with(rsc, orig, found)

    def add_utilization(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource],
                        total: dict[str, int]) -> None:
        # One instance's worth: the instance already counted, else the first.
        assert isinstance(rsc, WorkClone)
        if not rsc.provisional:
            return
        existing = False
        for instance in rsc.instances:
            if any(r is instance for r in found):
                existing = True
                continue
            for member in instance.children():
                if any(r is member for r in found):
                    instance.variant.add_utilization(instance, orig, found, total)
                    existing = True
                    break
        if not existing and rsc.instances:
            first = rsc.instances[0]
            first.variant.add_utilization(first, orig, found, total)

    # --- actions and orderings

    def create_actions(self, work: Work, rsc: WorkResource) -> None:
        assert isinstance(rsc, WorkClone)
        create_clone_actions(work, rsc)

    def probe_targets(self, rsc: WorkResource) -> ProbeTargets:
        # The instances' primitives, each probe before the clone's start.
        assert isinstance(rsc, WorkClone)
        instances = probe_instances(rsc)
        return lambda node: [(prim, rsc) for instance in instances(node) for prim in instance.primitives()]

    def internal_orderings(self, rsc: WorkResource) -> list[OrderTuple]:
        assert isinstance(rsc, WorkClone)
        return clone_ordering_specs(rsc)

    def minimum_runnable(self, rsc: WorkResource, require_all: bool) -> int:
        assert isinstance(rsc, WorkClone)
        return minimum_runnable(rsc, require_all)

    def action_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                     instances: InstanceActions) -> tuple[bool, bool]:
        assert isinstance(rsc, WorkClone)
        return clone_action_flags(rsc, action, node, instances)

    def ordering_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                       instances: InstanceActions) -> tuple[bool, bool]:
        assert isinstance(rsc, WorkClone)
        return clone_ordering_flags(rsc, action, node, instances)

    def start_node(self, rsc: WorkResource, start: WorkAction) -> str | None:
        return start.node

    def update_ordered_actions(self, prop: Propagation, rsc: WorkResource, first: WorkAction,
                               then: WorkAction, f_optional: bool, f_runnable: bool, check_optional: bool,
                               check_runnable: bool, kind: OrdFlags) -> Updates:
        # Interleaved: instance to instance.  Otherwise the pair itself, and
        # when "then" is a clone's action, each instance's action that can
        # run (through the instance's own variant).
        if can_interleave(first, then):
            return (yield from update_interleaved(prop, first, then, check_optional, check_runnable, kind))
        f_changed, t_changed = yield from prop.update_one(first, then, f_optional, f_runnable, check_optional,
                                                          check_runnable, kind)
        if not isinstance(then.rsc, WorkClone):
            return f_changed, t_changed
        for instance in then.rsc.instances:
            child_action = find_first_action(instance, then.task, then.node)
            if child_action is None:
                continue
            _, child_runnable = instance.variant.action_flags(instance, child_action, then.node,
                                                              prop.instances)
            if not child_runnable:
                continue
            fc, tc = yield from instance.variant.update_ordered_actions(
                prop, instance, first, child_action, f_optional, f_runnable, check_optional, check_runnable,
                kind)
            f_changed |= fc
            t_changed |= tc
            if tc:
                for after, _ in list(reversed(child_action.afters)):
                    yield after
        return f_changed, t_changed

    # --- what it is

    def is_anonymous_clone(self, rsc: WorkResource) -> bool:
        assert isinstance(rsc, WorkClone)
        return not rsc.unique

    def is_unique_clone(self, rsc: WorkResource) -> bool:
        assert isinstance(rsc, WorkClone)
        return rsc.unique

    def is_promotable(self, rsc: WorkResource) -> bool:
        assert isinstance(rsc, WorkClone)
        return rsc.promotable

    def ordering_point(self, rsc: WorkResource, task: str) -> WorkAction | None:
        # The completion point (running, stopped, promoted, demoted), or
        # when the clone notifies, the end of the notifications after it.
        assert isinstance(rsc, WorkClone)
        completion = COMPLETION.get(task, task)
        if completion not in COMPLETION.values():
            return None
        if rsc.notify:
            return notified_point(rsc, completion)
        return find_first_action(rsc, completion, None)

    def create_notifications(self, work: Work, rsc: WorkResource) -> None:
        assert isinstance(rsc, WorkClone)
        create_notifications(work, rsc)

    def notify_after_fencing(self, work: Work, rsc: WorkResource, prim: WorkPrimitive, stop: WorkAction,
                             fencing: WorkAction) -> None:
        assert isinstance(rsc, WorkClone)
        notify_after_fencing(work, rsc, prim, stop, fencing)

    def state(self, rsc: WorkResource, current: bool) -> Role:
        # The highest of its instances' roles.
        roles = [instance.variant.state(instance, current) for instance in rsc.children()]
        return max(roles, default=Role.UNKNOWN)


CLONE = CloneVariant()
