"""Seeded generator of random Pacemaker clusters, written as CIB XML.

Why it exists: vigil claims to schedule like Pacemaker.  The cheapest strong
check of that claim is differential testing -- feed the same random cluster to
vigil and to Pacemaker's own scheduler (``crm_simulate``) and compare the
transition summaries.  That needs a supply of clusters that are *valid* for
Pacemaker 2.1.5 (the version Debian ships), varied enough to reach the corners
(failures, fencing, quorum, constraints, stickiness ...), and reproducible
from a seed so that any disagreement can be replayed.  The generator ships in
the package so that vigil users can fuzz their own builds the same way.

``generate(seed, **knobs)`` returns the CIB as bytes; the same seed and knobs
always give the same bytes.  ``generate_cluster`` also returns the set of
feature tags the cluster exercises, which a differential report uses to group
disagreements by likely cause.

Things that keep the output honest for Pacemaker:

* ``validate-with="pacemaker-3.9"``, ``crm_feature_set="3.16.1"`` and only
  2.x option names (``stonith-enabled``, not ``fencing-enabled``): 2.1.5
  refuses anything newer.
* ``execution-date`` on ``<cib>`` fixes "now", so time never leaks in.
* Operation digests are computed the way Pacemaker does (``op_digest``): a
  wrong digest means "definition changed" to Pacemaker and would turn every
  steady resource into a restart.
* Colocations and orders each follow a random rank order, so neither graph
  has cycles; an unclean node or a failed stop only appears with fencing on,
  where Pacemaker can resolve it.

Extending: the plan is built as data first (``ClusterPlan``) and only then
written.  Resources are top-level objects that yield their primitives
(``TopLevel.primitives()``); groups and clones become new ``TopLevel`` kinds
with their own XML writer and placement of their members' histories, and new
knobs in ``Knobs`` (with defaults that keep existing seeds' meaning where
possible -- bump ``GENERATOR_VERSION`` when a change reshuffles seeds).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from lxml import etree

# Bump when the same (seed, knobs) starts producing a different cluster: any
# seed-keyed list of known differences is then stale.
GENERATOR_VERSION = 1

FEATURE_SET = "3.16.1"  # Pacemaker 2.1.5 refuses newer feature sets
SCHEMA = "pacemaker-3.9"  # newest schema 2.1.5 ships
DC_VERSION = "2.1.5-a3f44794f94"
HISTORY_START = 1700000000  # operation history timestamps count up from here
EXECUTION_DATE = HISTORY_START + 86400  # the simulated "now"
INFINITY = "INFINITY"
UUID_FMT = "00000000-0000-4000-8000-{:012d}"

_T = TypeVar("_T")

NodeState = Literal["online", "down", "absent", "unclean"]
HistoryKind = Literal[
    # active on the node
    "running",  # start rc 0 + recurring monitor rc 0
    "failed_monitor",  # start rc 0 + recurring monitor rc 1 or 7
    "probe_running",  # probe (monitor_0) found it running: rc 0, expected 7
    "failed_start",  # start rc 1; fail-count INFINITY (start-failure-is-fatal)
    "failed_stop",  # stop rc 1; fail-count INFINITY; node needs fencing
    # not active on the node
    "probed_stopped",  # probe rc 7
    "stopped_after_run",  # start rc 0, later stop rc 0
    "stale_failure",  # monitor failed, then stopped: fail-count stays
]


def op_digest(params: Mapping[str, str]) -> str:
    """Pacemaker's ``op-digest`` of an operation's parameters.

    Pacemaker hashes the XML text of a ``<parameters>`` element holding the
    resource's instance attributes (plus ``CRM_meta_timeout`` in ms for a
    recurring op), attributes sorted by name.  Checked against
    ``crm_resource --digests`` of Pacemaker 2.1.5.  Values are expected to
    need no XML escaping (the generator only writes plain words).
    """
    body = "".join(f' {k}="{v}"' for k, v in sorted(params.items()))
    return hashlib.md5(f" <parameters{body}/>\n".encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Knobs:
    """The shape of the random clusters; every probability is in [0, 1].

    Defaults are tuned so that a few hundred seeds reach every feature while
    most clusters still have something to do.  Per-node and per-resource
    probabilities apply independently to each node or resource.
    """

    min_nodes: int = 2
    max_nodes: int = 6
    min_primitives: int = 1
    max_primitives: int = 12
    # cluster
    p_fencing: float = 0.3  # stonith-enabled=true plus a stonith device
    p_no_quorum: float = 0.1  # have-quorum=0 with no-quorum-policy=stop
    p_quorum_policy_stop: float = 0.1  # quorate, but policy stop instead of ignore
    p_asymmetric: float = 0.08  # symmetric-cluster=false
    # nodes
    p_node_offline: float = 0.15
    p_node_standby: float = 0.15
    p_node_shutdown: float = 0.04
    p_unclean: float = 0.35  # per cluster, only with fencing: one node is unclean
    p_offline_history: float = 0.2  # a cleanly offline node keeps stale history (fenced if fencing is on)
    # resources
    p_heartbeat_agent: float = 0.3  # ocf:heartbeat:Dummy instead of ocf:pacemaker:Dummy
    p_params: float = 0.2  # instance attributes (non-constant digests)
    p_explicit_ops: float = 0.2  # start/stop ops with their own timeouts
    p_default_stickiness: float = 0.5
    p_default_migration_threshold: float = 0.1
    p_stickiness: float = 0.15
    p_priority: float = 0.15
    p_target_stopped: float = 0.08
    p_target_started: float = 0.04
    p_migration_threshold: float = 0.25
    p_unmanaged: float = 0.04
    # constraints
    p_location: float = 0.5
    p_second_location: float = 0.2
    p_location_rule: float = 0.35
    p_colocation: float = 0.3
    p_second_colocation: float = 0.15
    p_order: float = 0.3
    # status
    p_active: float = 0.6
    p_multi_active: float = 0.05
    p_failed_monitor: float = 0.15
    p_failed_start: float = 0.08
    p_failed_stop: float = 0.08  # only with fencing
    p_probe_running: float = 0.05
    p_no_history: float = 0.15  # inactive node with no record at all (a probe is due)
    p_stopped_after_run: float = 0.08
    p_stale_failure: float = 0.06
    p_fencing_device_running: float = 0.8


@dataclass
class Node:
    id: int
    name: str
    state: NodeState
    standby: Literal["", "config", "transient"] = ""
    shutdown: bool = False
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def has_node_state(self) -> bool:
        return self.state != "absent"

    @property
    def history_counts(self) -> bool:
        """Pacemaker reads the history of online nodes and of nodes it will fence."""
        return self.state in ("online", "unclean")


@dataclass(frozen=True)
class History:
    """What one primitive's operation history on one node says."""

    kind: HistoryKind
    rc: int = 0  # exit code of the failed operation
    fail_count: str = ""  # value of the fail-count attribute, when one is written


