"""What an action came to: the agent's exit code and the execution status, kept apart.

Pacemaker records two numbers per operation, and so does vigil:

- the **OCF exit code** (:class:`OcfRc`), what the agent said (0 success,
  7 not running, 8 running promoted, ...), after mapping: LSB codes are
  translated, and an exit code outside the OCF set becomes 1, as Pacemaker's
  executor does;
- the **execution status** (:class:`ExecStatus`), whether the agent ran to
  completion at all (done, timed out, not installed, error ...).

A timeout is an execution status, never an exit code: the agent did not say
anything.  The numeric values are Pacemaker's (``enum ocf_exitcode`` and
``enum pcmk_exec_status``), equal to ``vigil.model.status``'s ``RC_*`` and
``OP_*`` constants, so a result can be recorded in the operation history as is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vigil.executor.request import ActionRequest


class OcfRc(enum.IntEnum):
    """An agent's exit code, in the OCF names agent authors use."""

    SUCCESS = 0
    ERR_GENERIC = 1
    ERR_ARGS = 2
    ERR_UNIMPLEMENTED = 3
    ERR_PERM = 4
    ERR_INSTALLED = 5
    ERR_CONFIGURED = 6
    NOT_RUNNING = 7
    RUNNING_PROMOTED = 8
    FAILED_PROMOTED = 9
    DEGRADED = 190
    DEGRADED_PROMOTED = 191

    @property
    def label(self) -> str:
        """``7 (OCF_NOT_RUNNING)``: how people and ocf-shellfuncs name it."""
        return f"{int(self)} (OCF_{self.name})"

    @property
    def meaning(self) -> str:
        return _RC_MEANING[self]

    @classmethod
    def from_exit_code(cls, code: int) -> OcfRc:
        """Map a raw OCF exit code as Pacemaker's executor does.

        0-9, 190 and 191 are kept; anything else (a custom code, 127 from a
        shell that could not find a command ...) becomes ``ERR_GENERIC``.
        """
        try:
            return cls(code)
        except ValueError:
            return cls.ERR_GENERIC


_RC_MEANING = {
    OcfRc.SUCCESS: "success (monitor: running)",
    OcfRc.ERR_GENERIC: "generic error",
    OcfRc.ERR_ARGS: "invalid parameters on this host",
    OcfRc.ERR_UNIMPLEMENTED: "action not implemented",
    OcfRc.ERR_PERM: "insufficient privileges",
    OcfRc.ERR_INSTALLED: "not installed (tools missing on this host)",
    OcfRc.ERR_CONFIGURED: "not configured (parameters inherently invalid)",
    OcfRc.NOT_RUNNING: "not running",
    OcfRc.RUNNING_PROMOTED: "running promoted",
    OcfRc.FAILED_PROMOTED: "failed while promoted",
    OcfRc.DEGRADED: "running but degraded",
    OcfRc.DEGRADED_PROMOTED: "running promoted but degraded",
}


class ExecStatus(enum.IntEnum):
    """Whether the action ran to completion, apart from what the agent said."""

    PENDING = -1
    DONE = 0
    CANCELLED = 1
    TIMEOUT = 2
    NOT_SUPPORTED = 3
    ERROR = 4
    ERROR_HARD = 5
    ERROR_FATAL = 6
    NOT_INSTALLED = 7
    NOT_CONNECTED = 8
    INVALID = 9
    NO_FENCE_DEVICE = 10
    NO_SECRETS = 11

    @property
    def label(self) -> str:
        """``timed out``, ``not installed``: for people."""
        return _STATUS_LABEL.get(self, self.name.lower().replace("_", " "))


_STATUS_LABEL = {ExecStatus.TIMEOUT: "timed out"}


class Recovery(enum.Enum):
    """What the cluster does about an unexpected result (Pacemaker's classes)."""

    NONE = "none"  # not a failure (degraded, not-running, recurring unimplemented)
    SOFT = "soft"  # restart in place or move, counted against migration-threshold
    HARD = "hard"  # move away and ban the resource from this node
    FATAL = "fatal"  # stop it and ban it from every node

    @property
    def meaning(self) -> str:
        return _RECOVERY_MEANING[self]


