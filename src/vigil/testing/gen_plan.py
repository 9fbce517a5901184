"""The random cluster as data: what ``vigil.testing.gen_cluster`` decides before writing XML.

``plan_cluster(seed, knobs)`` draws every decision -- nodes, resources
(primitives, groups, anonymous and globally-unique clones, cloned groups),
constraints and each resource instance's operation history -- from one
seeded ``random.Random`` and returns a ``ClusterPlan``;
``vigil.testing.gen_xml`` turns that into CIB XML.  Keeping the two apart
means a new feature is a planning change (a knob, a decision, a tag) and, at
most, a new element in the writer.

Rules that keep a plan valid for Pacemaker 2.1.5 and free of unresolvable
situations:

* colocations and orders each follow a random rank of the top-level
  resources (a constraint may name a member of an uncloned group, but it is
  ranked as its group), so neither graph has cycles;
* an unclean node or a failed stop only appears with fencing on;
* only globally-unique clones get ``clone-node-max`` (2.1.5 rejects more than
  one instance per node for anonymous clones);
* no promotable clones, notifications, bundles, resource sets or remote
  nodes: vigil does not claim them.

How Pacemaker records clone instances (and so how the plan keys histories):
an anonymous instance's ``lrm_resource`` id is the primitive id without an
instance number -- current Pacemaker strips it -- though old Pacemaker wrote
``rsc:N`` and 2.1.5 still maps those (``anon-instance-suffix``); a
globally-unique instance is always ``rsc:N``.  Fail-count attributes are
named after the same id (``fail-count-rsc#monitor_10000`` for an anonymous
instance, ``fail-count-rsc:1#monitor_10000`` for a unique one).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

# Bump when the same (seed, knobs) starts producing a different cluster: any
# seed-keyed list of known differences is then stale.
GENERATOR_VERSION = 2

FEATURE_SET = "3.16.1"  # Pacemaker 2.1.5 refuses newer feature sets
SCHEMA = "pacemaker-3.9"  # newest schema 2.1.5 ships
DC_VERSION = "2.1.5-a3f44794f94"
HISTORY_START = 1700000000  # operation history timestamps count up from here
EXECUTION_DATE = HISTORY_START + 86400  # the simulated "now"
INFINITY = "INFINITY"

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
ACTIVE_KINDS: frozenset[str] = frozenset(
    {"running", "failed_monitor", "probe_running", "failed_start", "failed_stop"})


def op_digest(params: Mapping[str, str]) -> str:
    """Pacemaker's ``op-digest`` of an operation's parameters.

    Pacemaker hashes the XML text of a ``<parameters>`` element holding the
    resource's instance attributes (plus ``CRM_meta_timeout`` in ms for a
    recurring op), attributes sorted by name.  Checked against
    ``crm_resource --digests`` of Pacemaker 2.1.5; clone instances hash the
    same (their ``CRM_meta_clone*`` parameters are filtered out).  Values are
    expected to need no XML escaping (the generator only writes plain words).
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
    min_resources: int = 1  # top-level resources: primitives, groups, clones
    max_resources: int = 8
    max_primitives: int = 14  # cap on primitives (group members count), not instances
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
    # kinds of top-level resource (per resource; the rest are primitives)
    p_group: float = 0.2
    p_clone: float = 0.17  # a clone of one primitive
    p_cloned_group: float = 0.08
    p_unique: float = 0.35  # a clone is globally-unique
    # groups
    p_group_meta: float = 0.35  # group-level target-role / is-managed / stickiness / ...
    p_group_partial: float = 0.15  # only the first members of an active group run
    p_group_split: float = 0.08  # one member of an active group runs elsewhere
    p_member_ref: float = 0.1  # a constraint names a member of an (uncloned) group
    # clones
    p_clone_meta: float = 0.35  # clone-level target-role / is-managed / stickiness / ...
    p_clone_max: float = 0.5
    p_clone_node_max: float = 0.5  # unique clones only: clone-node-max 1 or 2
    p_clone_min: float = 0.1
    p_interleave: float = 0.6  # interleave is written (true or false, evenly)
    p_ordered: float = 0.15
    p_clone_active: float = 0.6  # per node (anonymous) or per instance (unique)
    p_clone_excess: float = 0.15  # more active instances than clone-max / clone-node-max allow
    p_clone_orphan: float = 0.1  # unique: an instance numbered beyond clone-max is active
    p_anon_instance_suffix: float = 0.1  # anonymous history written as rsc:N (old Pacemaker)
    p_require_all_false: float = 0.25  # an order whose first is a clone: require-all=false
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
    """What one resource instance's operation history on one node says."""

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
    # (node name, lrm_resource id) -> history; the id is the primitive's own
    # id, or ``id:N`` for a clone instance recorded with its number
    history: dict[tuple[str, str], History] = field(default_factory=dict)

    def primitives(self) -> Iterator[Primitive]:
        yield self


