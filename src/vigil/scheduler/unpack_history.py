"""Stage 3: operation history — what is running where, and what failed.

Each node's history of a resource is replayed in call order; the last
operation decides the state, failures decide the recovery (``on-fail``), and
a failure older than ``failure-timeout`` no longer counts.  This reproduces
how Pacemaker reads the status section, because the rest of the scheduler
(and every comparison with Pacemaker) depends on it.

This module reads the histories node by node and resource by resource, and
what a history says beyond its last state (the recurring monitors active,
a recovery left unfinished).  Which resource a history belongs to is
``history_owner``'s; the replay itself ``history_replay``'s; what the state
it ends in means ``history_outcome``'s; the reaction to a failure ``on_fail``'s.
"""

from __future__ import annotations

from vigil.model.results import ExecStatus, OcfRc
from vigil.model.status import NodeState, OpRecord, ResourceHistory
from vigil.scheduler.history_outcome import inactive_here, process_state
from vigil.scheduler.history_owner import find_or_make_resource
from vigil.scheduler.history_replay import Replay
from vigil.scheduler.remote_history import map_orphan_fillers
from vigil.scheduler.remote_nodes import (
    determine_remote_online,
    finish_remote_nodes,
    note_remote_fenced,
    ready_for_history,
    unpack_remote_attributes,
)
from vigil.scheduler.shutdown_lock import unpack_shutdown_lock
from vigil.scheduler.unpack_resources import is_promotable_instance, target_role
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkPrimitive


def unpack_history(work: Work) -> None:
    """Read every node's history, in passes: a remote node's history waits
    until its connection (and a guest's container) is known to run, which
    only the other nodes' histories can tell; what is left is read at the
    end when fencing is enabled (resources on a lost node matter then)."""
    status = work.cluster.status
    by_id = {n.id: n for n in work.nodes.values()}
    states: list[tuple[WorkNode, NodeState]] = []
    for state in status.nodes:
        node = by_id.get(state.id) or work.nodes.get(state.uname)
        if node is not None:
            states.append((node, state))
    # Status entries of nodes not known yet: remote nodes whose connection
    # is only in the history (an orphaned connection makes its node).
    unknown = [state for state in status.nodes
               if by_id.get(state.id) is None and work.nodes.get(state.uname) is None]
    progress = True
    while progress:
        progress = False
        for node, state in states:
            if not node.unpacked and ready_for_history(work, node):
                _unpack_node_history(work, node, state)
                progress = progress or work.have_remote_nodes
        for state in list(unknown):
            found = work.nodes.get(state.id) or work.nodes.get(state.uname)
            if found is not None:
                unknown.remove(state)
                note_remote_fenced(found, state)
                states.append((found, state))
                progress = True
    if work.options.stonith_enabled:
        for node, state in states:
            if not node.unpacked:
                _unpack_node_history(work, node, state)
    finish_remote_nodes(work)


def _unpack_node_history(work: Work, node: WorkNode, state: NodeState) -> None:
    if node.type == "remote":
        determine_remote_online(work, node)
        unpack_remote_attributes(work, node, state)
    node.unpacked = True
    for history in state.resources:
        _unpack_resource_history(work, node, history)
    map_orphan_fillers(work, state)


def _sort_key(op: OpRecord) -> tuple[int, int, int]:
    pending = op.call_id < 0
    return (1 if pending else 0, op.call_id if not pending else 0, op.last_rc_change or 0)


def sort_ops(ops: tuple[OpRecord, ...]) -> list[OpRecord]:
    """Operations in the order they ran (pending ones last)."""
    if len(ops) < 2:
        return list(ops)  # the common case: one probe or one start
    return sorted(ops, key=_sort_key)


def _unpack_resource_history(work: Work, node: WorkNode, history: ResourceHistory) -> None:
    if not history.ops:
        return
    rsc = find_or_make_resource(work, node, history)
    if rsc is None:
        return
    if rsc.id != history.id and rsc.history_id != history.id:
        rsc.history_id = history.id  # an anonymous instance, by its recorded name
    unpack_shutdown_lock(work, node, rsc, history)
    if len(history.ops) == 1 and _is_plain_probe_miss(rsc, history.ops[0]):
        _record_probe_miss(node, rsc)
        return
    saved_role = rsc.role
    rsc.role = Role.UNKNOWN
    replay = Replay(work, node, rsc, history.id)
    ops = sort_ops(history.ops)
    for op in ops:
        replay.apply(op)
    _record_active_recurring(rsc, node, ops)
    _note_unfinished_recovery(rsc, node, ops)
    process_state(work, node, rsc, replay.on_fail)
    _apply_target_role(rsc)
    if saved_role > rsc.role:
        rsc.role = saved_role


