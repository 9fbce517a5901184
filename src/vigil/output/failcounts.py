"""Fail-counts as an operator reads them: per resource and node, with the budget left.

The names, the sum and the budget are the model's (:mod:`vigil.model.failcounts`);
this is the report ``vigil failcount``, ``vigil status`` and the metrics show:
each resource's operations with their counts, the migration-threshold in
effect, ``recoveries left`` (what the stop context's ``recoveries_left``
counts down, with failures older than ``failure-timeout`` no longer
counted), and the values that are not numbers, shown so that they are not
silent.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.model.config import Config, Primitive
from vigil.model.failcounts import (
    failure_attribute,
    migration_threshold,
    parse_failcount,
    recoveries_left,
    resource_cuts,
    sum_failcounts,
    threshold_in_effect,
)
from vigil.model.isodate import parse_interval_ms
from vigil.model.resources import (
    FAILURE_TIMEOUT,
    MIGRATION_THRESHOLD,
    all_resources,
    effective_meta,
    find,
    history_id,
    instance_base,
)
from vigil.model.scores import INFINITY, add, format_score
from vigil.model.status import Status


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
    """migration-threshold (in effect: a disabled one is INFINITY) and failure-timeout of a
    primitive, from its meta attributes in effect at ``now``."""
    found = find(config, primitive_id)
    if found is None or not isinstance(found.resource, Primitive):
        return FailurePolicy()
    meta = effective_meta(config, found, now)
    return FailurePolicy(threshold_in_effect(migration_threshold(meta.get(MIGRATION_THRESHOLD))),
                         _timeout_s(meta.get(FAILURE_TIMEOUT)))


def _timeout_s(text: str | None) -> int:
    if not text:
        return 0
    try:
        return parse_interval_ms(text) // 1000
    except ValueError:
        return 0


def _reported_id(config: Config, recorded: str, now: int) -> str:
    """Anonymous clone instances' counts are the primitive's (``web:1`` -> ``web``)."""
    base = instance_base(recorded)
    found = find(config, base)
    if base == recorded or found is None:
        return recorded
    return history_id(config, found, recorded, now)


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
            parts = failure_attribute(name)
            cuts = resource_cuts(parts[1]) if parts is not None else []
            if parts is None or not cuts:
                continue
            split = cuts[-1]
            key = (state.uname, _reported_id(config, split[0], now))
            if parts[0]:
                count = parse_failcount(value)
                if count is None:
                    count = 0  # Pacemaker's char2score of garbage; the scheduler skips it alike
                    unreadable.setdefault(key, []).append(f"{split[1]}={value!r}")
                operations = found.setdefault(key, {})
                operations[split[1]] = add(operations.get(split[1], 0), count)
            elif value.isdigit():
                found.setdefault(key, {})
                last[key] = max(last.get(key, 0), int(value))
    result: list[FailCount] = []
    for (node_name, rsc), operations in sorted(found.items()):
        if resources is not None and not any(rsc == wanted or instance_base(rsc) == wanted
                                             for wanted in resources):
            continue
        total = sum_failcounts(operations.values())
        policy = failure_policy(config, instance_base(rsc), now)
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
