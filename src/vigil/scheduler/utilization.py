"""Placement strategies: node capacities and what resources use of them.

With ``placement-strategy`` other than ``default``, nodes declare capacities
(``<utilization>`` of a node: ``cpu=8``, ``memory=16384``) and resources what
they use of them (``<utilization>`` of a primitive).  Placement then:

- ``utilization``: puts a resource only where the remaining capacity holds
  it and the resources that must run with it (mandatory colocations) and
  are not placed yet;
- ``balanced``: the same, and prefers, between nodes of equal score, the one
  with the most capacity left;
- ``minimal``: the same, and prefers, between nodes of equal score, the first
  by name (it does not spread resources out), so that as few nodes as
  possible are used.

Each placement uses up the node's capacity; undoing it gives it back.
Resources are placed in a different order too: by priority, then by their
score on the node where they run, then by their best scores, a bundle's
pieces kept together (see :func:`sort_for_placement`).  A bundle's inner
primitive's utilization is its containers' (see ``unpack_resources``).
"""

from __future__ import annotations

import functools

from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.model.scores import INFINITY, add
from vigil.scheduler.nodes import compare_capacities, sorted_nodes
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkColocation, WorkPrimitive, WorkResource

DEFAULT = "default"


def is_default(work: Work) -> bool:
    return work.options.placement_strategy.lower() == DEFAULT


def utilization_value(text: str | None) -> int:
    """A utilization number; anything else counts as 0, as in Pacemaker."""
    if text is None:
        return 0
    try:
        return int(text.strip())
    except ValueError:
        return 0


def unpack_node_capacity(work: Work, node: WorkNode, transient: tuple[tuple[str, str], ...] = ()) -> None:
    """The node's capacities (rules see its attributes), all still free:
    the configured ones, and those of its status (``transient``, set with
    attrd) for the names the configuration does not give, as Pacemaker
    unpacks the status' sets without overwriting."""
    config = next((n for n in work.cluster.config.nodes if n.uname == node.name), None)
    values: dict[str, str] = {}
    if config is not None and config.utilization:
        values = dict(resolve_nvsets(config.utilization, RuleContext(now=work.now, node_attrs=node.attrs)))
    for name, value in transient:
        values.setdefault(name, value)
    if values:
        node.capacity = {name: utilization_value(value) for name, value in values.items()}


def unpack_resource_utilization(work: Work, rsc: WorkPrimitive) -> None:
    if not rsc.prim.utilization:
        return
    values = resolve_nvsets(rsc.prim.utilization, RuleContext(now=work.now))
    rsc.utilization = {name: utilization_value(value) for name, value in values.items()}


def consume(node: WorkNode, rsc: WorkPrimitive) -> None:
    """``rsc`` placed on ``node`` uses up its share of the node's capacity."""
    for name, used in rsc.utilization.items():
        node.capacity[name] = node.capacity.get(name, 0) - used


def release(node: WorkNode, rsc: WorkPrimitive) -> None:
    """``rsc`` no longer placed on ``node``: its share is free again."""
    for name, used in rsc.utilization.items():
        node.capacity[name] = node.capacity.get(name, 0) + used


def has_enough_capacity(node: WorkNode, needed: dict[str, int]) -> bool:
    return all(used <= node.capacity.get(name, 0) for name, used in needed.items())


def colocated_with(rsc: WorkResource, orig: WorkResource, found: list[WorkResource]) -> None:
    """``rsc`` and, recursively, what it must run with (mandatory colocations
    either way that would decide a location), into ``found``."""
    if any(r is rsc for r in found):
        return
    found.append(rsc)
    for coloc in list(rsc.this_with):
        if coloc.primary is not orig and coloc.score >= INFINITY \
                and _decides_location(rsc, coloc.primary, coloc):
            coloc.primary.variant.colocated_resources(coloc.primary, orig, found)
    for coloc in list(rsc.with_this):
        dependent = coloc.dependent
        if dependent is orig:
            continue
        if _is_clone(rsc) and not _is_clone(dependent):
            continue  # whether it follows an instance is not known yet
        if coloc.score >= INFINITY and _decides_location(dependent, rsc, coloc):
            dependent.variant.colocated_resources(dependent, orig, found)


def _scored_as(primary: WorkResource) -> WorkResource:
    """Whose scores a colocation with ``primary`` adds: a group's are its
    first member's (Pacemaker's group carries no stickiness of its own, and
    its colocations chain from its first member)."""
    members = primary.children()
    if primary.variant.collective and not _is_clone(primary) and members:
        return members[0]
    return primary


def _is_clone(rsc: WorkResource) -> bool:
    return rsc.variant.is_anonymous_clone(rsc) or rsc.variant.is_unique_clone(rsc)


def _decides_location(dependent: WorkResource, primary: WorkResource, coloc: WorkColocation) -> bool:
    """Whether the colocation would place ``dependent`` (Pacemaker's preview:
    the roles it is limited to, not whether either side is placed yet)."""
    if coloc.dependent_role != Role.UNKNOWN and coloc.dependent_role != dependent.next_role:
        return False
    return coloc.primary_role == Role.UNKNOWN or coloc.primary_role == primary.next_role


def add_primitive_utilization(rsc: WorkPrimitive, total: dict[str, int]) -> None:
    """What a primitive not placed yet will use, added to ``total``."""
    if not rsc.provisional:
        return
    for name, used in rsc.utilization.items():
        total[name] = total.get(name, 0) + used


def _is_usable(work: Work, rsc: WorkPrimitive, name: str) -> bool:
    node = work.nodes.get(name)
    return node is not None and node.is_available() and rsc.allowed.get(name, -INFINITY) >= 0


