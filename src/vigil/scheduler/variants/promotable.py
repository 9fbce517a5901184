"""Promotable clones: which instances are promoted, and where.

A promotable clone is a clone whose instances run in one of two roles,
Unpromoted and Promoted.  Its instances are placed as any clone's are (stage
6); then each placed instance gets a promotion priority -- the promotion
score its agent set on that node (the transient node attribute
``master-RSC``, written by ``crm_attribute --promotion`` or ``crm_master``),
plus ``role=Promoted`` location constraints and colocations by role -- and
the best ``promoted-max`` instances (at most ``promoted-node-max`` per node)
are promoted.  An instance with no promotion score anywhere is never
promoted: promotion is the agent's call.

Used by the clone variant only (``assign_clone``, ``create_clone_actions``
and its orderings), as Pacemaker's pcmk_sched_promotable.c serves its clone
methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vigil.model.scores import INFINITY, add, lenient_score
from vigil.scheduler.colocation import add_colocated_node_scores, has_influence
from vigil.scheduler.instances import Instance, instance_number
from vigil.scheduler.nodes import sorted_nodes
from vigil.scheduler.working import BUNDLE_HOST, Work
from vigil.scheduler.working_actions import Ord, OrderTuple, WorkAction
from vigil.scheduler.working_resources import Role, WorkClone, WorkColocation, WorkPrimitive, WorkResource

if TYPE_CHECKING:
    from vigil.scheduler.variants.clone_placement import MergeSort


# --- promotion scores -------------------------------------------------------


def promotion_attribute(name: str) -> str:
    """The transient node attribute that holds ``name``'s promotion score."""
    return f"master-{name}"


def _base_id(rsc_id: str) -> str:
    return rsc_id.rsplit(":", 1)[0] if ":" in rsc_id else rsc_id


def _active_anonymous_instance(clone: WorkClone, base: str, node: str) -> WorkPrimitive | None:
    """The primitive made from ``base`` of the instance active on ``node``."""
    for instance in clone.instances:
        for prim in instance.primitives():
            if prim.prim.id == base and node in prim.running_on:
                return prim
    return None


def _anonymous_known_on(clone: WorkClone, base: str, node: str) -> bool:
    return any(prim.prim.id == base and node in prim.known_on
               for instance in clone.instances for prim in instance.primitives())


def _score_applies(work: Work, clone: WorkClone, prim: WorkPrimitive, node: str) -> bool:
    """Whether ``prim``'s promotion score on ``node`` counts.

    The agent of an anonymous clone writes one score per node, whatever the
    instance number; it counts for the instance active there, or for any
    instance where none is active but the node has been probed.  Otherwise a
    score counts only where the instance is known (probed or active), unless
    nothing is known anywhere yet (cluster start)."""
    applies = False
    if not clone.unique:
        active = _active_anonymous_instance(clone, prim.prim.id, node)
        if active is prim or (active is None and _anonymous_known_on(clone, prim.prim.id, node)):
            applies = True
    if not applies:
        if not prim.running_on and not prim.known_on:
            applies = True
        else:
            applies = node in prim.known_on or node in prim.running_on
    return applies and prim.allowed.get(node, -INFINITY) >= 0


def _attribute_node(work: Work, prim: WorkPrimitive, node: str) -> str:
    """Where ``prim``'s node attributes on ``node`` are kept: on a bundle's guest
    node, the host's when the bundle says container-attribute-target=host."""
    if prim.meta.get("container-attribute-target") != "host":
        return node
    return work.bundle_host(node) or node


def promotion_score(work: Work, clone: WorkClone, rsc: WorkResource, node: str) -> tuple[int, bool]:
    """(``rsc``'s promotion score on ``node``, whether none was set): a
    cloned group's is the sum of its members'."""
    members = rsc.primitives()
    if len(members) != 1 or members[0] is not rsc:
        total, default = 0, True
        for member in members:
            score, member_default = promotion_score(work, clone, member, node)
            total += score
            default = default and member_default
        return total, default
    prim = members[0]
    if not _score_applies(work, clone, prim, node):
        return 0, True
    attrs = work.nodes[_attribute_node(work, prim, node)].attrs
    value = attrs.get(promotion_attribute(prim.history_id or prim.id))
    if value is None and not clone.unique and _base_id(prim.id) != prim.id:
        value = attrs.get(promotion_attribute(_base_id(prim.id)))
    if value is None:
        return 0, True
    return lenient_score(value), False


