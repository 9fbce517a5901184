"""Stage 9: fencing of unclean nodes, before anything they ran starts elsewhere.

A fenced node's stops cannot run; they become pseudo-actions "implied by
fencing" and are ordered after the fencing, as are the starts of resources
that require fencing.  This is what guarantees that a resource is never
active on two nodes at once.
"""

from __future__ import annotations

from vigil.scheduler.working import Ord, Work, WorkAction, WorkNode, WorkResource, order


def fence_op(work: Work, node: WorkNode, reason: str, optional: bool) -> WorkAction:
    action = work.fence_ops.get(node.name)
    if action is None:
        action = work.new_action(None, "stonith", node.name, name=f"stonith-{node.name}")
        action.optional = True
        action.meta["stonith_action"] = work.options.stonith_action
        work.fence_ops[node.name] = action
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
    for node in work.nodes.values():
        if not (have_managed and node.unclean and work.can_fence(node)):
            continue
        reason = node.fence_reason or "node is unclean"
        stonith = fence_op(work, node, reason, optional=False)
        _order_vs_fencing(work, stonith, node)


def _top(rsc: WorkResource) -> WorkResource:
    while rsc.parent is not None:
        rsc = rsc.parent
    return rsc


def _order_vs_fencing(work: Work, stonith: WorkAction, target: WorkNode) -> None:
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
                if rsc.needs_fencing:
                    action.implied_by_stonith = True
                    order(stonith, action, Ord.PRESERVE)
                    top = _top(rsc)
                    top.variant.notify_after_fencing(work, top, rsc, action, stonith)
            elif action.task == "demote" and action.node == target.name:
                action.pseudo = True
                action.runnable = True
                if rsc.needs_fencing:
                    order(stonith, action, Ord.PRESERVE | Ord.OPTIONAL)
