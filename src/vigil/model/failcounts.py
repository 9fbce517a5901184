"""Pacemaker's fail-count attributes: their names, defined once.

A failed operation raises the transient node attribute
``fail-count-RSC#OP_INTERVAL`` and sets ``last-failure-RSC#OP_INTERVAL`` to
the time of the failure; a resource's fail-count on a node is the sum of its
``fail-count-*`` attributes there.
"""

from __future__ import annotations

FAILCOUNT_PREFIX = "fail-count-"
LAST_FAILURE_PREFIX = "last-failure-"
FAILURE_PREFIXES = (FAILCOUNT_PREFIX, LAST_FAILURE_PREFIX)


def is_failure_attribute(name: str) -> bool:
    """Whether a node attribute is a fail-count or last-failure of some operation."""
    return name.startswith(FAILURE_PREFIXES)
