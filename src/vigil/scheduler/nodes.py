"""Which node is best: the order in which placement considers nodes.

Highest score first (nodes that cannot run resources count as -INFINITY),
then the node with fewer resources placed so far, then the node the resource
already runs on, then the name.
"""

from __future__ import annotations

from functools import cmp_to_key

from vigil.model.scores import INFINITY
from vigil.scheduler.working import Work


def sorted_nodes(work: Work, scores: dict[str, int], active: str | None) -> list[str]:
    def weight(name: str) -> int:
        return scores[name] if work.nodes[name].is_available() else -INFINITY

    def compare(a: str, b: str) -> int:
        wa, wb = weight(a), weight(b)
        if wa != wb:
            return -1 if wa > wb else 1
        na, nb = work.nodes[a].num_resources, work.nodes[b].num_resources
        if na != nb:
            return -1 if na < nb else 1
        if active is not None:
            if a == active:
                return -1
            if b == active:
                return 1
        return (a > b) - (a < b)

    return sorted(scores, key=cmp_to_key(compare))
