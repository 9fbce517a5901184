"""The configured alerts, resolved into deliveries: one per recipient, as Pacemaker unpacks them.

``pe_unpack_alerts()`` turns each ``<alert>`` into one entry per recipient
(or one entry without a recipient), the recipient's instance and meta
attributes overriding the alert's; meta ``timeout`` (default 30 s; zero or
invalid: the default) and ``timestamp-format`` (default
``%H:%M:%S.%06N``); ``<select>`` picks the event kinds (default: nodes,
fencing, resources; attributes only when selected, optionally only some).

An alert whose path is ``vigil:webhook`` is vigil's webhook: each
recipient is a URL the event is POSTed to as JSON, with meta ``retries``
(default 3) and ``retry-delay`` (the first back-off, default 1 s, doubled
each time); instance attributes named ``header-NAME`` become HTTP headers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vigil.events.model import AttributeEvent, Event
from vigil.model.config import Alert, Config, NvSet
from vigil.model.isodate import parse_interval_ms
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext

log = logging.getLogger(__name__)

WEBHOOK_PATH = "vigil:webhook"
DEFAULT_TIMEOUT_MS = 30_000
DEFAULT_TIMESTAMP_FORMAT = "%H:%M:%S.%06N"
DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY_MS = 1_000
DEFAULT_KINDS = frozenset({"node", "fencing", "resource"})


@dataclass(frozen=True)
class AlertTarget:
    """One delivery of each event: an alert with one recipient (or none)."""

    alert_id: str
    path: str
    recipient: str  # "" when the alert has no recipient
    recipient_id: str | None
    timeout_ms: int
    timestamp_format: str
    params: tuple[tuple[str, str], ...]
    kinds: frozenset[str]
    attribute_names: frozenset[str] | None  # None: every attribute
    retries: int = DEFAULT_RETRIES
    retry_delay_ms: int = DEFAULT_RETRY_DELAY_MS

    @property
    def is_webhook(self) -> bool:
        return self.path == WEBHOOK_PATH

    @property
    def name(self) -> str:
        """For logs: ``alert-id`` or ``alert-id (recipient)``."""
        return f"{self.alert_id} ({self.recipient})" if self.recipient else self.alert_id

    def wants(self, event: Event) -> bool:
        """Does this delivery take ``event`` (its kind selected, its attribute listed)?"""
        if event.kind not in self.kinds:
            return False
        if isinstance(event, AttributeEvent) and self.attribute_names is not None:
            return event.name in self.attribute_names
        return True


def resolve_alerts(config: Config, now: int) -> tuple[AlertTarget, ...]:
    """Every delivery ``config``'s alerts ask for, in configuration order."""
    targets: list[AlertTarget] = []
    for alert in config.alerts:
        kinds, names = _kinds(alert)
        if not alert.recipients:
            targets.append(_target(alert, None, "", alert.params, alert.meta, kinds, names, now))
        for recipient in alert.recipients:
            targets.append(_target(alert, recipient.id, recipient.value,
                                   (*recipient.params, *alert.params), (*recipient.meta, *alert.meta),
                                   kinds, names, now))
    return tuple(targets)


def _kinds(alert: Alert) -> tuple[frozenset[str], frozenset[str] | None]:
    select = alert.select
    if select is None:
        return DEFAULT_KINDS, None
    kinds = {kind for kind, on in (("node", select.nodes), ("fencing", select.fencing),
                                   ("resource", select.resources), ("attribute", select.attributes)) if on}
    if not kinds:  # an empty <select>: Pacemaker keeps the default
        return DEFAULT_KINDS, None
    names = frozenset(a.name for a in select.attribute_names) if select.attribute_names else None
    return frozenset(kinds), names


def _target(alert: Alert, recipient_id: str | None, recipient: str, params: tuple[NvSet, ...],
            meta: tuple[NvSet, ...], kinds: frozenset[str], names: frozenset[str] | None,
            now: int) -> AlertTarget:
    """One delivery; the recipient's sets come first, so its values win."""
    ctx = RuleContext(now=now)
    values = resolve_nvsets(meta, ctx)
    where = f"alert {alert.id}" + (f" recipient {recipient_id}" if recipient_id else "")
    return AlertTarget(
        alert_id=alert.id,
        path=alert.path,
        recipient=recipient,
        recipient_id=recipient_id,
        timeout_ms=_milliseconds(values.get("timeout"), DEFAULT_TIMEOUT_MS, where, "timeout"),
        timestamp_format=values.get("timestamp-format") or DEFAULT_TIMESTAMP_FORMAT,
        params=tuple(resolve_nvsets(params, ctx).items()),
        kinds=kinds,
        attribute_names=names,
        retries=_count(values.get("retries"), DEFAULT_RETRIES, where),
        retry_delay_ms=_milliseconds(values.get("retry-delay"), DEFAULT_RETRY_DELAY_MS, where, "retry-delay"),
    )


def _milliseconds(text: str | None, default: int, where: str, name: str) -> int:
    if text is None:
        return default
    try:
        value = parse_interval_ms(text)
    except ValueError:
        log.warning("%s: invalid %s %r; using the default %d ms", where, name, text, default)
        return default
    return value if value > 0 else default


def _count(text: str | None, default: int, where: str) -> int:
    if text is None:
        return default
    try:
        return max(0, int(text))
    except ValueError:
        log.warning("%s: invalid retries %r; using the default %d", where, text, default)
        return default
