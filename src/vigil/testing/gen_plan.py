"""Planning a random cluster: every decision drawn from one seeded RNG.

``plan_cluster(seed, knobs)`` decides nodes, resources (primitives, groups,
anonymous and globally-unique clones, cloned groups), constraints and each
resource instance's operation history, and returns a ``ClusterPlan`` (see
``vigil.testing.gen_model``) with the feature tags the cluster exercises.
A new feature is a knob in ``Knobs``, a decision here that tags it, and at
most a new element in ``vigil.testing.gen_xml``.

Rules that keep a plan valid for Pacemaker 2.1.5 and free of situations it
cannot resolve or flags as configuration errors:

* colocations and orders each follow a random rank of the top-level
  resources (a constraint may name a member of an uncloned group, but it is
  ranked as its group), so neither graph has cycles;
* an unclean node or a failed stop only appears with fencing on;
* only globally-unique clones get ``clone-node-max`` (2.1.5 allows one
  instance per node of an anonymous clone), and an interleaved colocation
  only joins clones with the same number of instances per node;
* in an asymmetric cluster no member of a cloned group is unmanaged (an
  unmanaged member active where the clone is allowed nowhere is an error);
* no promotable clones, notifications, bundles, resource sets or remote
  nodes: vigil does not claim them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from vigil.testing.gen_model import (
    DC_VERSION,
    INFINITY,
    Clone,
    ClusterPlan,
    Colocation,
    Expr,
    Group,
    History,
    HistoryKind,
    Knobs,
    Location,
    Node,
    NodeState,
    Order,
    Primitive,
    TopLevel,
)

_T = TypeVar("_T")


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
        clone.meta["clone-min"] = str(rng.randint(1, max(1, min(3, clone.clone_max(n_nodes)))))
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
    _plan_promotable(rng, k, clone, feats)
    return clone


def _plan_promotable(rng: _Rng, k: Knobs, clone: Clone, feats: set[str]) -> None:
    """Maybe make the clone promotable (of ocf:pacemaker:Stateful, one
    monitor per role) and notifying.  Draws only when the knobs ask for it,
    so the default seeds stay the clusters they were."""
    if k.p_promotable > 0 and rng.chance(k.p_promotable):
        clone.meta["promotable"] = "true"
        feats.add("promotable")
        for prim in clone.primitives():
            prim.promotable = True
            prim.provider, prim.type = "pacemaker", "Stateful"
        if rng.chance(k.p_promoted_max_2):
            clone.meta["promoted-max"] = "2"
            feats.add("promoted-max")
    if k.p_notify > 0 and rng.chance(k.p_notify):
        clone.meta["notify"] = "true"
        feats.add("notify")


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


def _pair_tags(prefix: str, a: TopLevel, b: TopLevel) -> set[str]:
    """``colocation-clone-clone``, ``order-clone-group`` ...: what a constraint joins.

    Two clones with ``interleave=true`` on either side also make
    ``interleave-pair`` (which side counts depends on the action; that is
    the scheduler's business).
    """
    ka, kb = sorted((_kind(a), _kind(b)))
    if ka == kb == "primitive":
        return set()
    tags = {f"{prefix}-{ka}-{kb}"}
    if isinstance(a, Clone) and isinstance(b, Clone) and "true" in (
            a.meta.get("interleave"), b.meta.get("interleave")):
        tags.add("interleave-pair")
    return tags


def _can_colocate(dependent: TopLevel, primary: TopLevel) -> bool:
    """Pacemaker refuses (a configuration error) to interleave a colocation
    between clones with different numbers of instances per node."""
    if not (isinstance(dependent, Clone) and isinstance(primary, Clone)):
        return True
    if dependent.meta.get("interleave") != "true":
        return True
    return dependent.node_max == primary.node_max


def _colocation_roles(rng: _Rng, k: Knobs, dependent: TopLevel, primary: TopLevel,
                      feats: set[str]) -> tuple[str | None, str | None]:
    """Roles for a colocation with (or of) a promotable clone, sometimes."""
    rsc_role = with_role = None
    if k.p_role_constraint > 0:
        if isinstance(primary, Clone) and primary.promotable and rng.chance(k.p_role_constraint):
            with_role = "Promoted"
        if isinstance(dependent, Clone) and dependent.promotable and rng.chance(k.p_role_constraint):
            rsc_role = "Promoted"
        if rsc_role or with_role:
            feats.add("colocation-role")
    return rsc_role, with_role


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
            role = None
            if isinstance(top, Clone) and top.promotable and k.p_role_constraint > 0 \
                    and rng.chance(k.p_role_constraint):
                role = "Promoted"
                feats.add("location-promoted")
                plan.locations.append(Location(rid, score, node=rng.pick(plan.nodes).name, role=role))
                continue
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
            roles = _colocation_roles(rng, k, tops[rank[i]], tops[with_top], feats)
            plan.colocations.append(Colocation(ref(tops[rank[i]]), ref(tops[with_top]), score, *roles))
            feats.add("colocation-" + ("inf" if score == INFINITY else
                                        "neg-inf" if score == "-" + INFINITY else "finite"))
            feats |= _pair_tags("colocation", tops[rank[i]], tops[with_top])

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
        actions: tuple[str | None, str | None] = (None, None)
        if isinstance(first, Clone) and first.promotable and k.p_role_constraint > 0 \
                and rng.chance(k.p_role_constraint):
            actions = ("promote", "start")
            feats.add("order-promote")
        plan.orders.append(Order(ref(first), ref(then), kind, sym, require_all, *actions))
        feats.add("order-" + kind.lower() + ("-asymmetric" if sym == "false" else ""))
        feats |= _pair_tags("order", first, then)


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
            if isinstance(top, Clone) and top.promotable:
                self.promote(top)

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
        clone_max = clone.clone_max(len(self.plan.nodes))
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
        count = clone.clone_max(n_nodes)
        node_max = clone.node_max
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

    def promote(self, clone: Clone) -> None:
        """A promotable clone: promotion scores on nodes (as its agent sets
        them) and up to promoted-max of its running instances promoted."""
        rng, k = self.rng, self.k
        members = list(clone.primitives())
        # (node, instance suffix) -> the members' records running there
        running: dict[tuple[str, str], list[tuple[Primitive, str]]] = {}
        for prim in members:
            for (node_name, lrm_id), hist in prim.history.items():
                if hist.kind == "running":
                    suffix = lrm_id[len(prim.id):]
                    running.setdefault((node_name, suffix), []).append((prim, lrm_id))
        promoted = 0
        for (where, _suffix), entries in sorted(running.items()):
            if len(entries) != len(members) or promoted >= clone.promoted_max or not rng.chance(k.p_promoted):
                continue
            promoted += 1
            failed = rng.chance(0.2)
            for prim, lrm_id in entries:
                prim.history[(where, lrm_id)] = (
                    History("failed_promoted", 9, str(rng.randint(1, 3))) if failed else History("promoted"))
            self.feats.add("failed-promoted" if failed else "promoted")
        for node in self.plan.nodes:
            if not node.history_counts or not rng.chance(k.p_promotion_score):
                continue
            for prim in members:
                names = {prim.id}
                if clone.unique:
                    names = {lrm_id for (where, lrm_id) in prim.history if where == node.name}
                for name in sorted(names):
                    node.transient[f"master-{name}"] = rng.pick(["5", "10", "100"])
            self.feats.add("promotion-score")

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
