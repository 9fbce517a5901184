"""Fail-counts: per resource and node, summed over the resource's operations.

Pacemaker keeps one ``fail-count-RSC#OP_INTERVAL`` (and ``last-failure-…``)
transient attribute per failed operation; a resource's fail-count on a node
is their sum, and it stops counting once ``failure-timeout`` has passed since
the newest failure.
"""

from __future__ import annotations

from vigil.model.scores import ScoreError, add, parse_score
from vigil.scheduler.working import WNode, WRsc


def _base_id(rsc_id: str) -> str:
    return rsc_id.split(":", 1)[0]


def _matches(key: str, prefix: str, rsc_id: str) -> bool:
    name = f"{prefix}-{rsc_id}"
    return key == name or key.startswith(name + "#")


def raw_failcount(node: WNode, rsc: WRsc) -> tuple[int, int]:
    """(fail-count ignoring failure-timeout, newest last-failure time)."""
    rsc_id = _base_id(rsc.id)
    count = 0
    last = 0
    for key, value in node.attrs.items():
        if _matches(key, "fail-count", rsc_id):
            try:
                count = add(count, parse_score(value))
            except ScoreError:
                continue
        elif _matches(key, "last-failure", rsc_id):
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
