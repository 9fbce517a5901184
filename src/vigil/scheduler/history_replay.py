"""The replay of one node's history of one resource, operation by operation.

Each operation's result is first read as Pacemaker reads it (degraded is
success, a probe's "not installed" means "not here", an expired failure no
longer counts), then moves the resource's role; a failure records the
on-fail it asks for, keeping the worst, and bans the resource as its kind
of error requires.  What the final state means is for ``history_outcome``.
"""

from __future__ import annotations

from vigil.model.results import ExecStatus, OcfRc
from vigil.model.status import OpRecord
from vigil.scheduler.digests import compare_digests, needs_bundle_address
from vigil.scheduler.failcounts import effective_failcount, raw_failcount, schedule_clear_failcount
from vigil.scheduler.history_outcome import add_running
from vigil.scheduler.location import ban, ban_everywhere, ban_target
from vigil.scheduler.on_fail import OnFail, op_on_fail, required_stop
from vigil.scheduler.remote_history import keeps_connection_failure
from vigil.scheduler.unpack_migration import (
    migrate_from_failed,
    migrate_to_failed,
    migrate_to_pending,
    migrate_to_succeeded,
)
from vigil.scheduler.unpack_resources import is_promotable_instance
from vigil.scheduler.working import DeferredParamCheck, Work
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkPrimitive


class Replay:
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
                migrate_to_pending(self.work, node, rsc, op, required_stop)
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
            migrate_to_succeeded(self.work, self.node, rsc, self.history_id, op, add_running)
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
            migrate_to_failed(self.work, node, rsc, self.history_id, op, add_running)
        elif task == "migrate_from":
            migrate_from_failed(self.work, node, rsc, self.history_id, op, add_running)
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