@dataclass
class Primitive:
    id: str
    cls: str
    provider: str | None
    type: str
    params: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    monitor_interval_ms: int = 10000
    monitor_timeout_ms: int = 20000
    explicit_ops: bool = False
    history: dict[str, History] = field(default_factory=dict)  # node name -> history

    def primitives(self) -> Iterator[Primitive]:
        yield self


# Only primitives for now; groups and clones join this union.
TopLevel = Primitive


@dataclass(frozen=True)
class Expr:
    attribute: str
    operation: str
    value: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class Location:
    rsc: str
    score: str
    node: str | None = None
    exprs: tuple[Expr, ...] = ()
    boolean_op: str | None = None


@dataclass(frozen=True)
class Colocation:
    rsc: str
    with_rsc: str
    score: str


@dataclass(frozen=True)
class Order:
    first: str
    then: str
    kind: str
    symmetrical: str | None


@dataclass
class ClusterPlan:
    """Everything decided about one cluster, before any XML is written."""

    options: dict[str, str]
    have_quorum: bool
    nodes: list[Node]
    resources: list[TopLevel]
    fencing_device: Primitive | None
    rsc_defaults: dict[str, str]
    locations: list[Location]
    colocations: list[Colocation]
    orders: list[Order]
    features: set[str]

    @property
    def dc(self) -> Node:
        return next(n for n in self.nodes if n.state == "online")

    def all_primitives(self) -> Iterator[Primitive]:
        if self.fencing_device is not None:
            yield self.fencing_device
        for top in self.resources:
            yield from top.primitives()