def add_promotion_scores(work: Work, clone: WorkClone) -> None:
    """Before placement: an instance prefers the nodes where it may be
    promoted, and its best promotion score becomes its priority (so that it
    is placed before instances that would never be promoted)."""
    for instance in clone.instances:
        for node in list(instance.allowed):
            if not work.nodes[node].is_available():
                continue  # never promoted there: no point preferring it
            score, _ = promotion_score(work, clone, instance, node)
            if score > 0:
                instance.allowed[node] = add(instance.allowed[node], score)
            if score > instance.priority:
                instance.priority = score


# --- roles ------------------------------------------------------------------


def _set_current_unpromoted(rsc: WorkResource) -> None:
    """A running instance of a promotable clone is Unpromoted, not Started."""
    if rsc.role == Role.STARTED:
        rsc.role = Role.UNPROMOTED
    for child in rsc.children():
        _set_current_unpromoted(child)


def _set_next_unpromoted(rsc: WorkResource) -> None:
    placed = any(prim.assigned is not None for prim in rsc.primitives())
    rsc.next_role = Role.UNPROMOTED if placed else Role.STOPPED
    for child in rsc.children():
        _set_next_unpromoted(child)


def _set_next_promoted(rsc: WorkResource) -> None:
    if rsc.next_role == Role.UNKNOWN:
        rsc.next_role = Role.PROMOTED
    for child in rsc.children():
        _set_next_promoted(child)


def _instance_node(rsc: WorkResource) -> str | None:
    """The one node an instance is placed on (a cloned group: only when all
    its placed members are on the same node)."""
    return rsc.variant.location(rsc)


def _apply_role_colocations(work: Work, clone: WorkClone, instance: Instance) -> None:
    """Colocations by role of the instance (and of its clone) with other
    resources add to or take from its priority (see apply_coloc_to_priority)."""
    colocations = list(instance.this_with)
    for coloc in clone.this_with:
        if not any(c is coloc for c in colocations):
            colocations.append(coloc)
    for coloc in colocations:
        primary = coloc.primary
        if primary is clone:
            continue
        instance.variant.apply_colocation(work, instance, primary, coloc)


def _set_instance_priority(work: Work, clone: WorkClone, instance: Instance) -> None:
    if instance.variant.state(instance, True) == Role.STARTED:
        _set_current_unpromoted(instance)
    chosen = _instance_node(instance)
    if chosen is None:
        return
    next_role = instance.variant.state(instance, False)
    if next_role in (Role.STARTED, Role.UNKNOWN):
        score, default = promotion_score(work, clone, instance, chosen)
        # No score at all: never promoted, unlike an explicit 0.
        instance.priority = -1 if default else score
    elif next_role in (Role.UNPROMOTED, Role.STOPPED):
        instance.priority = -INFINITY
    for node, score in instance.promoted_locations + clone.promoted_locations:
        if node == chosen:
            instance.priority = add(instance.priority, score)
    _apply_role_colocations(work, clone, instance)
    instance.promotion_priority = instance.priority
    if next_role == Role.PROMOTED:
        instance.promotion_priority = INFINITY


def _sort_by_promotion(work: Work, clone: WorkClone, merge_sort: MergeSort,
                       compare_instances: Callable[[Instance, Instance], int]) -> None:
    """Fold the instances' priorities into the clone's node scores (with its
    dependents' wishes for the Promoted role), take each instance's priority
    from its node's score, and sort the instances best first."""
    for instance in clone.instances:
        chosen = _instance_node(instance)
        if instance.promotion_priority >= 0 and chosen is not None and chosen in clone.allowed:
            clone.allowed[chosen] = add(instance.promotion_priority, clone.allowed[chosen])
    for coloc in list(clone.with_this):
        if coloc.primary_role != Role.PROMOTED or not has_influence(coloc):
            continue
        result = add_colocated_node_scores(work, coloc.dependent, clone.allowed,
                                           coloc.node_attribute or "#uname", coloc.score / INFINITY,
                                           True, True, coloc)
        if result is not None:
            clone.allowed = result
    if clone.id in work.promotion_without_ticket:
        for name in clone.allowed:
            clone.allowed[name] = add(clone.allowed[name], -INFINITY)
    for instance in clone.instances:
        chosen = _instance_node(instance)
        if not instance.managed and instance.next_role == Role.PROMOTED:
            instance.promotion_priority = INFINITY
        elif chosen is None:
            instance.promotion_priority = -INFINITY
        elif instance.promotion_priority >= 0:
            instance.promotion_priority = clone.allowed.get(chosen, -INFINITY)

    def compare(a: Instance, b: Instance) -> int:
        if a.promotion_priority != b.promotion_priority:
            return -1 if a.promotion_priority > b.promotion_priority else 1
        role_a, role_b = a.variant.state(a, True), b.variant.state(b, True)
        if role_a != role_b:
            return -1 if role_a > role_b else 1
        return compare_instances(a, b)

    clone.instances[:] = merge_sort(clone.instances, compare)


