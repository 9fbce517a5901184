"""Fence agents and the fencer: arguments on stdin as Pacemaker passes them, device choice, topology.

A recording fence agent written by the test shows exactly what an agent is
given; Debian's ``fence_dummy`` (fence-agents) is run for real.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from vigil.executor.process import Spawner
from vigil.executor.request import ActionRequest, AgentSpec
from vigil.fencing.agent import FenceAgents, FenceDevice, FenceMetadata, fence_arguments, host_map
from vigil.fencing.device import StonithClass
from vigil.fencing.fencer import STATUS_ERROR, STATUS_NO_DEVICE, Fencer, fence_devices
from vigil.model.config import Config, FencingLevel, NvSet, Primitive
from vigil.model.results import ExecStatus, OcfRc

FENCE_DUMMY = Path("/usr/sbin/fence_dummy")
needs_fence_dummy = pytest.mark.skipif(
    not FENCE_DUMMY.exists(),
    reason="fence-agents is not installed (scripts/install-test-deps.sh installs it)")

RECORDER = """#!/bin/sh
# A fence agent that writes down its arguments; parameter fail=1 makes it fail.
args=$(cat)
value() { printf '%s\\n' "$args" | sed -n "s/^$1=//p" | tail -n 1; }
if [ "$(value action)" = metadata ]; then
    cat <<'XML'
<?xml version="1.0" ?>
<resource-agent name="fence_recorder" shortdesc="records">
<parameters>
  <parameter name="port" unique="0" required="0"><content type="string"/></parameter>
  <parameter name="log" unique="0" required="0"><content type="string"/></parameter>
</parameters>
<actions><action name="on"/><action name="off"/><action name="reboot"/><action name="status"/>
<action name="monitor"/><action name="metadata"/></actions>
</resource-agent>
XML
    exit 0
