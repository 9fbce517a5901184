"""What an action came to, and what the cluster does about it when it was not what was expected.

An :class:`ActionResult` carries Pacemaker's two numbers, kept apart
(:mod:`vigil.model.results`): the agent's OCF exit code, after mapping (LSB
codes translated, a code outside the OCF set becomes 1, as Pacemaker's
executor does), and the execution status (done, timed out, not installed
...), plus what the agent printed.  :func:`recovery_class` is Pacemaker's
table of what an unexpected result costs: nothing, a restart, a move, a ban.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vigil.model.results import ExecStatus, OcfRc

if TYPE_CHECKING:
    from vigil.executor.request import ActionRequest


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
    OcfRc.UNKNOWN: Recovery.NONE,  # never an agent's answer (a pending record's rc)
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
