"""Fail-counts: per resource and node, summed over the resource's operations.

Pacemaker keeps one ``fail-count-RSC#OP_INTERVAL`` (and ``last-failure-…``)
transient attribute per failed operation; a resource's fail-count on a node
is their sum, and it stops counting once ``failure-timeout`` has passed since
the newest failure.
"""

from __future__ import annotations

import re

from vigil.model.scores import ScoreError, add, parse_score
from vigil.scheduler.working import WClone, WNode, WRsc


def _is_unique_instance(rsc: WRsc) -> bool:
    parent = rsc.parent
    while parent is not None:
        if isinstance(parent, WClone):
            return parent.unique
        parent = parent.parent
    return False


def _patterns(rsc: WRsc) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """``fail-count-RSC#OP_INTERVAL`` and ``last-failure-...`` names of this
    resource: an instance of a globally-unique clone has its own
    (``RSC:N#...``); anonymous instances share the primitive's, with or
    without an old ``:N``.  Compiled once per resource and run."""
    if rsc.failcount_patterns is None:
        if _is_unique_instance(rsc):
            name = re.escape(rsc.id)
        else:
            name = re.escape(rsc.id.split(":", 1)[0]) + "(:[0-9]+)?"
        rsc.failcount_patterns = (
            re.compile(f"^fail-count-{name}#.+_[0-9]+$"),
            re.compile(f"^last-failure-{name}#.+_[0-9]+$"),
        )
    return rsc.failcount_patterns


def _failure_attrs(node: WNode) -> list[tuple[str, str]]:
    """The node's fail-count and last-failure attributes (most nodes have
    none, and most resources never failed: this keeps the check cheap)."""
    if node.failure_attrs is None:
        node.failure_attrs = [
            (key, value) for key, value in node.attrs.items()
            if key.startswith(("fail-count-", "last-failure-"))
        ]
    return node.failure_attrs


def raw_failcount(node: WNode, rsc: WRsc) -> tuple[int, int]:
    """(fail-count ignoring failure-timeout, newest last-failure time)."""
    attrs = _failure_attrs(node)
    if not attrs:
        return 0, 0
    counts, failures = _patterns(rsc)
    count = 0
    last = 0
    for key, value in attrs:
        if counts.match(key):
            try:
                count = add(count, parse_score(value))
            except ScoreError:
                continue
        elif failures.match(key):
            try:
                last = max(last, int(value))
            except ValueError:
                continue
    return count, last


def effective_failcount(node: WNode, rsc: WRsc, now: int, with_fillers: bool = False) -> int:
    """The fail-count that still counts at ``now`` (a container's includes
    the failures of the resources inside it when ``with_fillers``)."""
    count, last = raw_failcount(node, rsc)
    if count > 0 and last > 0 and rsc.failure_timeout_s and now > last + rsc.failure_timeout_s:
        count = 0
    if with_fillers:
        for filler in rsc.fillers:
            count = add(count, effective_failcount(node, filler, now))
    return count
