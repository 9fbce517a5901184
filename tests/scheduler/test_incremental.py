"""The incremental scheduler answers exactly as ``schedule()`` does.

The daemon plans with :class:`~vigil.scheduler.incremental.IncrementalScheduler`,
which re-plans only the resources a change reaches.  Its answer must be the
from-scratch answer in every field: actions (in order), order edges,
summary, the view of the cluster and the recheck time.  These tests drive it
through random sequences of events (monitor failures, part of a transition
carried out, time passing, configuration and node changes) on random
clusters and on Pacemaker's regression corpus, and compare every plan with
``schedule()`` on the same input.  They also check that the incremental
path is really taken, so that they cannot pass by always planning from
scratch, and that one failure re-plans only the resources linked to it.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections import Counter
from pathlib import Path

import pytest

from vigil.errors import InputError
from vigil.formats.cib.load import load_cib
from vigil.model.cluster import Cluster
from vigil.model.config import NvSet
from vigil.model.transition import Transition
from vigil.output.transition import topological_order
from vigil.scheduler import schedule
from vigil.scheduler.incremental import INTERNAL_ERROR, IncrementalScheduler
from vigil.simulator.from_file import resolve_now
from vigil.simulator.steps import Failure, apply_transition, inject_failure
from vigil.testing.gen_cluster import generate_cluster

CORPUS = Path(
    os.environ.get(
        "VIGIL_PACEMAKER_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "pacemaker-corpus"
    )
)


def _primitive(name: str) -> str:
    return f"""
      <primitive id="{name}" class="ocf" provider="heartbeat" type="Dummy">
        <meta_attributes id="{name}-meta">
          <nvpair id="{name}-mt" name="migration-threshold" value="2"/>
        </meta_attributes>
        <operations><op id="{name}-mon" name="monitor" interval="10s"/></operations>
      </primitive>"""


def _node_state(number: int) -> str:
    return (f'<node_state id="{number}" uname="node{number}" in_ccm="true" crmd="online" '
            f'join="member" expected="member"/>')


# Three nodes, eight resources: "db" and "app" linked (app follows db and
# starts after it), the other six on their own.
SMALL_CIB = f"""<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0"
     admin_epoch="0" have-quorum="1" dc-uuid="1" execution-date="1700000000">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="opt-stonith" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes>{"".join(f'<node id="{i}" uname="node{i}"/>' for i in (1, 2, 3))}</nodes>
    <resources>{"".join(_primitive(n) for n in ("db", "app", "r1", "r2", "r3", "r4", "r5", "r6"))}
    </resources>
    <constraints>
      <rsc_colocation id="app-with-db" rsc="app" with-rsc="db" score="INFINITY"/>
      <rsc_order id="db-then-app" first="db" then="app"/>
    </constraints>
  </configuration>
  <status>{"".join(_node_state(i) for i in (1, 2, 3))}</status>
</cib>""".encode()


def _differences(got: Transition, want: Transition) -> list[str]:
    found = []
    for name in ("actions", "order", "summary", "notes", "view", "recheck_by"):
        if getattr(got, name) != getattr(want, name):
            found.append(name)
    return found


class _Checker:
    """Plans every state both ways and keeps count of how the incremental one answered."""

    def __init__(self) -> None:
        self.scheduler = IncrementalScheduler()
        self.modes: Counter[str] = Counter()

    def plan(self, cluster: Cluster, now: int, where: str) -> Transition:
        got = self.scheduler.schedule(cluster, now)
        mode = self.scheduler.last_mode
        self.modes[mode.split(":", 1)[0]] += 1
        assert INTERNAL_ERROR not in mode, f"{where}: {mode}"
        want = schedule(cluster, now)
        differences = _differences(got, want)
        assert not differences, f"{where} ({mode}): the plans differ in {', '.join(differences)}"
        return want


def _running(transition: Transition) -> list[tuple[str, str]]:
    assert transition.view is not None
    return [(v.id, v.nodes[0]) for v in transition.view.resources
            if v.nodes and v.role == "Started" and not v.failed and v.managed]


def _fail_one(cluster: Cluster, transition: Transition, now: int, rng: random.Random) -> Cluster:
    running = _running(transition)
    if not running:
        return cluster
    rsc, node = rng.choice(running)
    try:
        return inject_failure(cluster, Failure(rsc, node), now)
    except InputError:
        return cluster


def _carry_out_part(cluster: Cluster, transition: Transition, now: int, rng: random.Random) -> Cluster:
    """The status after the first few actions of the plan succeeded, as the
    controller records them one by one."""
    done = topological_order(transition)
    part = done[: rng.randint(1, max(1, len(done)))]
    return apply_transition(cluster, dataclasses.replace(transition, actions=tuple(part)), now)


def _retarget(cluster: Cluster, rng: random.Random) -> Cluster:
    """A configuration change: one top-level resource's target-role flips."""
    config = cluster.config
    if not config.resources:
        return cluster
    index = rng.randrange(len(config.resources))
    rsc = config.resources[index]
    role = rng.choice(["Stopped", "Started"])
    meta = (*rsc.meta, NvSet(id=f"{rsc.id}-test-meta", values=(("target-role", role),)))
    resources = list(config.resources)
    resources[index] = dataclasses.replace(rsc, meta=meta)
    return dataclasses.replace(cluster, config=dataclasses.replace(config, resources=tuple(resources)))


