"""Fail-counts as an operator reads them: per resource and node, with the budget left.

Pacemaker keeps one ``fail-count-RSC#OP_INTERVAL`` attribute per failed
operation; the resource's fail-count on a node is their sum (score
arithmetic: a failed start or stop counts INFINITY).  ``recoveries left`` is
what the stop context's ``recoveries_left`` counts down: migration-threshold
minus the fail-count that still counts (``failure-timeout`` expires old
failures), never below 0, or INFINITY when no threshold applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.admin.tree import all_resources, is_unique_clone
from vigil.model.config import Config, Primitive
from vigil.model.isodate import parse_interval_ms
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.model.scores import INFINITY, ScoreError, add, format_score, lenient_score, parse_score
from vigil.model.status import Status

# Pacemaker's attribute names (vigil.store.base writes them; not imported, to keep this module pure).
FAILCOUNT_PREFIX = "fail-count-"
LAST_FAILURE_PREFIX = "last-failure-"


@dataclass(frozen=True)
class FailurePolicy:
    """What a resource's meta attributes say about failures."""

    migration_threshold: int = INFINITY
    failure_timeout_s: int = 0


@dataclass(frozen=True)
class OperationFailures:
    operation: str  # e.g. monitor_10000
    count: int


@dataclass(frozen=True)
class FailCount:
    """One resource's failures on one node."""

    resource: str
    node: str
    # The sum over its operations, as recorded (1000000 is INFINITY).
    count: int
    operations: tuple[OperationFailures, ...]
    migration_threshold: int
    # "INFINITY" or a number, what a stop after one more failure would be told, plus one.
    recoveries_left: str
    last_failure: int | None = None
    # failure-timeout has passed since the last failure: the scheduler no longer counts it.
    expired: bool = False
    # Operations whose fail-count is not a number, as written (``monitor_10000='notanumber'``):
    # counted as 0, as Pacemaker and vigil's scheduler read them, and shown so that it is not silent.
    unreadable: tuple[str, ...] = ()

    @property
    def count_text(self) -> str:
        return format_score(self.count)

    @property
    def threshold_text(self) -> str:
        return format_score(self.migration_threshold)


def failure_policy(config: Config, primitive_id: str, now: int) -> FailurePolicy:
    """migration-threshold and failure-timeout of a primitive, as the scheduler resolves them:
    its own meta, then its group's and clone's, then rsc_defaults."""
    for found in all_resources(config):
        prim = found.resource
        if not isinstance(prim, Primitive) or prim.id != primitive_id:
            continue
        ctx = RuleContext(now=now, rsc_class=prim.cls, rsc_provider=prim.provider, rsc_type=prim.type)
        meta = resolve_nvsets(prim.meta, ctx)
        for ancestor in reversed(found.ancestors):
            for name, value in resolve_nvsets(ancestor.meta, ctx).items():
                meta.setdefault(name, value)
        resolve_nvsets(config.rsc_defaults, ctx, into=meta)
        return FailurePolicy(_threshold(meta.get("migration-threshold")),
                             _timeout_s(meta.get("failure-timeout")))
    return FailurePolicy()


def _threshold(text: str | None) -> int:
    """As the scheduler reads it: leniently; below 0 means 1, and 0 disables it (INFINITY)."""
    if text is None:
        return INFINITY
    value = lenient_score(text)
    return 1 if value < 0 else value or INFINITY


def _timeout_s(text: str | None) -> int:
    if not text:
        return 0
    try:
        return parse_interval_ms(text) // 1000
    except ValueError:
        return 0


def recoveries_left(threshold: int, count: int) -> str:
    """migration-threshold minus the fail-count, never below 0; INFINITY without a threshold."""
    if threshold >= INFINITY:
        return "INFINITY"
    if count >= INFINITY:
        return "0"
    return str(max(0, threshold - count))


def _split(attribute: str, prefix: str) -> tuple[str, str] | None:
    """``fail-count-web#monitor_10000`` -> (``web``, ``monitor_10000``)."""
    rest = attribute[len(prefix):]
    rsc, sep, operation = rest.rpartition("#")
    return (rsc, operation) if sep and rsc else None


def _reported_id(config: Config, history_rsc: str) -> str:
    """Anonymous clone instances' counts are the primitive's (``web:1`` -> ``web``)."""
    base, _, number = history_rsc.rpartition(":")
    if not number.isdigit():
        return history_rsc
    for found in all_resources(config):
        if found.resource.id == base and found.clone is not None and not is_unique_clone(found.clone):
            return base
    return history_rsc


def history_ids(config: Config) -> list[str]:
    """The resources fail-counts are kept for: primitives (and unique clones' instances as seen)."""
    return [found.resource.id for found in all_resources(config) if isinstance(found.resource, Primitive)]


def failcounts(config: Config, status: Status, now: int, *, resources: list[str] | None = None,
               node: str | None = None, include_zero: bool = False) -> list[FailCount]:
    """Every resource's fail-count on every node that has one (``include_zero``: every primitive
    on every node with a status), ordered by node, then resource."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    last: dict[tuple[str, str], int] = {}
    unreadable: dict[tuple[str, str], list[str]] = {}
    for state in status.nodes:
        if node is not None and state.uname != node:
            continue
        if include_zero:
            for rsc in history_ids(config):
                found.setdefault((state.uname, rsc), {})
        for name, value in state.attributes:
            if name.startswith(FAILCOUNT_PREFIX):
                split = _split(name, FAILCOUNT_PREFIX)
                if split is None:
                    continue
                key = (state.uname, _reported_id(config, split[0]))
                try:
                    count = parse_score(value)
                except ScoreError:
                    count = 0  # Pacemaker's char2score of garbage; the scheduler skips it alike
                    unreadable.setdefault(key, []).append(f"{split[1]}={value!r}")
                operations = found.setdefault(key, {})
                operations[split[1]] = add(operations.get(split[1], 0), count)
            elif name.startswith(LAST_FAILURE_PREFIX):
                split = _split(name, LAST_FAILURE_PREFIX)
                if split is None or not value.isdigit():
                    continue
                key = (state.uname, _reported_id(config, split[0]))
                found.setdefault(key, {})
                last[key] = max(last.get(key, 0), int(value))
    result: list[FailCount] = []
    for (node_name, rsc), operations in sorted(found.items()):
        if resources is not None and not any(_matches(rsc, wanted) for wanted in resources):
            continue
        total = 0
        for count in operations.values():
            total = add(total, count)
        policy = failure_policy(config, rsc.rpartition(":")[0] if _is_instance(rsc) else rsc, now)
        newest = last.get((node_name, rsc))
        expired = bool(total > 0 and newest and policy.failure_timeout_s
                       and now > newest + policy.failure_timeout_s)
        result.append(FailCount(
            resource=rsc, node=node_name, count=total,
            operations=tuple(OperationFailures(op, count) for op, count in sorted(operations.items())),
            migration_threshold=policy.migration_threshold,
            recoveries_left=recoveries_left(policy.migration_threshold, 0 if expired else total),
            last_failure=newest, expired=expired, unreadable=tuple(unreadable.get((node_name, rsc), ())),
        ))
    return result


def _is_instance(rsc: str) -> bool:
    return rsc.rpartition(":")[2].isdigit() and ":" in rsc


def _matches(rsc: str, wanted: str) -> bool:
    return rsc == wanted or (_is_instance(rsc) and rsc.rpartition(":")[0] == wanted)