@dataclass(frozen=True)
class GeneratedCluster:
    seed: int
    xml: bytes
    features: frozenset[str]


class _Rng:
    """``random.Random`` with the few helpers the planner reads well with."""

    def __init__(self, seed: int) -> None:
        self._r = random.Random(seed)

    def chance(self, p: float) -> bool:
        return self._r.random() < p

    def pick(self, items: Sequence[_T]) -> _T:
        return items[self._r.randrange(len(items))]

    def weighted(self, choices: Sequence[tuple[_T, float]]) -> _T:
        total = sum(w for _, w in choices)
        x = self._r.random() * total
        for item, w in choices:
            x -= w
            if x < 0:
                return item
        return choices[-1][0]

    def randint(self, lo: int, hi: int) -> int:
        return self._r.randint(lo, hi)

    def shuffled(self, items: Sequence[_T]) -> list[_T]:
        out = list(items)
        self._r.shuffle(out)
        return out


# --------------------------------------------------------------------------
# planning


def _score(rng: _Rng, inf: float = 0.25, neg_inf: float = 0.15, neg: float = 0.15) -> str:
    """A constraint score: +/-INFINITY or a finite value of either sign."""
    return rng.weighted(
        [
            (INFINITY, inf),
            ("-" + INFINITY, neg_inf),
            (rng.pick(["-50", "-200", "-1000"]), neg),
            (rng.pick(["10", "50", "100", "200", "1000"]), 1.0 - inf - neg_inf - neg),
        ]
    )


def _plan_nodes(rng: _Rng, k: Knobs, fencing: bool, feats: set[str]) -> list[Node]:
    count = rng.randint(k.min_nodes, k.max_nodes)
    nodes: list[Node] = []
    for i in range(1, count + 1):
        state: NodeState = "online"
        if rng.chance(k.p_node_offline):
            state = rng.pick(["down", "absent"])
            feats.add("offline-node")
        node = Node(i, f"node{i}", state)
        if rng.chance(0.6):
            node.attributes["site"] = rng.pick(["east", "west"])
        if rng.chance(0.7):
            node.attributes["weight"] = str(rng.randint(0, 10))
        if rng.chance(k.p_node_standby):
            node.standby = "transient" if node.has_node_state and rng.chance(0.5) else "config"
            feats.add("standby")
        nodes.append(node)
    if not any(n.state == "online" for n in nodes):
        rng.pick(nodes).state = "online"  # the DC runs somewhere
    dc = next(n for n in nodes if n.state == "online")
    others = [n for n in nodes if n is not dc]
    if fencing and any(n.state == "absent" for n in nodes):
        feats.add("startup-fencing")  # a node never seen is fenced (startup-fencing=true)
    if fencing and others and rng.chance(k.p_unclean):
        rng.pick(others).state = "unclean"
        feats.add("unclean-node")
    for n in others:
        if n.state == "online" and rng.chance(k.p_node_shutdown):
            n.shutdown = True
            feats.add("shutdown")
    return nodes


