"""Stage 9: fencing of unclean nodes, before anything they ran starts elsewhere.

A fenced node's stops cannot run; they become pseudo-actions "implied by
fencing" and are ordered after the fencing, as are the starts of resources
that require fencing.  This is what guarantees that a resource is never
active on two nodes at once.
"""

from __future__ import annotations

from vigil.scheduler.variants.notify import node_name_key
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, WorkAction, find_first_action, order
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import WorkPrimitive, WorkResource


def fence_op(work: Work, node: WorkNode, reason: str, optional: bool) -> WorkAction:
    return fencing_action(work, node, work.fence_ops, f"stonith-{node.name}", work.options.stonith_action,
                          reason, optional)


def fencing_action(work: Work, node: WorkNode, table: dict[str, WorkAction], name: str, stonith_action: str,
                   reason: str | None, optional: bool) -> WorkAction:
    """The one fencing action of ``node`` kept in ``table`` (its fencing, or its unfencing):
    created optional, made required (with its first reason) when it must run and the node can
    be fenced."""
    action = table.get(node.name)
    if action is None:
        action = work.new_action(None, "stonith", node.name, name=name)
        action.optional = True
        action.meta["stonith_action"] = stonith_action
        table[node.name] = action
    if not optional and work.can_fence(node):
        action.optional = False
        action.set_reason(reason)
    elif reason and action.reason is None:
        action.reason = reason
    return action


def _any_managed(work: Work) -> bool:
    return any(r.managed for r in work.rscs.values())


def schedule_fencing(work: Work) -> None:
    have_managed = _any_managed(work)
    # Pacemaker keeps its nodes sorted by name and fences in that order.
    for node in sorted(work.nodes.values(), key=lambda n: node_name_key(n.name)):
        conn = node.remote_rsc
        if conn is not None and conn.container is not None:
            if node.remote_requires_reset and have_managed and work.can_fence(node):
                _fence_guest(work, node, conn, conn.container)
            continue
        if not (have_managed and node.unclean and work.can_fence(node)):
            continue
        reason = node.fence_reason or "node is unclean"
        stonith = fence_op(work, node, reason, optional=False)
        _order_vs_fencing(work, stonith, node)


def _fence_guest(work: Work, node: WorkNode, conn: WorkPrimitive, container: WorkPrimitive) -> None:
    """The pseudo-fencing of a guest: the recovery of its container, which
    it follows ("reboot" when the container starts again, else "off")."""
    stop = find_first_action(container, "stop", None)
    restarts = find_first_action(container, "start", None) is not None
    fencing = fence_op(work, node, "guest is unclean", optional=True)
    fencing.meta["stonith_action"] = "reboot" if restarts else "off"
    fencing.optional = False
    fencing.pseudo = True
    fencing.runnable = True
    fencing.set_reason("guest is unclean")
    if stop is not None and stop.pseudo and stop.node is not None:
        host = work.nodes[stop.node]
        order(fence_op(work, host, "", optional=True), fencing, Ord.RUNNABLE_LEFT | Ord.IMPLIES_THEN)
    elif stop is not None:
        order(stop, fencing, Ord.RUNNABLE_LEFT | Ord.IMPLIES_THEN)
    else:
        conn_stop = find_first_action(conn, "stop", None)
        if conn_stop is not None:
            order(conn_stop, fencing, Ord.OPTIONAL)
    _order_vs_fencing(work, fencing, node, guest=True)


def _top(rsc: WorkResource) -> WorkResource:
    while rsc.parent is not None:
        rsc = rsc.parent
    return rsc


def _order_vs_fencing(work: Work, stonith: WorkAction, target: WorkNode, guest: bool = False) -> None:
    for rsc in work.rscs.values():
        if not rsc.managed:
            continue
        for action in list(rsc.actions):
            if action.task in ("start", "promote"):
                if action.needs == "fencing":
                    order(stonith, action, Ord.OPTIONAL)
                elif (
                    action.needs == "quorum"
                    and action.task == "start"
                    and target.name in rsc.allowed
                    and target.name not in rsc.known_on
                ):
                    order(stonith, action, Ord.OPTIONAL | Ord.RUNNABLE_LEFT)
        for action in list(rsc.actions):
            if action.task == "stop" and action.node == target.name:
                action.pseudo = True
                action.runnable = True
                if rsc.needs_fencing or guest:
                    action.implied_by_stonith = True
                    order(stonith, action, Ord.PRESERVE)
                    top = _top(rsc)
                    top.variant.notify_after_fencing(work, top, rsc, action, stonith)
            elif action.task == "demote" and action.node == target.name:
                action.pseudo = True
                action.runnable = True
                if rsc.needs_fencing or guest:
                    order(stonith, action, Ord.PRESERVE | Ord.OPTIONAL)
