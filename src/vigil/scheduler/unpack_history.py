"""Stage 3: operation history — what is running where, and what failed.

Each node's history of a resource is replayed in call order; the last
operation decides the state, failures decide the recovery (``on-fail``), and
a failure older than ``failure-timeout`` no longer counts.  This reproduces
how Pacemaker reads the status section, because the rest of the scheduler
(and every comparison with Pacemaker) depends on it.
"""

from __future__ import annotations

from vigil.model.config import Primitive
from vigil.model.nvsets import resolve_nvsets
from vigil.model.results import ExecStatus, OcfRc
from vigil.model.rule_eval import RuleContext
from vigil.model.scores import INFINITY
from vigil.model.status import NodeState, OpRecord, ResourceHistory
from vigil.scheduler.bundles import replica_on_guest
from vigil.scheduler.digests import compare_digests, needs_bundle_address
from vigil.scheduler.failcounts import effective_failcount, raw_failcount
from vigil.scheduler.location import ban, ban_everywhere, ban_target, resource_node_score
from vigil.scheduler.remote_history import (
    drops_remote_connection,
    fence_for_active,
    keeps_connection_failure,
    map_orphan_fillers,
    reset_remote,
)
from vigil.scheduler.remote_nodes import (
    determine_remote_online,
    finish_remote_nodes,
    note_remote_fenced,
    orphan_connection,
    ready_for_history,
    unpack_remote_attributes,
)
from vigil.scheduler.shutdown_lock import unpack_shutdown_lock
from vigil.scheduler.unpack_migration import (
    migrate_from_failed,
    migrate_to_failed,
    migrate_to_pending,
    migrate_to_succeeded,
)
from vigil.scheduler.unpack_nodes import fence_node
from vigil.scheduler.unpack_resources import find_op, is_promotable_instance, new_clone_instance, target_role
from vigil.scheduler.variants.primitive import PRIMITIVE
from vigil.scheduler.working import (
    DeferredParamCheck,
    OnFail,
    Role,
    Work,
    WorkAction,
    WorkClone,
    WorkGroup,
    WorkNode,
    WorkPrimitive,
    WorkResource,
)

_ON_FAIL_WORDS = {
    "ignore": OnFail.IGNORE,
    "nothing": OnFail.IGNORE,
    "demote": OnFail.DEMOTE,
    "restart": OnFail.RECOVER,
    "migrate": OnFail.MIGRATE,
    "block": OnFail.BLOCK,
    "stop": OnFail.STOP,
    "standby": OnFail.STANDBY,
    "fence": OnFail.FENCE,
    "restart-container": OnFail.RESTART_CONTAINER,
}


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


def op_on_fail(work: Work, rsc: WorkPrimitive, task: str, interval_ms: int) -> tuple[OnFail, Role]:
    """The configured reaction to a failure of ``task`` and the role after it."""
    op = find_op(rsc, task, interval_ms)
    value = op.on_fail if op is not None else None
    if value is None:
        ctx = RuleContext(now=work.now, rsc_class=rsc.prim.cls, rsc_provider=rsc.prim.provider,
                          rsc_type=rsc.prim.type, op_name=task, op_interval_ms=interval_ms)
        value = resolve_nvsets(work.cluster.config.op_defaults, ctx).get("on-fail")
    if value is not None and task == "stop" and value.lower() not in ("block", "fence", "ignore", "stop"):
        value = None
    if value is None and drops_remote_connection(rsc, task, interval_ms):
        # Losing an established connection leaves the node's resources in an
        # unknown state: the remote node is fenced (an unmanaged connection
        # is only stopped).
        if not rsc.managed:
            return OnFail.STOP, Role.STOPPED
        return OnFail.RESET_REMOTE, Role.STOPPED if rsc.remote_reconnect_s else Role.STARTED
    fail_role = Role.STARTED
    result: OnFail | None = _ON_FAIL_WORDS.get(value.lower()) if value else None
    if result == OnFail.RESTART_CONTAINER and rsc.container is None:
        result = None
    if result is None and rsc.container is not None:
        # A resource inside a container recovers by restarting its container.
        result = OnFail.RESTART_CONTAINER
    if result == OnFail.FENCE and not work.options.stonith_enabled:
        result = OnFail.STOP
    if result == OnFail.STOP:
        fail_role = Role.STOPPED
    if result is None:
        if task == "stop":
            result = OnFail.FENCE if work.options.stonith_enabled else OnFail.BLOCK
        else:
            result = OnFail.RECOVER
    if task == "promote":
        fail_role = Role.UNPROMOTED if fail_role == Role.STARTED else fail_role
    return result, fail_role