def _plan_primitive(rng: _Rng, k: Knobs, rid: str, feats: set[str]) -> Primitive:
    provider = "heartbeat" if rng.chance(k.p_heartbeat_agent) else "pacemaker"
    prim = Primitive(rid, "ocf", provider, "Dummy")
    if rng.chance(k.p_params):
        prim.params["fake"] = f"v{rng.randint(1, 99)}"
        if rng.chance(0.5):
            prim.params["state"] = f"/run/vigil-test/{rid}.state"
        feats.add("params")
    prim.monitor_interval_ms = rng.pick([10000, 10000, 20000, 30000])
    prim.monitor_timeout_ms = rng.pick([20000, 20000, 30000])
    prim.explicit_ops = rng.chance(k.p_explicit_ops)
    if rng.chance(k.p_stickiness):
        prim.meta["resource-stickiness"] = rng.pick(["0", "50", "100", "1000", INFINITY])
        feats.add("stickiness")
    if rng.chance(k.p_priority):
        prim.meta["priority"] = str(rng.randint(1, 10))
        feats.add("priority")
    if rng.chance(k.p_target_stopped):
        prim.meta["target-role"] = "Stopped"
        feats.add("target-stopped")
    elif rng.chance(k.p_target_started):
        prim.meta["target-role"] = "Started"
    if rng.chance(k.p_migration_threshold):
        prim.meta["migration-threshold"] = str(rng.randint(1, 3))
        feats.add("migration-threshold")
    if rng.chance(k.p_unmanaged):
        prim.meta["is-managed"] = "false"
        feats.add("unmanaged")
    return prim


def _plan_expr(rng: _Rng, nodes: list[Node]) -> Expr:
    kind = rng.weighted([("uname", 0.35), ("defined", 0.2), ("string", 0.15), ("number", 0.3)])
    if kind == "uname":
        return Expr("#uname", rng.pick(["eq", "ne"]), rng.pick(nodes).name)
    if kind == "defined":
        return Expr("site", rng.pick(["defined", "not_defined"]))
    if kind == "string":
        return Expr("site", rng.pick(["eq", "ne"]), rng.pick(["east", "west"]))
    return Expr("weight", rng.pick(["lt", "gt", "lte", "gte"]), str(rng.randint(0, 10)), "number")


def _plan_constraints(
    rng: _Rng, k: Knobs, plan: ClusterPlan, feats: set[str]
) -> None:
    ids = [r.id for r in plan.resources]
    for rid in ids:
        if not rng.chance(k.p_location):
            continue
        for _ in range(2 if rng.chance(k.p_second_location) else 1):
            score = _score(rng)
            if rng.chance(k.p_location_rule):
                n_expr = 2 if rng.chance(0.25) else 1
                exprs = tuple(_plan_expr(rng, plan.nodes) for _ in range(n_expr))
                bop = rng.pick(["and", "or"]) if n_expr > 1 else None
                plan.locations.append(Location(rid, score, exprs=exprs, boolean_op=bop))
                feats.add("location-rule")
            else:
                plan.locations.append(Location(rid, score, node=rng.pick(plan.nodes).name))
                feats.add("location")

    # Colocations: a dependent only ever follows a resource of lower rank.
    rank = rng.shuffled(ids)
    pairs: set[tuple[str, str]] = set()
    for i in range(1, len(rank)):
        if not rng.chance(k.p_colocation):
            continue
        for _ in range(2 if rng.chance(k.p_second_colocation) else 1):
            with_rsc = rank[rng.randint(0, i - 1)]
            if (rank[i], with_rsc) in pairs:
                continue
            pairs.add((rank[i], with_rsc))
            score = _score(rng, inf=0.4, neg_inf=0.15, neg=0.1)
            plan.colocations.append(Colocation(rank[i], with_rsc, score))
            feats.add("colocation-" + ("inf" if score == INFINITY else
                                        "neg-inf" if score == "-" + INFINITY else "finite"))

    # Orders: first always has the lower rank (an independent ranking).
    rank = rng.shuffled(ids)
    for i in range(1, len(rank)):
        if not rng.chance(k.p_order):
            continue
        first = rank[rng.randint(0, i - 1)]
        kind = "Mandatory" if rng.chance(0.6) else "Optional"
        sym = rng.weighted([(None, 0.6), ("true", 0.2), ("false", 0.2)])
        plan.orders.append(Order(first, rank[i], kind, sym))
        feats.add("order-" + kind.lower() + ("-asymmetric" if sym == "false" else ""))


