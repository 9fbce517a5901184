"""Live migration: a resource with ``allow-migrate`` moves by ``migrate_to``
on its source and ``migrate_from`` on its target instead of stop and start.

The stop and start are still planned (everything else is ordered against
them); the start becomes a pseudo-action that the migration stands for, and
the stop on the source runs after ``migrate_from``.  Every action of the
migration starts out "migratable"; orderings clear that flag when something
rules the migration out (see ordering), and the resource then falls back to
a plain stop and start.  This is Pacemaker's model, including its partial
migrations (``migrate_to`` done, ``migrate_from`` not yet, read from the
history by unpack_migration) and dangling ones (both done, the source never
stopped).
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.model.booleans import is_true
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, OrdFlags, WorkAction, find_first_action, order
from vigil.scheduler.working_resources import WorkPrimitive, WorkResource

# How a stop or start is found or made (primitive.resource_action), passed
# in so that this module does not import the primitive variant.
ActionMaker = Callable[[Work, WorkPrimitive, str, "str | None", bool], WorkAction]


def is_migratable(rsc: WorkResource) -> bool:
    """Whether ``rsc`` may migrate as far as its configuration (and, for a
    primitive, its history) says; groups and clones by their own meta."""
    if rsc.variant.collective:
        return is_true(rsc.meta.get("allow-migrate"), False)
    assert isinstance(rsc, WorkPrimitive)
    return rsc.allow_migrate


def can_migrate(work: Work, rsc: WorkPrimitive, current: str | None) -> bool:
    """Whether a move of ``rsc`` from ``current`` can be a live migration:
    allowed, managed, not failed, no start pending, and both nodes clean."""
    if not rsc.allow_migrate or not rsc.managed or rsc.failed or rsc.start_pending:
        return False
    if current is None or work.nodes[current].unclean:
        return False
    return rsc.assigned is not None and not work.nodes[rsc.assigned].unclean


def plan_migration(work: Work, rsc: WorkPrimitive, current: str | None, moving: bool,
                   active_count: int) -> tuple[bool, bool]:
    """Decide whether ``rsc`` migrates, and whether a migration found half
    done in the history has to be given up (which forces a stop).

    Returns (migrate, partial): ``partial`` when the history shows a
    migration half done, which either continues (only when the resource is
    active on exactly its source and target and still goes to the same
    target) or is given up; both need the stop on the source.
    """
    migrate = moving and can_migrate(work, rsc, current)
    source, target = rsc.partial_migration_source, rsc.partial_migration_target
    if source is not None and target is not None and migrate and active_count == 2 \
            and current == source and rsc.assigned == target:
        return True, True
    if source is not None or target is not None:
        rsc.partial_migration_source = rsc.partial_migration_target = None
        return False, True
    return migrate, False


def abort_dangling_migrations(work: Work, rsc: WorkPrimitive, make: ActionMaker) -> None:
    """Stop ``rsc`` on the sources of migrations that completed without a stop there."""
    for source in rsc.dangling_migrations:
        stop = make(work, rsc, "stop", source, False)
        stop.migration_abort = True


def create_migration_actions(work: Work, rsc: WorkPrimitive, current: str, make: ActionMaker) -> None:
    """The migrate_to (unless a partial migration already ran it) and
    migrate_from of a move from ``current``, and their orderings."""
    target = rsc.assigned
    assert target is not None
    start = make(work, rsc, "start", target, True)
    stop = make(work, rsc, "stop", current, True)
    partial = rsc.partial_migration_target is not None
    migrate_to = None if partial else make(work, rsc, "migrate_to", current, True)
    migrate_from = make(work, rsc, "migrate_from", target, True)
    start.migratable = stop.migratable = migrate_from.migratable = True
    start.pseudo = True  # the migration stands for it
    if migrate_to is not None:
        migrate_to.migratable = True
        for probe in find_actions_of(rsc, "monitor"):
            order(probe, migrate_to, Ord.OPTIONAL)
        order(migrate_to, migrate_from, Ord.OPTIONAL | Ord.UNMIGRATABLE_THEN_BLOCKS)
    else:
        for probe in find_actions_of(rsc, "monitor"):
            order(probe, migrate_from, Ord.OPTIONAL)
    blocks: OrdFlags = Ord.OPTIONAL | Ord.UNMIGRATABLE_THEN_BLOCKS
    # Before every stop, as Pacemaker orders by task: a stop that ends a
    # dangling migration is no part of this one, so it rules it out.
    for each_stop in find_actions_of(rsc, "stop"):
        order(migrate_from, each_stop, blocks)
    order(migrate_from, start, blocks | Ord.FIRST_ELSE_THEN)
    for action in (migrate_to, migrate_from):
        if action is not None:
            action.meta["migrate_source"] = current
            action.meta["migrate_target"] = target
    if migrate_to is not None:
        # Recorded while in flight: the source may be lost during it.
        migrate_to.meta["record_pending"] = "true"


def skip_stop_for_partial(rsc: WorkPrimitive, node: str) -> bool | None:
    """For a partially migrated resource: True when its stop on ``node`` is
    skipped (the migration to ``node`` continues), False when it is forced
    (the target changed), None when there is no partial migration."""
    target = rsc.partial_migration_target
    if target is None:
        return None
    return node == target and node == rsc.assigned


def migration_equivalents(first: WorkResource, first_task: str, then: WorkResource, then_task: str,
                          related: bool) -> list[tuple[WorkResource, str, WorkResource, str, OrdFlags]]:
    """The orderings of migration actions that stand for one ordering of
    starts, stops, promotes or demotes between two unrelated resources, so
    that a migration honours it too."""
    if related or first is then:
        return []
    first_migratable = is_migratable(first)
    then_migratable = is_migratable(then)
    if not first_migratable and not then_migratable:
        return []
    found: list[tuple[WorkResource, str, WorkResource, str, OrdFlags]] = []
    flags: OrdFlags = Ord.OPTIONAL
    if first_task == "start" and then_task == "start":
        if first_migratable and then_migratable:
            found.append((first, "migrate_from", then, "migrate_to", flags))
        if then_migratable:
            if first_migratable:
                flags |= Ord.IF_FIRST_UNMIGRATABLE
            found.append((first, "start", then, "migrate_to", flags))
    elif then_migratable and first_task == "stop" and then_task == "stop":
        if first_migratable:
            flags |= Ord.IF_FIRST_UNMIGRATABLE
        found.append((first, "stop", then, "migrate_to", flags))
        if _partial_target(then):
            found.append((first, "stop", then, "migrate_from", flags))
    elif then_migratable and first_task == "promote" and then_task == "start":
        found.append((first, "promote", then, "migrate_to", flags))
    elif then_migratable and first_task == "demote" and then_task == "stop":
        found.append((first, "demote", then, "migrate_to", flags))
        if _partial_target(then):
            found.append((first, "demote", then, "migrate_from", flags))
    return found


def find_actions_of(rsc: WorkPrimitive, task: str) -> list[WorkAction]:
    """``rsc``'s one-shot actions of ``task`` (for a monitor: its probes)."""
    return [a for a in rsc.actions_by_task.get(task, ()) if a.interval_ms == 0]


def _partial_target(rsc: WorkResource) -> bool:
    if rsc.variant.collective:
        return False
    assert isinstance(rsc, WorkPrimitive)
    return rsc.partial_migration_target is not None


def migrating_start(rsc: WorkPrimitive, node: str | None) -> WorkAction | None:
    """The runnable migrate_from that moves ``rsc`` to ``node``, if any (the
    summary shows such a move as "Migrate")."""
    found = find_first_action(rsc, "migrate_from", node)
    if found is not None and found.runnable:
        return found
    return None

