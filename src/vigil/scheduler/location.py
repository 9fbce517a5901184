"""Stage 4: node scores from location constraints, stickiness and failures.

Each primitive has a score per allowed node.  In a symmetric cluster every
node starts allowed at 0; in an asymmetric one only nodes a location
constraint names are allowed.  Scores add with Pacemaker's arithmetic, so one
``-INFINITY`` anywhere is a ban.
"""

from __future__ import annotations

import re

from vigil.model.config import Location
from vigil.model.scores import INFINITY, add
from vigil.scheduler.failcounts import effective_failcount
from vigil.scheduler.rules import RuleContext, rule_passes, rule_score
from vigil.scheduler.working import Role, WRsc, Work


def base_weight(work: Work, node_name: str) -> int:
    """The weight a node brings when it first enters a resource's allowed set."""
    node = work.nodes[node_name]
    if not node.has_state or not node.online or node.shutdown:
        return -INFINITY
    return 0


def resource_node_score(work: Work, rsc: WRsc, node: str, score: int) -> None:
    if node not in rsc.allowed:
        rsc.allowed[node] = base_weight(work, node)
    rsc.allowed[node] = add(rsc.allowed[node], score)


def ban(rsc: WRsc, node: str) -> None:
    """Never run ``rsc`` on ``node`` (a hard failure, a failed stop, ...)."""
    rsc.allowed[node] = -INFINITY


def ban_everywhere(work: Work, rsc: WRsc) -> None:
    for name in work.nodes:
        rsc.allowed[name] = -INFINITY
    rsc.assigned = None


def apply_locations(work: Work) -> None:
    for location in work.cluster.config.locations:
        for rsc in _location_targets(work, location):
            _apply_location(work, rsc, location)


def _location_targets(work: Work, location: Location) -> list[WRsc]:
    if location.rsc_pattern:
        try:
            pattern = re.compile(location.rsc_pattern)
        except re.error:
            return []
        return [r for r in work.rscs.values() if not r.orphan and pattern.search(r.id)]
    targets = []
    for rsc in work.rscs.values():
        if rsc.id == location.rsc or rsc.prim.parent == location.rsc:
            targets.append(rsc)
    return targets


def _apply_location(work: Work, rsc: WRsc, location: Location) -> None:
    if location.role is not None and location.role.lower() not in ("started", "any"):
        want = Role.PROMOTED if location.role.lower() in ("promoted", "master") else Role.UNPROMOTED
        if rsc.next_role != want:
            return
    if location.node is not None:
        if location.node not in work.nodes:
            return
        score = location.score if location.score is not None else 0
        _merge(work, rsc, location.node, score, copy_weight=True)
        return
    for rule in location.rules:
        for name, node in work.nodes.items():
            ctx = RuleContext(now=work.now, node_attrs=node.attrs, rsc_class=rsc.prim.cls,
                              rsc_provider=rsc.prim.provider, rsc_type=rsc.prim.type,
                              params=rsc.params, meta=rsc.meta)
            if not rule_passes(rule, ctx):
                continue
            _merge(work, rsc, name, rule_score(rule, ctx), copy_weight=False)


def _merge(work: Work, rsc: WRsc, node: str, score: int, copy_weight: bool) -> None:
    if node not in rsc.allowed:
        rsc.allowed[node] = add(base_weight(work, node), score) if copy_weight else score
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


def has_clear_failcount(rsc: WRsc, node: str) -> bool:
    return any(a.task == "clear_failcount" and a.node == node for a in rsc.actions)


def apply_failure_thresholds(work: Work) -> None:
    """Ban a resource from a node where it reached migration-threshold."""
    for node in work.nodes.values():
        for rsc in work.rscs.values():
            if rsc.migration_threshold == 0 or rsc.failure_ignored:
                continue
            if has_clear_failcount(rsc, node.name):
                continue
            count = effective_failcount(node, rsc, work.now)
            if count <= 0:
                continue
            if rsc.migration_threshold - count <= 0:
                resource_node_score(work, rsc, node.name, -INFINITY)


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


__all__ = ["INFINITY", "apply_failure_thresholds", "apply_locations", "apply_node_health",
           "apply_stickiness", "ban", "ban_everywhere", "resource_node_score"]