def _sort_key(op: OpRecord) -> tuple[int, int, int]:
    pending = op.call_id < 0
    return (1 if pending else 0, op.call_id if not pending else 0, op.last_rc_change or 0)


def sort_ops(ops: tuple[OpRecord, ...]) -> list[OpRecord]:
    """Operations in the order they ran (pending ones last)."""
    if len(ops) < 2:
        return list(ops)  # the common case: one probe or one start
    return sorted(ops, key=_sort_key)


def _orphan_primitive(history: ResourceHistory) -> Primitive:
    return Primitive(id=history.id, cls=history.cls or "ocf", type=history.type or "unknown",
                     provider=history.provider)


def _find_or_make_resource(work: Work, node: WorkNode, history: ResourceHistory) -> WorkPrimitive | None:
    replica = replica_on_guest(work, node, history.id.split(":", 1)[0])
    if replica is not None and replica.inner is not None:
        return replica.inner  # a bundle's inner resource on its guest node is that replica's
    rsc = work.rscs.get(history.id)
    clone: WorkClone | None = None
    if rsc is None:
        base = history.id.split(":", 1)[0]
        zero = work.rscs.get(f"{base}:0")
        if zero is not None:
            clone = _anonymous_clone(work, zero)
    else:
        clone = _anonymous_clone(work, rsc)
    if clone is not None:
        return _find_anonymous_instance(work, node, clone, history.id.split(":", 1)[0])
    if rsc is not None:
        return rsc
    if not history.ops:
        return None
    orphan = WorkPrimitive(id=history.id, prim=_orphan_primitive(history), meta={}, params={}, ops=(),
                           variant=PRIMITIVE)
    orphan.orphan = True
    orphan.managed = work.options.stop_orphan_resources
    if work.options.maintenance_mode:
        orphan.managed = False
    orphan.needs_fencing = work.options.stonith_enabled and orphan.prim.cls != "stonith"
    orphan.is_fence_device = orphan.prim.cls == "stonith"
    for name in work.nodes:
        orphan.allowed[name] = -INFINITY
    work.rscs[orphan.id] = orphan
    work.top.append(orphan)
    orphan_connection(work, orphan)
    return orphan


def _anonymous_clone(work: Work, rsc: WorkPrimitive) -> WorkClone | None:
    """The anonymous clone ``rsc`` is (part of) an instance of, if any."""
    top: WorkResource = rsc
    while top.parent is not None:
        top = top.parent
    return work.clones[top.id] if top.variant.is_anonymous_clone(top) else None


def _first_location(instance: WorkPrimitive | WorkGroup) -> str | None:
    """The first node where a primitive of ``instance`` (in member order) is
    active or starting; None if none is.  Asked of the members, not of a
    cloned group's own list, which leaves out the nodes an unmanaged member
    runs on while they are offline (as Pacemaker's does)."""
    for prim in instance.primitives():
        if prim.running_on:
            return prim.running_on[0]
        if prim.pending_node is not None:
            return prim.pending_node
    return None


def _instance_member(instance: WorkPrimitive | WorkGroup, base: str) -> WorkPrimitive | None:
    """The primitive of ``instance`` made from the template ``base``."""
    for prim in instance.primitives():
        if prim.prim.id == base:
            return prim
    return None


def _find_anonymous_instance(work: Work, node: WorkNode, clone: WorkClone, base: str) -> WorkPrimitive | None:
    """Which instance of an anonymous clone a node's history belongs to.

    Anonymous instances are interchangeable, so history is matched to an
    instance already active on that node, else to a free one, else to a new
    orphan instance past clone-max.
    """
    found: WorkPrimitive | None = None
    inactive: WorkPrimitive | None = None
    skip_inactive = False
    for instance in clone.instances:
        location = _first_location(instance)
        if location is not None:
            if location == node.name:
                candidate = _instance_member(instance, base)
                if candidate is not None:
                    if candidate.running_on:
                        skip_inactive = True
                    else:
                        found = candidate
                        break
        elif not skip_inactive and inactive is None and not instance.blocked:
            inactive = _instance_member(instance, base)
            if inactive is not None and inactive.pending_node not in (None, node.name):
                inactive = None
    if found is None and not skip_inactive:
        found = inactive
    universal = clone.clone_max == len(work.nodes)
    if found is not None and not found.needs_fencing and (not node.online or node.unclean) and not universal:
        found = None
    if found is None:
        instance = new_clone_instance(work, clone)
        for prim in instance.primitives():
            prim.orphan = True
        found = _instance_member(instance, base)
    return found