@dataclass
class Group:
    id: str
    members: list[Primitive]
    meta: dict[str, str] = field(default_factory=dict)

    def primitives(self) -> Iterator[Primitive]:
        yield from self.members


@dataclass
class Clone:
    id: str
    child: Primitive | Group
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def unique(self) -> bool:
        return self.meta.get("globally-unique") == "true"

    def primitives(self) -> Iterator[Primitive]:
        yield from self.child.primitives()


TopLevel = Primitive | Group | Clone


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
    require_all: str | None = None


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
# configuration


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


def _plan_meta(rng: _Rng, k: Knobs, meta: dict[str, str], feats: set[str], scale: float = 1.0) -> None:
    """The resource-level meta attributes a primitive, group or clone may carry.

    ``scale`` multiplies the probabilities; a group or clone that was chosen
    to carry meta attributes draws them at a higher rate so it gets some.
    """
    if rng.chance(k.p_stickiness * scale):
        meta["resource-stickiness"] = rng.pick(["0", "50", "100", "1000", INFINITY])
        feats.add("stickiness")
    if rng.chance(k.p_priority * scale):
        meta["priority"] = str(rng.randint(1, 10))
        feats.add("priority")
    if rng.chance(k.p_target_stopped * scale):
        meta["target-role"] = "Stopped"
        feats.add("target-stopped")
    elif rng.chance(k.p_target_started * scale):
        meta["target-role"] = "Started"
    if rng.chance(k.p_migration_threshold * scale):
        meta["migration-threshold"] = str(rng.randint(1, 3))
        feats.add("migration-threshold")
    if rng.chance(k.p_unmanaged * scale):
        meta["is-managed"] = "false"
        feats.add("unmanaged")


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
    _plan_meta(rng, k, prim.meta, feats)
    return prim


class _Namer:
    """Hands out primitive ids ``rsc1, rsc2 ...`` and group ids ``grp1 ...``."""

    def __init__(self) -> None:
        self.primitives = 0
        self.groups = 0

    def primitive(self) -> str:
        self.primitives += 1
        return f"rsc{self.primitives}"

    def group(self) -> str:
        self.groups += 1
        return f"grp{self.groups}"


def _plan_group(rng: _Rng, k: Knobs, names: _Namer, size: int, feats: set[str]) -> Group:
    group = Group(names.group(), [_plan_primitive(rng, k, names.primitive(), feats) for _ in range(size)])
    feats.add("group")
    if rng.chance(k.p_group_meta):
        _plan_meta(rng, k, group.meta, feats, scale=3.0)
        if group.meta:
            feats.add("group-meta")
    return group


def _plan_clone(rng: _Rng, k: Knobs, child: Primitive | Group, n_nodes: int, feats: set[str]) -> Clone:
    clone = Clone(f"{child.id}-clone", child)
    unique = rng.chance(k.p_unique)
    feats.add("cloned-group" if isinstance(child, Group) else "clone")
    node_max = 1
    if unique:
        clone.meta["globally-unique"] = "true"
        feats.add("clone-unique")
        if rng.chance(k.p_clone_node_max):
            node_max = rng.pick([1, 2])
            clone.meta["clone-node-max"] = str(node_max)
            feats.add("clone-node-max")
    elif rng.chance(0.15):
        clone.meta["globally-unique"] = "false"
    if rng.chance(k.p_clone_max):
        clone_max = rng.weighted([(rng.randint(1, max(1, n_nodes * node_max - 1)), 0.6),
                                  (n_nodes * node_max, 0.25), (n_nodes * node_max + 1, 0.15)])
        clone.meta["clone-max"] = str(clone_max)
        feats.add("clone-max")
        if clone_max < n_nodes:
            feats.add("clone-max-below-nodes")
    if rng.chance(k.p_clone_min):
        clone.meta["clone-min"] = str(rng.randint(1, max(1, min(3, _clone_max(clone, n_nodes)))))
        feats.add("clone-min")
    if rng.chance(k.p_interleave):
        clone.meta["interleave"] = rng.pick(["true", "false"])
        if clone.meta["interleave"] == "true":
            feats.add("interleave")
    if rng.chance(k.p_ordered):
        clone.meta["ordered"] = "true"
        feats.add("clone-ordered")
    if rng.chance(k.p_clone_meta):
        before = len(clone.meta)
        _plan_meta(rng, k, clone.meta, feats, scale=3.0)
        if len(clone.meta) > before:
            feats.add("clone-meta")
    return clone


