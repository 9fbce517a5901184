"""Stage 4 (with colocation): node scores from location constraints, stickiness and failures.

Each primitive has a score per allowed node.  In a symmetric cluster every
node starts allowed at 0; in an asymmetric one only nodes a location
constraint names are allowed.  Scores add with Pacemaker's arithmetic, so one
``-INFINITY`` anywhere is a ban.
"""

from __future__ import annotations

import re

from vigil.model.config import Location, Primitive
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext, rule_passes, rule_score
from vigil.model.scores import INFINITY, add
from vigil.scheduler.bundle_constraints import bundle_location_targets
from vigil.scheduler.constraint_sets import plain_locations
from vigil.scheduler.discovery import record_discovery
from vigil.scheduler.failcounts import effective_failcount, failcount_name, node_failures, recorded_failures
from vigil.scheduler.working import Work
from vigil.scheduler.working_resources import Role, WorkGroup, WorkPrimitive, WorkResource


def base_weight(work: Work, node_name: str) -> int:
    """The weight a node brings when it first enters a resource's allowed set."""
    node = work.nodes[node_name]
    if node.has_state and (not node.online or node.shutdown):
        return -INFINITY
    return 0


def resource_node_score(work: Work, rsc: WorkResource, node: str, score: int) -> None:
    """Add ``score`` for ``node`` to ``rsc`` and everything inside it."""
    if node not in rsc.allowed:
        rsc.allowed[node] = base_weight(work, node)
    rsc.allowed[node] = add(rsc.allowed[node], score)
    for child in rsc.children():
        resource_node_score(work, child, node, score)


def ban(rsc: WorkResource, node: str) -> None:
    """Never run ``rsc`` on ``node`` (a hard failure, a failed stop, ...)."""
    rsc.allowed[node] = -INFINITY
    for child in rsc.children():
        ban(child, node)


def ban_everywhere(work: Work, rsc: WorkResource) -> None:
    for name in work.nodes:
        ban(rsc, name)


def ban_target(rsc: WorkPrimitive) -> WorkResource:
    """What a failure bans: the primitive, or for an instance of an
    anonymous clone, the whole clone (its instances are interchangeable)."""
    top: WorkResource = rsc
    while top.parent is not None:
        top = top.parent
    if top.variant.is_anonymous_clone(top):
        return top
    return rsc


def apply_locations(work: Work) -> None:
    for location in plain_locations(work.cluster.config):
        for rsc in _location_targets(work, location):
            _apply_location(work, rsc, location)


def _location_targets(work: Work, location: Location) -> list[WorkResource]:
    if location.rsc_pattern:
        # A leading "!" inverts the pattern: the top-level resources it does not match.
        inverted = location.rsc_pattern.startswith("!")
        try:
            pattern = re.compile(location.rsc_pattern[1:] if inverted else location.rsc_pattern)
        except re.error:
            return []
        if inverted:
            return [r for r in work.top if not pattern.search(r.id)]
        return [r for r in _all_resources(work) if pattern.search(r.id)]
    roles = [location.role, *(rule.role for rule in location.rules)]
    by_role = any((role or "").lower() in ("promoted", "master", "unpromoted", "slave") for role in roles)
    targets: list[WorkResource] = []
    for ident in work.cluster.config.constrained(location.rsc or ""):
        inside = bundle_location_targets(work, ident, by_role)
        if inside is not None:
            targets.extend(inside)
            continue
        rsc = work.resource(ident)
        if rsc is not None:
            targets.append(rsc)
    return targets


def _all_resources(work: Work) -> list[WorkResource]:
    found: list[WorkResource] = []
    for rsc in work.top:
        found.append(rsc)
        found.extend(rsc.variant.named_members(rsc))
    return found


def _template_primitive(rsc: WorkResource) -> Primitive | None:
    """The definition a rule's resource tests read: the primitive's own, or
    a group's or clone's first primitive's."""
    prims = rsc.primitives()
    return prims[0].prim if prims else None


def _role_filter(text: str | None) -> Role:
    """The role a location constraint (or its rule) is limited to: Started
    and Unpromoted mean any role (an instance is Unpromoted before it can be
    Promoted), so only Promoted and Stopped limit it."""
    lowered = (text or "").lower()
    if lowered in ("promoted", "master"):
        return Role.PROMOTED
    if lowered == "stopped":
        return Role.STOPPED
    return Role.UNKNOWN


def _apply_location(work: Work, rsc: WorkResource, location: Location) -> None:
    for role, scored in _location_scores(work, rsc, location):
        _apply_for_role(work, rsc, role, scored, location.resource_discovery)


def with_group_locations(work: Work, member: WorkPrimitive, group: WorkGroup) -> dict[str, int]:
    """A copy of ``member``'s scores with its group's location constraints
    counted in full, as they count for the first member.

    A later member of a colocated group gets only 0 from them (it follows
    the first member); but when it is itself the dependent of a configured
    colocation, the primary must see the group's preferences through it.
    """
    scores = dict(member.allowed)
    for location in plain_locations(work.cluster.config):
        if group not in _location_targets(work, location):
            continue
        for role, scored in _location_scores(work, group, location):
            if role != Role.UNKNOWN and member.next_role != role:
                continue
            for name, score in scored:
                scores[name] = add(scores[name], score) if name in scores else score
    return scores