def _standby(cluster: Cluster, rng: random.Random) -> Cluster:
    """A node change: a transient standby attribute set or cleared."""
    nodes = list(cluster.status.nodes)
    if not nodes:
        return cluster
    index = rng.randrange(len(nodes))
    state = nodes[index]
    attributes = dict(state.attributes)
    if attributes.pop("standby", None) is None:
        attributes["standby"] = "on"
    nodes[index] = dataclasses.replace(state, attributes=tuple(sorted(attributes.items())))
    return dataclasses.replace(cluster, status=dataclasses.replace(cluster.status, nodes=tuple(nodes)))


def _random_walk(cluster: Cluster, now: int, seed: int, steps: int, checker: _Checker) -> None:
    rng = random.Random(seed)
    for step in range(steps):
        transition = checker.plan(cluster, now, f"seed {seed} step {step}")
        event = rng.random()
        if event < 0.35:
            cluster = _fail_one(cluster, transition, now, rng)
        elif event < 0.8:
            cluster = _carry_out_part(cluster, transition, now, rng)
        elif event < 0.9:
            now += rng.choice([1, 30, 600, 3600])
        elif event < 0.95:
            cluster = _retarget(cluster, rng)
        else:
            cluster = _standby(cluster, rng)


@pytest.mark.parametrize("chunk", range(4))
def test_random_event_sequences_plan_as_from_scratch(chunk: int) -> None:
    checker = _Checker()
    for seed in range(chunk * 25, chunk * 25 + 25):
        cluster, _ = load_cib(generate_cluster(seed).xml)
        _random_walk(cluster, resolve_now(cluster, None), seed, 20, checker)
    # The comparison is only worth something if the incremental path answered
    # a good share of the plans.
    total = sum(checker.modes.values())
    assert checker.modes["incremental"] >= total // 4, checker.modes


def test_corpus_clusters_plan_as_from_scratch_after_a_failure() -> None:
    files = sorted((CORPUS / "xml").glob("*.xml"))
    if not files:
        pytest.skip(f"no Pacemaker corpus at {CORPUS}")
    checker = _Checker()
    for path in files:
        try:
            cluster, _ = load_cib(path)
        except InputError:
            continue
        now = resolve_now(cluster, None)
        rng = random.Random(path.name)
        transition = checker.plan(cluster, now, path.name)
        for step in range(2):
            cluster = _carry_out_part(cluster, transition, now, rng)
            transition = checker.plan(cluster, now, f"{path.name} after part {step}")
            cluster = _fail_one(cluster, transition, now, rng)
            transition = checker.plan(cluster, now, f"{path.name} after failure {step}")
    assert checker.modes["incremental"] >= 100, checker.modes


def _settled(source: Path | bytes) -> tuple[Cluster, int, IncrementalScheduler]:
    cluster, _ = load_cib(source)
    now = resolve_now(cluster, None)
    scheduler = IncrementalScheduler()
    for _ in range(5):
        transition = scheduler.schedule(cluster, now)
        if not [a for a in transition.actions if not a.pseudo]:
            return cluster, now, scheduler
        cluster = apply_transition(cluster, transition, now)
    raise AssertionError("the cluster does not settle")


@pytest.mark.parametrize(("failing", "replanned"), [("r3", 1), ("app", 2), ("db", 2)])
def test_one_failure_replans_only_what_it_is_linked_to(failing: str, replanned: int) -> None:
    cluster, now, scheduler = _settled(SMALL_CIB)
    transition = scheduler.schedule(cluster, now)
    assert scheduler.last_mode == "unchanged"
    node = dict(_running(transition))[failing]
    failed = inject_failure(cluster, Failure(failing, node), now)
    got = scheduler.schedule(failed, now)
    assert scheduler.last_mode == "incremental"
    assert scheduler.last_replanned == replanned
    assert _differences(got, schedule(failed, now)) == []
    assert got.summary[0].render() == f"* Recover {failing} ( {node} )"


def test_a_move_is_planned_from_scratch() -> None:
    cluster, now, scheduler = _settled(SMALL_CIB)
    transition = scheduler.schedule(cluster, now)
    rsc, node = "r3", dict(_running(transition))["r3"]
    modes = []
    for _ in range(2):
        cluster = inject_failure(cluster, Failure(rsc, node), now)
        got = scheduler.schedule(cluster, now)
        modes.append(scheduler.last_mode)
        assert _differences(got, schedule(cluster, now)) == []
        cluster = apply_transition(cluster, got, now)
        scheduler.schedule(cluster, now)
    # Below migration-threshold the failure is recovered in place; at the
    # threshold the resource leaves the node, which re-plans everything.
    assert modes[0] == "incremental"
    assert any(mode.startswith("full: a resource's placement changed") for mode in modes), modes
