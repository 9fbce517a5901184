"""Stage 3, migrations: what a ``migrate_to`` or ``migrate_from`` in the
history says about where a resource is.

A live migration is three operations: ``migrate_to`` on the source,
``migrate_from`` on the target, then a stop on the source.  A history
caught between them means the resource may be active on both nodes: a
*partial* migration (``migrate_to`` done, no ``migrate_from`` yet) can be
continued, a *dangling* one (both done, no stop on the source) needs that
stop, and a failed step leaves the resource active on one or both nodes
and no longer allowed to migrate.  Each case reads the other node's
history too, as Pacemaker's unpacking does, and comes to the same result.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.model.results import ExecStatus, OcfRc
from vigil.model.status import OpRecord, ResourceHistory
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import WorkAction
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkPrimitive

# Records the resource as active on a node (unpack_history's add-running),
# with whether it failed there.
AddRunning = Callable[[Work, WorkPrimitive, WorkNode, bool], None]
# Finds or makes a required stop on a node.
MakeStop = Callable[[Work, WorkPrimitive, str], WorkAction]

# The operations that change where a resource runs (a monitor does not).
_STATE_CHANGING = ("start", "stop", "migrate_to", "migrate_from")


def _history(work: Work, rsc_id: str, node_name: str | None) -> ResourceHistory | None:
    if node_name is None:
        return None
    for state in work.cluster.status.nodes:
        if state.uname == node_name:
            for history in state.resources:
                if history.id == rsc_id:
                    return history
    return None


def _find_op(work: Work, rsc_id: str, task: str, node_name: str | None, other: str | None = None,
             target_rc: int | None = None) -> OpRecord | None:
    """The first record of ``task`` for ``rsc_id`` on ``node_name`` (for a
    migration, one whose other end is ``other``); with ``target_rc``, only
    when that first record completed with it."""
    history = _history(work, rsc_id, node_name)
    if history is None:
        return None
    for op in history.ops:
        if op.operation != task:
            continue
        if other is not None and task == "migrate_to" and op.migrate_target != other:
            continue
        if other is not None and task == "migrate_from" and op.migrate_source != other:
            continue
        if target_rc is not None and (op.rc != target_rc or op.op_status != ExecStatus.DONE):
            return None
        return op
    return None


def _magic_transition(op: OpRecord) -> tuple[str, int] | None:
    """(the transition's uuid, its number) from a record's transition magic."""
    magic = op.transition_magic or ""
    if ";" not in magic:
        return None
    parts = magic.split(";", 1)[1].split(":")
    if len(parts) < 4:
        return None
    try:
        return parts[3], int(parts[1])
    except ValueError:
        return None


def is_newer(a: OpRecord, b: OpRecord) -> bool:
    """Whether ``a`` happened after ``b`` (call ids on one node, else the
    time of the result, else for a pending one its transition)."""
    same_node = (a.on_node or "").lower() == (b.on_node or "").lower()
    if same_node and a.id == b.id:
        return False
    if a.call_id == -1 and b.call_id == -1:
        return False
    if same_node and a.call_id >= 0 and a.call_id != b.call_id and b.call_id >= 0:
        return a.call_id > b.call_id
    if a.call_id >= 0 and b.call_id >= 0:
        last_a = a.last_rc_change if a.last_rc_change is not None else -1
        last_b = b.last_rc_change if b.last_rc_change is not None else -1
        return last_b >= 0 and last_a > last_b
    magic_a, magic_b = _magic_transition(a), _magic_transition(b)
    if magic_a is None or magic_b is None:
        return False
    (uuid_a, id_a), (uuid_b, id_b) = magic_a, magic_b
    if uuid_a.lower() != uuid_b.lower() or id_a == id_b:
        return a.call_id == -1 and b.call_id != -1
    if (0 <= id_a < id_b) or id_b == -1:
        return False
    return (id_b >= 0 and id_a > id_b) or id_a == -1


def _non_monitor_after(work: Work, rsc_id: str, node_name: str | None, op: OpRecord) -> bool:
    """Whether a start, stop or migration ran on ``node_name`` after ``op``."""
    history = _history(work, rsc_id, node_name)
    if history is None:
        return False
    return any(other is not op and other.operation in _STATE_CHANGING and is_newer(other, op)
               for other in history.ops)


def _monitor_not_running_after(work: Work, rsc_id: str, node_name: str | None, op: OpRecord) -> bool:
    monitor = _find_op(work, rsc_id, "monitor", node_name, target_rc=OcfRc.NOT_RUNNING)
    return monitor is not None and is_newer(monitor, op)


def _newer_state_after(work: Work, rsc_id: str, node_name: str | None, migrate_to: OpRecord | None,
                       migrate_from: OpRecord | None) -> bool:
    """Whether the history on ``node_name`` moved on after the migration
    (compared with the migration's record on that node when there is one)."""
    op = migrate_from if migrate_from is not None else migrate_to
    assert op is not None
    if op is not migrate_to and migrate_to is not None \
            and (node_name or "").lower() == (op.migrate_source or "").lower():
        op = migrate_to
    return _non_monitor_after(work, rsc_id, node_name, op) \
        or _monitor_not_running_after(work, rsc_id, node_name, op)


def _unknown_on(work: Work, rsc_id: str, node_name: str | None) -> bool:
    """No completed operation of the resource recorded on ``node_name``."""
    history = _history(work, rsc_id, node_name)
    return history is None or all(op.rc == OcfRc.UNKNOWN for op in history.ops)


def _online(work: Work, name: str | None) -> WorkNode | None:
    node = work.nodes.get(name or "")
    return node if node is not None and node.online else None


def _fail_migration(rsc: WorkPrimitive) -> None:
    """Active somewhere we cannot tell: recover it, and never migrate it now."""
    rsc.failed = True
    rsc.stop_needed = True
    rsc.allow_migrate = False


def migrate_to_succeeded(work: Work, node: WorkNode, rsc: WorkPrimitive, rsc_id: str, op: OpRecord,
                         add_running: AddRunning) -> None:
    """A completed migrate_to on ``node`` (the source)."""
    source, target = op.migrate_source, op.migrate_target
    if source is None or target is None or source.lower() != node.name.lower():
        return
    source_newer = _non_monitor_after(work, rsc_id, source, op)
    migrate_from = _find_op(work, rsc_id, "migrate_from", target, other=source)
    from_rc: int = OcfRc.SUCCESS
    from_status: int = ExecStatus.PENDING
    if migrate_from is not None:
        if source_newer:
            return  # the migration is over, and the source moved on
        from_rc, from_status = migrate_from.rc, migrate_from.op_status
    target_newer = _newer_state_after(work, rsc_id, target, op, migrate_from)
    if source_newer and target_newer:
        return
    if from_rc == OcfRc.SUCCESS and from_status == ExecStatus.DONE:
        # Migrated, never stopped on the source: a dangling migration.
        rsc.role = Role.STOPPED
        rsc.dangling_migrations.append(node.name)
        return
    rsc.role = Role.STARTED
    target_node = work.nodes.get(target)
    active_on_target = not target_newer and target_node is not None and target_node.online
    if from_status != ExecStatus.PENDING:  # the migrate_from failed
        if active_on_target:
            assert target_node is not None
            add_running(work, rsc, target_node, True)
        else:
            _fail_migration(rsc)
        return
    if target_node is not None and target_node.online and _unknown_on(work, rsc_id, target):
        return  # cleaned on the target: a probe will say
    if active_on_target:
        assert target_node is not None
        add_running(work, rsc, target_node, False)
        if _online(work, source) is not None:
            # Half done: the migration may continue if it still goes there.
            rsc.partial_migration_source = node.name
            rsc.partial_migration_target = target_node.name
    elif not source_newer:
        _fail_migration(rsc)


def migrate_to_failed(work: Work, node: WorkNode, rsc: WorkPrimitive, rsc_id: str, op: OpRecord,
                      add_running: AddRunning) -> None:
    """A failed migrate_to on ``node`` (the source): active there, and
    maybe on the target too."""
    source, target = op.migrate_source, op.migrate_target
    if source is None or target is None or source.lower() != node.name.lower():
        return
    rsc.role = Role.STARTED
    migrate_from = _find_op(work, rsc_id, "migrate_from", target, other=source, target_rc=OcfRc.SUCCESS)
    if not _active_at_other_end(work, rsc, rsc_id, target, op, migrate_from, add_running, False) \
            and not _non_monitor_after(work, rsc_id, source, op):
        rsc.dangling_migrations.append(node.name)


def migrate_from_failed(work: Work, node: WorkNode, rsc: WorkPrimitive, rsc_id: str, op: OpRecord,
                        add_running: AddRunning) -> None:
    """A failed migrate_from on ``node`` (the target): active there, and
    maybe still on the source."""
    source, target = op.migrate_source, op.migrate_target
    if source is None or target is None or target.lower() != node.name.lower():
        return
    rsc.role = Role.STARTED
    migrate_to = _find_op(work, rsc_id, "migrate_to", source, other=target, target_rc=OcfRc.SUCCESS)
    _active_at_other_end(work, rsc, rsc_id, source, migrate_to, op, add_running, True)


def _active_at_other_end(work: Work, rsc: WorkPrimitive, rsc_id: str, other: str, migrate_to: OpRecord | None,
                         migrate_from: OpRecord | None, add_running: AddRunning, flag: bool) -> bool:
    """After a failed migration step: whether ``rsc`` may still be active at the migration's other
    end (known there, nothing newer recorded there than the migration); if so it is added as
    running there when that node is online.  ``flag`` is passed on to ``add_running``."""
    if _unknown_on(work, rsc_id, other) or _newer_state_after(work, rsc_id, other, migrate_to, migrate_from):
        return False
    other_node = _online(work, other)
    if other_node is not None:
        add_running(work, rsc, other_node, flag)
    return True


def migrate_to_pending(work: Work, node: WorkNode, rsc: WorkPrimitive, op: OpRecord,
                       make_stop: MakeStop) -> None:
    """A migrate_to still in flight on a lost source: it may have reached
    the target, so the resource is stopped there."""
    if not node.unclean or op.migrate_target is None:
        return
    if op.migrate_target in work.nodes:
        make_stop(work, rsc, op.migrate_target)