def _unpack_resource_history(work: Work, node: WorkNode, history: ResourceHistory) -> None:
    if not history.ops:
        return
    rsc = _find_or_make_resource(work, node, history)
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
    replay = _Replay(work, node, rsc, history.id)
    ops = sort_ops(history.ops)
    for op in ops:
        replay.apply(op)
    _record_active_recurring(rsc, node, ops)
    _note_unfinished_recovery(rsc, node, ops)
    _process_state(work, node, rsc, replay.on_fail)
    _apply_target_role(rsc)
    if saved_role > rsc.role:
        rsc.role = saved_role


def _is_plain_probe_miss(rsc: WorkPrimitive, op: OpRecord) -> bool:
    """The most common history by far: one probe that found the resource not
    running, with nothing that could make it a failure to expire or clear
    (see ``_Replay._expired``)."""
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
    through for it: ``_remap`` stops the resource and forgets its next role,
    ``_process_state`` records that the node knows it and that any stop
    there is optional, and a role found on another node is kept)."""
    if rsc.role < Role.STOPPED:
        rsc.role = Role.STOPPED
    rsc.next_role = Role.UNKNOWN
    _apply_target_role(rsc)
    rsc.known_on.add(node.name)
    _inactive_here(rsc, node)


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


class _Replay:
    """Replays one node's history of one resource, operation by operation."""

    def __init__(self, work: Work, node: WorkNode, rsc: WorkPrimitive, history_id: str) -> None:
        self.work = work
        self.node = node
        self.rsc = rsc
        # The id the history is recorded under (a migration's other end is found by it).
        self.history_id = history_id
        self.on_fail = OnFail.IGNORE
        self.last_failure: OpRecord | None = None

    def apply(self, op: OpRecord) -> None:
        if op.operation in ("notify", "meta-data"):
            return
        rsc, node = self.rsc, self.node
        target = op.expected_rc
        target_rc = -1 if target is None else target
        expired = op.op_status != ExecStatus.NOT_INSTALLED and self._expired(op)
        old_rc = op.rc
        maskable = _mask_probe_failure(op)
        rc, status = self._remap(op, target_rc, maskable, expired)
        if expired and maskable and old_rc != target_rc:
            if rsc.role <= Role.STOPPED:
                rsc.role = Role.UNKNOWN
            return
        if expired and rc != target_rc:
            if op.interval_ms == 0:
                return
            if node.online and not node.unclean:
                return
        if maskable:
            self._update_state(op, target_rc, maskable)
            ban(ban_target(rsc), node.name)
            return
        if status == ExecStatus.CANCELLED:
            return
        if status == ExecStatus.PENDING:
            if rsc.pending_node is None and (op.interval_ms != 0 or op.operation != "monitor"):
                rsc.pending_node = node.name
            if op.operation == "start":
                rsc.start_pending = True
                _set_active(rsc)
            elif op.operation == "promote":
                rsc.role = Role.PROMOTED
            elif op.operation == "migrate_to":
                migrate_to_pending(self.work, node, rsc, op, _required_stop)
            return
        if status == ExecStatus.DONE:
            self._update_state(op, rc, maskable)
            return
        if status == ExecStatus.NOT_INSTALLED:
            strategy, _ = op_on_fail(self.work, rsc, op.operation, op.interval_ms)
            if strategy == OnFail.IGNORE:
                self.on_fail = OnFail.MIGRATE
            ban(ban_target(rsc), node.name)
            self._failure(op, rc)
            return
        if status in (ExecStatus.NO_FENCE_DEVICE, ExecStatus.NO_SECRETS):
            status = ExecStatus.ERROR_HARD
        strategy, _ = op_on_fail(self.work, rsc, op.operation, op.interval_ms)
        if strategy == OnFail.IGNORE or (strategy == OnFail.RESTART_CONTAINER and op.operation == "stop"):
            self._update_state(op, target_rc, maskable)
            rsc.failure_ignored = True
            if strategy == OnFail.RESTART_CONTAINER and self.on_fail <= OnFail.RECOVER:
                self.on_fail = strategy
            return
        self._failure(op, rc)
        if status == ExecStatus.ERROR_HARD:
            ban(ban_target(rsc), node.name)
        elif status == ExecStatus.ERROR_FATAL:
            ban_everywhere(self.work, ban_target(rsc))

    def _expired(self, op: OpRecord) -> bool:
        """Is this failure older than failure-timeout?  Schedules the clearing
        of the fail-count when it is, or when the failed operation's
        definition has changed since."""
        rsc, node, work = self.rsc, self.node, self.work
        expired = (
            rsc.failure_timeout_s > 0
            and op.last_rc_change is not None
            and work.now >= op.last_rc_change + rsc.failure_timeout_s
            and not keeps_connection_failure(work, rsc, op)
        )
        clear = False
        if expired:
            count, _ = raw_failcount(node, rsc)
            if count:
                if effective_failcount(node, rsc, work.now) == 0:
                    clear = True
                else:
                    expired = False
        if not expired and op.id.endswith("_last_failure_0") and op.operation in ("start", "monitor"):
            if needs_bundle_address(rsc):
                # Its digest names its container's node: compared once that is placed.
                work.deferred_param_checks.append(DeferredParamCheck(rsc, node.name, [op], last_failure=True))
            else:
                verdict, _ = compare_digests(work, rsc, node.name, op)
                clear = clear or verdict not in ("unknown", "match")
        if clear:
            schedule_clear_failcount(work, rsc, node)
        if expired and op.interval_ms == 0 and op.operation == "monitor" and op.rc in (
            OcfRc.SUCCESS, OcfRc.NOT_RUNNING, OcfRc.RUNNING_PROMOTED, OcfRc.DEGRADED, OcfRc.DEGRADED_PROMOTED,
        ):
            return False
        return expired

    def _remap(self, op: OpRecord, target_rc: int, masked: bool, expired: bool) -> tuple[int, int]:
        """(rc, op-status) as Pacemaker reads them; ``masked`` is a probe
        failure that only means "not installed here"; an ``expired`` failure
        no longer blocks anything."""
        rsc = self.rsc
        rc, status = op.rc, op.op_status
        if op.operation == "monitor":
            if rc == OcfRc.DEGRADED:
                rc = OcfRc.SUCCESS
            elif rc == OcfRc.DEGRADED_PROMOTED:
                rc = OcfRc.RUNNING_PROMOTED
        if masked:
            return OcfRc.NOT_RUNNING, ExecStatus.DONE
        if status not in (ExecStatus.DONE, ExecStatus.ERROR):
            return rc, status
        status = ExecStatus.DONE
        is_probe = op.is_probe
        if target_rc < 0 or target_rc != rc:
            status = ExecStatus.ERROR
        if rc == OcfRc.SUCCESS:
            if is_probe and target_rc == OcfRc.NOT_RUNNING:
                status = ExecStatus.DONE
        elif rc == OcfRc.NOT_RUNNING:
            if is_probe or target_rc == rc or not rsc.managed:
                status = ExecStatus.DONE
                rsc.role = Role.STOPPED
                self.on_fail = OnFail.IGNORE
                rsc.next_role = Role.UNKNOWN
        elif rc == OcfRc.RUNNING_PROMOTED:
            if is_probe and rc != target_rc:
                status = ExecStatus.DONE
            rsc.role = Role.PROMOTED
        elif rc in (OcfRc.DEGRADED_PROMOTED, OcfRc.FAILED_PROMOTED):
            rsc.role = Role.PROMOTED
            status = ExecStatus.ERROR
        elif rc == OcfRc.ERR_CONFIGURED:
            status = ExecStatus.ERROR_FATAL
        elif rc == OcfRc.ERR_UNIMPLEMENTED:
            if op.interval_ms == 0:
                if not expired:
                    self._check_recoverable(op)
                status = ExecStatus.ERROR_HARD
            else:
                status = ExecStatus.NOT_SUPPORTED
        elif rc in (OcfRc.ERR_INSTALLED, OcfRc.ERR_ARGS, OcfRc.ERR_PERM):
            if not expired:
                self._check_recoverable(op)
            status = ExecStatus.ERROR_HARD
        elif status == ExecStatus.DONE:
            status = ExecStatus.ERROR
        return rc, status

    def _check_recoverable(self, op: OpRecord) -> None:
        """A failed stop that fencing cannot clean up blocks the resource."""
        if op.operation != "stop":
            return
        if self.work.can_fence(self.node):
            return
        self.rsc.managed = False
        self.rsc.blocked = True

    def _update_state(self, op: OpRecord, rc: int, masked: bool) -> None:
        rsc = self.rsc
        task = op.operation
        clear = False
        if rc == OcfRc.ERR_INSTALLED or masked:
            rsc.role = Role.STOPPED
        elif rc == OcfRc.NOT_RUNNING:
            clear = True
        elif task == "monitor":
            if self.last_failure is not None and _op_key(op) == _op_key(self.last_failure):
                clear = True
            if rsc.role < Role.STARTED:
                _set_active(rsc)
        elif task in ("start", "migrate_from"):
            rsc.role = Role.STARTED
            clear = True
        elif task == "stop":
            rsc.role = Role.STOPPED
            clear = True
        elif task == "promote":
            rsc.role = Role.PROMOTED
            clear = True
        elif task == "demote":
            if self.on_fail == OnFail.DEMOTE:
                clear = True
            rsc.role = Role.UNPROMOTED
        elif task == "migrate_to":
            migrate_to_succeeded(self.work, self.node, rsc, self.history_id, op, _add_running)
        elif rsc.role < Role.STARTED:
            _set_active(rsc)
        if clear and self.on_fail in (OnFail.BLOCK, OnFail.IGNORE, OnFail.DEMOTE, OnFail.RECOVER,
                                      OnFail.RESTART_CONTAINER):
            self.on_fail = OnFail.IGNORE
            rsc.next_role = Role.UNKNOWN

    def _failure(self, op: OpRecord, rc: int) -> None:
        rsc, node = self.rsc, self.node
        self.last_failure = op
        strategy, fail_role = op_on_fail(self.work, rsc, op.operation, op.interval_ms)
        if strategy > self.on_fail:
            self.on_fail = strategy
        task = op.operation
        if task == "stop":
            ban(rsc, node.name)
        elif task == "migrate_to":
            migrate_to_failed(self.work, node, rsc, self.history_id, op, _add_running)
        elif task == "migrate_from":
            migrate_from_failed(self.work, node, rsc, self.history_id, op, _add_running)
        elif task == "promote":
            rsc.role = Role.PROMOTED
        elif task == "demote":
            if strategy == OnFail.BLOCK:
                rsc.role = Role.PROMOTED
                rsc.next_role = Role.STOPPED
            elif rc == OcfRc.NOT_RUNNING:
                rsc.role = Role.STOPPED
            else:
                rsc.role = Role.UNPROMOTED
        if op.is_probe and rc == OcfRc.ERR_INSTALLED:
            rsc.role = Role.STOPPED
        elif rsc.role < Role.STARTED:
            _set_active(rsc)
        if fail_role != Role.STARTED and rsc.next_role < fail_role:
            rsc.next_role = fail_role
        if fail_role == Role.STOPPED:
            ban_everywhere(self.work, ban_target(rsc))


