"""Clone instances: numbering, where they are, and pairing across clones.

Shared by placement (colocation with a clone) and ordering (interleave),
which both need "the instance of that clone on this node", and by the
ordering propagation, which needs "the instances' actions a clone's action
stands for" (as Pacemaker's pcmk_sched_instances.c holds what is common to
clones' and bundles' instances).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.scheduler.nodes import sorted_nodes
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, OrdFlags, Updates, WorkAction, find_first_action, order
from vigil.scheduler.working_resources import Role, WorkClone, WorkGroup, WorkPrimitive, WorkResource

if TYPE_CHECKING:
    from vigil.scheduler.variants import Propagation

Instance = WorkPrimitive | WorkGroup


def instance_number(instance: Instance) -> int:
    """``N`` of a clone instance ``X:N`` (or of a bundle's container ``B-docker-N``)."""
    if ":" in instance.id:
        return int(instance.id.rsplit(":", 1)[1])
    return int(instance.id.rsplit("-", 1)[1])


def did_fail(instance: Instance) -> bool:
    return any(prim.failed for prim in instance.primitives())


def is_blocked(instance: Instance) -> bool:
    return any(prim.blocked for prim in instance.primitives())


def compatible_instance(work: Work, local: WorkResource, clone: WorkClone, current: bool,
                        by_node: dict[str, Instance] | None = None) -> Instance | None:
    """The clone's instance on the same node as ``local`` (for interleave).

    ``by_node`` is :func:`instances_by_node` of the clone, for a caller that
    pairs many instances with the same clone."""
    on = by_node if by_node is not None else instances_by_node(work, clone, current)
    node = _location(work, local, current)
    if node is not None:
        return on.get(node)
    for candidate in sorted_nodes(work, local.allowed, None):
        found = on.get(work.bundle_host(candidate) or candidate)
        if found is not None:
            return found
    return None


def _location(work: Work, rsc: WorkResource, current: bool) -> str | None:
    """Where ``rsc`` is (or runs); for an instance inside a bundle, the cluster
    node its container is on, so that bundles interleave replica by host."""
    node = rsc.variant.location(rsc) if not current else (work.current_node(rsc) if rsc.running_on else None)
    if node is None or node not in work.nodes:
        return node
    conn = work.nodes[node].remote_rsc
    if conn is None or conn.bundle_id is None or conn.container is None:
        return node
    container = conn.container
    if current:
        return container.running_on[0] if container.running_on else None
    return container.assigned


def instances_by_node(work: Work, clone: WorkClone, current: bool) -> dict[str, Instance]:
    """The first instance (in the clone's order) that is not blocked, on each
    node where one is placed (or, with ``current``, runs)."""
    found: dict[str, Instance] = {}
    for instance in clone.instances:
        if is_blocked(instance):
            continue
        node = _location(work, instance, current)
        if node is not None:
            found.setdefault(node, instance)
    return found


# --- the instances' actions -------------------------------------------------------


def instance_task(clone: WorkClone, task: str) -> str:
    """The instance task a clone pseudo-action stands for: the same one for
    instances that have pseudo-actions of their own (groups), else the
    primitive task ("running" is the instances' "start")."""
    if clone.instances and clone.instances[0].variant.collective:
        return task
    return {"running": "start", "stopped": "stop", "promoted": "promote",
            "demoted": "demote"}.get(task, task)


def original_task(action: WorkAction) -> str:
    """The task an action of a clone stands for: its own, or for a
    notification the task it notifies about (``running`` for the
    notifications after the instances started)."""
    if action.task in ("notify", "notified"):
        return action.meta.get("notify_key_operation", action.task)
    return action.task


class InstanceActions:
    """Which action of each instance a clone's action stands for, by (clone,
    task, node), found once: the instances' actions must not change in the
    meantime (the propagation, which uses this, creates none)."""

    def __init__(self) -> None:
        self._found: dict[tuple[WorkClone, str, str | None], list[tuple[Instance, WorkAction]]] = {}
        # The same, the actions alone, for clones of primitives.
        self._actions: dict[tuple[WorkClone, str, str | None], list[WorkAction]] = {}
        # For a clone of primitives: per task, each node's instance actions.
        self._by_node: dict[tuple[WorkClone, str], dict[str, list[tuple[Instance, WorkAction]]]] = {}
        self._of_primitives: dict[WorkClone, bool] = {}

    def of(self, clone: WorkClone, task: str, node: str | None) -> list[tuple[Instance, WorkAction]]:
        key = (clone, task, node)
        found = self._found.get(key)
        if found is None:
            if node is not None and self._is_of_primitives(clone):
                found = self._on_nodes(clone, task).get(node, [])
            else:
                found = []
                for instance in clone.instances:
                    # A group's actions are on no node.
                    on = None if instance.variant.collective else node
                    action = find_first_action(instance, task, on)
                    if action is not None:
                        found.append((instance, action))
            self._found[key] = found
        return found

    def of_primitives(self, clone: WorkClone, task: str, node: str | None) -> list[WorkAction] | None:
        """The instances' actions when they are all primitives' (whose flags
        are the actions' own), else None."""
        if not self._is_of_primitives(clone):
            return None
        key = (clone, task, node)
        actions = self._actions.get(key)
        if actions is None:
            actions = self._actions[key] = [action for _, action in self.of(clone, task, node)]
        return actions

    def _is_of_primitives(self, clone: WorkClone) -> bool:
        found = self._of_primitives.get(clone)
        if found is None:
            found = self._of_primitives[clone] = not any(i.variant.collective for i in clone.instances)
        return found

    def _on_nodes(self, clone: WorkClone, task: str) -> dict[str, list[tuple[Instance, WorkAction]]]:
        """Each node's (instance, its newest action for ``task`` there), in
        instance order, from one pass over the instances."""
        by_node = self._by_node.get((clone, task))
        if by_node is None:
            by_node = {}
            for instance in clone.instances:
                seen: set[str] = set()
                for action in reversed(instance.actions_by_task.get(task, ())):
                    if action.interval_ms == 0 and action.node is not None and action.node not in seen:
                        seen.add(action.node)
                        by_node.setdefault(action.node, []).append((instance, action))
            self._by_node[(clone, task)] = by_node
        return by_node


# --- interleaving ---------------------------------------------------------------------


def interleave_pairs(work: Work, first: WorkAction, then: WorkAction) -> list[tuple[WorkAction, WorkAction]]:
    """The instance-to-instance action pairs an interleaved ordering stands for."""
    assert isinstance(first.rsc, WorkClone) and isinstance(then.rsc, WorkClone)
    current = original_task(first) in ("stopped", "demoted")
    pairs: list[tuple[WorkAction, WorkAction]] = []
    first_task = instance_task(first.rsc, original_task(first))
    by_node = instances_by_node(work, first.rsc, current)
    for then_instance in then.rsc.instances:
        first_instance = compatible_instance(work, then_instance, first.rsc, current, by_node)
        if first_instance is None:
            continue
        first_action = find_first_action(first_instance, first_task, then.node)
        then_action = find_first_action(then_instance, then.task, then.node)
        if first_action is None or then_action is None:
            continue
        pairs.append((first_action, then_action))
    return pairs


def unpaired_instances(work: Work, first: WorkAction, then: WorkAction) -> list[Instance]:
    """Instances of ``then``'s clone with no partner in ``first``'s clone."""
    assert isinstance(first.rsc, WorkClone) and isinstance(then.rsc, WorkClone)
    if original_task(first) in ("stopped", "demoted"):
        return []
    by_node = instances_by_node(work, first.rsc, False)
    return [
        instance for instance in then.rsc.instances
        if compatible_instance(work, instance, first.rsc, False, by_node) is None
    ]


def inhibit_instance(work: Work, instance: Instance) -> bool:
    """Keep an instance from running (nothing it depends on is on its node)."""
    changed = False
    for prim in instance.primitives():
        if prim.assigned is not None:
            work.nodes[prim.assigned].num_resources -= 1
            prim.assigned = None
            changed = True
        prim.next_role = Role.STOPPED
        for action in prim.actions:
            if action.task == "start" and action.runnable:
                action.runnable = False
                changed = True
            elif action.task == "stop" and action.optional:
                action.optional = False
                changed = True
    return changed


def update_interleaved(prop: Propagation, first: WorkAction, then: WorkAction, check_optional: bool,
                       check_runnable: bool, kind: OrdFlags) -> Updates:
    """Between interleaved clones, each instance waits only for the
    instance of the other clone on its own node."""
    work = prop.work
    f_changed = t_changed = False
    if kind in (Ord.RUNNABLE_LEFT, Ord.IMPLIES_THEN):
        for instance in unpaired_instances(work, first, then):
            if inhibit_instance(work, instance):
                t_changed = True
                for prim in instance.primitives():
                    for action in prim.actions:
                        prop.push(action)
    for first_action, then_action in interleave_pairs(work, first, then):
        if not any(b is first_action for b, _ in then_action.befores):
            order(first_action, then_action, kind)
            f_changed = t_changed = True
            prop.push(then_action)
        owner_instance = then_action.rsc
        f_opt, f_run = prop.ordering_flags(first_action, then_action.node)
        if owner_instance is None:
            continue
        fc, tc = yield from owner_instance.variant.update_ordered_actions(
            prop, owner_instance, first_action, then_action, f_opt, f_run, check_optional, check_runnable,
            kind)
        f_changed |= fc
        t_changed |= tc
        if fc:
            prop.push(first_action)
            prop.push_after(first_action)
        if tc:
            prop.push(then_action)
            prop.push_after(then_action)
    return f_changed, t_changed
