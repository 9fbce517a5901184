"""The seed's use case on three real nodes: a cloned compute stack whose neutron-agent gives up on one.

The 2016 proposal (``/work/shared/seed/``) wanted nova-compute to know, on
stop, whether the cluster will start it here again, so that it disables the
compute service only when the cluster gives up on the node.  Its hard case is
a dependent: nova-compute stopped because neutron-agent failed below it.
Here that case runs with real processes on a real cluster (LocalCluster:
three ``vigil run`` nodes on a 3-member etcd, member TTL 3 s):

- ``compute-clone``, a clone (``interleave=true``) of the group libvirtd →
  neutron-agent → nova-compute on every node: libvirtd and neutron-agent are
  ``ocf:vigil:Service`` (a real process each), nova-compute is
  ``ocf:vigil:NovaCompute``, whose ``disable_command`` (the heavy tear-down,
  ``nova service-disable`` in real life) appends the node and the stop context
  to a file;
- neutron-agent has ``migration-threshold=3`` and
  ``on-recovery-exhausted=fence``; a ``fence_dummy`` device per node stands in
  for ``fence_compute`` (its status file says it ran);
- an alert agent (a small script written by the test) appends every alert's
  ``CRM_alert_*`` environment to a file, one JSON document a line.

Every agent writes its decisions to a log of its node's own (the ``log``
parameter chosen per node by a ``#uname`` rule), so what each node's agents
were told is read off that node's files.  The test kills neutron-agent's
process three times on one node that is not the controller, and then looks
at what happened (module fixture ``seed``: the scenario runs once; each test
asserts one part of the issue, so one broken part does not hide the others).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

from tests.cluster.observe import (
    NODES,
    alive,
    fence_devices_yaml,
    fenced_at_ns,
    leader_of,
    running_on_instances,
    service_pid,
    status_json,
    status_text,
)
from vigil.testing.cluster import INSTALL_HINT, LocalCluster, VigilNode, etcd_binary, wait_until

TTL = 3
THRESHOLD = 3
FENCE_DUMMY = Path("/usr/sbin/fence_dummy")
STACK = ("libvirtd", "neutron-agent", "nova-compute")

needs_etcd = pytest.mark.skipif(etcd_binary() is None, reason=f"no etcd server binary: {INSTALL_HINT}")
needs_fence_dummy = pytest.mark.skipif(not FENCE_DUMMY.exists(), reason="no fence_dummy (fence-agents)")
pytestmark = [needs_etcd, needs_fence_dummy]

# The heavy tear-down of a final stop: one line with the node and the stop context it was given.
DISABLE_COMMAND = (
    'printf "%s reason=%s final=%s cause=%s recoveries_left=%s\\n" "$OCF_RESKEY_CRM_meta_on_node" '
    '"$OCF_RESKEY_CRM_meta_stop_reason" "$OCF_RESKEY_CRM_meta_stop_final" '
    '"$OCF_RESKEY_CRM_meta_stop_cause" "$OCF_RESKEY_CRM_meta_recoveries_left" >>{path}'
)


# -- the configuration ---------------------------------------------------------------------------


def agent_log(logs: Path, node: str, resource: str) -> Path:
    """Where ``resource``'s agent on ``node`` logs what it was told."""
    return logs / node / f"{resource}.log"


def per_node_log_params(logs: Path, resource: str, extra: str = "") -> str:
    """``params`` as one set per node, each chosen by a ``#uname`` rule, so that each node's agent
    logs to a file of that node's own (the agents' lines do not name the node)."""
    sets = "".join(
        f"            - id: {resource}-params-{node}\n"
        f"              rule:\n"
        f"                expressions: [{{attribute: \"#uname\", operation: eq, value: {node}}}]\n"
        f"              values: {{log: {agent_log(logs, node, resource)}{extra}}}\n"
        for node in NODES)
    return f"          params:\n{sets}"


def write_alert_agent(path: Path) -> Path:
    """An alert agent that appends its ``CRM_alert_*`` environment, as one JSON line, to its recipient."""
    path.write_text(
        f"#!{sys.executable}\n"
        "import json, os\n"
        "found = {k: v for k, v in os.environ.items() if k.startswith('CRM_alert_')}\n"
        "line = (json.dumps(found, sort_keys=True) + '\\n').encode()\n"
        "fd = os.open(os.environ['CRM_alert_recipient'], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)\n"
        "os.write(fd, line)\n"
        "os.close(fd)\n")
    path.chmod(0o755)
    return path