def _set_active(rsc: WorkPrimitive) -> None:
    """Found active without a start to say so: Unpromoted for an instance of
    a promotable clone (a start says Started)."""
    rsc.role = Role.UNPROMOTED if is_promotable_instance(rsc) else Role.STARTED


def _op_key(op: OpRecord) -> str:
    return f"{op.operation}_{op.interval_ms}"


def _mask_probe_failure(op: OpRecord) -> bool:
    if not op.is_probe:
        return False
    return op.rc in (OcfRc.ERR_INSTALLED, OcfRc.ERR_ARGS) or op.op_status == ExecStatus.NOT_INSTALLED


def schedule_clear_failcount(work: Work, rsc: WorkPrimitive, node: WorkNode) -> None:
    if node.name in rsc.failcount_cleared_on:
        return
    rsc.failcount_cleared_on.add(node.name)
    action = work.new_action(rsc, "clear_failcount", node.name, optional=False)
    action.runnable = node.online


def _process_state(work: Work, node: WorkNode, rsc: WorkPrimitive, on_fail: OnFail) -> None:
    # Roles are ordered: above STOPPED means active in some role.
    active = rsc.role > Role.STOPPED
    if rsc.role != Role.UNKNOWN:
        rsc.known_on.add(node.name)
    if active and not node.online and not node.maintenance and rsc.managed:
        fence_for_active(work, node, rsc)
    saved_on_fail = on_fail
    if node.unclean:
        on_fail = OnFail.IGNORE
    if on_fail != OnFail.IGNORE:
        _react_to_failure(work, node, rsc, on_fail, active)
        if active:
            rsc.failed_on.add(node.name)
    if active:
        _add_running(work, rsc, node, saved_on_fail != OnFail.IGNORE)
        if on_fail == OnFail.IGNORE:
            pass
        elif on_fail in (OnFail.DEMOTE, OnFail.BLOCK):
            rsc.failed = True
        else:
            rsc.failed = True
            rsc.stop_needed = True
    else:
        _inactive_here(rsc, node)
    if rsc.role == Role.STOPPED and rsc.running_on and rsc.partial_migration_target is not None \
            and rsc.partial_migration_source == node.name:
        # Stopped on the source after its migrate_to: still active on the target.
        rsc.role = Role.STARTED


