"""The events vigil reports: what happened to a node, a resource, a fence, an attribute.

Each event is a frozen value built where the thing happened (the
controller, the fencer) and handed to an :class:`EventSink`, which must
never block or raise.  The kinds and their fields are Pacemaker's alert
kinds (``node``, ``fencing``, ``resource``, ``attribute``), plus vigil's
:class:`RecoveryExhausted`, delivered to alert agents as a resource event
whose task is ``recovery-exhausted``.

Times are epoch seconds (a float, microseconds kept), taken when the event
happened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar, Protocol

from vigil.model.results import ExecStatus, result_text


@dataclass(frozen=True)
class NodeEvent:
    """A node joined (``member``) or left (``lost``) the cluster."""

    kind: ClassVar[str] = "node"
    node: str
    nodeid: str
    state: str
    at: float

    def describe(self) -> str:
        return f"node {self.node} is now {self.state}"


@dataclass(frozen=True)
class ResourceEvent:
    """An operation of a resource completed on ``node`` (Pacemaker sends these
    after each action, recurring monitors' changes included).

    ``resource`` is the id the node's history keeps (an anonymous clone's
    instances share the primitive's).  ``context`` is the stop context the
    action carried: a stop tells why it ran and whether it was final.
    """

    kind: ClassVar[str] = "resource"
    node: str
    nodeid: str
    resource: str
    task: str
    interval_ms: int
    rc: int
    status: int
    target_rc: int
    exec_time_ms: int
    at: float
    exit_reason: str = ""
    context: tuple[tuple[str, str], ...] = ()

    @property
    def desc(self) -> str:
        return result_text(self.rc, self.status)

    @property
    def is_expected_probe(self) -> bool:
        """A probe that found what was expected: Pacemaker sends no alert for it."""
        return self.task == "monitor" and self.interval_ms == 0 and self.status == ExecStatus.DONE \
            and self.rc == self.target_rc

    def describe(self) -> str:
        interval = f" ({self.interval_ms} ms)" if self.interval_ms else ""
        return f"{self.resource} {self.task}{interval} on {self.node}: {self.desc}"


@dataclass(frozen=True)
class RecoveryExhausted:
    """The cluster gave up on ``resource`` on ``node``.

    Fired when a failure's stop is final: the migration-threshold is reached
    (``cause`` ``migration-threshold``), or the failure is one that bans the
    resource from the node or is not recovered in place (``hard-failure``).
    ``next_node`` is where the same transition starts it again (None: it
    stays stopped); ``policy`` is what the resource's
    ``on-recovery-exhausted`` asked for besides this event (none, standby,
    fence).  ``fail_count`` and ``migration_threshold`` are as the
    controller saw them (``INFINITY`` spelled out).  The last failure that
    led here, when known, is ``failed_task``/``failed_interval_ms`` with its
    ``rc`` and ``status``.
    """

    kind: ClassVar[str] = "resource"
    task: ClassVar[str] = "recovery-exhausted"
    node: str
    nodeid: str
    resource: str
    fail_count: str
    migration_threshold: str
    recoveries_left: str
    next_node: str | None
    policy: str
    cause: str
    at: float
    failed_task: str = ""
    failed_interval_ms: int = 0
    rc: int = 0
    status: int = 0

    @property
    def desc(self) -> str:
        where = f"moves to {self.next_node}" if self.next_node else "stays stopped"
        if self.cause == "migration-threshold":
            why = f"fail-count {self.fail_count} reached migration-threshold {self.migration_threshold}"
        else:
            why = f"a failure that is not recovered here (fail-count {self.fail_count})"
        return f"recovery exhausted: {why}; {where}"

    def describe(self) -> str:
        policy = "" if self.policy == "none" else f"; on-recovery-exhausted={self.policy}"
        return f"{self.resource} on {self.node}: {self.desc}{policy}"


@dataclass(frozen=True)
class FencingEvent:
    """A fencing operation ended (whatever its result).

    ``rc`` is Pacemaker's legacy code (0, or a negative errno); ``desc`` is
    its text, e.g. ``Operation reboot of n1 by n1 for vigil.42@n1: OK (ref=...)``.
    """

    kind: ClassVar[str] = "fencing"
    task: ClassVar[str] = "st_notify_fence"
    target: str
    action: str
    succeeded: bool
    rc: int
    desc: str
    at: float
    device: str = ""
    executioner: str = ""
    origin: str = ""
    reason: str = ""

    @property
    def node(self) -> str:
        return self.target

    def describe(self) -> str:
        return f"fencing: {self.desc}"


@dataclass(frozen=True)
class AttributeEvent:
    """A node attribute changed (``value`` None: it was removed)."""

    kind: ClassVar[str] = "attribute"
    node: str
    nodeid: str
    name: str
    value: str | None
    at: float

    def describe(self) -> str:
        return f"attribute {self.name} on {self.node} is now {self.value!r}"


Event = NodeEvent | ResourceEvent | RecoveryExhausted | FencingEvent | AttributeEvent


def event_task(event: Event) -> str | None:
    """``CRM_alert_task``: the operation (resource), the notification (fencing)."""
    if isinstance(event, ResourceEvent):
        return event.task
    if isinstance(event, RecoveryExhausted | FencingEvent):
        return event.task
    return None


def event_fields(event: Event) -> dict[str, object]:
    """The event as plain data (for JSON): its kind, task, and every field."""
    data: dict[str, object] = {"kind": event.kind}
    task = event_task(event)
    if task is not None:
        data["task"] = task
    fields = asdict(event)
    if isinstance(event, ResourceEvent):
        fields["context"] = dict(event.context)
    data.update(fields)
    if isinstance(event, ResourceEvent | RecoveryExhausted | FencingEvent):
        data["desc"] = event.desc
    return data


class EventSink(Protocol):
    """Where the controller hands events: must return at once and never raise."""

    def emit(self, event: Event) -> None: ...


class NoEvents:
    """The sink that drops everything (a controller without alerts)."""

    def emit(self, event: Event) -> None:
        return


NO_EVENTS = NoEvents()