def _clone_max(clone: Clone, n_nodes: int) -> int:
    """Pacemaker's clone-max: as configured, else the number of configured nodes."""
    return int(clone.meta.get("clone-max", str(n_nodes)))


def _plan_resources(rng: _Rng, k: Knobs, n_nodes: int, feats: set[str]) -> list[TopLevel]:
    names = _Namer()
    resources: list[TopLevel] = []
    for _ in range(rng.randint(k.min_resources, k.max_resources)):
        room = k.max_primitives - names.primitives
        if room <= 0:
            break
        kind = rng.weighted([("group", k.p_group), ("clone", k.p_clone),
                             ("cloned-group", k.p_cloned_group),
                             ("primitive", max(0.0, 1.0 - k.p_group - k.p_clone - k.p_cloned_group))])
        if kind in ("group", "cloned-group") and room >= 2:
            group = _plan_group(rng, k, names, min(room, rng.randint(2, 4)), feats)
            resources.append(group if kind == "group" else _plan_clone(rng, k, group, n_nodes, feats))
        elif kind == "clone":
            resources.append(_plan_clone(rng, k, _plan_primitive(rng, k, names.primitive(), feats),
                                         n_nodes, feats))
        else:
            resources.append(_plan_primitive(rng, k, names.primitive(), feats))
    return resources


def _plan_expr(rng: _Rng, nodes: list[Node]) -> Expr:
    kind = rng.weighted([("uname", 0.35), ("defined", 0.2), ("string", 0.15), ("number", 0.3)])
    if kind == "uname":
        return Expr("#uname", rng.pick(["eq", "ne"]), rng.pick(nodes).name)
    if kind == "defined":
        return Expr("site", rng.pick(["defined", "not_defined"]))
    if kind == "string":
        return Expr("site", rng.pick(["eq", "ne"]), rng.pick(["east", "west"]))
    return Expr("weight", rng.pick(["lt", "gt", "lte", "gte"]), str(rng.randint(0, 10)), "number")


def _kind(top: TopLevel) -> str:
    if isinstance(top, Clone):
        return "clone"
    return "group" if isinstance(top, Group) else "primitive"


def _pair_tag(prefix: str, a: TopLevel, b: TopLevel) -> str:
    """``colocation-clone-clone``, ``order-clone-group`` ...: what a constraint joins."""
    ka, kb = sorted((_kind(a), _kind(b)))
    return f"{prefix}-{ka}-{kb}"


def _can_colocate(dependent: TopLevel, primary: TopLevel) -> bool:
    """Pacemaker refuses (a configuration error) to interleave a colocation
    between clones with different numbers of instances per node."""
    if not (isinstance(dependent, Clone) and isinstance(primary, Clone)):
        return True
    if dependent.meta.get("interleave") != "true":
        return True
    return dependent.meta.get("clone-node-max", "1") == primary.meta.get("clone-node-max", "1")


def _plan_constraints(rng: _Rng, k: Knobs, plan: ClusterPlan, feats: set[str]) -> None:
    tops = {top.id: top for top in plan.resources}

    def ref(top: TopLevel) -> str:
        """The id a constraint names: the resource, or now and then a group member."""
        if isinstance(top, Group) and rng.chance(k.p_member_ref):
            feats.add("member-constraint")
            return rng.pick(top.members).id
        return top.id

    for top in plan.resources:
        if not rng.chance(k.p_location):
            continue
        for _ in range(2 if rng.chance(k.p_second_location) else 1):
            score = _score(rng)
            rid = ref(top)
            if isinstance(top, Clone):
                feats.add("location-clone")
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
    rank = rng.shuffled(list(tops))
    pairs: set[tuple[str, str]] = set()
    for i in range(1, len(rank)):
        if not rng.chance(k.p_colocation):
            continue
        for _ in range(2 if rng.chance(k.p_second_colocation) else 1):
            with_top = rank[rng.randint(0, i - 1)]
            if (rank[i], with_top) in pairs or not _can_colocate(tops[rank[i]], tops[with_top]):
                continue
            pairs.add((rank[i], with_top))
            score = _score(rng, inf=0.4, neg_inf=0.15, neg=0.1)
            plan.colocations.append(Colocation(ref(tops[rank[i]]), ref(tops[with_top]), score))
            feats.add("colocation-" + ("inf" if score == INFINITY else
                                        "neg-inf" if score == "-" + INFINITY else "finite"))
            if _kind(tops[rank[i]]) != "primitive" or _kind(tops[with_top]) != "primitive":
                feats.add(_pair_tag("colocation", tops[rank[i]], tops[with_top]))

    # Orders: first always has the lower rank (an independent ranking).
    rank = rng.shuffled(list(tops))
    for i in range(1, len(rank)):
        if not rng.chance(k.p_order):
            continue
        first, then = tops[rank[rng.randint(0, i - 1)]], tops[rank[i]]
        kind = "Mandatory" if rng.chance(0.6) else "Optional"
        sym = rng.weighted([(None, 0.6), ("true", 0.2), ("false", 0.2)])
        require_all = None
        if isinstance(first, Clone) and rng.chance(k.p_require_all_false):
            require_all = "false"
            feats.add("require-all-false")
        plan.orders.append(Order(ref(first), ref(then), kind, sym, require_all))
        feats.add("order-" + kind.lower() + ("-asymmetric" if sym == "false" else ""))
        if _kind(first) != "primitive" or _kind(then) != "primitive":
            feats.add(_pair_tag("order", first, then))