def _inactive_here(rsc: WorkPrimitive, node: WorkNode) -> None:
    """Not active on ``node``: a stop there is not needed.  An old-style
    numbered history name of a stopped instance is forgotten (so that
    the instance is not known by it, e.g. for promotion scores)."""
    if rsc.history_id is not None and ":" in rsc.history_id:
        rsc.history_id = None
        return
    for action in rsc.actions:
        if action.task == "stop" and action.node == node.name:
            action.optional = True


def _react_to_failure(work: Work, node: WorkNode, rsc: WorkPrimitive, on_fail: OnFail, active: bool) -> None:
    """What the on-fail of the worst failure in a node's history asks for."""
    if on_fail == OnFail.DEMOTE:
        rsc.failed = True
    elif on_fail == OnFail.FENCE:
        fence_node(work, node, f"{rsc.id} failed there")
    elif on_fail == OnFail.STANDBY:
        node.standby = True
        node.standby_onfail = True
    elif on_fail == OnFail.BLOCK:
        rsc.managed = False
        rsc.blocked = True
    elif on_fail == OnFail.MIGRATE:
        ban(rsc, node.name)
    elif on_fail == OnFail.STOP:
        rsc.next_role = Role.STOPPED
    elif on_fail == OnFail.RECOVER and active:
        rsc.failed = True
        rsc.stop_needed = True
        stop = _existing_or_new_stop(work, rsc, node.name)
        stop.optional = False
    elif on_fail == OnFail.RESET_REMOTE:
        reset_remote(work, rsc)
        if active:
            _existing_or_new_stop(work, rsc, node.name).optional = False
    elif on_fail == OnFail.RESTART_CONTAINER:
        rsc.failed = True
        rsc.stop_needed = True
        if rsc.container is not None:
            _existing_or_new_stop(work, rsc.container, node.name).optional = False
        elif active:
            _existing_or_new_stop(work, rsc, node.name).optional = False


