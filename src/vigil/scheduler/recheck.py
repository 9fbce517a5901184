"""When the plan could change with nothing else happening: the next failure expiry.

A failure stops counting once ``failure-timeout`` has passed since the
newest failure of the resource on the node.  Nothing in the store changes
at that moment, so a daemon that only reschedules on changes would never
notice; it asks the scheduler for the earliest such time and wakes up then
(Pacemaker's "recheck by" time; ``cluster-recheck-interval`` stays the
fail-safe maximum).
"""

from __future__ import annotations

from vigil.model.failcounts import LAST_FAILURE_PREFIX
from vigil.scheduler.failcounts import raw_failcount
from vigil.scheduler.working import Work


def failure_expiries(work: Work) -> dict[str, int]:
    """Per primitive (by id): the earliest epoch second after ``work.now`` at
    which one of its counted failures expires; primitives with none are left out."""
    earliest: dict[str, int] = {}
    for node in work.nodes.values():
        if not any(key.startswith(LAST_FAILURE_PREFIX) for key in node.attrs):
            continue
        for rsc in work.rscs.values():
            if not rsc.failure_timeout_s:
                continue
            count, last = raw_failcount(node, rsc)
            if count <= 0 or last <= 0:
                continue
            # Pacemaker's test is "now > last + timeout": counted up to that second.
            expiry = last + rsc.failure_timeout_s + 1
            if expiry > work.now and expiry < earliest.get(rsc.id, expiry + 1):
                earliest[rsc.id] = expiry
    return earliest


def next_failure_expiry(work: Work) -> int | None:
    """The earliest epoch second after ``work.now`` at which a counted failure expires."""
    return min(failure_expiries(work).values(), default=None)
