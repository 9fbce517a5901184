"""The environment an alert agent runs with: Pacemaker's ``CRM_alert_*`` keys, exactly.

Built as Pacemaker 2.1.5 builds it (``lib/lrmd/lrmd_alerts.c``,
``daemons/execd/execd_alerts.c``): every run gets ``CRM_alert_kind``,
``_version``, ``_recipient`` (empty without one), ``_node_sequence`` (one
more for every agent run on this node), ``_timestamp`` in the alert's
``timestamp-format`` (with Pacemaker's ``%xN``, the first x digits of the
fraction of a second), ``_timestamp_epoch`` and ``_timestamp_usec``; then
per kind:

- node: ``_node``, ``_nodeid``, ``_desc`` (``member`` or ``lost``);
- fencing: ``_node`` (the target), ``_task``, ``_desc``, ``_rc``;
- resource: ``_node``, ``_rsc``, ``_task``, ``_interval`` (ms),
  ``_target_rc``, ``_status``, ``_rc``, ``_exec_time`` (ms), ``_desc``;
- attribute: ``_node``, ``_nodeid``, ``_attribute_name``, ``_attribute_value``.

vigil adds, for resource events, the stop context the action carried
(``CRM_alert_stop_reason``, ``_stop_final``, ``_stop_cause``,
``_stop_next_node``, ``_recoveries_left``, ``_start_reason``) and, for the
``recovery-exhausted`` task, ``_fail_count``, ``_migration_threshold``,
``_next_node``, ``_exhausted_cause``, ``_exhausted_policy``.  The alert's
instance attributes come last, as plain variables, as in Pacemaker.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping

from vigil.events.alerts import AlertTarget
from vigil.events.model import (
    AttributeEvent,
    Event,
    FencingEvent,
    NodeEvent,
    RecoveryExhausted,
    ResourceEvent,
)

# The Pacemaker version whose alert interface vigil implements (CRM_alert_version).
ALERT_VERSION = "2.1.5"
_FRACTION = re.compile(r"%(\d*)N")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def format_timestamp(fmt: str, at: float) -> str:
    """``strftime`` in local time, plus Pacemaker's ``%xN``: x (at most 6)
    digits of the fraction of a second; ``%N`` alone prints nothing.

    The format is scanned as Pacemaker scans it: a ``%`` followed by digits
    and ``N`` is the fraction, any other ``%`` sequence is strftime's own.
    """
    seconds = int(at)
    usec = round((at - seconds) * 1_000_000)
    if usec >= 1_000_000:
        seconds, usec = seconds + 1, usec - 1_000_000
    local = time.localtime(seconds)
    parts: list[str] = []
    printed = 0
    scan = 0
    while (mark := fmt.find("%", scan)) >= 0:
        match = _FRACTION.match(fmt, mark)
        if match is None:
            scan = mark + 2  # a strftime directive (or %%), left to strftime
            continue
        if mark > printed:
            parts.append(time.strftime(fmt[printed:mark], local))
        digits = min(6, int(match.group(1) or 0))
        parts.append(f"{usec:06d}"[:digits])
        printed = scan = match.end()
    if printed < len(fmt):
        parts.append(time.strftime(fmt[printed:], local))
    return "".join(parts)


def timestamp_parts(at: float) -> tuple[str, str]:
    """(``CRM_alert_timestamp_epoch``, ``CRM_alert_timestamp_usec``)."""
    seconds = int(at)
    usec = min(999_999, round((at - seconds) * 1_000_000))
    return str(seconds), f"{usec:06d}"


def event_keys(event: Event) -> dict[str, str]:
    """The ``CRM_alert_*`` keys of one event, without the per-run ones."""
    keys = {"CRM_alert_kind": event.kind, "CRM_alert_version": ALERT_VERSION}
    if isinstance(event, NodeEvent):
        keys.update(CRM_alert_node=event.node, CRM_alert_desc=event.state, CRM_alert_nodeid=event.nodeid)
    elif isinstance(event, FencingEvent):
        keys.update(CRM_alert_node=event.target, CRM_alert_task=event.task, CRM_alert_desc=event.desc,
                    CRM_alert_rc=str(event.rc))
    elif isinstance(event, ResourceEvent):
        keys.update(_resource_keys(event.node, event.resource, event.task, event.interval_ms,
                                   event.target_rc, event.status, event.rc, event.exec_time_ms, event.desc))
        for name, value in event.context:
            keys[f"CRM_alert_{name}"] = value
    elif isinstance(event, RecoveryExhausted):
        keys.update(_resource_keys(event.node, event.resource, event.task, 0, 0, event.status, event.rc, 0,
                                   event.desc))
        keys.update(
            CRM_alert_nodeid=event.nodeid,
            CRM_alert_fail_count=event.fail_count,
            CRM_alert_migration_threshold=event.migration_threshold,
            CRM_alert_recoveries_left=event.recoveries_left,
            CRM_alert_next_node=event.next_node or "",
            CRM_alert_stop_reason="failure",
            CRM_alert_stop_final="true",
            CRM_alert_exhausted_cause=event.cause,
            CRM_alert_exhausted_policy=event.policy,
        )
        if event.next_node:
            keys["CRM_alert_stop_next_node"] = event.next_node
    elif isinstance(event, AttributeEvent):
        keys.update(CRM_alert_node=event.node, CRM_alert_nodeid=event.nodeid,
                    CRM_alert_attribute_name=event.name, CRM_alert_attribute_value=event.value or "")
    return keys


def _resource_keys(node: str, rsc: str, task: str, interval_ms: int, target_rc: int, status: int, rc: int,
                   exec_time_ms: int, desc: str) -> dict[str, str]:
    return {
        "CRM_alert_node": node,
        "CRM_alert_rsc": rsc,
        "CRM_alert_task": task,
        "CRM_alert_interval": str(interval_ms),
        "CRM_alert_target_rc": str(target_rc),
        "CRM_alert_status": str(status),
        "CRM_alert_rc": str(rc),
        "CRM_alert_exec_time": str(exec_time_ms),
        "CRM_alert_desc": desc,
    }


def run_keys(event: Event, target: AlertTarget, sequence: int) -> dict[str, str]:
    """Every ``CRM_alert_*`` key one run of ``target`` gets for ``event``."""
    keys = event_keys(event)
    epoch, usec = timestamp_parts(event.at)
    keys.update(
        CRM_alert_recipient=target.recipient,
        CRM_alert_node_sequence=str(sequence),
        CRM_alert_timestamp=format_timestamp(target.timestamp_format, event.at),
        CRM_alert_timestamp_epoch=epoch,
        CRM_alert_timestamp_usec=usec,
    )
    return keys


def agent_environment(event: Event, target: AlertTarget, sequence: int,
                      inherited: Mapping[str, str]) -> dict[str, str]:
    """The complete environment of one agent run: inherited, then the keys, then
    the alert's instance attributes (which, as in Pacemaker, come last)."""
    env = dict(inherited)
    env.update(run_keys(event, target, sequence))
    env.update(target.params)
    return env


def inherited_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """vigil's environment minus stray ``CRM_alert_*``/``CRM_notify_*`` and ``OCF_*``, with a PATH."""
    env = dict(os.environ if environ is None else environ)
    for key in [k for k in env if k.startswith(("CRM_alert_", "CRM_notify_", "OCF_"))]:
        del env[key]
    env.setdefault("PATH", DEFAULT_PATH)
    return env