def _plan_history(rng: _Rng, k: Knobs, plan: ClusterPlan, fencing: bool, feats: set[str]) -> None:
    hosts = [n for n in plan.nodes if n.history_counts]
    for prim in (p for top in plan.resources for p in top.primitives()):
        active: list[Node] = []
        if hosts and rng.chance(k.p_active):
            active.append(rng.pick(hosts))
            if len(hosts) > 1 and rng.chance(k.p_multi_active):
                active.append(rng.pick([n for n in hosts if n is not active[0]]))
                feats.add("multi-active")
        for idx, node in enumerate(active):
            kind: HistoryKind = rng.weighted(
                [
                    ("failed_monitor", k.p_failed_monitor),
                    ("failed_start", k.p_failed_start),
                    ("failed_stop", k.p_failed_stop if fencing else 0.0),
                    ("probe_running", k.p_probe_running + (0.5 if idx else 0.0)),
                    ("running", 1.0),
                ]
            )
            feats.add(kind.replace("_", "-"))
            if kind == "failed_monitor":
                prim.history[node.name] = History(kind, rng.pick([1, 7]), str(rng.randint(1, 3)))
            elif kind in ("failed_start", "failed_stop"):
                prim.history[node.name] = History(kind, 1, INFINITY)
            else:
                prim.history[node.name] = History(kind)
        for node in plan.nodes:
            if node in active:
                continue
            if node.history_counts:
                maybe: HistoryKind | None = rng.weighted(
                    [
                        (None, k.p_no_history),
                        ("stopped_after_run", k.p_stopped_after_run),
                        ("stale_failure", k.p_stale_failure),
                        ("probed_stopped", 1.0),
                    ]
                )
                if maybe == "stale_failure":
                    prim.history[node.name] = History(maybe, 7, str(rng.randint(1, 3)))
                    feats.add("stale-failure")
                elif maybe is not None:
                    prim.history[node.name] = History(maybe)
            elif node.state == "down" and rng.chance(k.p_offline_history):
                # Pacemaker ignores the history of cleanly stopped nodes.
                prim.history[node.name] = History("running")
                feats.add("offline-history")


def plan_cluster(seed: int, knobs: Knobs) -> ClusterPlan:
    """Decide everything about the cluster of ``seed``; no XML yet."""
    rng = _Rng(seed)
    k = knobs
    feats: set[str] = set()
    fencing = rng.chance(k.p_fencing)
    have_quorum = not rng.chance(k.p_no_quorum)
    options = {
        "have-watchdog": "false",
        "dc-version": DC_VERSION,
        "cluster-infrastructure": "corosync",
        "cluster-name": "vigil-diff",
        "stonith-enabled": "true" if fencing else "false",
        "no-quorum-policy": "ignore",
    }
    if fencing:
        feats.add("fencing")
    if not have_quorum or rng.chance(k.p_quorum_policy_stop):
        options["no-quorum-policy"] = "stop"
        feats.add("no-quorum" if not have_quorum else "quorum-policy-stop")
    if rng.chance(k.p_asymmetric):
        options["symmetric-cluster"] = "false"
        feats.add("asymmetric")

    nodes = _plan_nodes(rng, k, fencing, feats)
    count = rng.randint(k.min_primitives, k.max_primitives)
    resources = [_plan_primitive(rng, k, f"rsc{i}", feats) for i in range(1, count + 1)]
    rsc_defaults: dict[str, str] = {}
    if rng.chance(k.p_default_stickiness):
        rsc_defaults["resource-stickiness"] = rng.pick(["0", "50", "100", "100", INFINITY])
        feats.add("default-stickiness")
    if rng.chance(k.p_default_migration_threshold):
        rsc_defaults["migration-threshold"] = str(rng.randint(1, 3))
        feats.add("migration-threshold")

    device: Primitive | None = None
    if fencing:
        device = Primitive("fencing", "stonith", None, "fence_dummy")
        device.monitor_interval_ms = 60000
        dc = next(n for n in nodes if n.state == "online")
        for n in nodes:
            if n.state != "online":
                continue
            if n is dc and rng.chance(k.p_fencing_device_running):
                device.history[n.name] = History("running")
            else:
                device.history[n.name] = History("probed_stopped")

    plan = ClusterPlan(options, have_quorum, nodes, resources, device, rsc_defaults, [], [], [], feats)
    _plan_constraints(rng, k, plan, feats)
    _plan_history(rng, k, plan, fencing, feats)
    return plan