# --------------------------------------------------------------------------
# status


class _HistoryPlanner:
    """Draws the operation history of every resource instance on every node."""

    def __init__(self, rng: _Rng, k: Knobs, plan: ClusterPlan, fencing: bool) -> None:
        self.rng, self.k, self.plan, self.fencing = rng, k, plan, fencing
        self.feats = plan.features
        self.hosts = [n for n in plan.nodes if n.history_counts]

    # one record ------------------------------------------------------------

    def active(self, prim: Primitive, node: Node, lrm_id: str, second: bool = False) -> History:
        """A record of ``prim`` (as ``lrm_id``) active on ``node``."""
        rng, k = self.rng, self.k
        kind: HistoryKind = rng.weighted(
            [
                ("failed_monitor", k.p_failed_monitor),
                ("failed_start", k.p_failed_start),
                ("failed_stop", k.p_failed_stop if self.fencing else 0.0),
                ("probe_running", k.p_probe_running + (0.5 if second else 0.0)),
                ("running", 1.0),
            ]
        )
        self.feats.add(kind.replace("_", "-"))
        if kind == "failed_monitor":
            hist = History(kind, rng.pick([1, 7]), str(rng.randint(1, 3)))
        elif kind in ("failed_start", "failed_stop"):
            hist = History(kind, 1, INFINITY)
        else:
            hist = History(kind)
        prim.history[(node.name, lrm_id)] = hist
        return hist

    def inactive(self, prim: Primitive, node: Node, lrm_id: str) -> None:
        """Maybe a record of ``prim`` (as ``lrm_id``) not active on ``node``."""
        rng, k = self.rng, self.k
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
                prim.history[(node.name, lrm_id)] = History(maybe, 7, str(rng.randint(1, 3)))
                self.feats.add("stale-failure")
            elif maybe is not None:
                prim.history[(node.name, lrm_id)] = History(maybe)
        elif node.state == "down" and rng.chance(k.p_offline_history):
            # Pacemaker ignores the history of cleanly stopped nodes.
            prim.history[(node.name, lrm_id)] = History("running")
            self.feats.add("offline-history")

    def members_on(self, members: Sequence[Primitive], node: Node, suffix: str, partial: bool) -> None:
        """A group (instance) active on ``node``: all members, or its first ones.

        A member whose start failed ends the run: later members did not start.
        """
        running = len(members)
        if partial and running > 1:
            running = self.rng.randint(1, running - 1)
            self.feats.add("group-partial")
        for i, member in enumerate(members):
            if i < running:
                if self.active(member, node, member.id + suffix).kind == "failed_start":
                    running = i + 1
            else:
                self.inactive(member, node, member.id + suffix)

    # resources ---------------------------------------------------------------

    def run(self) -> None:
        for top in self.plan.resources:
            if isinstance(top, Primitive):
                self.primitive(top)
            elif isinstance(top, Group):
                self.group(top)
            elif top.unique:
                self.unique_clone(top)
            else:
                self.anonymous_clone(top)

    def primitive(self, prim: Primitive) -> None:
        rng, hosts = self.rng, self.hosts
        active: list[Node] = []
        if hosts and rng.chance(self.k.p_active):
            active.append(rng.pick(hosts))
            if len(hosts) > 1 and rng.chance(self.k.p_multi_active):
                active.append(rng.pick([n for n in hosts if n is not active[0]]))
                self.feats.add("multi-active")
        for idx, node in enumerate(active):
            self.active(prim, node, prim.id, second=idx > 0)
        for node in self.plan.nodes:
            if node not in active:
                self.inactive(prim, node, prim.id)

    def group(self, group: Group) -> None:
        rng, k, hosts = self.rng, self.k, self.hosts
        home = rng.pick(hosts) if hosts and rng.chance(k.p_active) else None
        stray: tuple[Primitive, Node] | None = None
        if home is not None and len(hosts) > 1 and rng.chance(k.p_group_split):
            stray = (rng.pick(group.members), rng.pick([n for n in hosts if n is not home]))
            self.feats.add("group-split")
        members = [m for m in group.members if stray is None or m is not stray[0]]
        for node in self.plan.nodes:
            if node is home:
                self.members_on(members, node, "", rng.chance(k.p_group_partial))
            else:
                for m in members:
                    self.inactive(m, node, m.id)
        if stray is not None:
            member, where = stray
            for node in self.plan.nodes:
                if node is where:
                    self.active(member, node, member.id)
                else:
                    self.inactive(member, node, member.id)

    def anonymous_clone(self, clone: Clone) -> None:
        """One instance per node; history ids without a number (or ``:N``, old style)."""
        rng, k = self.rng, self.k
        members = list(clone.primitives())
        clone_max = _clone_max(clone, len(self.plan.nodes))
        active = [n for n in self.hosts if rng.chance(k.p_clone_active)]
        if len(active) > clone_max:
            if rng.chance(k.p_clone_excess):
                self.feats.add("clone-excess")
            else:
                active = rng.shuffled(active)[:clone_max]
        numbered = rng.chance(k.p_anon_instance_suffix)
        if numbered:
            self.feats.add("anon-instance-suffix")
        partial = rng.chance(k.p_group_partial)
        for i, node in enumerate(self.plan.nodes):
            suffix = f":{i % max(1, clone_max)}" if numbered else ""
            if node in active:
                self.members_on(members, node, suffix, partial)
            else:
                for m in members:
                    self.inactive(m, node, m.id + suffix)
        self._note_failures(clone)

    def unique_clone(self, clone: Clone) -> None:
        """Instances ``rsc:0 ...``, each active on at most one node, probed elsewhere."""
        rng, k, hosts = self.rng, self.k, self.hosts
        members = list(clone.primitives())
        n_nodes = len(self.plan.nodes)
        count = _clone_max(clone, n_nodes)
        node_max = int(clone.meta.get("clone-node-max", "1"))
        numbers = list(range(count))
        if rng.chance(k.p_clone_orphan):
            numbers.append(count + rng.randint(0, 1))
            self.feats.add("clone-orphan")
        load = dict.fromkeys((n.name for n in hosts), 0)
        excess = rng.chance(k.p_clone_excess)
        partial = rng.chance(k.p_group_partial)
        for number in numbers:
            where: Node | None = None
            room = [n for n in hosts if load[n.name] < node_max]
            if excess and hosts and len(room) < len(hosts):
                room = hosts
                self.feats.add("clone-excess")
            if room and rng.chance(k.p_clone_active):
                where = rng.pick(room)
                load[where.name] += 1
            for node in self.plan.nodes:
                if node is where:
                    self.members_on(members, node, f":{number}", partial)
                else:
                    for m in members:
                        self.inactive(m, node, f"{m.id}:{number}")
        self._note_failures(clone)

    def _note_failures(self, clone: Clone) -> None:
        failed = {"failed_monitor", "failed_start", "failed_stop", "stale_failure"}
        if any(h.kind in failed for p in clone.primitives() for h in p.history.values()):
            self.feats.add("clone-failure")


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
    resources = _plan_resources(rng, k, len(nodes), feats)
    if "symmetric-cluster" in options:
        # An unmanaged member of a cloned group active where an asymmetric
        # cluster allows the clone nowhere is a configuration error for
        # Pacemaker ("N not found in CLONE"): keep members managed there.
        for top in resources:
            if isinstance(top, Clone) and isinstance(top.child, Group):
                for member in top.child.members:
                    member.meta.pop("is-managed", None)
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
            kind: HistoryKind = "running"
            if n is not dc or not rng.chance(k.p_fencing_device_running):
                kind = "probed_stopped"
            device.history[(n.name, device.id)] = History(kind)

    plan = ClusterPlan(options, have_quorum, nodes, resources, device, rsc_defaults, [], [], [], feats)
    _plan_constraints(rng, k, plan, feats)
    _HistoryPlanner(rng, k, plan, fencing).run()
    return plan
