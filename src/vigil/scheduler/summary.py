"""Stage 12: the transition summary, in Pacemaker's words.

One line per node fencing and per resource that changes: Start, Stop,
Recover, Restart, Move, with the reason a stop or start was forced or
blocked ("due to node availability", "due to required X start", "blocked").
The same words as ``crm_simulate``, so the two can be compared line by line.
"""

from __future__ import annotations

from vigil.model.transition import SummaryLine
from vigil.scheduler.migration import migrating_start
from vigil.scheduler.variants.primitive_actions import find_actions
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import WorkAction
from vigil.scheduler.working_resources import Role, WorkPrimitive


def summarize_by_top(work: Work) -> tuple[list[SummaryLine], list[list[SummaryLine]]]:
    """The fencing lines, and each top-level resource's lines (in ``work.top`` order)."""
    fence_lines: list[SummaryLine] = []
    # Pacemaker lists its actions newest first.
    for action in reversed(work.actions):
        if action.rsc is None and action.task == "stonith" and not action.optional:
            op = action.meta.get("stonith_action", "reboot")
            if action.reason:
                target = f"({op}) {action.node}"
                node = work.nodes.get(action.node or "")
                conn = node.remote_rsc if node is not None else None
                if conn is not None and conn.container is not None:
                    target += f" (resource: {conn.container.id})"
                fence_lines.append(SummaryLine("Fence", target, f"'{action.reason}'"))
    by_top: list[list[SummaryLine]] = []
    bundled = bundle_summary_order(work)
    for top in work.top:
        lines: list[SummaryLine] = []
        for rsc in bundled.get(id(top), top.primitives()):
            lines.extend(_resource_lines(work, rsc))
        by_top.append(lines)
    return fence_lines, by_top


def bundle_summary_order(work: Work) -> dict[int, list[WorkPrimitive]]:
    """Pacemaker lists a bundle replica by replica (IP, container, connection,
    inner instance), then the inner clone's other instances, all where its
    containers are; its other top-level pieces list nothing of their own."""
    order: dict[int, list[WorkPrimitive]] = {}
    for bundle in work.bundles.values():
        listed: list[WorkPrimitive] = []
        for replica in bundle.replicas:
            listed.extend(replica.primitives())
            order[id(replica.ip)] = []
            order[id(replica.remote)] = []
        if bundle.child is not None:
            listed.extend(p for p in bundle.child.primitives() if all(p is not q for q in listed))
            order[id(bundle.child)] = []
        order[id(bundle.containers)] = listed
    order.pop(id(None), None)
    return order


def _first(actions: list[WorkAction]) -> WorkAction | None:
    return actions[0] if actions else None


def _item(rsc: WorkPrimitive, verb: str, origin: str | None, destination: str | None,
          action: WorkAction | None, source: WorkAction | None = None) -> SummaryLine:
    source = source or action
    role, next_role = _shown_role(rsc), rsc.next_role
    # Roles are shown for an instance of a promotable clone.
    need_role = role > Role.STARTED or next_role > Role.UNPROMOTED
    same_host = origin is not None and origin == destination
    same_role = role == next_role
    if origin is None:
        details = f"{role.text} -> {next_role.text} {destination}" if need_role else (destination or "")
    elif destination is None or (same_role and same_host):
        details = f"{role.text} {origin}" if need_role else origin
    elif same_role:
        details = f"{origin} -> {destination} {role.text}" if need_role else f"{origin} -> {destination}"
    elif same_host:
        details = f"{role.text} -> {next_role.text} {origin}"
    else:
        details = f"{role.text} {origin} -> {next_role.text} {destination}"
    text = f"( {details} )"
    runnable = action.runnable if action is not None else True
    reason = source.reason if source is not None else None
    if reason and not runnable:
        text += f" due to {reason} (blocked)"
    elif reason:
        text += f" due to {reason}"
    elif not runnable:
        text += " blocked"
    return SummaryLine(verb, rsc.id, text)


def _shown_role(rsc: WorkPrimitive) -> Role:
    """The current role as the summary shows it (an active resource whose
    role was reset while recovering counts as Started)."""
    if rsc.running_on and rsc.role == Role.STOPPED:
        return Role.STARTED
    return rsc.role


def _find_here(rsc: WorkPrimitive, task: str, node: str | None) -> list[WorkAction]:
    """The actions of ``task`` on ``node``, or on no node yet (one an
    ordering created before anything placed it: it happens wherever the
    resource is)."""
    return [a for a in rsc.actions_by_task.get(task, ())
            if a.interval_ms == 0 and (node is None or a.node is None or a.node == node)]


def _reload(rsc: WorkPrimitive) -> WorkAction | None:
    return _first(find_actions(rsc, "reload-agent", None))


def _resource_lines(work: Work, rsc: WorkPrimitive) -> list[SummaryLine]:
    nxt = rsc.assigned
    current = work.current_node(rsc)
    role = _shown_role(rsc)
    if current is None and rsc.orphan:
        return []
    if not rsc.managed or (current is None and nxt is None):
        return []
    moving = current is not None and nxt is not None and current != nxt
    start = _first(find_actions(rsc, "start", nxt))
    start_node = current if start is not None and start.runnable else None
    stop = _first(find_actions(rsc, "stop", start_node))
    if stop is None and rsc.stop_unexpected:
        stop = _first(find_actions(rsc, "stop", None))
    promote = _first(_find_here(rsc, "promote", nxt))
    demote = _first(_find_here(rsc, "demote", nxt))
    next_role = rsc.next_role
    if role == next_role:
        if nxt is None:
            return []
        if current is not None and migrating_start(rsc, nxt) is not None:
            return [_item(rsc, "Migrate", current, nxt, start)]
        if rsc.reload_node is not None:
            return [_item(rsc, "Reload", current, nxt, start or _reload(rsc))]
        if start is None or start.optional:
            if demote is not None and promote is not None and not demote.optional and not promote.optional:
                return [_item(rsc, "Re-promote", current, nxt, promote, demote)]
            return []
        if not start.runnable:
            source = stop if stop is not None and stop.reason else start
            return [_item(rsc, "Stop", current, None, stop, source)]
        if moving and current is not None:
            return [_item(rsc, "Recover" if rsc.failed else "Move", current, nxt, stop)]
        if rsc.failed:
            return [_item(rsc, "Recover", current, None, stop)]
        return [_item(rsc, "Restart", current, nxt, start)]
    if stop is not None and (next_role == Role.STOPPED or (start is not None and not start.runnable)):
        lines = []
        for node in rsc.running_on:
            stop_op = _first(find_actions(rsc, "stop", node))
            stop_source = stop_op if stop_op is not None and stop_op.reason else start
            lines.append(_item(rsc, "Stop", node, None, stop_op, stop_source))
        return lines
    if stop is not None and rsc.failed and rsc.stop_needed:
        return [_item(rsc, "Recover", current, nxt, stop, start)]
    if moving:
        return [_item(rsc, "Move", current, nxt, stop)]
    if rsc.reload_node is not None:
        return [_item(rsc, "Reload", current, nxt, start or _reload(rsc))]
    if stop is not None and not stop.optional:
        return [_item(rsc, "Restart", current, nxt, start)]
    if role == Role.PROMOTED:
        return [_item(rsc, "Demote", current, nxt, demote)]
    if next_role == Role.PROMOTED:
        return [_item(rsc, "Promote", current, nxt, promote)]
    if role == Role.STOPPED and next_role > Role.STOPPED:
        return [_item(rsc, "Start", current, nxt, start)]
    return []
