"""Which node is best: the order in which placement considers nodes.

Highest score first (nodes that cannot run resources count as -INFINITY),
then the node with fewer resources placed so far, then the node the resource
already runs on, then the name.
"""

from __future__ import annotations

from vigil.model.scores import INFINITY
from vigil.scheduler.working import Work


def sorted_nodes(work: Work, scores: dict[str, int], active: str | None) -> list[str]:
    def order(name: str) -> tuple[int, int, bool, str]:
        node = work.nodes[name]
        weight = scores[name] if node.is_available() else -INFINITY
        return (-weight, node.num_resources, name != active, name)

    return sorted(scores, key=order)
