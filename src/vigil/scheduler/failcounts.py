"""Fail-counts: per resource and node, summed over the resource's operations.

Pacemaker keeps one ``fail-count-RSC#OP_INTERVAL`` (and ``last-failure-…``)
transient attribute per failed operation; a resource's fail-count on a node
is their sum, and it stops counting once ``failure-timeout`` has passed since
the newest failure.  Clearing one is an action of the transition
(``schedule_clear_failcount``).

Each node's attributes are read once into a :class:`~vigil.scheduler.working_nodes.NodeFailures`
index, so that asking for one resource's fail-count is a dictionary lookup
rather than a scan of the node's attributes.
"""

from __future__ import annotations

from vigil.model.failcounts import failure_attribute, resource_cuts
from vigil.model.scores import ScoreError, add, parse_score
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import FailTotals, NodeFailures, WorkNode
from vigil.scheduler.working_resources import WorkPrimitive

_NO_FAILURES = (0, 0)


def _is_unique_instance(rsc: WorkPrimitive) -> bool:
    """Inside a globally-unique clone (clones hold no clones, so the first
    clone up is the only one)."""
    parent = rsc.parent
    while parent is not None:
        if parent.variant.is_unique_clone(parent):
            return True
        parent = parent.parent
    return False


def _without_instance_number(name: str) -> str:
    """``RSC:N`` -> ``RSC`` (an anonymous instance's old-style name); else ``name``."""
    base, colon, number = name.rpartition(":")
    if colon and number and all("0" <= char <= "9" for char in number):
        return base
    return name


def _fold(totals: dict[str, FailTotals], name: str, is_count: bool, value: int) -> None:
    count, last = totals.get(name, _NO_FAILURES)
    if is_count:
        totals[name] = (add(count, value), last)
    else:
        totals[name] = (count, max(last, value))


def index_failures(attrs: dict[str, str]) -> NodeFailures:
    """Sum a node's ``fail-count-*`` and ``last-failure-*`` attributes per
    resource name, in attribute order (score addition saturates, so the
    order is kept as it was read)."""
    failures = NodeFailures()
    for key, text in attrs.items():
        parts = failure_attribute(key)
        if parts is None:
            continue
        is_count, rest = parts
        try:
            value = parse_score(text) if is_count else int(text)
        except (ScoreError, ValueError):
            continue
        for name, _operation in resource_cuts(rest):
            _fold(failures.by_name, name, is_count, value)
            _fold(failures.by_base, _without_instance_number(name), is_count, value)
    return failures


def node_failures(node: WorkNode) -> NodeFailures:
    """The node's index, built on first use (attributes are final once the
    status has been read)."""
    if node.failures is None:
        node.failures = index_failures(node.attrs)
    return node.failures


def failcount_name(rsc: WorkPrimitive) -> tuple[bool, str]:
    """How ``rsc``'s fail-count attributes name it: (True, id) for an
    instance of a globally-unique clone, which has its own (``RSC:N#...``);
    (False, base id) for anything else, anonymous instances sharing the
    primitive's, written with or without an old ``:N``."""
    if _is_unique_instance(rsc):
        return True, rsc.id
    return False, rsc.id.split(":", 1)[0]


def recorded_failures(failures: NodeFailures, exact: bool, name: str) -> FailTotals | None:
    """The totals of the resource :func:`failcount_name` names, if any."""
    return (failures.by_name if exact else failures.by_base).get(name)


def raw_failcount(node: WorkNode, rsc: WorkPrimitive) -> FailTotals:
    """(fail-count ignoring failure-timeout, newest last-failure time)."""
    found = recorded_failures(node_failures(node), *failcount_name(rsc))
    return found if found is not None else _NO_FAILURES


def effective_failcount(node: WorkNode, rsc: WorkPrimitive, now: int, with_fillers: bool = False) -> int:
    """The fail-count that still counts at ``now`` (a container's includes
    the failures of the resources inside it when ``with_fillers``)."""
    count, last = raw_failcount(node, rsc)
    if count > 0 and last > 0 and rsc.failure_timeout_s and now > last + rsc.failure_timeout_s:
        count = 0
    if with_fillers:
        for filler in rsc.fillers:
            count = add(count, effective_failcount(node, filler, now))
    return count


def schedule_clear_failcount(work: Work, rsc: WorkPrimitive, node: WorkNode) -> None:
    """Clear ``rsc``'s fail-count on ``node`` in this transition (once; it runs only while the node is up)."""
    if node.name in rsc.failcount_cleared_on:
        return
    rsc.failcount_cleared_on.add(node.name)
    action = work.new_action(rsc, "clear_failcount", node.name, optional=False)
    action.runnable = node.online
