"""The alert agent's environment: Pacemaker's exact ``CRM_alert_*`` keys, per kind, per recipient."""

from __future__ import annotations

import time

import pytest

from tests.events.test_cib_alerts import ALERTS
from tests.test_cib import cib
from vigil.events.alerts import DEFAULT_KINDS, AlertTarget, resolve_alerts
from vigil.events.environment import (
    ALERT_VERSION,
    agent_environment,
    format_timestamp,
    inherited_environment,
    run_keys,
)
from vigil.events.model import (
    AttributeEvent,
    FencingEvent,
    NodeEvent,
    RecoveryExhausted,
    ResourceEvent,
    event_fields,
)
from vigil.formats.cib.load import load_cib
from vigil.model.results import result_text

AT = 1_700_000_000.123456
COMMON = {"CRM_alert_kind", "CRM_alert_version", "CRM_alert_recipient", "CRM_alert_node_sequence",
          "CRM_alert_timestamp", "CRM_alert_timestamp_epoch", "CRM_alert_timestamp_usec"}


def target(**changes: object) -> AlertTarget:
    values: dict[str, object] = dict(alert_id="a", path="/bin/true", recipient="/tmp/log", recipient_id="r",
                                     timeout_ms=30_000, timestamp_format="%H:%M:%S.%06N", params=(),
                                     kinds=DEFAULT_KINDS, attribute_names=None)
    values.update(changes)
    return AlertTarget(**values)  # type: ignore[arg-type]


def resource_event(**changes: object) -> ResourceEvent:
    values: dict[str, object] = dict(node="n1", nodeid="1", resource="svc", task="stop", interval_ms=0, rc=0,
                                     status=0, target_rc=0, exec_time_ms=12, at=AT)
    values.update(changes)
    return ResourceEvent(**values)  # type: ignore[arg-type]


def test_node_event_keys_are_pacemakers() -> None:
    keys = run_keys(NodeEvent("n1", "1", "member", AT), target(), 7)
    assert set(keys) == COMMON | {"CRM_alert_node", "CRM_alert_nodeid", "CRM_alert_desc"}
    assert keys["CRM_alert_kind"] == "node" and keys["CRM_alert_desc"] == "member"
    assert keys["CRM_alert_version"] == ALERT_VERSION == "2.1.5"
    assert keys["CRM_alert_node_sequence"] == "7" and keys["CRM_alert_recipient"] == "/tmp/log"
    assert keys["CRM_alert_timestamp_epoch"] == "1700000000" and keys["CRM_alert_timestamp_usec"] == "123456"
    assert keys["CRM_alert_timestamp"] == time.strftime("%H:%M:%S", time.localtime(AT)) + ".123456"


def test_resource_event_keys_are_pacemakers_plus_the_stop_context() -> None:
    event = resource_event(context=(("stop_reason", "failure"), ("stop_final", "true"),
                                    ("recoveries_left", "0"), ("stop_cause", "svc")))
    keys = run_keys(event, target(), 1)
    pacemaker = {"CRM_alert_node", "CRM_alert_rsc", "CRM_alert_task", "CRM_alert_interval",
                 "CRM_alert_target_rc", "CRM_alert_status", "CRM_alert_rc", "CRM_alert_exec_time",
                 "CRM_alert_desc"}
    context = {"CRM_alert_stop_reason", "CRM_alert_stop_final", "CRM_alert_recoveries_left",
               "CRM_alert_stop_cause"}
    assert set(keys) == COMMON | pacemaker | context
    assert (keys["CRM_alert_rsc"], keys["CRM_alert_task"], keys["CRM_alert_desc"]) == ("svc", "stop", "ok")
    assert (keys["CRM_alert_stop_final"], keys["CRM_alert_recoveries_left"]) == ("true", "0")
    assert keys["CRM_alert_exec_time"] == "12" and keys["CRM_alert_interval"] == "0"


@pytest.mark.parametrize(("rc", "status", "text"), [
    (0, 0, "ok"), (7, 0, "not running"), (1, 0, "error"), (5, 0, "not installed"), (8, 0, "promoted"),
    (1, 2, "Timed Out"), (0, 1, "Cancelled"), (1, 4, "Error"), (5, 7, "Not installed"), (42, 0, "unknown"),
])
def test_desc_texts_are_pacemaker_2_1_5s(rc: int, status: int, text: str) -> None:
    assert result_text(rc, status) == text
    assert resource_event(rc=rc, status=status).desc == text