def _required_stop(work: Work, rsc: WorkPrimitive, node: str) -> WorkAction:
    stop = _existing_or_new_stop(work, rsc, node)
    stop.optional = False
    return stop


def _existing_or_new_stop(work: Work, rsc: WorkPrimitive, node: str) -> WorkAction:
    for action in rsc.actions:
        if action.task == "stop" and action.node == node:
            return action
    return work.new_action(rsc, "stop", node)


def _is_clone(rsc: WorkResource) -> bool:
    return rsc.variant.is_anonymous_clone(rsc) or rsc.variant.is_unique_clone(rsc)


def _add_running(work: Work, rsc: WorkPrimitive, node: WorkNode, failed: bool) -> None:
    if node.name in rsc.running_on:
        return
    rsc.running_on.append(node.name)
    if node.maintenance:
        rsc.managed = False
    if not rsc.managed:
        resource_node_score(work, rsc, node.name, INFINITY)
        # Pacemaker lists an unmanaged resource's node in every parent, again
        # if already there: instance placement then counts it twice.
        parent = rsc.parent
        while parent is not None and node.online:
            parent.running_on.append(node.name)
            parent = parent.parent
        return
    parent = rsc.parent
    while parent is not None:
        if node.name not in parent.running_on:
            parent.running_on.append(node.name)
        parent = parent.parent
    if len(rsc.running_on) > 1:
        if rsc.multiple_active == "stop_only":
            ban_everywhere(work, rsc)
        elif rsc.multiple_active == "block":
            rsc.managed = False
            rsc.blocked = True
            group = rsc.parent
            if group is not None and not _is_clone(group) and group.meta.get("multiple-active") == "block":
                # A group that blocks when multiply active blocks whole.
                for member in group.primitives():
                    member.managed = False
                    member.blocked = True
