"""An anonymous clone's instance is numbered anew by each transition: its monitor is still its own.

Found in the cluster demo: node1's agent started ``libvirtd:2`` and its
recurring monitor; a later transition stopped ``libvirtd:0`` on node1 (same
history: ``libvirtd``), the monitor was not cancelled, reported "not
running" after the stop, and a failure was counted.  A globally unique
clone's instances are distinct resources and keep their own monitors.
"""

from __future__ import annotations

import asyncio

from vigil.admin.intake import parse_config
from vigil.controller.actions import same_history
from vigil.controller.monitors import RecurringMonitors
from vigil.controller.requests import ConfiguredPrimitives, PreparedAction, prepare
from vigil.executor.results import ActionResult
from vigil.model.activity import MonitorKey
from vigil.model.results import ExecStatus, OcfRc


def clone_config(unique: bool) -> str:
    return f"""
resources:
  - clone: stack
    meta: {{globally-unique: {str(unique).lower()}}}
    resource:
      id: libvirtd
      agent: ocf:heartbeat:Dummy
      ops:
        - {{name: monitor, interval: 5s}}
  - id: other
    agent: ocf:heartbeat:Dummy
"""


def stop_of(resource: str, unique: bool) -> PreparedAction:
    config, _ = parse_config(clone_config(unique).encode(), "test.yaml")
    prepared = prepare(ConfiguredPrimitives(config, 0), resource_id=resource, task="stop", interval_ms=0,
                       node="node1", node_attrs={}, now=0, meta={}, params=None)
    assert prepared is not None
    return prepared


def test_any_instance_of_an_anonymous_clone_keeps_the_same_history() -> None:
    stop = stop_of("libvirtd:0", unique=False)
    assert same_history(stop, "libvirtd:2")
    assert same_history(stop, "libvirtd")
    assert not same_history(stop, "other")
    assert not same_history(stop, "libvirtd-extra:2")


def test_instances_of_a_unique_clone_are_distinct() -> None:
    stop = stop_of("libvirtd:0", unique=True)
    assert same_history(stop, "libvirtd:0")
    assert not same_history(stop, "libvirtd:2")


def test_stopping_instance_0_cancels_the_monitor_started_as_instance_2() -> None:
    async def scenario() -> None:
        ran: list[str] = []

        async def run(prepared: PreparedAction) -> ActionResult:
            ran.append(prepared.request.resource_id)
            await asyncio.sleep(3600)
            raise AssertionError("never reached")

        async def changed(key: MonitorKey, prepared: PreparedAction, result: ActionResult) -> None:
            return None

        monitors = RecurringMonitors(run, changed, asyncio.sleep)
        started = MonitorKey("libvirtd:2", "node1", 5000)
        elsewhere = MonitorKey("libvirtd:1", "node2", 5000)
        for key in (started, elsewhere):
            prepared = stop_of(key.resource, unique=False)
            monitors.start(key, prepared, ActionResult(prepared.request, OcfRc.SUCCESS, ExecStatus.DONE))
        stop = stop_of("libvirtd:0", unique=False)
        cancelled = monitors.cancel_resource("libvirtd:0", "node1", lambda name: same_history(stop, name))
        assert cancelled == [started]
        assert monitors.active() == [elsewhere]  # another node's instance is not this stop's
        await monitors.close()

    asyncio.run(scenario())


def test_a_promoted_monitor_expects_running_promoted() -> None:
    """A recurring monitor defined for the Promoted role succeeds with rc 8 (the old name too)."""
    from vigil.controller.recording import expected_rc

    assert expected_rc("monitor", 10_000, "Promoted") == OcfRc.RUNNING_PROMOTED
    assert expected_rc("monitor", 10_000, "Master") == OcfRc.RUNNING_PROMOTED
    assert expected_rc("monitor", 11_000, "Unpromoted") == OcfRc.SUCCESS
    assert expected_rc("monitor", 0, "Promoted") == OcfRc.NOT_RUNNING  # a probe
    assert expected_rc("promote", 0) == OcfRc.SUCCESS