def ban_insufficient_capacity(work: Work, rsc: WorkPrimitive) -> str | None:
    """Ban ``rsc`` from the nodes without capacity left for it and what
    must run with it (for it alone when no node has room for all of them);
    returns the node with the most capacity left when none has room for all."""
    if is_default(work):
        return None
    found: list[WorkResource] = []
    rsc.variant.colocated_resources(rsc, rsc, found)
    if not any(r is rsc for r in found):
        found.append(rsc)
    together: dict[str, int] = {}
    for member in found:
        member.variant.add_utilization(member, rsc, found, together)
    candidates = [name for name in work.nodes if name in rsc.allowed and _is_usable(work, rsc, name)]
    any_capable = False
    most_capable: WorkNode | None = None
    for name in candidates:
        node = work.nodes[name]
        if has_enough_capacity(node, together):
            any_capable = True
        if most_capable is None or compare_capacities(node, most_capable) < 0:
            most_capable = node
    needed = together if any_capable else rsc.utilization
    for name in candidates:
        if not has_enough_capacity(work.nodes[name], needed):
            rsc.allowed[name] = add(rsc.allowed[name], -INFINITY)
    if any_capable or most_capable is None:
        return None
    return most_capable.name


def sort_for_placement(work: Work) -> None:
    """Place resources by priority, then by their score where they run, then
    by their scores node by node (nodes in placement order)."""
    if is_default(work):
        return
    nodes = sorted_nodes(work, {name: 0 for name in work.nodes}, None)

    def own_scores(rsc: WorkResource) -> dict[str, int]:
        # A group is weighed by its last member, whose colocations chain it
        # to the others.
        members = rsc.children()
        if rsc.variant.collective and not _is_clone(rsc) and members:
            rsc = members[-1]
        scores = dict(rsc.allowed)
        _fold_primaries(work, rsc, scores, 1.0, [rsc])
        return scores

    # A bundle is one resource to Pacemaker: its pieces (containers, IPs,
    # connections, inner clone) stay together, in their order, weighed as
    # the bundle (its containers, which carry its colocations).
    unit_of = _bundle_units(work)
    units: list[list[WorkResource]] = []
    by_unit: dict[str, list[WorkResource]] = {}
    for rsc in work.top:
        unit = unit_of.get(rsc.id)
        if unit is None:
            units.append([rsc])
        elif unit in by_unit:
            by_unit[unit].append(rsc)
        else:
            by_unit[unit] = [rsc]
            units.append(by_unit[unit])
    heads = [_bundle_head(work, unit[0], unit_of) for unit in units]
    scores = {id(rsc): own_scores(rsc) for rsc in heads}

    def compare(first: WorkResource, second: WorkResource) -> int:
        if first.priority != second.priority:
            return -1 if first.priority > second.priority else 1
        first_scores, second_scores = scores[id(first)], scores[id(second)]
        first_node = work.current_node(first)
        second_node = work.current_node(second)
        first_here = first_scores.get(first_node, -INFINITY) if first_node else -INFINITY
        second_here = second_scores.get(second_node, -INFINITY) if second_node else -INFINITY
        if first_here != second_here:
            return -1 if first_here > second_here else 1
        for name in nodes:
            a, b = first_scores.get(name, -INFINITY), second_scores.get(name, -INFINITY)
            if a != b:
                return -1 if a > b else 1
        return 0

    def compare_units(first: int, second: int) -> int:
        return compare(heads[first], heads[second])

    order = sorted(range(len(units)), key=functools.cmp_to_key(compare_units))
    work.top = [rsc for index in order for rsc in units[index]]


def _bundle_units(work: Work) -> dict[str, str]:
    """The bundle each of a bundle's top-level pieces belongs to, by id."""
    unit_of: dict[str, str] = {}
    for bundle in work.bundles.values():
        pieces: list[WorkResource] = [bundle.containers]
        for replica in bundle.replicas:
            pieces += [p for p in (replica.ip, replica.remote) if p is not None]
        if bundle.child is not None:
            pieces.append(bundle.child)
        for piece in pieces:
            unit_of[piece.id] = bundle.id
    return unit_of


def _bundle_head(work: Work, first: WorkResource, unit_of: dict[str, str]) -> WorkResource:
    """Who stands for ``first``'s unit in the sort: a bundle's containers."""
    bundle = unit_of.get(first.id)
    return first if bundle is None else work.bundles[bundle].containers


def _fold_primaries(work: Work, rsc: WorkResource, scores: dict[str, int], factor: float,
                    seen: list[WorkResource]) -> None:
    """Add to ``scores`` the scores of what ``rsc`` is colocated with,
    recursively, each weighed by the colocations' scores along the way."""
    if not any(weight >= 0 for weight in scores.values()):
        return
    colocations = list(rsc.this_with)
    group = rsc.parent
    if group is not None and not _is_clone(group) and group.children()[:1] == [rsc]:
        colocations += group.this_with  # a group's own, through its first member
    for coloc in colocations:
        primary = _scored_as(coloc.primary)
        if any(r is primary for r in seen):
            continue
        weight = factor * coloc.score / INFINITY
        for name in list(scores):
            # A primary's score counts only on nodes that can run resources
            # (Pacemaker's best score of the primary there): on a standby
            # node it is -INFINITY, whatever the primary's own score.
            node = work.nodes.get(name)
            usable = node is not None and node.is_available()
            score = primary.allowed.get(name, -INFINITY) if usable else -INFINITY
            if weight < 0 and score < 0:
                continue
            product = weight * score
            scores[name] = add(scores[name], int(product - 0.5) if product < 0 else int(product + 0.5))
        _fold_primaries(work, primary, scores, weight, [*seen, primary])
