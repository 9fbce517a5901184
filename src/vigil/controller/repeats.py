"""A plan that keeps coming back unchanged: when to stop trying it and wait for a change.

The same transition planned :data:`REPEAT_LIMIT` times in a row from the
same failures (run to its end, or aborted by an action that fails every time
without being counted, such as fencing that cannot work) means the cluster
cannot get where the plan leads: the controller waits for a change.  A plan
that keeps failing while the fail-counts rise is not stuck: it is recovery,
and only migration-threshold ends it, as in Pacemaker.
"""

from __future__ import annotations

from vigil.model.cluster import Cluster
from vigil.model.failcounts import is_failure_attribute
from vigil.model.transition import Transition

REPEAT_LIMIT = 3


class Repeats:
    """How many times in a row the same plan came back from the same failures."""

    def __init__(self) -> None:
        self._last: object = None
        self.times = 0

    def count(self, transition: Transition, cluster: Cluster) -> int:
        """Note one more plan; how many times before this one it came back unchanged."""
        work = tuple((a.task, a.resource, a.node, a.interval_ms) for a in transition.actions if not a.pseudo)
        plan = (work, _failure_attributes(cluster))
        self.times = self.times + 1 if plan == self._last else 0
        self._last = plan
        return self.times

    def reset(self) -> None:
        self._last, self.times = None, 0


def _failure_attributes(cluster: Cluster) -> tuple[tuple[str, str, str], ...]:
    """Every node's fail-count and last-failure attributes: what a recovery changes each time."""
    return tuple((state.uname, name, value) for state in cluster.status.nodes
                 for name, value in state.attributes if is_failure_attribute(name))