def config(work: Path) -> str:
    logs, fence_dir = work / "logs", work / "fence"
    disable = DISABLE_COMMAND.format(path=work / "disabled.log")
    nova_extra = ", disable_command: '" + disable.replace("'", "''") + "', stop_grace: 5"
    return f"""\
options:
  stonith-enabled: true
  no-quorum-policy: stop
  cluster-recheck-interval: 1min
rsc_defaults:
  resource-stickiness: 100
nodes:
  - name: node1
  - name: node2
  - name: node3
resources:
  - clone: compute-clone
    meta: {{interleave: true}}
    resource:
      group: compute
      members:
        - id: libvirtd
          agent: ocf:vigil:Service
{per_node_log_params(logs, "libvirtd", ", stop_grace: 5")}\
          ops:
            - {{name: monitor, interval: 1s, timeout: 10s}}
        - id: neutron-agent
          agent: ocf:vigil:Service
          meta: {{migration-threshold: {THRESHOLD}, on-recovery-exhausted: fence}}
{per_node_log_params(logs, "neutron-agent", ", stop_grace: 5")}\
          ops:
            - {{name: monitor, interval: 1s, timeout: 10s}}
        - id: nova-compute
          agent: ocf:vigil:NovaCompute
{per_node_log_params(logs, "nova-compute", nova_extra)}\
          ops:
            - {{name: monitor, interval: 1s, timeout: 10s}}
{fence_devices_yaml(fence_dir)}\
alerts:
  - id: recorder
    path: {work / "alert_recorder.py"}
    select: [fencing, resources]
    recipients:
      - value: {work / "alerts.jsonl"}
"""


# -- what the agents wrote ---------------------------------------------------------------------