# --------------------------------------------------------------------------
# writing


def _sub(parent: etree._Element, tag: str, **attrs: str | None) -> etree._Element:
    """A child element; attributes given as ``None`` are left out.

    CIB attribute names are not Python identifiers, so keywords spell them:
    a trailing ``_`` is dropped (``class_`` -> ``class``) and ``__`` is a
    dash (``call__id`` -> ``call-id``, ``with__rsc`` -> ``with-rsc``).
    """
    el = etree.SubElement(parent, tag)
    for name, value in attrs.items():
        if value is not None:
            el.set(name.rstrip("_").replace("__", "-"), value)
    return el


def _nvset(parent: etree._Element, tag: str, set_id: str, pairs: Mapping[str, str]) -> None:
    if not pairs:
        return
    nvs = _sub(parent, tag, id=set_id)
    for name, value in pairs.items():
        # '#' (in fail-count names) is not allowed in an XML ID
        _sub(nvs, "nvpair", id=f"{set_id}-{name}".replace("#", "."), name=name, value=value)


def _seconds(ms: int) -> str:
    return f"{ms // 1000}s"


def _write_primitive(parent: etree._Element, prim: Primitive) -> None:
    el = _sub(parent, "primitive", id=prim.id, class_=prim.cls, provider=prim.provider, type=prim.type)
    _nvset(el, "instance_attributes", f"{prim.id}-instance_attributes", prim.params)
    _nvset(el, "meta_attributes", f"{prim.id}-meta_attributes", prim.meta)
    ops = _sub(el, "operations")
    mon = _seconds(prim.monitor_interval_ms)
    _sub(ops, "op", id=f"{prim.id}-monitor-interval-{mon}", name="monitor", interval=mon,
         timeout=_seconds(prim.monitor_timeout_ms))
    if prim.explicit_ops:
        _sub(ops, "op", id=f"{prim.id}-start-interval-0s", name="start", interval="0s", timeout="60s")
        _sub(ops, "op", id=f"{prim.id}-stop-interval-0s", name="stop", interval="0s", timeout="45s")


def _write_configuration(cib: etree._Element, plan: ClusterPlan) -> None:
    conf = _sub(cib, "configuration")
    crm_config = _sub(conf, "crm_config")
    _nvset(crm_config, "cluster_property_set", "cib-bootstrap-options", plan.options)
    nodes = _sub(conf, "nodes")
    for n in plan.nodes:
        el = _sub(nodes, "node", id=str(n.id), uname=n.name)
        attrs = dict(n.attributes)
        if n.standby == "config":
            attrs["standby"] = "on"
        _nvset(el, "instance_attributes", f"nodes-{n.id}", attrs)
    resources = _sub(conf, "resources")
    for prim in plan.all_primitives():
        _write_primitive(resources, prim)
    constraints = _sub(conf, "constraints")
    for i, loc in enumerate(plan.locations, 1):
        lid = f"loc-{i}"
        if loc.node is not None:
            _sub(constraints, "rsc_location", id=lid, rsc=loc.rsc, node=loc.node, score=loc.score)
            continue
        el = _sub(constraints, "rsc_location", id=lid, rsc=loc.rsc)
        rule = _sub(el, "rule", id=f"{lid}-rule", score=loc.score, boolean__op=loc.boolean_op)
        for j, e in enumerate(loc.exprs, 1):
            _sub(rule, "expression", id=f"{lid}-rule-expr-{j}", attribute=e.attribute,
                 operation=e.operation, value=e.value, type=e.type)
    for i, col in enumerate(plan.colocations, 1):
        _sub(constraints, "rsc_colocation", id=f"col-{i}", rsc=col.rsc, with__rsc=col.with_rsc,
             score=col.score)
    for i, o in enumerate(plan.orders, 1):
        _sub(constraints, "rsc_order", id=f"ord-{i}", first=o.first, then=o.then, kind=o.kind,
             symmetrical=o.symmetrical)
    if plan.rsc_defaults:
        _nvset(_sub(conf, "rsc_defaults"), "meta_attributes", "rsc-options", plan.rsc_defaults)


