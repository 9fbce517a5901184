"""Remote and guest nodes where Pacemaker's corpus shows only the summary.

The corpus pins what ``crm_simulate`` prints as the transition summary; these
pin what it does not: which probes run on a remote node (none of a fence
device, of a connection, of a resource inside a container, nor where
discovery is ``never``, nor a bundle's inner instance anywhere but on its own
guest node), that an orphaned connection still makes its node
(which then shuts down), and that a connection may migrate unless told
otherwise.  Each behaviour was checked against ``crm_simulate``.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.scheduler.cib_text import NOW, last_op, lrm, two_node_cib
from vigil.formats.cib.load import load_cib
from vigil.model.transition import Transition
from vigil.scheduler import run_stages, schedule


def _cib(resources: str, constraints: str = "", status: str = "", remote_state: bool = True,
         stonith: bool = True, node2: str = "") -> bytes:
    remote = '<node_state id="remote1" uname="remote1" remote_node="true"/>' if remote_state else ""
    return two_node_cib(resources=resources, constraints=constraints, node1=lrm("1", status), node2=node2,
                        more_states=remote, stonith=stonith)


def _op(rsc: str, task: str, rc: int, call: int, node: str = "node1", cls: str = "ocf",
        provider: str = "pacemaker", agent: str = "remote") -> str:
    return last_op(rsc, task, rc, call, node=node, cls=cls, provider=provider, agent=agent)


REMOTE = '<primitive id="remote1" class="ocf" provider="pacemaker" type="remote"/>'
FENCER = '<primitive id="fencer" class="stonith" type="fence_dummy"/>'


def _probes(transition: Transition, node: str) -> set[str]:
    return {a.resource or "" for a in transition.actions
            if a.task == "monitor" and a.interval_ms == 0 and a.node == node}


def _plan(cib: bytes) -> Transition:
    cluster, _ = load_cib(cib)
    return schedule(cluster, NOW)


def test_a_remote_node_probes_neither_fence_devices_nor_connections() -> None:
    app = '<primitive id="app" class="ocf" provider="heartbeat" type="Dummy"/>'
    transition = _plan(_cib(FENCER + REMOTE + app, status=_op("remote1", "start", 0, 1)))
    assert _probes(transition, "remote1") == {"app"}
    assert {"fencer", "remote1", "app"} <= _probes(transition, "node2")


def test_discovery_never_skips_the_probe_there_only() -> None:
    app = '<primitive id="app" class="ocf" provider="heartbeat" type="Dummy"/>'
    never = ('<rsc_location id="app-not-remote" rsc="app" node="remote1" score="0" '
             'resource-discovery="never"/>')
    transition = _plan(_cib(REMOTE + app, never, status=_op("remote1", "start", 0, 1)))
    assert "app" not in _probes(transition, "remote1")
    assert "app" in _probes(transition, "node2")


def test_a_resource_inside_a_container_is_never_probed() -> None:
    vm = '<primitive id="vm" class="ocf" provider="heartbeat" type="Dummy"/>'
    inside = ('<primitive id="inside" class="ocf" provider="heartbeat" type="Dummy">'
              '<meta_attributes id="inside-meta"><nvpair id="inside-c" name="container" value="vm"/>'
              '</meta_attributes></primitive>')
    transition = _plan(_cib(vm + inside, remote_state=False))
    assert "inside" not in _probes(transition, "node1") | _probes(transition, "node2")
    assert "vm" in _probes(transition, "node2")


def test_an_orphaned_connection_makes_its_node_which_shuts_down() -> None:
    app = '<primitive id="app" class="ocf" provider="heartbeat" type="Dummy"/>'
    # Without fencing (with it and no fence device, nothing may start or stop).
    cluster, _ = load_cib(_cib(app, status=_op("remote1", "start", 0, 1), stonith=False))
    work = run_stages(cluster, NOW).work
    node = work.nodes["remote1"]
    assert node.type == "remote" and node.shutdown
    assert node.remote_rsc is work.rscs["remote1"] and work.rscs["remote1"].orphan
    summary = [(line.verb, line.subject) for line in run_stages(cluster, NOW).transition.summary]
    assert ("Stop", "remote1") in summary


def test_a_connection_may_migrate_unless_told_otherwise() -> None:
    pinned = ('<primitive id="remote2" class="ocf" provider="pacemaker" type="remote">'
              '<meta_attributes id="remote2-meta">'
              '<nvpair id="remote2-am" name="allow-migrate" value="false"/>'
              '</meta_attributes></primitive>')
    cluster, _ = load_cib(_cib(REMOTE + pinned, remote_state=False))
    work = run_stages(cluster, NOW).work
    assert work.rscs["remote1"].meta["allow-migrate"] == "true"
    assert work.rscs["remote2"].meta["allow-migrate"] == "false"


def test_a_guest_connection_migrates_only_when_its_container_says_so() -> None:
    """A guest node's connection gets no allow-migrate default (it follows
    its container); ``remote-allow-migrate`` on the container sets it. Were
    it defaulted, a guest moving with an unmigratable container would show
    "due to unmigrateable" (whitebox-move shows a plain Move)."""
    guests = ('<primitive id="vm1" class="ocf" provider="heartbeat" type="VirtualDomain">'
              '<meta_attributes id="vm1-meta">'
              '<nvpair id="vm1-rn" name="remote-node" value="guest1"/>'
              '</meta_attributes></primitive>'
              '<primitive id="vm2" class="ocf" provider="heartbeat" type="VirtualDomain">'
              '<meta_attributes id="vm2-meta">'
              '<nvpair id="vm2-rn" name="remote-node" value="guest2"/>'
              '<nvpair id="vm2-ram" name="remote-allow-migrate" value="true"/>'
              '</meta_attributes></primitive>')
    cluster, _ = load_cib(_cib(guests, remote_state=False))
    work = run_stages(cluster, NOW).work
    assert not work.rscs["guest1"].allow_migrate
    assert work.rscs["guest2"].allow_migrate


def _half_migrated(rsc: str, source: str, target: str) -> str:
    """A migrate_to from ``source`` to ``target`` that succeeded, with no
    migrate_from on the target yet."""
    return last_op(rsc, "migrate_to", 0, 2, node=source, provider="pacemaker", agent="remote",
                   extra=f'migrate_source="{source}" migrate_target="{target}" ')


def test_a_half_migrated_connection_prefers_its_migration_target() -> None:
    """Connections are placed preferring their partial migration's target,
    so the migration goes on where the nodes are otherwise equal (else the
    tie would keep it on the source). Checked with crm_simulate (the record
    has no digest, hence the definition change)."""
    probed = _op("remote1", "monitor", 7, 1, node="node2")  # not running there before
    cib = _cib(FENCER + REMOTE, status=_half_migrated("remote1", "node1", "node2"), node2=lrm("2", probed))
    assert [line.render() for line in _plan(cib).summary] == [
        "* Start fencer ( node1 )",
        "* Migrate remote1 ( node1 -> node2 ) due to resource definition change",
    ]
    cluster, _ = load_cib(cib)
    assert run_stages(cluster, NOW).work.rscs["remote1"].assigned == "node2"


# A bundle whose container runs on remote node remote1, its guest node app-bundle-0
# connected from node1, everything running as configured (see the case's directory).
BUNDLE_ON_REMOTE = (Path(__file__).resolve().parent / "cases"
                    / "bundle-on-remote-node-running-as-configured-nothing-to-do" / "cib.xml")


def _all_probes(transition: Transition) -> set[tuple[str, str]]:
    return {(a.resource or "", a.node or "") for a in transition.actions
            if a.task == "monitor" and a.interval_ms == 0}


def test_a_bundles_inner_instance_is_probed_on_its_own_guest_only() -> None:
    """Nothing is probed where the inner resource never ran (node1, node2,
    remote1): it can only be inside its replica's container.  Without its
    history on the guest, it is probed there.  Both checked with crm_simulate."""
    cib = BUNDLE_ON_REMOTE.read_bytes()
    assert _all_probes(_plan(cib)) == set()
    without_inner = re.sub(rb'(<node_state[^>]*id="app-bundle-0".*?<lrm_resources>).*?(</lrm_resources>)',
                           rb"\1\2", cib, flags=re.S)
    assert without_inner != cib
    assert _all_probes(_plan(without_inner)) == {("app:0", "app-bundle-0")}
