"""Pacemaker's fail-counts, defined once: the attribute names, their sum, the budget left.

A failed operation raises the transient node attribute
``fail-count-RSC#OP_INTERVAL`` and sets ``last-failure-RSC#OP_INTERVAL`` to
the time of the failure.  A resource's fail-count on a node is the sum of its
``fail-count-*`` attributes there, in score arithmetic (a failed start counts
INFINITY, and INFINITY absorbs).  ``RSC`` is the resource's history id: the
primitive's id, shared by an anonymous clone's instances, or ``rsc:N`` for an
instance of a globally-unique clone.

What is left of the failure budget, ``recoveries_left`` in the stop context,
is migration-threshold minus the fail-count, never below 0, and INFINITY
when no threshold applies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from vigil.model.scores import INFINITY, ScoreError, add, lenient_score, parse_score

FAILCOUNT_PREFIX = "fail-count-"
LAST_FAILURE_PREFIX = "last-failure-"
FAILURE_PREFIXES = (FAILCOUNT_PREFIX, LAST_FAILURE_PREFIX)
# What follows the resource's name and the ``#``: the operation and interval.
_OPERATION_KEY = re.compile(r".+_[0-9]+$")


def failcount_attribute(rsc: str, operation: str, interval_ms: int) -> str:
    """Pacemaker's per-operation fail-count attribute, ``fail-count-RSC#OP_INTERVAL``."""
    return f"{FAILCOUNT_PREFIX}{rsc}#{operation}_{interval_ms}"


def last_failure_attribute(rsc: str, operation: str, interval_ms: int) -> str:
    """Pacemaker's ``last-failure-RSC#OP_INTERVAL`` (epoch seconds of the newest failure)."""
    return f"{LAST_FAILURE_PREFIX}{rsc}#{operation}_{interval_ms}"


def is_failure_attribute(name: str) -> bool:
    """Whether a node attribute is a fail-count or last-failure (of some operation, or an old
    per-resource one)."""
    return name.startswith(FAILURE_PREFIXES)


def failure_attribute(name: str) -> tuple[bool, str] | None:
    """(is it a fail-count (else a last-failure), ``RSC#OP_INTERVAL``) of a failure attribute;
    None for any other attribute."""
    if name.startswith(FAILCOUNT_PREFIX):
        return True, name[len(FAILCOUNT_PREFIX):]
    if name.startswith(LAST_FAILURE_PREFIX):
        return False, name[len(LAST_FAILURE_PREFIX):]
    return None


def resource_cuts(rest: str) -> list[tuple[str, str]]:
    """Every (resource, operation key) ``RSC#OP_INTERVAL`` may mean: the resource's name ends at
    a ``#`` followed by an operation key (an id with a ``#`` in it may split several ways)."""
    cuts: list[tuple[str, str]] = []
    cut = rest.find("#")
    while cut >= 0:
        if cut > 0 and _OPERATION_KEY.match(rest, cut + 1):
            cuts.append((rest[:cut], rest[cut + 1:]))
        cut = rest.find("#", cut + 1)
    return cuts


def failure_attribute_matcher(
    rsc: str, operation: str | None = None, interval_ms: int | None = None
) -> Callable[[str], bool]:
    """A predicate for the fail-count and last-failure attributes of ``rsc``.

    ``rsc`` also matches its anonymous clone instances ``rsc:N``; with
    ``operation`` (and ``interval_ms``) only those of that operation.
    """
    name = re.escape(rsc) + ("" if ":" in rsc else "(?::[0-9]+)?")
    op = re.escape(operation) if operation is not None else "[^#]+"
    interval = str(interval_ms) if interval_ms is not None else "[0-9]+"
    pattern = re.compile(f"^(?:{FAILCOUNT_PREFIX}|{LAST_FAILURE_PREFIX}){name}#{op}_{interval}$")
    return lambda attribute: pattern.match(attribute) is not None


def parse_failcount(text: str) -> int | None:
    """A fail-count attribute's value (a score); None when it is not one (counted as nothing)."""
    try:
        return parse_score(text)
    except ScoreError:
        return None


def sum_failcounts(counts: Iterable[int]) -> int:
    """The fail-count of a resource from its operations': score addition, INFINITY absorbs."""
    total = 0
    for count in counts:
        total = add(total, count)
    return total


def resource_failcount(attributes: Iterable[tuple[str, str]], history_id: str) -> int:
    """The fail-count of the resource recorded as ``history_id`` on a node, from the node's
    attributes: the sum over its operations (values that are not scores count nothing)."""
    counts: list[int] = []
    for name, value in attributes:
        parts = failure_attribute(name)
        if parts is None or not parts[0]:
            continue
        if any(rsc == history_id for rsc, _ in resource_cuts(parts[1])):
            count = parse_failcount(value)
            if count is not None:
                counts.append(count)
    return sum_failcounts(counts)


def migration_threshold(text: str | None) -> int:
    """``migration-threshold`` as Pacemaker reads it: leniently, INFINITY when unset, 1 below 0,
    and 0 for "disabled" (see :func:`threshold_in_effect`)."""
    if text is None:
        return INFINITY
    value = lenient_score(text)
    return 1 if value < 0 else value


def threshold_in_effect(threshold: int) -> int:
    """The threshold that counts failures: a disabled one (0) never moves anything, INFINITY."""
    return INFINITY if threshold <= 0 else threshold


def recoveries_left(threshold: int, count: int) -> str:
    """migration-threshold minus the fail-count, never below 0; INFINITY without a threshold
    (unset, disabled or INFINITY).  A string, as the stop context gives it to agents."""
    if threshold <= 0 or threshold >= INFINITY:
        return "INFINITY"
    if count >= INFINITY:
        return "0"
    return str(max(0, threshold - count))