_RECOVERY_MEANING = {
    Recovery.NONE: "no recovery",
    Recovery.SOFT: "restart in place or move (counts toward migration-threshold)",
    Recovery.HARD: "move away and ban from this node",
    Recovery.FATAL: "stop and ban from every node",
}

_RC_RECOVERY = {
    OcfRc.SUCCESS: Recovery.SOFT,
    # Pacemaker's agent documentation lists OCF_ERR_GENERIC as "hard", but its
    # scheduler (and vigil's, which is checked against it) treats it as an
    # ordinary failure: restart in place until migration-threshold is reached.
    # That behaviour is what the stop context's recoveries_left counts down.
    OcfRc.ERR_GENERIC: Recovery.SOFT,
    OcfRc.ERR_ARGS: Recovery.HARD,
    OcfRc.ERR_UNIMPLEMENTED: Recovery.HARD,
    OcfRc.ERR_PERM: Recovery.HARD,
    OcfRc.ERR_INSTALLED: Recovery.HARD,
    OcfRc.ERR_CONFIGURED: Recovery.FATAL,
    OcfRc.NOT_RUNNING: Recovery.NONE,
    OcfRc.RUNNING_PROMOTED: Recovery.SOFT,
    OcfRc.FAILED_PROMOTED: Recovery.SOFT,
    OcfRc.DEGRADED: Recovery.NONE,
    OcfRc.DEGRADED_PROMOTED: Recovery.NONE,
}


def recovery_class(rc: OcfRc, status: ExecStatus, interval_ms: int = 0) -> Recovery:
    """The recovery class of a result, *if* it was not the expected one.

    The execution status decides first (a timeout or a crash is a soft
    failure, an agent that is not installed is hard); when the agent ran, its
    exit code decides, as in Pacemaker's table, with its exceptions: a
    recurring action that is not implemented causes no recovery.
    """
    if status in (ExecStatus.CANCELLED, ExecStatus.PENDING, ExecStatus.NOT_SUPPORTED):
        return Recovery.NONE
    if status == ExecStatus.TIMEOUT:
        return Recovery.SOFT
    if status in (
        ExecStatus.NOT_INSTALLED,
        ExecStatus.ERROR_HARD,
        ExecStatus.NO_FENCE_DEVICE,
        ExecStatus.NO_SECRETS,
    ):
        return Recovery.HARD
    if status == ExecStatus.ERROR_FATAL:
        return Recovery.FATAL
    if rc == OcfRc.ERR_UNIMPLEMENTED and interval_ms > 0:
        return Recovery.NONE
    return _RC_RECOVERY[rc]


@dataclass(frozen=True)
class ActionResult:
    """The outcome of one action request.

    ``environment`` is exactly what vigil set for the agent (the inherited
    environment of vigil itself is not repeated), so an agent author can see
    what the agent was told.  ``exit_code`` is the raw code the process
    exited with (None when it did not exit by itself); ``rc`` is its mapping.
    ``exit_reason`` is the agent's last ``ocf-exit-reason:`` line, or vigil's
    explanation when the agent never got to say anything (not installed,
    timed out, killed by a signal).
    """

    request: ActionRequest
    rc: OcfRc
    status: ExecStatus
    exit_reason: str = ""
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    output_truncated: bool = False
    duration_ms: int = 0
    queued_ms: int = 0
    pid: int | None = None
    environment: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def recovery(self) -> Recovery:
        """The recovery class if this result was unexpected."""
        return recovery_class(self.rc, self.status, self.request.interval_ms)

    def is_one_of(self, expected: frozenset[OcfRc] | set[OcfRc] | tuple[OcfRc, ...]) -> bool:
        """Did the agent run to completion and answer one of ``expected``?"""
        return self.status == ExecStatus.DONE and self.rc in expected

    def describe(self) -> str:
        """One line: ``rc=7 (OCF_NOT_RUNNING) status=done`` plus the reason."""
        text = f"rc={self.rc.label} status={self.status.label}"
        if self.exit_code is not None and self.exit_code != int(self.rc):
            text += f" (exit code {self.exit_code})"
        if self.exit_reason:
            text += f": {self.exit_reason}"
        return text
