"""on-recovery-exhausted policies, without a daemon: an in-memory store and a recording fence agent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.events.test_fencing import RECORDER, calls, device
from vigil.controller.escalation import Escalation
from vigil.controller.settings import ControllerOptions
from vigil.events.model import Event, FencingEvent, RecoveryExhausted
from vigil.executor.process import Spawner
from vigil.fencing.agent import FenceAgents
from vigil.fencing.fencer import Fencer
from vigil.model.config import Config
from vigil.model.status import OpRecord
from vigil.store import open_store
from vigil.store.base import ResourceRef


class Collected:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


def exhausted(policy: str) -> RecoveryExhausted:
    return RecoveryExhausted(node="n1", nodeid="1", resource="libvirtd", fail_count="3",
                             migration_threshold="3", recoveries_left="0", next_node=None, policy=policy,
                             cause="migration-threshold", at=0.0)


def run(tmp_path: Path, policy: str, options: ControllerOptions, *, fail: bool = False
        ) -> tuple[dict[str, str], list[Event], bool]:
    directory = tmp_path / "sbin"
    directory.mkdir(exist_ok=True)
    (directory / "fence_recorder").write_text(RECORDER)
    (directory / "fence_recorder").chmod(0o755)
    params = {"log": str(tmp_path / "fence.log"), "pcmk_host_list": "n1", **({"fail": "1"} if fail else {})}
    config = Config(resources=(device("fence-n1", "fence_recorder", **params),))
    collected = Collected()

    async def go() -> tuple[dict[str, str], bool]:
        async with open_store("memory://") as store:
            await store.set_node_attribute("n1", "fail-count-libvirtd#monitor_1000", "3")
            record = OpRecord(id="libvirtd_last_0", operation="stop", interval_ms=0, rc=0, op_status=0,
                              call_id=1)
            await store.record_operation("n1", ResourceRef("libvirtd", "ocf", "test", "Recorder"), record)
            escalation = Escalation(store, Fencer(FenceAgents(Spawner(), directory)), collected, "n1",
                                    lambda: 1.0)
            fenced = await escalation.recovery_exhausted(exhausted(policy), config, options)
            state = (await store.snapshot()).cluster.status.node("n1")
            if state is None:  # nothing left at all: the fenced node was forgotten
                return {}, fenced
            assert not fenced or state.resources == ()
            return dict(state.attributes), fenced

    attributes, fenced = asyncio.run(go())
    return attributes, collected.events, fenced


def test_none_does_nothing_more(tmp_path: Path) -> None:
    attributes, events, fenced = run(tmp_path, "none", ControllerOptions())
    assert not fenced and events == [] and "standby" not in attributes


def test_standby_sets_the_transient_attribute(tmp_path: Path) -> None:
    attributes, events, fenced = run(tmp_path, "standby", ControllerOptions())
    assert attributes.get("standby") == "on" and not fenced and events == []


def test_fence_fences_and_forgets_the_node(tmp_path: Path) -> None:
    attributes, events, fenced = run(tmp_path, "fence", ControllerOptions(stonith_action="off"))
    assert fenced and attributes == {}  # fail-counts and every transient attribute gone
    [event] = events
    assert isinstance(event, FencingEvent) and event.succeeded and event.action == "off"
    assert event.desc.startswith("Operation off of n1 by n1 for vigil.") and ": OK (ref=" in event.desc
    assert calls(tmp_path / "fence.log")[0]["action"] == "off"


def test_fence_falls_back_to_standby_when_fencing_is_off_or_fails(tmp_path: Path) -> None:
    attributes, events, fenced = run(tmp_path, "fence", ControllerOptions(stonith_enabled=False))
    assert not fenced and attributes.get("standby") == "on" and events == []
    assert calls(tmp_path / "fence.log") == []
    attributes, events, fenced = run(tmp_path, "fence", ControllerOptions(), fail=True)
    assert not fenced and attributes.get("standby") == "on"
    [event] = events
    assert isinstance(event, FencingEvent) and not event.succeeded and event.rc == -201
    assert attributes.get("fail-count-libvirtd#monitor_1000") == "3"


def test_a_fenced_node_is_recorded_down_and_not_fenced_again(tmp_path: Path) -> None:
    """Issue 14, defect 7: after fencing, the node's state said it was still expected as a member,
    so every next plan found it unclean and fenced it again."""
    from dataclasses import replace

    from vigil.model.config import Node, NvSet
    from vigil.model.status import NodeState
    from vigil.output.status_text import render_status
    from vigil.scheduler import schedule

    directory = tmp_path / "sbin"
    directory.mkdir()
    (directory / "fence_recorder").write_text(RECORDER)
    (directory / "fence_recorder").chmod(0o755)
    params = {"log": str(tmp_path / "fence.log"), "pcmk_host_list": "n2"}
    config = Config(nodes=(Node(id="1", uname="n1"), Node(id="2", uname="n2")),
                    options=(NvSet("opts", (("stonith-enabled", "true"),)),),
                    resources=(device("fence-n2", "fence_recorder", **params),))

    def fencings(cluster: object) -> list[str]:
        return [a.node or "" for a in schedule(cluster, 1_700_000_000).actions  # type: ignore[arg-type]
                if a.task == "stonith"]

    async def go() -> None:
        async with open_store("memory://") as store:
            await store.put_config(config, 0)
            await store.set_node_state(NodeState(id="1", uname="n1", in_ccm="true", crmd="online",
                                                 join="member", expected="member"))
            # n2 vanished while expected as a member: unclean, it must be fenced.
            await store.set_node_state(NodeState(id="2", uname="n2", in_ccm="false", crmd="offline",
                                                 join="down", expected="member"))
            await store.set_node_attribute("n2", "fail-count-x#monitor_1000", "1")
            assert fencings((await store.snapshot()).cluster) == ["n2"]
            escalation = Escalation(store, Fencer(FenceAgents(Spawner(), directory)), Collected(), "n1",
                                    lambda: 1_700_000_000.0)
            assert await escalation.fence(config, "n2", "reboot", "it is unclean")
            cluster = (await store.snapshot()).cluster
            state = cluster.status.node("n2")
            assert state is not None
            assert (state.in_ccm, state.crmd, state.join, state.expected, state.node_fenced) == (
                "false", "offline", "down", "down", "1700000000")
            assert state.attributes == () and state.resources == ()
            # Fenced once: the next plan fences no more.
            assert fencings(cluster) == []
            [entry] = await store.fence_history()
            assert (entry.target, entry.action, entry.succeeded, entry.executioner) == (
                "n2", "reboot", True, "n1")
            report = replace(await _status(store), now=1_700_000_000)
            text = render_status(report)
            assert "Fencing History:\n  * reboot of n2 successful: delegate=n1, client=vigil." in text

    asyncio.run(go())
    assert len(calls(tmp_path / "fence.log")) == 1


async def _status(store: object) -> object:
    import time

    from vigil.admin import commands
    from vigil.admin.commands import Admin
    from vigil.output.report import ControllerInfo

    admin = Admin(store=store, poke=lambda reason: None, clock=time.time, node="n1")  # type: ignore[arg-type]
    return await commands.status(admin, ControllerInfo("n1"))
