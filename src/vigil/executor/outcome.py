"""From the end of a process to an action result, as Pacemaker's executor decides it.

Shared by every agent class; only the mapping of a normal exit code differs
(OCF keeps its codes, LSB translates them).
"""

from __future__ import annotations

import errno
import signal
from collections.abc import Callable, Mapping

from vigil.executor.process import ProcessResult
from vigil.executor.request import ActionRequest
from vigil.executor.results import ActionResult
from vigil.model.results import ExecStatus, OcfRc

# Pacemaker keeps at most this many characters of an exit reason.
EXIT_REASON_MAX = 128

_NOT_INSTALLED_ERRNOS = frozenset({errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EINVAL, errno.ENOEXEC})
_PERMISSION_ERRNOS = frozenset({errno.EACCES, errno.EPERM})


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def not_run(
    request: ActionRequest, rc: OcfRc, status: ExecStatus, reason: str, warnings: tuple[str, ...] = ()
) -> ActionResult:
    """A result for an action vigil did not start (agent missing, bad parameters ...)."""
    return ActionResult(request, rc, status, exit_reason=reason, warnings=warnings)


def to_result(
    request: ActionRequest,
    proc: ProcessResult,
    path: str,
    map_exit: Callable[[int], OcfRc],
    environment: Mapping[str, str],
    *,
    use_exit_reason: bool = True,
    warnings: tuple[str, ...] = (),
) -> ActionResult:
    """Map how the process ended to (rc, execution status, exit reason)."""
    reason = ""
    exit_code = None
    if proc.spawn_errno is not None:
        what = f"cannot execute {path}: {proc.spawn_error}"
        if proc.spawn_errno in _NOT_INSTALLED_ERRNOS:
            rc, status = OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED
        elif proc.spawn_errno in _PERMISSION_ERRNOS:
            rc, status = OcfRc.ERR_PERM, ExecStatus.ERROR
            what += " (is it executable? chmod +x)"
        else:
            rc, status = OcfRc.ERR_GENERIC, ExecStatus.ERROR
        reason = what
    elif proc.cancelled:
        rc, status = OcfRc.SUCCESS, ExecStatus.CANCELLED
        reason = "cancelled: vigil is shutting down; the agent's process tree was ended"
    elif proc.timed_out:
        rc, status = OcfRc.ERR_GENERIC, ExecStatus.TIMEOUT
        reason = f"did not exit within its timeout of {request.timeout_ms} ms; its process tree was ended"
        if proc.leftovers_killed:
            reason += f" (SIGKILL for {len(proc.leftovers_killed)} process(es) that outlived SIGTERM)"
    elif proc.signal is not None:
        rc, status = OcfRc.ERR_GENERIC, ExecStatus.ERROR
        reason = f"killed by {_signal_name(proc.signal)}"
    else:
        exit_code = proc.exit_code if proc.exit_code is not None else 1
        rc, status = map_exit(exit_code), ExecStatus.DONE
        if use_exit_reason and proc.marked_text:
            reason = proc.marked_text[:EXIT_REASON_MAX]
    return ActionResult(
        request,
        rc,
        status,
        exit_reason=reason,
        exit_code=exit_code,
        signal=proc.signal,
        stdout=proc.stdout.decode("utf-8", "replace"),
        stderr=proc.stderr.decode("utf-8", "replace"),
        output_truncated=proc.stdout_truncated or proc.stderr_truncated,
        duration_ms=round(proc.duration_s * 1000),
        queued_ms=round(proc.queued_s * 1000),
        pid=proc.pid,
        environment=tuple(sorted(environment.items())),
        warnings=warnings,
    )