def _promotion_node(work: Work, clone: WorkClone, rsc: WorkResource) -> str | None:
    """Where ``rsc`` would be promoted, if it can be: placed, managed (or
    already promoted), with a non-negative priority, on a node that can run
    it and still has room for a promoted instance; every member of a cloned
    group too."""
    for member in rsc.children():
        if _promotion_node(work, clone, member) is None:
            return None
    node = _instance_node(rsc)
    if node is None:
        return None
    if not rsc.managed:
        if rsc.variant.state(rsc, True) != Role.PROMOTED:
            return None
    elif rsc.priority < 0 or not work.nodes[node].is_available() or not work.guest_container_placed(node):
        return None
    if node not in clone.allowed:
        return None
    if rsc.managed and clone.counts.get(node, 0) >= clone.promoted_node_max:
        return None
    return node


def set_instance_roles(work: Work, clone: WorkClone, merge_sort: MergeSort,
                       compare_instances: Callable[[Instance, Instance], int]) -> None:
    """Choose the instances to promote, best promotion priority first."""
    clone.counts = dict.fromkeys(clone.allowed, 0)
    for instance in clone.instances:
        _set_instance_priority(work, clone, instance)
    _sort_by_promotion(work, clone, merge_sort, compare_instances)
    promoted = 0
    for instance in clone.instances:
        chosen: str | None = None
        if instance.promotion_priority >= 0 and (promoted < clone.promoted_max or not clone.managed):
            chosen = _promotion_node(work, clone, instance)
        if chosen is None:
            _set_next_unpromoted(instance)
            continue
        frozen = not work.have_quorum and work.options.no_quorum_policy == "freeze"
        if instance.variant.state(instance, True) < Role.PROMOTED and frozen:
            _set_next_unpromoted(instance)
            continue
        clone.counts[chosen] = clone.counts.get(chosen, 0) + 1
        _set_next_promoted(instance)
        promoted += 1


def reset_instance_priorities(clone: WorkClone) -> None:
    """The instances' priorities were borrowed for promotion: give them
    back the clone's."""
    for instance in clone.instances:
        instance.priority = clone.priority


# --- colocation by role -----------------------------------------------------


def update_dependent_with_promotable(work: Work, clone: WorkClone, dependent: WorkPrimitive,
                                     coloc: WorkColocation) -> None:
    """Placing ``dependent`` colocated with one role of a promotable clone:
    an optional colocation adds its score where an instance in that role
    will be; a mandatory one (unless both sides are Promoted) limits it to
    those nodes, adding the clone's own scores there."""
    attribute = coloc.node_attribute or "#uname"
    # Each node with an instance in that role, and the score that node had
    # when the instance was placed there (the last such instance's).
    affected: dict[str, int] = {}
    for instance in clone.instances:
        node = _instance_node(instance)
        if node is None or instance.variant.state(instance, False) != coloc.primary_role:
            continue
        if coloc.score < INFINITY:
            value = _attr(work, node, attribute)
            for name in list(dependent.allowed):
                if _same(_attr(work, name, attribute), value):
                    dependent.allowed[name] = add(dependent.allowed[name], coloc.score)
        affected[node] = _score_when_placed(instance, node)
    if coloc.score >= INFINITY and (coloc.dependent_role != Role.PROMOTED
                                    or coloc.primary_role != Role.PROMOTED):
        if attribute == BUNDLE_HOST:
            # With a bundle's instance: where its container is (the clone's own
            # scores are for guest nodes, not for the hosts).
            hosts = {work.bundle_host(node) for node in affected}
            for name in list(dependent.allowed):
                if work.bundle_host(name) not in hosts:
                    dependent.allowed[name] = -INFINITY
            return
        for name in list(dependent.allowed):
            if name not in affected:
                dependent.allowed[name] = -INFINITY
            else:
                dependent.allowed[name] = add(dependent.allowed[name], affected[name])


def _score_when_placed(instance: Instance, node: str) -> int:
    """The score ``node`` had when the instance (a cloned group: its first
    member placed there) was placed on it."""
    for prim in instance.primitives():
        if prim.assigned == node:
            return prim.assigned_score
    return 0


