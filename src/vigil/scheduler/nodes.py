"""Which node is best: the order in which placement considers nodes.

Highest score first (nodes that cannot run resources count as -INFINITY),
then the node with fewer resources placed so far, then the node the resource
already runs on, then the name.  The ``balanced`` placement strategy first
prefers the node with more capacity left; ``minimal`` goes by name straight
after the score (see utilization).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from vigil.model.scores import INFINITY
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import WorkNode


def sorted_nodes(work: Work, scores: dict[str, int], active: str | None) -> list[str]:
    strategy = work.options.placement_strategy.lower()

    def weight(name: str) -> int:
        return scores[name] if work.nodes[name].is_available() else -INFINITY

    if strategy == "minimal":
        return sorted(scores, key=lambda name: (-weight(name), name))
    if strategy == "balanced":
        def compare(a: str, b: str) -> int:
            return _balanced(work, weight, active, a, b)

        return sorted(scores, key=functools.cmp_to_key(compare))

    def order(name: str) -> tuple[int, int, bool, str]:
        return (-weight(name), work.nodes[name].num_resources, name != active, name)

    return sorted(scores, key=order)


def _balanced(work: Work, weight: Callable[[str], int], active: str | None, a: str, b: str) -> int:
    """Score, then capacity left, then as by default."""
    if weight(a) != weight(b):
        return -1 if weight(a) > weight(b) else 1
    by_capacity = compare_capacities(work.nodes[a], work.nodes[b])
    if by_capacity:
        return by_capacity
    first = (work.nodes[a].num_resources, a != active, a)
    second = (work.nodes[b].num_resources, b != active, b)
    return -1 if first < second else (1 if first > second else 0)


def compare_capacities(node1: WorkNode, node2: WorkNode) -> int:
    """Negative when ``node1`` has more capacity left than ``node2`` (one
    point per kind of capacity it has more of), positive when less."""
    result = 0
    for name, value in node1.capacity.items():
        other = node2.capacity.get(name, 0)
        if value > other:
            result -= 1
        elif value < other:
            result += 1
    for name, other in node2.capacity.items():
        if name in node1.capacity:
            continue
        if other > 0:
            result += 1
        elif other < 0:
            result -= 1
    return result
