"""Unfencing ("Fence (on)") as the simulator and the controller carry it out.

The scheduler plans a node's unfencing before anything that needs it runs
there, until the node carries ``#node-unfenced`` (Pacemaker's corpus pins
the plans).  Carrying it out must set that attribute and reset nothing: an
unfenced node was let in, not powered off, so its history stays and it is
not unfenced again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from vigil.controller.escalation import UNFENCED_ATTRIBUTE, Escalation
from vigil.events.model import NO_EVENTS
from vigil.fencing.fencer import STATUS_DONE, STATUS_ERROR, FenceOutcome
from vigil.formats.cib.load import load_cib
from vigil.model.config import Config
from vigil.scheduler import schedule
from vigil.simulator.steps import apply_transition
from vigil.store.memory import MemoryStore

CIB = b"""<cib have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config/>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive class="stonith" id="scsi" type="fence_scsi">
        <instance_attributes id="scsi-params">
          <nvpair id="scsi-devices" name="devices" value="/dev/sdb"/>
        </instance_attributes>
        <meta_attributes id="scsi-meta">
          <nvpair id="scsi-provides" name="provides" value="unfencing"/>
        </meta_attributes>
      </primitive>
      <primitive class="ocf" id="fs" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="2">
        <instance_attributes id="status-2">
          <nvpair id="status-2-unfenced" name="#node-unfenced" value="1700000000"/>
        </instance_attributes>
      </transient_attributes>
    </node_state>
  </status>
</cib>"""

NOW = 1_700_000_100


def test_a_node_never_unfenced_is_unfenced_before_anything_that_needs_it_starts() -> None:
    cluster, _ = load_cib(CIB)
    transition = schedule(cluster, NOW)
    summary = [line.render() for line in transition.summary]
    assert summary[0] == "* Fence (on) n1 'required by scsi monitor'"
    assert not any("n2" in line and "Fence" in line for line in summary)
    unfence = next(a for a in transition.actions if a.task == "stonith")
    assert dict(unfence.meta)["stonith_action"] == "on"
    starts = [a.index for a in transition.actions if a.task == "start" and a.node == "n1"]
    assert starts and all((unfence.index, start) in transition.order for start in starts)


def test_once_carried_out_the_node_is_marked_unfenced_and_not_unfenced_again() -> None:
    cluster, _ = load_cib(CIB)
    after = apply_transition(cluster, schedule(cluster, NOW), NOW)
    n1 = after.status.node("n1")
    assert n1 is not None and dict(n1.attributes)[UNFENCED_ATTRIBUTE] == str(NOW)
    assert any(history.ops for history in n1.resources), "unfencing must not erase the node's history"
    again = schedule(after, NOW + 10)
    assert not any(a.task == "stonith" for a in again.actions)


class _Fencer:
    """Answers every request with ``status`` and remembers the requests."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[tuple[str, str]] = []

    async def fence(self, config: Config, target: str, action: str, *, now: int,
                    node_attrs: Any = None) -> FenceOutcome:
        self.requests.append((target, action))
        return FenceOutcome(target, action, self.status, "scsi", "", "ref")


def _unfence(status: int) -> tuple[bool, list[tuple[str, str]], dict[str, str], int]:
    async def play() -> tuple[bool, list[tuple[str, str]], dict[str, str], int]:
        store = MemoryStore()
        await store.set_node_attribute("n1", "kept", "yes")
        fencer = _Fencer(status)
        escalation = Escalation(store, fencer, NO_EVENTS, "n2", lambda: float(NOW))  # type: ignore[arg-type]
        done = await escalation.unfence(Config(), "n1", "test")
        snapshot = await store.snapshot()
        state = snapshot.cluster.status.node("n1")
        assert state is not None
        return done, fencer.requests, dict(state.attributes), len(await store.fence_history())
    return asyncio.run(play())


def test_the_controller_unfences_with_action_on_and_marks_the_node_without_resetting_it() -> None:
    done, requests, attributes, fencings = _unfence(STATUS_DONE)
    assert done and requests == [("n1", "on")]
    assert attributes[UNFENCED_ATTRIBUTE] == str(NOW)
    assert attributes["kept"] == "yes"
    assert fencings == 0


def test_a_failed_unfencing_marks_nothing() -> None:
    done, _, attributes, _ = _unfence(STATUS_ERROR)
    assert not done
    assert UNFENCED_ATTRIBUTE not in attributes