def update_promotable_dependent_priority(work: Work, clone: WorkClone, dependent: WorkPrimitive,
                                         coloc: WorkColocation) -> int:
    """Choosing the role of ``dependent`` (Promoted wanted) colocated with a
    role of a promotable clone: its priority gains the score where an
    instance in that role will be with it; a mandatory colocation with none
    there forbids its promotion."""
    partner = compatible_role_instance(work, dependent, clone, coloc.primary_role, coloc.node_attribute)
    if partner is not None:
        dependent.priority = add(dependent.priority, coloc.score)
        return coloc.score
    if coloc.score >= INFINITY:
        dependent.priority = -INFINITY
        return -INFINITY
    return 0


def compatible_role_instance(work: Work, local: WorkResource, clone: WorkClone, role: Role,
                             attribute: str | None) -> Instance | None:
    """The clone's instance in ``role`` placed where ``local`` is (by node,
    or by the value of a node attribute); for a ``local`` not yet placed,
    on its best allowed node that has one."""
    node = local.variant.location(local)
    candidates = [node] if node is not None else _sorted_allowed(work, local)
    for candidate in candidates:
        for instance in clone.instances:
            if _role_instance_matches(work, instance, candidate, role, attribute):
                return instance
    return None


def _sorted_allowed(work: Work, rsc: WorkResource) -> list[str]:
    return sorted_nodes(work, rsc.allowed, None)


def _role_instance_matches(work: Work, instance: Instance, node: str, role: Role,
                           attribute: str | None) -> bool:
    if role != Role.UNKNOWN and instance.variant.state(instance, False) != role:
        return False
    if any(prim.blocked for prim in instance.primitives()):
        return False
    where = instance.variant.location(instance)
    if where is None:
        return False
    if attribute is not None and attribute != "#uname":
        return _same(_attr(work, where, attribute), _attr(work, node, attribute))
    return where == node


def _attr(work: Work, node: str, attribute: str) -> str | None:
    return work.node_attribute(node, attribute)


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.lower() == b.lower()


# --- actions and orderings --------------------------------------------------


def role_changes(clone: WorkClone) -> tuple[bool, bool]:
    """(any instance promotes, any instance demotes), counting only
    required actions."""
    promoting = demoting = False
    for prim in clone.primitives():
        for action in prim.actions:
            if action.optional:
                continue
            if action.task == "promote":
                promoting = True
            elif action.task == "demote":
                demoting = True
    return promoting, demoting


def create_promotable_pseudo_actions(work: Work, clone: WorkClone) -> dict[str, WorkAction]:
    """The clone's promote/promoted and demote/demoted points, optional
    unless an instance promotes (demotes), by task."""
    promoting, demoting = role_changes(clone)
    created: dict[str, WorkAction] = {}
    for task, optional in (("promote", not promoting), ("promoted", not promoting),
                           ("demote", not demoting), ("demoted", not demoting)):
        action = work.new_action(clone, task, None)
        action.pseudo = True
        action.optional = optional
        action.runnable = True
        created[task] = action
    return created


def promotable_ordering_specs(clone: WorkClone) -> list[OrderTuple]:
    """Demote before stop, start before promote, for the clone as a whole
    and for each instance."""
    specs: list[OrderTuple] = [
        (clone, "demoted", clone, "stop", Ord.OPTIONAL),
        (clone, "running", clone, "promote", Ord.RUNNABLE_LEFT),
        # the restart ordering of a promotable clone
        (clone, "stopped", clone, "start", Ord.OPTIONAL),
        (clone, "stopped", clone, "promote", Ord.OPTIONAL),
        (clone, "demoted", clone, "stop", Ord.OPTIONAL),
        (clone, "demoted", clone, "start", Ord.OPTIONAL),
        (clone, "demoted", clone, "promote", Ord.OPTIONAL),
        (clone, "running", clone, "promote", Ord.OPTIONAL),
        (clone, "demote", clone, "demoted", Ord.OPTIONAL),
    ]
    previous: Instance | None = None
    instances = sorted(clone.instances, key=instance_number) if clone.ordered else clone.instances
    for instance in instances:
        specs.append((instance, "demote", instance, "promote", Ord.OPTIONAL))
        specs.append((clone, "promote", instance, "promote", Ord.OPTIONAL))
        specs.append((instance, "promote", clone, "promoted", Ord.OPTIONAL))
        specs.append((clone, "demote", instance, "demote", Ord.GRAPH_ONLY))
        specs.append((instance, "demote", clone, "demoted", Ord.GRAPH_ONLY))
        if clone.ordered and previous is not None:
            specs.append((previous, "promote", instance, "promote", Ord.OPTIONAL))
            specs.append((instance, "demote", previous, "demote", Ord.OPTIONAL))
        previous = instance
    return specs


def is_promoted_role(action: WorkAction) -> bool:
    """A promote or demote (the tasks only promotable clones have)."""
    return action.task in ("promote", "demote", "promoted", "demoted")
