"""What an operation came to, in Pacemaker's two numbers: the agent's exit code and the execution status.

Pacemaker records both per operation (``rc-code`` and ``op-status``), and so
does vigil, kept apart:

- the **OCF exit code** (:class:`OcfRc`), what the agent said (0 success,
  7 not running, 8 running promoted, ...);
- the **execution status** (:class:`ExecStatus`), whether the agent ran to
  completion at all (done, timed out, not installed, error ...).  A timeout
  is an execution status, never an exit code: the agent said nothing.

The numbers are Pacemaker's (``enum ocf_exitcode``, ``enum pcmk_exec_status``),
so a result is recorded in the operation history as is, and a CIB's history is
read without translation.  Each enum carries the texts vigil prints for it;
the module functions name a raw number read from a record, which need not be
one of the enum's.
"""

from __future__ import annotations

import enum


class OcfRc(enum.IntEnum):
    """An agent's exit code, in the OCF names agent authors use (``OCF_SUCCESS`` ...)."""

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
    # Never an agent's answer: the rc of a record whose result is not known yet
    # (a pending operation), Pacemaker's PCMK_OCF_UNKNOWN.
    UNKNOWN = 193

    @property
    def ocf_name(self) -> str:
        """``OCF_NOT_RUNNING``: the name ocf-shellfuncs gives it."""
        return f"OCF_{self.name}"

    @property
    def label(self) -> str:
        """``7 (OCF_NOT_RUNNING)``: how people and ocf-shellfuncs name it."""
        return f"{int(self)} ({self.ocf_name})"

    @property
    def meaning(self) -> str:
        """What the code tells the cluster, for an agent author (``vigil agent``)."""
        return _MEANING[self]

    @property
    def text(self) -> str:
        """Pacemaker's own text (``services_ocf_exitcode_str``), as alerts get it in ``CRM_alert_desc``."""
        return _TEXT[self]

    @property
    def word(self) -> str:
        """The word ``vigil status`` shows in its failed actions (crm_mon's "Failed Resource Actions")."""
        return _WORD[self]

    @classmethod
    def from_exit_code(cls, code: int) -> OcfRc:
        """Map a raw OCF exit code as Pacemaker's executor does.

        0-9, 190 and 191 are kept; anything else (a custom code, 127 from a
        shell that could not find a command, 193 ...) becomes ``ERR_GENERIC``.
        """
        if code == cls.UNKNOWN:
            return cls.ERR_GENERIC
        try:
            return cls(code)
        except ValueError:
            return cls.ERR_GENERIC


_MEANING = {
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
    OcfRc.UNKNOWN: "unknown (no result yet)",
}
# Pacemaker 2.1.5's services_ocf_exitcode_str.
_TEXT = {
    OcfRc.SUCCESS: "ok", OcfRc.ERR_GENERIC: "error", OcfRc.ERR_ARGS: "invalid parameter",
    OcfRc.ERR_UNIMPLEMENTED: "unimplemented feature", OcfRc.ERR_PERM: "insufficient privileges",
    OcfRc.ERR_INSTALLED: "not installed", OcfRc.ERR_CONFIGURED: "not configured",
    OcfRc.NOT_RUNNING: "not running", OcfRc.RUNNING_PROMOTED: "promoted",
    OcfRc.FAILED_PROMOTED: "promoted (failed)", OcfRc.DEGRADED: "OCF_DEGRADED",
    OcfRc.DEGRADED_PROMOTED: "promoted (degraded)", OcfRc.UNKNOWN: "unknown",
}
# The same, with the two degraded codes in words ("Failed Resource Actions" of vigil status).
_WORD = {
    **_TEXT,
    OcfRc.DEGRADED: "degraded",
    OcfRc.DEGRADED_PROMOTED: "degraded (promoted)",
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
        """``timed out``, ``not installed``: for people (``vigil agent``, ``vigil history``, status)."""
        return _LABEL[self]

    @property
    def text(self) -> str:
        """Pacemaker's own text (``pcmk_exec_status_str``), as alerts get it in ``CRM_alert_desc``."""
        return _STATUS_TEXT[self]


_LABEL = {
    ExecStatus.PENDING: "pending", ExecStatus.DONE: "done", ExecStatus.CANCELLED: "cancelled",
    ExecStatus.TIMEOUT: "timed out", ExecStatus.NOT_SUPPORTED: "not supported", ExecStatus.ERROR: "error",
    ExecStatus.ERROR_HARD: "hard error", ExecStatus.ERROR_FATAL: "fatal error",
    ExecStatus.NOT_INSTALLED: "not installed", ExecStatus.NOT_CONNECTED: "not connected",
    ExecStatus.INVALID: "invalid", ExecStatus.NO_FENCE_DEVICE: "no fence device",
    ExecStatus.NO_SECRETS: "no secrets",
}
# Pacemaker 2.1.5's pcmk_exec_status_str.
_STATUS_TEXT = {
    ExecStatus.PENDING: "pending", ExecStatus.DONE: "complete", ExecStatus.CANCELLED: "Cancelled",
    ExecStatus.TIMEOUT: "Timed Out", ExecStatus.NOT_SUPPORTED: "NOT SUPPORTED", ExecStatus.ERROR: "Error",
    ExecStatus.ERROR_HARD: "Hard error", ExecStatus.ERROR_FATAL: "Fatal error",
    ExecStatus.NOT_INSTALLED: "Not installed", ExecStatus.NOT_CONNECTED: "Internal communication failure",
    ExecStatus.INVALID: "Cannot execute now", ExecStatus.NO_FENCE_DEVICE: "No fence device",
    ExecStatus.NO_SECRETS: "CIB secrets unavailable",
}


def _known_rc(rc: int) -> OcfRc | None:
    return OcfRc(rc) if rc in OcfRc._value2member_map_ else None


def _known_status(status: int) -> ExecStatus | None:
    return ExecStatus(status) if status in ExecStatus._value2member_map_ else None


def rc_name(rc: int) -> str:
    """``OCF_NOT_RUNNING`` for a recorded rc; ``OCF_UNKNOWN`` for a number OCF does not define."""
    known = _known_rc(rc)
    return known.ocf_name if known is not None else OcfRc.UNKNOWN.ocf_name


def rc_word(rc: int) -> str:
    """:attr:`OcfRc.word` of a recorded rc; ``unknown`` for a number OCF does not define."""
    known = _known_rc(rc)
    return known.word if known is not None else OcfRc.UNKNOWN.word


def status_label(status: int) -> str:
    """:attr:`ExecStatus.label` of a recorded status; ``status N`` for a number Pacemaker does not define."""
    known = _known_status(status)
    return known.label if known is not None else f"status {status}"


def result_text(rc: int, status: int) -> str:
    """What Pacemaker puts in ``CRM_alert_desc`` for an operation's result: the exit code's
    text when the agent ran to completion, else the execution status's."""
    if status == ExecStatus.DONE:
        known = _known_rc(rc)
        return known.text if known is not None else OcfRc.UNKNOWN.text
    known_status = _known_status(status)
    return known_status.text if known_status is not None else "UNKNOWN!"
