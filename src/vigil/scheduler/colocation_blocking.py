"""Which actions an unrunnable start or promote blocks through mandatory
colocations.

A primary that can no longer start (or be promoted) keeps its mandatory
colocation dependents from starting (or being promoted), transitively.
Each blocked action is yielded so the propagator updates it against its
orderings at once, as a nested call, before the next one is looked at, as
Pacemaker does: the reason a dependent reports, and whether an instance
still has anything to block, depend on that order.  A bundle counts as one
primary and one dependent (see :mod:`vigil.scheduler.bundle_blocking`).
"""

from __future__ import annotations

from collections.abc import Iterator

from vigil.model.scores import INFINITY
from vigil.scheduler.bundle_blocking import bundle_dependents, can_reach, dependent_targets, owning_bundle
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import WorkAction, find_first_action
from vigil.scheduler.working_resources import Role, WorkResource


def _top(rsc: WorkResource) -> WorkResource:
    while rsc.parent is not None:
        rsc = rsc.parent
    return rsc


def block_colocation_dependents(work: Work, action: WorkAction) -> Iterator[WorkAction]:
    """A primary that cannot start keeps its mandatory dependents from
    starting.  Yields the actions to update (each at once, as a nested call)."""
    if action.runnable or action.task not in ("start", "promote") or action.rsc is None:
        return
    bundle = owning_bundle(work, action.rsc)
    if bundle is not None:
        # A bundle is one primary (see bundle_blocking).
        if not can_reach(bundle, action.task):
            for dependent in bundle_dependents(work, bundle, action.task):
                for target in dependent.targets:
                    yield from _mark_blocked(work, target, dependent.task, action.rsc)
        return
    rsc = _top(action.rsc)
    with_this = rsc.variant.with_this_colocations(rsc)
    if not with_this:
        return
    for child in rsc.children():
        child_action = find_first_action(child, action.task, None)
        if child_action is None or child_action.runnable:
            return  # part of it can still get there
    for coloc in list(with_this):
        if coloc.score < INFINITY:
            continue
        if action.task != "start" and coloc.primary_role != Role.PROMOTED:
            continue
        task = "promote" if coloc.dependent_role == Role.PROMOTED else "start"
        for target in dependent_targets(work, coloc.dependent):
            yield from _mark_blocked(work, target, task, action.rsc)


def _mark_blocked(work: Work, rsc: WorkResource, task: str, reason: WorkResource) -> Iterator[WorkAction]:
    """Block ``rsc``'s ``task``, then its members' or instances'.  Each
    blocked action is updated for its orderings before the next is looked
    at, as Pacemaker does: that update may already have kept an instance
    from running (an interleaved clone with no partner), and such an
    instance blocks nothing more."""
    for action in list(reversed(rsc.actions)):
        if action.runnable and action.task == task:
            action.runnable = False
            action.set_reason(f"colocation with {reason.id}")
            if action.blocked_by is None:
                action.blocked_by = _start_of(reason)
            yield from block_colocation_dependents(work, action)
            yield action
    for child in rsc.children():
        yield from _mark_blocked(work, child, task, reason)


def _start_of(rsc: WorkResource) -> WorkAction | None:
    return find_first_action(rsc, "start", None)
