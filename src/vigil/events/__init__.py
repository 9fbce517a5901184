"""Events: what happened in the cluster, told to alert agents, webhooks and listeners.

Pacemaker-compatible alert agents (``<alerts>`` in the configuration, the
``CRM_alert_*`` environment) run unmodified; vigil adds the stop context to
resource events, a ``recovery-exhausted`` event when the cluster gives up on
a resource on a node, and a webhook recipient.  See docs/events.md.
"""

from vigil.events.alerts import WEBHOOK_PATH, AlertTarget, resolve_alerts
from vigil.events.dispatcher import EventDispatcher
from vigil.events.model import (
    NO_EVENTS,
    AttributeEvent,
    Event,
    EventSink,
    FencingEvent,
    NodeEvent,
    RecoveryExhausted,
    ResourceEvent,
)

__all__ = [
    "NO_EVENTS",
    "WEBHOOK_PATH",
    "AlertTarget",
    "AttributeEvent",
    "Event",
    "EventDispatcher",
    "EventSink",
    "FencingEvent",
    "NodeEvent",
    "RecoveryExhausted",
    "ResourceEvent",
    "resolve_alerts",
]