def _location_scores(work: Work, rsc: WorkResource,
                     location: Location) -> list[tuple[Role, list[tuple[str, int]]]]:
    """What a location constraint gives ``rsc``: the nodes it scores, with
    the role the scores are limited to, once per rule."""
    if location.node is not None:
        if location.node not in work.nodes:
            return []
        return [(_role_filter(location.role),
                 [(location.node, location.score if location.score is not None else 0)])]
    found: list[tuple[Role, list[tuple[str, int]]]] = []
    prim = _template_primitive(rsc)
    for rule in location.rules:
        scored = []
        for name, node in work.nodes.items():
            ctx = RuleContext(now=work.now, node_attrs=node.attrs,
                              rsc_class=prim.cls if prim else None,
                              rsc_provider=prim.provider if prim else None,
                              rsc_type=prim.type if prim else None,
                              params=_params_on(work, rsc, node.attrs), meta=rsc.meta)
            if not rule_passes(rule, ctx):
                continue
            score = rule_score(rule, ctx)
            if rule.boolean_op.lower() == "or":
                # An "or" rule adds to the node's own weight (-INFINITY
                # for a node that is down or leaving); "and" replaces it.
                score = add(base_weight(work, name), score)
            scored.append((name, score))
        found.append((_role_filter(rule.role or location.role), scored))
    return found


def _params_on(work: Work, rsc: WorkResource, node_attrs: dict[str, str]) -> dict[str, str]:
    """The parameters a rule's ``value-source="param"`` reads on a node: a
    primitive's parameter sets may have rules of their own, on that node's
    attributes (as Pacemaker evaluates them per node)."""
    own = rsc.primitives() if not rsc.variant.collective else []
    if not own or not any(nvset.rule for nvset in own[0].prim.params):
        return rsc.params
    prim = own[0].prim
    ctx = RuleContext(now=work.now, node_attrs=node_attrs, rsc_class=prim.cls, rsc_provider=prim.provider,
                      rsc_type=prim.type)
    return resolve_nvsets(prim.params, ctx)


def _apply_for_role(work: Work, rsc: WorkResource, role: Role, scored: list[tuple[str, int]],
                    discovery: str) -> None:
    """A location limited to a role counts only for a resource that will
    have that role; a Promoted one is kept to weigh which instance of a
    promotable clone is promoted."""
    if role == Role.PROMOTED:
        rsc.promoted_locations.extend(scored)
    if role != Role.UNKNOWN and rsc.next_role != role:
        return
    _apply_scores(rsc, scored)
    record_discovery(work, rsc, [name for name, _ in scored], discovery)


def _apply_scores(rsc: WorkResource, scored: list[tuple[str, int]]) -> None:
    """The resource's own scores, then what its variant hands down inside it."""
    for name, score in scored:
        merge_score(rsc, name, score)
    rsc.variant.apply_location_inside(rsc, scored)


def gets_group_score(member: WorkPrimitive, group: WorkGroup) -> bool:
    """Whether ``member`` gets a group location's real score: in a colocated
    group only the first member does, the others follow it."""
    return not group.colocated or member is group.members[0]


def merge_score(rsc: WorkResource, node: str, score: int) -> None:
    """A location score: added to the node's score, or the node's first."""
    if node not in rsc.allowed:
        rsc.allowed[node] = score
    else:
        rsc.allowed[node] = add(rsc.allowed[node], score)


def apply_stickiness(work: Work) -> None:
    for rsc in work.rscs.values():
        if not rsc.managed or rsc.stickiness < 1 or len(rsc.running_on) != 1:
            continue
        node = rsc.running_on[0]
        if not work.options.symmetric_cluster and node not in rsc.allowed:
            continue
        resource_node_score(work, rsc, node, rsc.stickiness)


def has_clear_failcount(rsc: WorkPrimitive, node: str) -> bool:
    return node in rsc.failcount_cleared_on


def apply_failure_thresholds(work: Work) -> None:
    """Ban a resource from a node where it reached migration-threshold."""
    candidates = [
        (rsc, *failcount_name(rsc)) for rsc in work.rscs.values()
        if rsc.migration_threshold != 0 and not rsc.failure_ignored
    ]
    for node in work.nodes.values():
        failures = node_failures(node)
        if not failures.by_name:
            continue  # no fail-count at all here (most nodes)
        for rsc, exact, name in candidates:
            if not rsc.fillers and recorded_failures(failures, exact, name) is None:
                continue  # a fail-count of 0 (resources inside a container count too)
            if has_clear_failcount(rsc, node.name):
                continue
            count = effective_failcount(node, rsc, work.now, with_fillers=True)
            if count <= 0:
                continue
            if rsc.migration_threshold - count <= 0:
                target = ban_target(rsc)
                resource_node_score(work, target, node.name, -INFINITY)
                record_ban(target, node.name, rsc)


def record_ban(target: WorkResource, node: str, failed: WorkPrimitive) -> None:
    """Remember which failure banned every primitive under ``target``."""
    for prim in target.primitives():
        prim.banned_by.setdefault(node, failed)


def apply_node_health(work: Work) -> None:
    """Node health scores act as a location preference for every resource."""
    if work.options.node_health_strategy in ("none", ""):
        return
    for node in work.nodes.values():
        if node.health_score == 0:
            continue
        for rsc in work.rscs.values():
            if rsc.meta.get("allow-unhealthy-nodes", "false").lower() in ("true", "yes", "1", "on"):
                continue
            resource_node_score(work, rsc, node.name, node.health_score)

