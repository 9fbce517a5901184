"""Order constraints that wait on each other in a circle.

``A then B`` and ``B then A`` (or a longer circle) make each start wait for
the other: neither ever starts, and at run time the only sign is a
transition that cannot proceed.  Such a configuration is refused when it is
loaded, naming the actions and the constraints of each circle.
"""

from __future__ import annotations

from collections.abc import Iterable

from vigil.model.config import Order

Action = tuple[str, str]  # (resource, action)


def order_cycles(orders: Iterable[Order]) -> list[list[Order]]:
    """The orders of each circle (Mandatory and Optional: Serialize has no direction), in document order."""
    edges: dict[Action, list[tuple[Action, int]]] = {}
    listed = [order for order in orders if order.kind != "Serialize"]
    for number, order in enumerate(listed):
        first = (order.first, order.first_action)
        then = (order.then, order.effective_then_action)
        if first == then:
            continue  # an action before itself: no wait at all, as Pacemaker reads it
        edges.setdefault(first, []).append((then, number))
        edges.setdefault(then, [])
    cycles = []
    for component in _strong_components(edges):
        inside = sorted(number for action in component for target, number in edges[action]
                        if target in component)
        if inside:
            cycles.append(inside)
    return [[listed[number] for number in cycle] for cycle in sorted(cycles)]


def describe_cycle(cycle: list[Order]) -> str:
    """``o1 (a start before b start), o2 (b start before a start)``, for a message."""
    return ", ".join(
        f"{order.id} ({order.first} {order.first_action} before {order.then} {order.effective_then_action})"
        for order in cycle
    )


def _strong_components(edges: dict[Action, list[tuple[Action, int]]]) -> list[set[Action]]:
    """Tarjan's strongly connected components, iteratively (a long chain must not hit the recursion limit)."""
    index: dict[Action, int] = {}
    low: dict[Action, int] = {}
    stack: list[Action] = []
    on_stack: set[Action] = set()
    found: list[set[Action]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child][0]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            for target, _ in targets:
                if target in on_stack:
                    low[node] = min(low[node], low[target])
            if low[node] == index[node]:
                component: set[Action] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found