def lines_of(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def words(line: str) -> dict[str, str]:
    """The ``key=value`` words of an agent's log line."""
    return dict(word.split("=", 1) for word in line.split() if "=" in word)


def service_stops(path: Path) -> list[dict[str, str]]:
    """The stops an ``ocf:vigil:Service`` logged (``... INSTANCE stop rc=0 stop_reason=...``)."""
    return [words(line) for line in lines_of(path) if re.search(r" stop rc=", line)]


def nova_decisions(path: Path, first_word: str) -> list[str]:
    """NovaCompute's decisions beginning with ``first_word`` (``stop``, ``start``), without the time
    and instance: ``stop light ...`` (stop_final=false), ``stop final ...``, ``start ...``."""
    rests = [line.split(" ", 2)[2] for line in lines_of(path) if line.count(" ") >= 2]
    return [rest for rest in rests if rest.split(" ", 1)[0] == first_word]


def nova_stops(path: Path) -> list[str]:
    return nova_decisions(path, "stop")


def nova_starts(path: Path) -> list[str]:
    return nova_decisions(path, "start")


def alerts(path: Path) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for line in lines_of(path):
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def stack_pids(node: VigilNode) -> dict[str, int | None]:
    return {resource: service_pid(node, resource) for resource in STACK}


def stack_running(node: VigilNode) -> bool:
    pids = stack_pids(node)
    return all(pid is not None and alive(pid) for pid in pids.values())


# -- the scenario, run once --------------------------------------------------------------------


@dataclass
class Seed:
    """What happened: the nodes, the files the agents wrote, and what the scenario waited for in vain."""

    cluster: LocalCluster
    work: Path
    controller: str
    victim: VigilNode
    others: list[VigilNode]
    pids_before: dict[str, dict[str, int | None]]
    pids_after: dict[str, dict[str, int | None]] = field(default_factory=dict)
    log_sizes_before: dict[str, dict[str, int]] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)
    status_texts: dict[str, str] = field(default_factory=dict)
    kills: list[float] = field(default_factory=list)
    duration: float = 0.0

    def log(self, node: str, resource: str) -> Path:
        return agent_log(self.work / "logs", node, resource)

    def wait(self, what: str, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait for ``condition``; a timeout is noted (the tests say what it means), not raised."""
        try:
            wait_until(what, condition, timeout, interval=0.1)
            return True
        except TimeoutError as error:
            self.missed.append(f"{time.strftime('%H:%M:%S')} {error}")
            return False

    def where_it_failed(self) -> str:
        """The lines of the vigil logs that matter, for a failure message."""
        keep = re.compile(r"exhausted|fenc|neutron-agent|nova-compute|Traceback|Error|error", re.I)
        parts = [f"missed: {self.missed}", f"controller {self.controller}, victim {self.victim.name}"]
        for node in self.cluster.nodes:
            lines = [line for line in node.log().splitlines() if keep.search(line)]
            parts.append(f"--- {node.name} ({node.log_path}):\n" + "\n".join(lines[-40:]))
        return "\n".join(parts)


def settled(cluster: LocalCluster) -> bool:
    """Every node runs its stack, and `vigil status` shows nova-compute on all three."""
    if not all(stack_running(node) for node in cluster.nodes):
        return False
    return running_on_instances(status_json(cluster.nodes[0]), "nova-compute") == list(NODES)


def restarted_in_place(victim: VigilNode, nova_log: Path, failure: int, old_pid: int) -> bool:
    """After failure number ``failure``: nova-compute stopped and started again, and neutron-agent
    runs as a new process."""
    return (len(nova_stops(nova_log)) >= failure and len(nova_starts(nova_log)) >= failure + 1
            and stack_running(victim) and service_pid(victim, "neutron-agent") != old_pid)


def shows_fencing_of(node: VigilNode, target: str) -> bool:
    """`vigil status` on ``node`` has ``target`` in its fence history."""
    return target in status_text(node).partition("Fencing History:")[2]


def run_scenario(cluster: LocalCluster, work: Path) -> Seed:
    wait_until("the compute stack to run on every node", lambda: settled(cluster), timeout=40, interval=0.2)
    controller = leader_of(cluster.store_url())
    assert controller is not None, "no controller after settling"
    victim = next(node for node in cluster.nodes if node.name != controller)
    others = [node for node in cluster.nodes if node is not victim]
    seed = Seed(cluster, work, controller, victim, others,
                pids_before={node.name: stack_pids(node) for node in cluster.nodes})
    seed.log_sizes_before = {node.name: {r: len(lines_of(seed.log(node.name, r))) for r in STACK}
                             for node in cluster.nodes}
    nova_log = seed.log(victim.name, "nova-compute")
    for failure in range(1, THRESHOLD + 1):
        pid = service_pid(victim, "neutron-agent")
        assert pid is not None and alive(pid), f"neutron-agent is not running on {victim.name}"
        os.kill(pid, signal.SIGKILL)  # a process of the cluster this test started
        seed.kills.append(time.time())
        if failure < THRESHOLD:
            # Restarted in place: nova-compute stopped and started again, neutron-agent runs anew.
            if not seed.wait(f"restart {failure} of the stack on {victim.name}",
                             partial(restarted_in_place, victim, nova_log, failure, pid), timeout=15):
                return seed
            time.sleep(1.5)  # the new monitors run before the next failure
    # The third failure: recovery exhausted on the victim, which gets fenced.
    seed.wait(f"the final stop of nova-compute on {victim.name}",
              lambda: any(s.startswith("stop final") for s in nova_stops(nova_log)), timeout=15)
    seed.wait(f"{victim.name} to be fenced", lambda: fenced_at_ns(work / "fence", victim.name) is not None,
              timeout=15)
    seed.wait(f"the fencing alert for {victim.name}",
              lambda: any(a.get("CRM_alert_kind") == "fencing" and a.get("CRM_alert_node") == victim.name
                          for a in alerts(work / "alerts.jsonl")), timeout=10)
    for node in cluster.nodes:
        if node.running():
            seed.wait(f"the fence history on {node.name}", partial(shows_fencing_of, node, victim.name),
                      timeout=10)
            seed.status_texts[node.name] = status_text(node)
    time.sleep(2)  # whatever the fencing brings about on the other nodes would show by now
    seed.pids_after = {node.name: stack_pids(node) for node in cluster.nodes}
    return seed


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    work = tmp_path_factory.mktemp("seed")
    (work / "fence").mkdir()
    write_alert_agent(work / "alert_recorder.py")
    began = time.monotonic()
    with LocalCluster(config(work), workdir=work / "cluster", member_ttl=TTL) as cluster:
        result = run_scenario(cluster, work)
        result.duration = time.monotonic() - began
        yield result


# -- the tests ---------------------------------------------------------------------------------


def test_the_scenario_ran_within_its_time_bound(seed: Seed) -> None:
    assert not seed.missed, seed.where_it_failed()
    assert seed.duration < 60, f"the scenario took {seed.duration:.1f} s"


def test_nova_compute_is_stopped_light_twice_then_final_with_neutron_agent_as_cause(seed: Seed) -> None:
    """Only the victim's nova-compute is told, on each stop, that neutron-agent caused it, how many
    restarts in place are left, and, on the third, that the cluster gives up here."""
    stops = nova_stops(seed.log(seed.victim.name, "nova-compute"))
    expected = [
        "stop light reason=dependency cause=neutron-agent recoveries_left=2",
        "stop light reason=dependency cause=neutron-agent recoveries_left=1",
    ]
    assert stops[:2] == expected, f"{stops}\n{seed.where_it_failed()}"
    assert len(stops) >= 3 and stops[2].startswith(
        "stop final reason=dependency cause=neutron-agent recoveries_left=0 disable="), \
        f"{stops}\n{seed.where_it_failed()}"
    # The restarts in place were light: the start after each skipped the bring-up.
    starts = nova_starts(seed.log(seed.victim.name, "nova-compute"))
    assert starts[1:3] == ["start reason=dependency recoveries_left=2 enable=skipped",
                           "start reason=dependency recoveries_left=1 enable=skipped"], starts


def test_the_heavy_teardown_ran_once_on_the_victim_with_the_raw_stop_context(seed: Seed) -> None:
    """disable_command (nova service-disable) saw the very variables: dependency, final, cause."""
    disabled = lines_of(seed.work / "disabled.log")
    assert disabled == [f"{seed.victim.name} reason=dependency final=true cause=neutron-agent "
                        "recoveries_left=0"], f"{disabled}\n{seed.where_it_failed()}"


def test_neutron_agent_itself_counts_its_recoveries_down(seed: Seed) -> None:
    stops = service_stops(seed.log(seed.victim.name, "neutron-agent"))
    told = [(s.get("stop_reason"), s.get("stop_final"), s.get("stop_cause"), s.get("recoveries_left"))
            for s in stops[:THRESHOLD]]
    assert told == [("failure", "false", "neutron-agent", "2"),
                    ("failure", "false", "neutron-agent", "1"),
                    ("failure", "true", "neutron-agent", "0")], f"{stops}\n{seed.where_it_failed()}"


def test_the_other_nodes_stacks_are_untouched(seed: Seed) -> None:
    """Interleaved: the other two nodes' processes are the same throughout, and none was stopped."""
    assert seed.pids_after, seed.where_it_failed()
    for node in seed.others:
        assert seed.pids_after[node.name] == seed.pids_before[node.name], node.name
        assert all(pid is not None and alive(pid) for pid in seed.pids_after[node.name].values()), node.name
        for resource in STACK:
            new = lines_of(seed.log(node.name, resource))[seed.log_sizes_before[node.name][resource]:]
            assert not [line for line in new if " stop" in line], f"{node.name} {resource}: {new}"


def test_the_victims_libvirtd_stays_through_the_restarts_then_goes_with_the_group(seed: Seed) -> None:
    """A restart in place of neutron-agent leaves libvirtd (before it in the group) alone; once
    neutron-agent may no longer run on the node, the clone's group instance cannot run there and
    libvirtd stops too, told that neutron-agent caused it and that it is final (Pacemaker plans
    the same: tests/golden/compute-neutron-fail3)."""
    stops = service_stops(seed.log(seed.victim.name, "libvirtd"))
    told = [(s.get("stop_reason"), s.get("stop_final"), s.get("stop_cause"), s.get("recoveries_left"))
            for s in stops]
    assert told[:1] == [("dependency", "true", "neutron-agent", "0")], f"{stops}\n{seed.where_it_failed()}"


def test_the_victim_is_fenced_through_its_own_device_and_no_other_node_is(seed: Seed) -> None:
    fence_dir = seed.work / "fence"
    fenced = [node for node in NODES if fenced_at_ns(fence_dir, node) is not None]
    assert fenced == [seed.victim.name], f"fenced: {fenced}\n{seed.where_it_failed()}"
    at = fenced_at_ns(fence_dir, seed.victim.name)
    assert len(seed.kills) == THRESHOLD and at is not None and at / 1e9 > seed.kills[-1], \
        "fenced before the third failure"
    # The policy is applied once the transition that gave up has run: after nova's final stop.
    disabled = seed.work / "disabled.log"
    assert disabled.exists() and disabled.stat().st_mtime_ns <= at, "fenced before the final stop ran"


def test_every_node_shows_the_fencing_in_its_fence_history(seed: Seed) -> None:
    assert set(seed.status_texts) == set(NODES), seed.where_it_failed()
    for name, text in seed.status_texts.items():
        history = text.split("Fencing History:", 1)
        assert len(history) == 2 and seed.victim.name in history[1], f"{name}:\n{text}"


def test_an_alert_agent_is_told_of_the_fencing_and_of_the_exhausted_recovery(seed: Seed) -> None:
    received = alerts(seed.work / "alerts.jsonl")
    fencing = [a for a in received if a.get("CRM_alert_kind") == "fencing"]
    assert [a.get("CRM_alert_node") for a in fencing] == [seed.victim.name], \
        f"{fencing}\n{seed.where_it_failed()}"
    assert fencing[0].get("CRM_alert_rc") == "0" and fencing[0].get("CRM_alert_task") == "st_notify_fence"
    exhausted = [a for a in received if a.get("CRM_alert_task") == "recovery-exhausted"]
    assert [(a.get("CRM_alert_rsc"), a.get("CRM_alert_node"), a.get("CRM_alert_exhausted_policy"))
            for a in exhausted] == [("neutron-agent", seed.victim.name, "fence")], exhausted