class _NodeHistoryWriter:
    """Writes one node's ``<lrm>``: call ids and timestamps count up per node."""

    def __init__(self, lrm_resources: etree._Element, node: Node) -> None:
        self.parent = lrm_resources
        self.node = node
        self.call = 0
        self.transition = 0

    def op(self, rsc_el: etree._Element, record_id: str, prim: Primitive, task: str, interval_ms: int,
           rc: int, target_rc: int, digest: str) -> None:
        self.call += 1
        key = f"{self.call}:{self.transition}:{target_rc}:{UUID_FMT.format(1)}"
        when = str(HISTORY_START + 60 * self.call)
        _sub(rsc_el, "lrm_rsc_op", id=record_id, operation_key=f"{prim.id}_{task}_{interval_ms}",
             operation=task, crm__debug__origin="do_update_resource", crm_feature_set=FEATURE_SET,
             transition__key=key, transition__magic=f"0:{rc};{key}", exit__reason="",
             on_node=self.node.name, call__id=str(self.call), rc__code=str(rc), op__status="0",
             interval=str(interval_ms), last__rc__change=when, exec__time="12", queue__time="0",
             op__digest=digest)

    def resource(self, prim: Primitive, hist: History) -> None:
        el = _sub(self.parent, "lrm_resource", id=prim.id, class_=prim.cls, provider=prim.provider,
                  type=prim.type)
        plain = op_digest(prim.params)
        mon_ms = prim.monitor_interval_ms
        mon_digest = op_digest({**prim.params, "CRM_meta_timeout": str(prim.monitor_timeout_ms)})
        last, failure, mon = f"{prim.id}_last_0", f"{prim.id}_last_failure_0", f"{prim.id}_monitor_{mon_ms}"
        kind = hist.kind
        if kind in ("probed_stopped", "probe_running"):
            self.op(el, last, prim, "monitor", 0, 7 if kind == "probed_stopped" else 0, 7, plain)
            return
        if kind == "failed_start":
            self.op(el, last, prim, "start", 0, hist.rc, 0, plain)
            self.call -= 1  # the failure record is the same operation
            self.op(el, failure, prim, "start", 0, hist.rc, 0, plain)
            return
        self.op(el, last, prim, "start", 0, 0, 0, plain)
        if kind == "running":
            self.op(el, mon, prim, "monitor", mon_ms, 0, 0, mon_digest)
        elif kind == "failed_monitor":
            self.op(el, mon, prim, "monitor", mon_ms, hist.rc, 0, mon_digest)
            self.call -= 1
            self.op(el, failure, prim, "monitor", mon_ms, hist.rc, 0, mon_digest)
        elif kind == "stale_failure":
            self.op(el, failure, prim, "monitor", mon_ms, hist.rc, 0, mon_digest)
        if kind in ("stopped_after_run", "stale_failure", "failed_stop"):
            # the stop replaces the start as the last record
            el.remove(el[0])
            rc = hist.rc if kind == "failed_stop" else 0
            self.op(el, last, prim, "stop", 0, rc, 0, plain)
            if kind == "failed_stop":
                self.call -= 1
                self.op(el, failure, prim, "stop", 0, rc, 0, plain)