def _is_plain_probe_miss(rsc: WorkPrimitive, op: OpRecord) -> bool:
    """The most common history by far: one probe that found the resource not
    running, with nothing that could make it a failure to expire or clear
    (see ``Replay._expired``)."""
    return (
        op.rc == OcfRc.NOT_RUNNING
        and op.op_status == ExecStatus.DONE
        and op.interval_ms == 0
        and op.operation == "monitor"
        and rsc.failure_timeout_s <= 0
        and not op.id.endswith("_last_failure_0")
    )


def _record_probe_miss(node: WorkNode, rsc: WorkPrimitive) -> None:
    """What replaying a plain probe miss amounts to (the general path, traced
    through for it: ``Replay._remap`` stops the resource and forgets its next role,
    ``process_state`` records that the node knows it and that any stop
    there is optional, and a role found on another node is kept)."""
    if rsc.role < Role.STOPPED:
        rsc.role = Role.STOPPED
    rsc.next_role = Role.UNKNOWN
    _apply_target_role(rsc)
    rsc.known_on.add(node.name)
    inactive_here(rsc, node)


def _apply_target_role(rsc: WorkPrimitive) -> None:
    """``target-role`` limits the next role again after a history (which may
    have forgotten it): Stopped, or Unpromoted for a promotable instance."""
    wanted = target_role(rsc.meta, is_promotable_instance(rsc))
    if wanted != Role.UNKNOWN and (rsc.next_role == Role.UNKNOWN or wanted < rsc.next_role):
        rsc.next_role = wanted


def active_range(ops: list[OpRecord]) -> tuple[int, int]:
    """Indexes of the last start and the last stop in ``ops`` (sorted), -1 for none.

    As Pacemaker reads a history: with no start recorded, a successful
    monitor after the last stop (a probe that found the resource running)
    or a promote/demote stands for one.
    """
    start_index = stop_index = -1
    implied_monitor = implied_clone = -1
    for index, op in enumerate(ops):
        if op.operation == "stop" and op.op_status == 0:
            stop_index = index
        elif op.operation in ("start", "migrate_from"):
            start_index = index
        elif implied_monitor <= stop_index and op.operation == "monitor":
            if op.rc in (0, 8):
                implied_monitor = index
        elif op.operation in ("promote", "demote"):
            implied_clone = index
    if start_index == -1:
        start_index = implied_clone if implied_clone != -1 else implied_monitor
    return start_index, stop_index


def _note_unfinished_recovery(rsc: WorkPrimitive, node: WorkNode, ops: list[OpRecord]) -> None:
    """Note a recovery an earlier transition began on ``node`` and did not finish.

    Agents that set attributes in their actions (every promotable agent sets its promotion
    score in start, promote and demote) abort the transition that recovers them, so the
    demote, the stop, the start and the promote of one recovery can run in as many
    transitions.  The history still says what happened: the last failure, then the one-off
    actions that followed it (``RSC_last_0`` keeps the latest).  Only the stop context reads
    this: a start or promote after it is a ``recovery``, with the failure's budget.
    """
    failure = next((op for op in ops if op.id.endswith("_last_failure_0")), None)
    if failure is None or failure.call_id <= 0:
        return
    after = [op for op in ops
             if op.call_id > failure.call_id and op.interval_ms == 0
             and op.operation not in ("monitor", "notify", "meta-data")
             and op.rc == (op.expected_rc if op.expected_rc is not None else 0)]
    if not after:
        return
    last = after[-1].operation
    if last == "stop":
        rsc.failed_since_start_on.add(node.name)
    if last in ("stop", "demote", "start"):
        rsc.failed_since_promote_on.add(node.name)


def _record_active_recurring(rsc: WorkPrimitive, node: WorkNode, ops: list[OpRecord]) -> None:
    """Recurring monitors started after the last (maybe implied) start and not since stopped."""
    start_index, stop_index = active_range(ops)
    if stop_index > start_index or start_index < 0:
        return
    active: list[tuple[str, int, str | None]] = []
    for op in ops[start_index + 1:]:
        live = op.op_status in (ExecStatus.DONE, ExecStatus.PENDING, ExecStatus.ERROR)
        if op.interval_ms > 0 and op.operation != "cancel" and live:
            active.append((op.operation, op.interval_ms, op.op_digest))
    rsc.active_recurring[node.name] = active