def test_fencing_and_attribute_keys() -> None:
    desc = "Operation reboot of n2 by n1 for vigil.1@n1: OK (ref=x)"
    fencing = FencingEvent("n2", "reboot", True, 0, desc, AT)
    keys = run_keys(fencing, target(), 1)
    assert set(keys) == COMMON | {"CRM_alert_node", "CRM_alert_task", "CRM_alert_desc", "CRM_alert_rc"}
    assert (keys["CRM_alert_node"], keys["CRM_alert_task"]) == ("n2", "st_notify_fence")
    assert (keys["CRM_alert_rc"], keys["CRM_alert_desc"]) == ("0", desc)
    attribute = AttributeEvent("n1", "1", "standby", None, AT)
    keys = run_keys(attribute, target(), 1)
    assert set(keys) == COMMON | {"CRM_alert_node", "CRM_alert_nodeid", "CRM_alert_attribute_name",
                                  "CRM_alert_attribute_value"}
    assert keys["CRM_alert_attribute_value"] == ""  # removed: Pacemaker sends an empty value


def test_recovery_exhausted_is_a_resource_event_with_its_own_task() -> None:
    event = RecoveryExhausted(node="n1", nodeid="1", resource="svc", fail_count="3",
                              migration_threshold="3", recoveries_left="0", next_node="n2", policy="fence",
                              cause="migration-threshold", at=AT, failed_task="monitor",
                              failed_interval_ms=1000, rc=7, status=0)
    keys = run_keys(event, target(), 1)
    assert keys["CRM_alert_kind"] == "resource" and keys["CRM_alert_task"] == "recovery-exhausted"
    assert keys["CRM_alert_desc"] == (
        "recovery exhausted: fail-count 3 reached migration-threshold 3; moves to n2")
    assert (keys["CRM_alert_fail_count"], keys["CRM_alert_migration_threshold"], keys["CRM_alert_next_node"],
            keys["CRM_alert_exhausted_policy"], keys["CRM_alert_stop_final"]) == (
        "3", "3", "n2", "fence", "true")
    assert keys["CRM_alert_interval"] == "0" and keys["CRM_alert_target_rc"] == "0"
    data = event_fields(event)
    assert data["kind"] == "resource" and data["task"] == "recovery-exhausted" and data["next_node"] == "n2"


@pytest.mark.parametrize(("fmt", "expected"), [
    ("%06N", "123456"), ("%3N", "123"), ("%1N", "1"), ("%N", ""), ("%9N", "123456"), ("%%N", "%N"),
    ("%s.%2N", "1700000000.12"),
])
def test_timestamp_format_has_pacemakers_fraction(fmt: str, expected: str) -> None:
    assert format_timestamp(fmt, AT) == expected


def test_instance_attributes_come_last_and_the_inherited_environment_is_cleaned() -> None:
    inherited = inherited_environment({"PATH": "/bin", "CRM_alert_node": "stale", "OCF_ROOT": "/x",
                                       "HOME": "/h"})
    assert inherited == {"PATH": "/bin", "HOME": "/h"}
    env = agent_environment(NodeEvent("n1", "1", "lost", AT),
                            target(params=(("debug_exec_order", "true"),)), 3, inherited)
    assert env["debug_exec_order"] == "true" and env["CRM_alert_desc"] == "lost" and env["HOME"] == "/h"


def test_alerts_resolve_one_delivery_per_recipient_with_overrides_and_filters() -> None:
    config = load_cib(cib(ALERTS))[0].config
    targets = resolve_alerts(config, 0)
    assert [(t.alert_id, t.recipient) for t in targets] == [
        ("file", "/var/log/cluster-alerts.log"), ("file", "/var/log/other.log"), ("bare", ""),
        ("hook", "https://central.example/events"),
    ]
    first, second, bare, hook = targets
    assert (first.timeout_ms, second.timeout_ms, bare.timeout_ms) == (5_000, 10_000, 30_000)
    assert dict(first.params) == {"debug_exec_order": "true"}
    assert dict(second.params) == {"debug_exec_order": "false"}
    assert first.timestamp_format == "%Y-%m-%d %H:%M:%S.%3N" and bare.timestamp_format == "%H:%M:%S.%06N"
    assert first.kinds == {"node", "resource", "attribute"} and bare.kinds == {"node", "fencing", "resource"}
    assert first.wants(AttributeEvent("n1", "1", "standby", "on", AT))
    assert not first.wants(AttributeEvent("n1", "1", "fail-count-x#monitor_0", "1", AT))
    assert not first.wants(FencingEvent("n1", "off", True, 0, "", AT))
    assert not bare.wants(AttributeEvent("n1", "1", "standby", "on", AT))
    assert hook.is_webhook and not bare.is_webhook and (hook.retries, hook.retry_delay_ms) == (3, 1000)
