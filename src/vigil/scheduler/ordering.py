"""Stages 7 and 10: orderings, and how they carry "required" and "unrunnable".

An ordering says *first* happens before *then*; its flags also say how the
two actions' fates are tied: a required *first* can make *then* required
(implies-then), an unrunnable *first* makes *then* unrunnable
(runnable-left), and a stop/start pair of one resource is a restart.  The
flags are propagated to a fixed point; flags only ever move one way
(optional → required, runnable → unrunnable), so this terminates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vigil.model.config import Order
from vigil.scheduler.bundle_constraints import ordered_resource
from vigil.scheduler.colocation_blocking import block_colocation_dependents
from vigil.scheduler.constraint_sets import SetOrdering, set_orderings
from vigil.scheduler.instances import InstanceActions
from vigil.scheduler.migration import migration_equivalents
from vigil.scheduler.variants.primitive_actions import update_runnable
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, OrdFlags, Updates, WorkAction, order
from vigil.scheduler.working_resources import Role, WorkResource

_INVERSE = {
    "start": "stop",
    "stop": "start",
    "promote": "demote",
    "demote": "promote",
    "promoted": "demoted",
    "demoted": "promoted",
    "running": "stopped",
    "stopped": "running",
}


@dataclass
class OrderSpec:
    """An ordering between resource tasks, resolved to actions later."""

    first: WorkResource
    first_task: str
    then: WorkResource
    then_task: str
    flags: OrdFlags
    # When set, the ordering starts from this very action (e.g. a probe).
    first_action: WorkAction | None = None
    # When set, the ordering ends at this very action (e.g. a clone-min point).
    then_action: WorkAction | None = None


def flags_for_kind(kind: str, first_task: str, symmetry: str) -> OrdFlags:
    flags = Ord.OPTIONAL
    if kind == "Serialize":
        return flags | Ord.SERIALIZE_ONLY
    if kind == "Optional":
        return flags
    if symmetry == "asymmetric":
        return flags | Ord.ASYMMETRICAL
    if symmetry == "symmetric":
        flags |= Ord.IMPLIES_THEN
        if first_task in ("start", "promote"):
            flags |= Ord.RUNNABLE_LEFT
        return flags
    return flags | Ord.IMPLIES_FIRST


def config_orderings(work: Work) -> list[OrderSpec]:
    """Each order, one per pair of resources when it names a tag (each
    resource tagged is ordered, as a set that is not sequential)."""
    specs: list[OrderSpec] = []
    config = work.cluster.config
    points: dict[str, WorkAction] = {}
    for constraint in config.orders:
        if constraint.sets:
            for step in set_orderings(config, constraint):
                specs.extend(_set_ordering(work, step, points))
            continue
        for first_id in config.constrained(constraint.first):
            for then_id in config.constrained(constraint.then):
                specs.extend(_config_ordering(work, constraint, first_id, then_id))
    return specs


def _config_ordering(work: Work, constraint: Order, first_id: str, then_id: str) -> list[OrderSpec]:
    specs: list[OrderSpec] = []
    first_task = constraint.first_action
    then_task = constraint.effective_then_action
    first = ordered_resource(work, first_id, first_task)
    then = ordered_resource(work, then_id, then_task)
    if first is None or then is None:
        return specs
    symmetric = constraint.is_symmetrical and constraint.kind != "Serialize"
    symmetry = "symmetric" if symmetric else "asymmetric"
    flags = flags_for_kind(constraint.kind, first_task, symmetry)
    minimum = first.variant.minimum_runnable(first, constraint.require_all)
    if minimum > 0:
        specs.extend(_clone_min_orderings(work, constraint.id, first, first_task, then, then_task,
                                          flags, minimum))
    else:
        specs.append(OrderSpec(first, first_task, then, then_task, flags))
    if symmetric:
        inv_first = _INVERSE.get(first_task)
        inv_then = _INVERSE.get(then_task)
        inv_first_rsc = ordered_resource(work, first_id, inv_first) if inv_first else None
        inv_then_rsc = ordered_resource(work, then_id, inv_then) if inv_then else None
        if inv_first and inv_then and inv_first_rsc is not None and inv_then_rsc is not None:
            specs.append(OrderSpec(inv_then_rsc, inv_then, inv_first_rsc, inv_first,
                                   flags_for_kind(constraint.kind, inv_first, "inverse")))
    return specs


def _set_ordering(work: Work, step: SetOrdering, points: dict[str, WorkAction]) -> list[OrderSpec]:
    """One ordering of an order of sets; its one-or-more point, a pseudo-action
    runnable once any one of its "firsts" is, is made once (``points``)."""
    first = work.resource(step.first) if step.first is not None else None
    then = work.resource(step.then) if step.then is not None else None
    flags = flags_for_kind(step.kind, step.first_task, step.symmetry)
    if step.point is None:
        return [OrderSpec(first, step.first_task, then, step.then_task, flags)] \
            if first is not None and then is not None else []
    point = points.get(step.point)
    if point is None:
        point = points[step.point] = work.new_action(None, step.point, None, name=step.point)
        point.pseudo = True
        point.runnable = True
        point.required_runnable_before = 1
    if first is not None:
        return [OrderSpec(first, step.first_task, first, step.first_task, Ord.ONE_OR_MORE | Ord.GRAPH_ONLY,
                          then_action=point)]
    if then is not None:
        return [OrderSpec(then, step.then_task, then, step.then_task, flags | Ord.RUNNABLE_LEFT,
                          first_action=point)]
    return []


def _clone_min_orderings(work: Work, order_id: str, first: WorkResource, first_task: str, then: WorkResource,
                         then_task: str, flags: OrdFlags, minimum: int) -> list[OrderSpec]:
    """"then" waits for a point that is reached once ``minimum`` instances of
    the clone have done ``first_task``."""
    name = f"clone-one-or-more:{order_id}"
    point = work.new_action(None, name, None, name=name)
    point.pseudo = True
    point.runnable = True
    point.required_runnable_before = minimum
    specs = [
        OrderSpec(instance, first_task, then, then_task, Ord.ONE_OR_MORE | Ord.GRAPH_ONLY, then_action=point)
        for instance in first.children()
    ]
    specs.append(OrderSpec(then, then_task, then, then_task, flags | Ord.RUNNABLE_LEFT, first_action=point))
    return specs


def internal_orderings(work: Work) -> list[OrderSpec]:
    """The orderings that hold each resource together (see its variant)."""
    return [OrderSpec(*spec) for rsc in work.top for spec in rsc.variant.internal_orderings(rsc)]


def with_migration_equivalents(specs: list[OrderSpec]) -> list[OrderSpec]:
    """``specs``, each followed by the orderings of migration actions that
    stand for it (see migration.migration_equivalents)."""
    result: list[OrderSpec] = []
    for spec in specs:
        result.append(spec)
        if spec.first_action is not None or spec.then_action is not None:
            continue
        related = _is_inside(spec.first, spec.then) or _is_inside(spec.then, spec.first)
        for first, first_task, then, then_task, flags in migration_equivalents(
                spec.first, spec.first_task, spec.then, spec.then_task, related):
            result.append(OrderSpec(first, first_task, then, then_task, flags))
    return result


def _actions_for(rsc: WorkResource, task: str) -> list[WorkAction]:
    return [a for a in rsc.actions_by_task.get(task, ()) if a.interval_ms == 0]


def apply_order_specs(work: Work, specs: list[OrderSpec]) -> None:
    for spec in specs:
        firsts = [spec.first_action] if spec.first_action else _actions_for(spec.first, spec.first_task)
        if not firsts:
            if (spec.first is spec.then and spec.then_action is None) \
                    or spec.first_task in ("migrate_to", "migrate_from"):
                continue
            if spec.first_task == "stop" and (not spec.first.running_on or _stopped_primitive(spec.first)):
                continue
            if spec.first_task == "demote" and spec.first.role == Role.UNPROMOTED:
                continue
            created = work.new_action(spec.first, spec.first_task, None)
            created.optional = True
            update_runnable(work, created)
            firsts = [created]
        thens = [spec.then_action] if spec.then_action else _actions_for(spec.then, spec.then_task)
        if not thens:
            continue
        for first in firsts:
            flags = spec.flags
            if first.migration_abort and first.rsc is spec.then:
                # Ending a dangling migration restarts nothing.
                flags &= ~Ord.IMPLIES_THEN
            for then in thens:
                order(first, then, flags)


def _stopped_primitive(rsc: WorkResource) -> bool:
    """A primitive whose role is Stopped though a node is listed for it (a
    failed migration's target): there is nothing to order a stop of."""
    return not rsc.variant.collective and rsc.role == Role.STOPPED


def _clear_optional(action: WorkAction, because: WorkAction) -> bool:
    if not action.optional:
        return False
    action.optional = False
    if action.required_by is None:
        action.required_by = because
    if action.rsc is not because.rsc:
        action.set_reason(_reason_text("required", because))
    return True


def _clear_runnable(action: WorkAction, because: WorkAction) -> bool:
    if not action.runnable:
        return False
    action.runnable = False
    if action.blocked_by is None:
        action.blocked_by = because
    if action.rsc is not because.rsc:
        action.set_reason(_reason_text("unrunnable", because))
    return True


def _clear_migratable(action: WorkAction, because: WorkAction) -> bool:
    """``action`` can no longer be part of a live migration."""
    if not action.migratable:
        return False
    action.migratable = False
    if action.rsc is not because.rsc:
        action.set_reason(_reason_text("unmigrateable", because))
    return True


def _reason_text(change: str, because: WorkAction) -> str:
    if because.rsc is None:
        return f"{change} {because.task}"
    return f"{change} {because.rsc.id} {because.task}"


def _handle_asymmetric(first: WorkAction, then: WorkAction) -> bool:
    rsc = then.rsc
    if rsc is None:
        return False
    if rsc.role == Role.STOPPED and then.task == "stop":
        return False
    if (
        rsc.role >= Role.STARTED
        and then.optional
        and then.node is not None
        and rsc.running_on == [then.node]
        and then.task == "start"
    ):
        return False
    changed = False
    if not first.runnable:
        changed |= _clear_optional(then, first)
        changed |= _clear_runnable(then, first)
    return changed


def _handle_restart(first: WorkAction, then: WorkAction, check_optional: bool, check_runnable: bool
                    ) -> tuple[bool, bool]:
    reason = None
    if check_optional and not then.optional:
        reason = "restart"
    if (
        check_runnable
        and not then.runnable
        and then.rsc is not None
        and then.rsc.managed
        and first.rsc is then.rsc
    ):
        reason = "stop"
    if reason is None:
        return False, False
    first_changed = False
    then_changed = False
    if first.runnable:
        first_changed |= _clear_optional(first, then)
    if not then.optional:
        first_changed |= _clear_optional(first, then)
    if not then.migratable:
        first_changed |= _clear_migratable(first, then)
    if not first.optional and not first.runnable:
        then_changed |= _clear_runnable(then, first)
    return first_changed, then_changed


def _action_node(action: WorkAction) -> str | None:
    """The node an action happens on (a start: as its variant sees it; a
    group's happens where the group goes)."""
    rsc = action.rsc
    if rsc is None or action.task != "start":
        return action.node
    return rsc.variant.start_node(rsc, action)


def flags_for_ordering(action: WorkAction, node: str | None, instances: InstanceActions) -> tuple[bool, bool]:
    """(optional, runnable) as orderings see them: a group's or clone's
    pseudo-action stands for its members' (see the variants)."""
    rsc = action.rsc
    if rsc is None:
        return action.optional, action.runnable
    return rsc.variant.ordering_flags(rsc, action, node, instances)


def _own_migratable(action: WorkAction) -> bool:
    """Whether ``action`` counts as migratable when it is the "first" of an
    ordering: a group's or clone's action is seen through its members',
    which never carries the flag."""
    return action.migratable and (action.rsc is None or not action.rsc.variant.collective)


def _update_ordered(first: WorkAction, then: WorkAction, f_optional: bool, f_runnable: bool,
                    check_optional: bool, check_runnable: bool, kind: OrdFlags) -> tuple[bool, bool]:
    """One ordering rule applied to one pair of actions."""
    f_changed = t_changed = False
    if kind == Ord.ASYMMETRICAL:
        t_changed |= _handle_asymmetric(first, then)
    if kind == Ord.IMPLIES_FIRST and not then.optional:
        if check_optional and not f_optional and first.optional:
            f_changed |= _clear_optional(first, then)
        if _own_migratable(first) and not then.migratable:
            f_changed |= _clear_migratable(first, then)
    if kind == Ord.RUNNABLE_LEFT and check_runnable and then.runnable and not f_runnable:
        t_changed |= _clear_runnable(then, first)
        t_changed |= _clear_migratable(then, first)
    if kind == Ord.IMPLIES_THEN and check_optional and then.optional and not f_optional \
            and not first.migratable:
        t_changed |= _clear_optional(then, first)
    if kind == Ord.PROMOTED_IMPLIES_FIRST and check_optional and not then.optional \
            and then.rsc is not None and then.rsc.role == Role.PROMOTED:
        f_changed |= _clear_optional(first, then)
        if not then.migratable:
            f_changed |= _clear_migratable(first, then)
    if kind == Ord.UNMIGRATABLE_THEN_BLOCKS and check_optional:
        if not (then.migratable and then.runnable):
            f_changed |= _clear_runnable(first, then)
        if not then.optional:
            f_changed |= _clear_optional(first, then)
    if kind == Ord.FIRST_ELSE_THEN and check_optional and not first.runnable:
        # No migration after all: the start it stood for really runs.
        t_changed |= _clear_migratable(then, first)
        if then.pseudo:
            then.pseudo = False
            t_changed = True
    if kind == Ord.RESTART:
        fc, tc = _handle_restart(first, then, check_optional, check_runnable)
        f_changed |= fc
        t_changed |= tc
    return f_changed, t_changed


# The rules an ordering's flags switch on, in the order they are applied:
# (kind, applied through then's resource (else first's), whether the first's
# runnable state counts (else it is taken as runnable), check optional,
# check runnable).
_PAIR_RULES = (
    (Ord.IMPLIES_THEN, True, False, True, False),
    (Ord.RESTART, True, True, True, True),
    (Ord.IMPLIES_FIRST, False, True, True, False),
    (Ord.PROMOTED_IMPLIES_FIRST, True, False, True, False),
    (Ord.RUNNABLE_LEFT, True, True, False, True),
    (Ord.UNMIGRATABLE_THEN_BLOCKS, True, True, True, False),
    (Ord.FIRST_ELSE_THEN, True, True, True, False),
    (Ord.ASYMMETRICAL, True, True, False, True),
)

class _Propagator:
    """Carries "required" and "unrunnable" along orderings to a fixed point.

    Updates run depth-first, the way Pacemaker's recursive update does: when
    an action changes, the actions after it are revisited at once.  The order
    matters only for which reason an action reports when several apply.  The
    recursion is run on an explicit stack of generators, so deep graphs do not
    hit Python's recursion limit.
    """

    def __init__(self, work: Work) -> None:
        self.work = work
        self.pending: list[WorkAction] = []
        # No action is created while propagating, so which instance actions
        # a clone's action stands for is looked up once.
        self.instances = InstanceActions()

    def push(self, action: WorkAction) -> None:
        """Ask for ``action`` to be revisited (as a nested call)."""
        self.pending.append(action)

    def push_after(self, action: WorkAction) -> None:
        for after, _ in action.afters:
            self.push(after)

    def ordering_flags(self, action: WorkAction, node: str | None) -> tuple[bool, bool]:
        return flags_for_ordering(action, node, self.instances)

    def run(self) -> None:
        created = len(self.work.actions)
        # As Pacemaker: every unrunnable start or promote first blocks its
        # colocated dependents, then every action is updated (newest first).
        for action in reversed(self.work.actions):
            self._call(block_colocation_dependents(self.work, action))
        for action in reversed(self.work.actions):
            self._call(self._update_then(action))
        assert len(self.work.actions) == created, "an action was created while propagating"

    def _call(self, updates: Iterator[WorkAction]) -> None:
        stack: list[Iterator[WorkAction]] = [updates]
        while stack:
            try:
                nested = next(stack[-1])
            except StopIteration:
                stack.pop()
                continue
            stack.append(self._update_then(nested))

    def _drain(self) -> Iterator[WorkAction]:
        while self.pending:
            yield self.pending.pop(0)

    def _update_then(self, then: WorkAction) -> Iterator[WorkAction]:
        yield from self._drain()
        was_runnable = then.runnable
        then_changed = False
        runnable_before = 0
        if then.required_runnable_before:
            then.runnable = False
        for index in range(len(then.befores) - 1, -1, -1):
            first, flags = then.befores[index]
            if flags == Ord.NONE:
                continue
            if first.rsc is not None and then.rsc is not None and first.rsc is not then.rsc \
                    and not _is_inside(then.rsc, first.rsc):
                remapped = _ordering_action(first)
                if remapped is not first:
                    if not any(b is remapped for b, _ in then.befores):
                        order(remapped, then, flags)
                        then.befores[index] = (first, Ord.NONE)
                        then_changed = True
                    continue
            if flags & Ord.ONE_OR_MORE and flags_for_ordering(first, then.node, self.instances)[1]:
                runnable_before += 1
                if runnable_before >= then.required_runnable_before:
                    then.runnable = True
            f_changed, t_changed = yield from self._update_pair(first, then, flags)
            then_changed |= t_changed
            yield from self._drain()
            if f_changed:
                for after, _ in list(first.afters):
                    yield after
                yield first
        if then.required_runnable_before:
            then_changed = then.runnable != was_runnable
            if not then.runnable and then.blocked_by is None:
                # A one-or-more point is blocked by the firsts that cannot run (for the stop context).
                then.blocked_by = next((first for first, flags in then.befores if flags & Ord.ONE_OR_MORE
                                        and not flags_for_ordering(first, then.node, self.instances)[1]),
                                       None)
        if then_changed:
            if was_runnable and not then.runnable:
                yield from block_colocation_dependents(self.work, then)
                yield from self._drain()
            yield then
            for after, _ in list(then.afters):
                yield after

    def _update_pair(self, first: WorkAction, then: WorkAction, flags: OrdFlags) -> Updates:
        """Apply one ordering's flag rules; return (first changed, then changed)."""
        f_changed = False
        t_changed = False
        first_optional, first_runnable = flags_for_ordering(first, _action_node(then), self.instances)
        # Pacemaker weighs "then" too (action_flags_for_ordering), which for a
        # group's or clone's pseudo-action makes it required or unrunnable
        # from its members' actions before any rule applies: then a rule does
        # not count as changing it, and what follows it is not revisited.
        flags_for_ordering(then, _action_node(first), self.instances)
        for kind, owned_by_then, sees_runnable, check_opt, check_run in _PAIR_RULES:
            if not flags & kind:
                continue
            owner = then.rsc if owned_by_then else first.rsc
            f_run = first_runnable if sees_runnable else True
            if owner is None:
                fc, tc = _update_without_resource(first, then, kind, first_optional, first_runnable)
            elif kind == Ord.RESTART and then.rsc is None:
                continue
            else:
                # The owner's variant carries the rule on to what is inside it.
                fc, tc = yield from owner.variant.update_ordered_actions(
                    self, owner, first, then, first_optional, f_run, check_opt, check_run, kind)
            f_changed |= fc
            t_changed |= tc
        if (
            flags & (Ord.IMPLIES_THEN | Ord.IMPLIES_FIRST | Ord.RESTART)
            and first.rsc is not None
            and not first.rsc.managed
            and first.rsc.blocked
            and not first.runnable
            and first.task == "stop"
            and then.runnable
        ):
            then.runnable = False
            t_changed = True
        return f_changed, t_changed

    def update_one(self, first: WorkAction, then: WorkAction, f_optional: bool, f_runnable: bool,
                    check_optional: bool, check_runnable: bool, kind: OrdFlags) -> Updates:
        """One rule on one pair; an action of a member or instance that
        changes is revisited at once, as Pacemaker does, which decides which
        reason a dependent reports."""
        fc, tc = _update_ordered(first, then, f_optional, f_runnable, check_optional, check_runnable,
                                 kind)
        if tc and then.rsc is not None and then.rsc.parent is not None:
            yield then
        return fc, tc


def _update_without_resource(first: WorkAction, then: WorkAction, kind: OrdFlags, first_optional: bool,
                             first_runnable: bool) -> tuple[bool, bool]:
    """The rules when one side is not a resource action (e.g. fencing)."""
    if kind == Ord.IMPLIES_THEN and not first_optional and then.optional:
        then.optional = False
        return False, True
    if kind == Ord.IMPLIES_FIRST and not first_optional and first.runnable:
        first.runnable = False
        return True, False
    if kind == Ord.RUNNABLE_LEFT and not first_runnable and then.runnable:
        then.runnable = False
        return False, True
    return False, False


def _ordering_action(first: WorkAction) -> WorkAction:
    """Orderings after a group or clone wait for its "running"/"stopped"
    point (or a notifying clone's notifications after it)."""
    rsc = first.rsc
    if rsc is not None and rsc.variant.collective and first.task not in ("notify", "notified"):
        found = rsc.variant.ordering_point(rsc, first.task)
        if found is not None:
            return found
    return first


def _is_inside(child: WorkResource | None, parent: WorkResource | None) -> bool:
    """Is ``child`` a member or instance (at any depth) of ``parent``?"""
    current = child.parent if child is not None else None
    while current is not None:
        if current is parent:
            return True
        current = current.parent
    return False


def propagate(work: Work) -> None:
    """Update every action against its orderings until nothing changes."""
    _Propagator(work).run()
