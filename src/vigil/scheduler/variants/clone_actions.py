"""A clone's own actions and the orderings that tie them to its instances'.

The clone itself is a set of pseudo-actions (start, running, stop, stopped;
promote and demote for a promotable clone; the notifications' points when it
notifies) that other resources order against.  Here they are created, tied
to each instance's actions, and given their flags from the instances'; and
here it is decided whether an ordering between two clones ties each instance
only to the instance on the same node (``interleave``).
"""

from __future__ import annotations

from vigil.scheduler.instances import (
    Instance,
    InstanceActions,
    instance_number,
    instance_task,
    original_task,
)
from vigil.scheduler.variants.notify import create_clone_notify_points
from vigil.scheduler.variants.promotable import (
    create_promotable_pseudo_actions,
    promotable_ordering_specs,
    reset_instance_priorities,
)
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, OrderTuple, WorkAction
from vigil.scheduler.working_resources import WorkClone


def create_clone_actions(work: Work, clone: WorkClone) -> None:
    """The instances' actions, then the clone's pseudo-actions, optional
    unless an instance starts or stops."""
    for instance in clone.instances:
        instance.variant.create_actions(work, instance)
    active = starting = stopping = restarting = False
    for prim in clone.primitives():
        if prim.running_on:
            active = True
        prim_starting = prim_stopping = False
        for action in prim.actions:
            if action.optional or not (action.pseudo or action.runnable):
                continue
            if action.task == "stop":
                prim_stopping = True
            elif action.task == "start" and action.runnable:
                prim_starting = True
        starting |= prim_starting
        stopping |= prim_stopping
        restarting |= prim_starting and prim_stopping
    created: dict[str, WorkAction] = {}
    for task, optional, runnable in (
        ("start", not starting, True),
        ("running", not starting, active or starting),
        ("stop", not stopping, True),
        ("stopped", not stopping, True),
    ):
        action = work.new_action(clone, task, None)
        action.pseudo = True
        action.optional = optional
        action.runnable = runnable
        created[task] = action
    # Its stop does not rule out the migration of what must stop before it
    # unless an instance restarts.
    created["stop"].migratable = not restarting
    if clone.promotable:
        created.update(create_promotable_pseudo_actions(work, clone))
        reset_instance_priorities(clone)
    create_clone_notify_points(work, clone, created)


def clone_ordering_specs(clone: WorkClone) -> list[OrderTuple]:
    """The orderings that make a clone a clone, each instance's own included."""
    specs: list[OrderTuple] = [
        (clone, "stopped", clone, "start", Ord.OPTIONAL),
        (clone, "start", clone, "running", Ord.RUNNABLE_LEFT),
        (clone, "stop", clone, "stopped", Ord.RUNNABLE_LEFT),
    ]
    instances = sorted(clone.instances, key=instance_number) if clone.ordered else clone.instances
    previous: Instance | None = None
    for instance in instances:
        specs.extend(instance.variant.internal_orderings(instance))
        specs.append((clone, "start", instance, "start", Ord.RUNNABLE_LEFT | Ord.GRAPH_ONLY))
        specs.append((instance, "start", clone, "running", Ord.GRAPH_ONLY))
        if clone.ordered and previous is not None:
            specs.append((previous, "start", instance, "start", Ord.OPTIONAL))
        specs.append((clone, "stop", instance, "stop", Ord.GRAPH_ONLY))
        specs.append((instance, "stop", clone, "stopped", Ord.GRAPH_ONLY))
        if clone.ordered and previous is not None:
            specs.append((instance, "stop", previous, "stop", Ord.OPTIONAL))
        previous = instance
    if clone.promotable:
        specs.extend(promotable_ordering_specs(clone))
    return specs


def clone_action_flags(clone: WorkClone, action: WorkAction, node: str | None, instances: InstanceActions,
                       ) -> tuple[bool, bool]:
    """(optional, runnable) of a clone pseudo-action, from its instances'.

    Required when any instance's action is; runnable when at least one is.
    A notification stands for the instances' task it is about.
    """
    task = instance_task(clone, original_task(action))
    optional = True
    any_runnable = False
    actions = instances.of_primitives(clone, task, node)
    if actions is not None:
        # Primitive instances: their actions' own flags, read without side effects.
        if not all(child.optional for child in actions):
            optional = False
            action.optional = False
        any_runnable = any(child.runnable for child in actions)
    else:
        for instance, found in instances.of(clone, task, node):
            child_optional, child_runnable = instance.variant.action_flags(instance, found, node, instances)
            if optional and not child_optional:
                optional = False
                action.optional = False
            if child_runnable:
                any_runnable = True
    runnable = True
    if not any_runnable:
        runnable = False
        if node is None:
            action.runnable = False
    return optional, runnable


def can_interleave(first: WorkAction, then: WorkAction) -> bool:
    """Whether an ordering between two clones' actions ties instances to
    instances (``interleave`` on the clone whose instances wait)."""
    if first.rsc is None or then.rsc is None or first.rsc is then.rsc:
        return False
    if not isinstance(first.rsc, WorkClone) or not isinstance(then.rsc, WorkClone):
        return False
    owner = first.rsc if then.task in ("stop", "demote") else then.rsc
    return owner.interleave



def clone_ordering_flags(clone: WorkClone, action: WorkAction, node: str | None,
                         instances: InstanceActions) -> tuple[bool, bool]:
    """(optional, runnable) of a clone's action as an ordering sees them:
    ``node`` narrows "required" to the instances on that node, while it stays
    runnable when any instance can run."""
    optional, runnable = clone_action_flags(clone, action, None, instances)
    if node is None:
        return optional, runnable
    on_optional, on_runnable = clone_action_flags(clone, action, node, instances)
    return on_optional, on_runnable or runnable


def minimum_runnable(clone: WorkClone, require_all: bool) -> int:
    """How many instances must run before what is ordered after the clone
    may (clone-min, or the older require-all=false meaning one)."""
    if "clone-min" in clone.meta:
        return clone.clone_min
    return 0 if require_all else 1

