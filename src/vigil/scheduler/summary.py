"""Stage 12: the transition summary, in Pacemaker's words.

One line per node fencing and per resource that changes: Start, Stop,
Recover, Restart, Move, with the reason a stop or start was forced or
blocked ("due to node availability", "due to required X start", "blocked").
The same words as ``crm_simulate``, so the two can be compared line by line.
"""

from __future__ import annotations

from vigil.model.transition import SummaryLine
from vigil.scheduler.variants.primitive import find_actions
from vigil.scheduler.working import Role, Work, WorkAction, WorkPrimitive


def summarize_by_top(work: Work) -> tuple[list[SummaryLine], list[list[SummaryLine]]]:
    """The fencing lines, and each top-level resource's lines (in ``work.top`` order)."""
    fence_lines: list[SummaryLine] = []
    # Pacemaker lists its actions newest first.
    for action in reversed(work.actions):
        if action.rsc is None and action.task == "stonith" and not action.optional:
            op = action.meta.get("stonith_action", "reboot")
            if action.reason:
                fence_lines.append(SummaryLine("Fence", f"({op}) {action.node}", f"'{action.reason}'"))
    by_top: list[list[SummaryLine]] = []
    for top in work.top:
        lines: list[SummaryLine] = []
        for rsc in top.primitives():
            lines.extend(_resource_lines(work, rsc))
        by_top.append(lines)
    return fence_lines, by_top


def _first(actions: list[WorkAction]) -> WorkAction | None:
    return actions[0] if actions else None


def _item(rsc: WorkPrimitive, verb: str, origin: str | None, destination: str | None,
          action: WorkAction | None, source: WorkAction | None = None) -> SummaryLine:
    source = source or action
    if origin is None:
        details = destination or ""
    elif destination is None or origin == destination:
        details = origin
    else:
        details = f"{origin} -> {destination}"
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


def _reload(rsc: WorkPrimitive) -> WorkAction | None:
    return _first(find_actions(rsc, "reload-agent", None))


def _resource_lines(work: Work, rsc: WorkPrimitive) -> list[SummaryLine]:
    nxt = rsc.assigned
    current = work.current_node(rsc)
    role = rsc.role
    if rsc.running_on and role == Role.STOPPED:
        role = Role.STARTED
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
    next_role = rsc.next_role
    if role == next_role:
        if nxt is None:
            return []
        if rsc.reload_node is not None:
            return [_item(rsc, "Reload", current, nxt, start or _reload(rsc))]
        if start is None or start.optional:
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
    if role == Role.STOPPED and next_role > Role.STOPPED:
        return [_item(rsc, "Start", current, nxt, start)]
    return []