def _fail_attributes(node: Node, prims: Iterator[Primitive]) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for prim in prims:
        hist = prim.history.get(node.name)
        if hist is None or not hist.fail_count:
            continue
        op = {"failed_start": "start_0", "failed_stop": "stop_0"}.get(
            hist.kind, f"monitor_{prim.monitor_interval_ms}")
        attrs[f"fail-count-{prim.id}#{op}"] = hist.fail_count
        attrs[f"last-failure-{prim.id}#{op}"] = str(HISTORY_START + 3600)
    return attrs


_NODE_STATE_ATTRS: dict[str, dict[str, str]] = {
    "online": {"in_ccm": "true", "crmd": "online", "join": "member", "expected": "member"},
    "down": {"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "down"},
    "unclean": {"in_ccm": "false", "crmd": "offline", "join": "member", "expected": "member"},
}


def _write_status(cib: etree._Element, plan: ClusterPlan) -> None:
    status = _sub(cib, "status")
    for node in plan.nodes:
        if not node.has_node_state:
            continue
        ns = _sub(status, "node_state", id=str(node.id), uname=node.name,
                  crm__debug__origin="do_update_resource")
        for name, value in _NODE_STATE_ATTRS[node.state].items():
            ns.set(name, value)
        transient = {}
        if node.standby == "transient":
            transient["standby"] = "on"
        if node.shutdown:
            transient["shutdown"] = str(EXECUTION_DATE - 30)
        transient.update(_fail_attributes(node, plan.all_primitives()))
        if transient:
            ta = _sub(ns, "transient_attributes", id=str(node.id))
            _nvset(ta, "instance_attributes", f"status-{node.id}", transient)
        lrm = _sub(ns, "lrm", id=str(node.id))
        writer = _NodeHistoryWriter(_sub(lrm, "lrm_resources"), node)
        for prim in plan.all_primitives():
            hist = prim.history.get(node.name)
            if hist is not None:
                writer.resource(prim, hist)


def render_cib(plan: ClusterPlan) -> bytes:
    """The CIB XML of ``plan``, as Pacemaker 2.1.5 loads it."""
    cib = etree.Element("cib")
    for name, value in (
        ("crm_feature_set", FEATURE_SET), ("validate-with", SCHEMA), ("epoch", "1"),
        ("num_updates", "0"), ("admin_epoch", "0"), ("have-quorum", "1" if plan.have_quorum else "0"),
        ("dc-uuid", str(plan.dc.id)), ("execution-date", str(EXECUTION_DATE)),
    ):
        cib.set(name, value)
    _write_configuration(cib, plan)
    _write_status(cib, plan)
    return etree.tostring(cib, pretty_print=True, encoding="UTF-8", xml_declaration=False)


def generate_cluster(seed: int, **knobs: Any) -> GeneratedCluster:
    """The cluster of ``seed`` with its feature tags (see the module docstring).

    ``knobs`` override fields of ``Knobs``; an unknown name raises ``TypeError``.
    """
    plan = plan_cluster(seed, Knobs(**knobs))
    return GeneratedCluster(seed, render_cib(plan), frozenset(plan.features))


def generate(seed: int, **knobs: Any) -> bytes:
    """The CIB XML of the random cluster of ``seed``; deterministic."""
    return generate_cluster(seed, **knobs).xml


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vigil.testing.gen_cluster SEED [-o FILE]``: write one cluster."""
    ap = argparse.ArgumentParser(description="Write the random Pacemaker CIB of a seed.")
    ap.add_argument("seed", type=int)
    ap.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    ap.add_argument("--features", action="store_true", help="print the feature tags to stderr")
    args = ap.parse_args(argv)
    gen = generate_cluster(args.seed)
    if args.output is None:
        sys.stdout.buffer.write(gen.xml)
    else:
        args.output.write_bytes(gen.xml)
    if args.features:
        print(" ".join(sorted(gen.features)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
