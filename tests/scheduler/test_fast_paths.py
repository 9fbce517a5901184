"""Fast paths take the same decisions as the general code they shortcut.

``unpack_history`` replays the commonest history (one probe that found the
resource stopped) without the general state machine.  The resource's state
after it must be the same from every starting state, and every CIB of
Pacemaker's regression corpus must schedule to the same transition with and
without the shortcut.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from vigil.errors import InputError
from vigil.formats.cib.load import load_cib
from vigil.model.options import unpack_options
from vigil.model.rule_eval import RuleContext
from vigil.model.status import OpRecord, ResourceHistory
from vigil.scheduler import schedule
from vigil.scheduler.unpack_nodes import unpack_nodes
from vigil.scheduler.unpack_resources import unpack_resources
from vigil.scheduler.working import Work
from vigil.scheduler.working_resources import Role, WorkPrimitive

# The module (its name is shadowed in vigil.scheduler by the stage function).
replay = importlib.import_module("vigil.scheduler.unpack_history")

CORPUS = Path(
    os.environ.get(
        "VIGIL_PACEMAKER_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "pacemaker-corpus"
    )
)


def test_probe_miss_shortcut_changes_no_transition(monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted((CORPUS / "xml").glob("*.xml"))
    if not files:
        pytest.skip(f"Pacemaker corpus not found at {CORPUS} (set VIGIL_PACEMAKER_CORPUS to its directory)")
    original = replay._is_plain_probe_miss
    taken = 0

    def counting(rsc: WorkPrimitive, op: OpRecord) -> bool:
        nonlocal taken
        result = original(rsc, op)
        taken += result
        return result

    compared = 0
    for path in files:
        try:
            cluster, _ = load_cib(path)
        except InputError:
            continue
        now = cluster.status.execution_date or 0
        monkeypatch.setattr(replay, "_is_plain_probe_miss", counting)
        fast = schedule(cluster, now, sanitized=True)
        monkeypatch.setattr(replay, "_is_plain_probe_miss", lambda rsc, op: False)
        general = schedule(cluster, now, sanitized=True)
        assert fast == general, path.name
        compared += 1
    assert compared > 800 and taken > 1000


CIB = b"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
<configuration><crm_config/>
<nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
<resources>
  <primitive id="plain" class="ocf" provider="pacemaker" type="Dummy"/>
  <primitive id="down" class="ocf" provider="pacemaker" type="Dummy">
    <meta_attributes id="down-meta">
      <nvpair id="down-tr" name="target-role" value="Stopped"/>
    </meta_attributes>
  </primitive>
</resources></configuration>
<status>
  <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
  <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
</status></cib>"""


def _state_after_probe_miss(shortcut: bool, rsc_id: str, role: Role, next_role: Role,
                            stop_on: str | None) -> tuple[object, ...]:
    cluster, _ = load_cib(CIB)
    options = unpack_options(cluster.config, RuleContext(now=0))
    work = Work(cluster=cluster, options=options, now=0, have_quorum=True)
    unpack_nodes(work)
    unpack_resources(work)
    rsc = work.rscs[rsc_id]
    rsc.role, rsc.next_role = role, next_role
    if stop_on is not None:
        work.new_action(rsc, "stop", stop_on, optional=False)
    probe = OpRecord(f"{rsc_id}_last_0", "monitor", 0, 7, 0, 3, transition_key="3:1:7:x")
    history = ResourceHistory(rsc_id, "ocf", "pacemaker", "Dummy", ops=(probe,))
    original = replay._is_plain_probe_miss
    replay._is_plain_probe_miss = original if shortcut else (lambda rsc, op: False)  # type: ignore[assignment]
    try:
        replay._unpack_resource_history(work, work.nodes["n1"], history)
    finally:
        replay._is_plain_probe_miss = original  # type: ignore[assignment]
    return (rsc.role, rsc.next_role, sorted(rsc.known_on), rsc.running_on, rsc.failed, rsc.managed,
            sorted(rsc.failed_on), [(a.task, a.node, a.optional, a.runnable) for a in work.actions],
            dict(rsc.allowed))


@pytest.mark.parametrize("rsc_id", ["plain", "down"])
@pytest.mark.parametrize("role", [Role.UNKNOWN, Role.STOPPED, Role.STARTED, Role.PROMOTED])
@pytest.mark.parametrize("next_role", [Role.UNKNOWN, Role.STOPPED, Role.STARTED])
@pytest.mark.parametrize("stop_on", [None, "n1", "n2"])
def test_probe_miss_shortcut_leaves_the_same_state(rsc_id: str, role: Role, next_role: Role,
                                                  stop_on: str | None) -> None:
    assert _state_after_probe_miss(True, rsc_id, role, next_role, stop_on) == \
        _state_after_probe_miss(False, rsc_id, role, next_role, stop_on)