fi
printf '%s\\n--\\n' "$args" >> "$(value log)"
[ "$(value fail)" = 1 ] && exit 1
exit 0
"""


@pytest.fixture
def agents(tmp_path: Path) -> FenceAgents:
    directory = tmp_path / "sbin"
    directory.mkdir()
    (directory / "fence_recorder").write_text(RECORDER)
    (directory / "fence_recorder").chmod(0o755)
    if FENCE_DUMMY.exists():
        (directory / "fence_dummy").symlink_to(FENCE_DUMMY)
    return FenceAgents(Spawner(), directory)


def device(rsc: str, agent: str, **params: str) -> Primitive:
    return Primitive(id=rsc, cls="stonith", type=agent,
                     params=(NvSet(f"{rsc}-params", tuple(params.items())),))


def calls(log: Path) -> list[dict[str, str]]:
    if not log.exists():
        return []
    found = []
    for block in log.read_text().split("--\n"):
        if block.strip():
            found.append(dict(line.split("=", 1) for line in block.strip().splitlines()))
    return found


def test_arguments_are_pacemakers() -> None:
    metadata = FenceMetadata(frozenset({"port", "ipaddr"}), frozenset({"reboot", "off"}))
    dev = FenceDevice("ipmi", "fence_ipmilan", (("ipaddr", "10.0.0.9"), ("pcmk_host_map", "n1:7;n2:8"),
                                                ("pcmk_reboot_action", "cycle"), ("pcmk_delay_max", "5"),
                                                ("provides", "unfencing")))
    assert fence_arguments(dev, "reboot", "n1", metadata) == {
        "action": "cycle", "nodename": "n1", "port": "7", "ipaddr": "10.0.0.9"}
    assert fence_arguments(dev, "monitor", None, metadata) == {"action": "monitor", "ipaddr": "10.0.0.9"}
    # A port set on the device is the device's; "plug" when the agent has no port; none at all.
    fixed = FenceDevice("d", "x", (("port", "3"),))
    assert fence_arguments(fixed, "off", "n1", metadata)["port"] == "3"
    plug = FenceMetadata(frozenset({"plug"}))
    assert fence_arguments(FenceDevice("d", "x"), "off", "n1", plug) == {"action": "off", "nodename": "n1",
                                                                          "plug": "n1"}
    assert fence_arguments(FenceDevice("d", "x"), "off", "n1", FenceMetadata()) == {"action": "off",
                                                                                     "nodename": "n1"}
    none = FenceDevice("d", "x", (("pcmk_host_argument", "none"),))
    assert "port" not in fence_arguments(none, "off", "n1", metadata)
    assert host_map(FenceDevice("d", "x", (("pcmk_host_map", "a:1 b=2;c:3,4"),))) == {"a": "1", "b": "2",
                                                                                       "c": "3,4"}


def test_the_fencer_picks_the_device_that_lists_the_target(agents: FenceAgents, tmp_path: Path) -> None:
    log = tmp_path / "calls"
    config = Config(resources=(
        device("for-n2", "fence_recorder", log=str(log), pcmk_host_list="n2 n3"),
        device("for-n1", "fence_recorder", log=str(log), pcmk_host_map="n1:port-one"),
    ))
    outcome = asyncio.run(Fencer(agents).fence(config, "n1", "reboot", now=0))
    assert outcome.succeeded and outcome.device == "for-n1" and outcome.rc == 0
    assert calls(log) == [{"action": "reboot", "nodename": "n1", "port": "port-one", "log": str(log)}]
    text = outcome.description("n1", "vigil.1", "n1")
    assert text.startswith("Operation reboot of n1 by n1 for vigil.1@n1: OK (ref=")


def test_no_device_for_the_target(agents: FenceAgents, tmp_path: Path) -> None:
    other = device("other", "fence_recorder", log=str(tmp_path / "x"), pcmk_host_list="n9")
    config = Config(resources=(other,))
    outcome = asyncio.run(Fencer(agents).fence(config, "n1", "off", now=0))
    assert outcome.status == STATUS_NO_DEVICE and outcome.rc == -19 and not outcome.succeeded
    assert "No fence device" in outcome.description("n1", "vigil.1", "n1")


def test_topology_levels_are_tried_in_order_and_a_level_needs_all_its_devices(
    agents: FenceAgents, tmp_path: Path
) -> None:
    log = tmp_path / "calls"
    config = Config(
        resources=(
            device("ipmi", "fence_recorder", log=str(log), fail="1", pcmk_host_check="none"),
            device("pdu1", "fence_recorder", log=str(log), pcmk_host_check="none"),
            device("pdu2", "fence_recorder", log=str(log), pcmk_host_check="none"),
        ),
        fencing_levels=(
            FencingLevel("l2", 2, ("pdu1", "pdu2"), target="n1"),
            FencingLevel("l1", 1, ("ipmi",), target_pattern="^n[0-9]$"),
        ),
    )
    outcome = asyncio.run(Fencer(agents).fence(config, "n1", "off", now=0))
    assert outcome.succeeded and outcome.device == "pdu1,pdu2"
    assert [c["log"] and c["action"] for c in calls(log)] == ["off", "off", "off"]
    assert [c.get("fail") for c in calls(log)] == ["1", None, None]
    failing = Config(resources=config.resources[:1], fencing_levels=(FencingLevel("l1", 1, ("ipmi",), "n1"),))
    outcome = asyncio.run(Fencer(agents).fence(failing, "n1", "off", now=0))
    assert outcome.status == STATUS_ERROR and outcome.rc == -201
    assert "Error (ipmi: exit code 1" in outcome.description("n1", "vigil.1", "n1")


def test_disabled_devices_are_not_used() -> None:
    stopped = Primitive(id="d", cls="stonith", type="fence_dummy",
                        meta=(NvSet("d-meta", (("target-role", "Stopped"),)),))
    assert fence_devices(Config(resources=(stopped, device("e", "fence_dummy"))), 0) == [
        FenceDevice("e", "fence_dummy", ())]


@needs_fence_dummy
def test_fence_dummy_is_run_for_real(agents: FenceAgents, tmp_path: Path) -> None:
    status = tmp_path / "power"
    config = Config(resources=(device("dummy", "fence_dummy", status_file=str(status)),))
    fencer = Fencer(agents)
    # fence_dummy has no list action: whether it can fence n1 is asked with status (off: rc 2).
    outcome = asyncio.run(fencer.fence(config, "n1", "reboot", now=0))
    assert outcome.succeeded, outcome.reason
    assert status.read_text().strip() == "on"
    outcome = asyncio.run(fencer.fence(config, "n1", "off", now=0))
    assert outcome.succeeded and status.read_text().strip() == "off"


@needs_fence_dummy
def test_a_fence_device_as_a_resource_starts_monitors_and_stops(agents: FenceAgents, tmp_path: Path) -> None:
    stonith = StonithClass(agents)
    params = {"status_file": str(tmp_path / "power")}

    def request(action: str, interval_ms: int = 0) -> ActionRequest:
        return ActionRequest.create("fence1", AgentSpec("stonith", "fence_dummy"), action, params,
                                    interval_ms=interval_ms, timeout_ms=20_000)

    async def run() -> list[tuple[OcfRc, ExecStatus]]:
        results = []
        for action, interval in (("monitor", 0), ("start", 0), ("monitor", 0), ("monitor", 10_000),
                                 ("stop", 0), ("monitor", 0), ("monitor", 10_000), ("reload", 0)):
            result = await stonith.run(request(action, interval))
            results.append((result.rc, result.status))
        return results

    assert asyncio.run(run()) == [
        (OcfRc.NOT_RUNNING, ExecStatus.DONE), (OcfRc.SUCCESS, ExecStatus.DONE),
        (OcfRc.SUCCESS, ExecStatus.DONE), (OcfRc.SUCCESS, ExecStatus.DONE), (OcfRc.SUCCESS, ExecStatus.DONE),
        (OcfRc.NOT_RUNNING, ExecStatus.DONE), (OcfRc.NOT_RUNNING, ExecStatus.DONE),
        (OcfRc.ERR_UNIMPLEMENTED, ExecStatus.NOT_SUPPORTED),
    ]
    fetch = asyncio.run(stonith.fetch_metadata(AgentSpec("stonith", "fence_dummy")))
    assert fetch.metadata is not None and "status_file" in {p.name for p in fetch.metadata.parameters}
    missing = asyncio.run(stonith.fetch_metadata(AgentSpec("stonith", "fence_nonesuch")))
    assert missing.metadata is None and "not found" in missing.error
