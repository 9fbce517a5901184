"""The data model of a generated cluster: ``Knobs`` in, ``ClusterPlan`` out.

``vigil.testing.gen_plan`` fills a ``ClusterPlan`` from a seed and ``Knobs``;
``vigil.testing.gen_xml`` writes it as CIB XML.  Both share the definitions
here, as do the constants that pin the output to Pacemaker 2.1.5.

Resources are top-level objects (``TopLevel``) that yield their primitives:
a ``Primitive``, a ``Group`` of primitives, or a ``Clone`` of either.
Histories hang on the primitives, keyed by node and ``lrm_resource`` id,
because that id is how Pacemaker records clone instances: an anonymous
instance's id is the primitive id without an instance number -- current
Pacemaker strips it -- though old Pacemaker wrote ``rsc:N`` and 2.1.5 still
maps those; a globally-unique instance is always ``rsc:N``.  Fail-count
attributes are named after the same id (``fail-count-rsc#monitor_10000``
for an anonymous instance, ``fail-count-rsc:1#monitor_10000`` for a unique
one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

# Bump when the same (seed, knobs) starts producing a different cluster: any
# seed-keyed list of known differences is then stale.
GENERATOR_VERSION = 2

FEATURE_SET = "3.16.1"  # Pacemaker 2.1.5 refuses newer feature sets
SCHEMA = "pacemaker-3.9"  # newest schema 2.1.5 ships
DC_VERSION = "2.1.5-a3f44794f94"
HISTORY_START = 1700000000  # operation history timestamps count up from here
EXECUTION_DATE = HISTORY_START + 86400  # the simulated "now"
INFINITY = "INFINITY"

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
    # promotable instances
    "promoted",  # start, promote, Promoted-role monitor rc 8
    "failed_promoted",  # promoted, then the Promoted-role monitor failed (rc 9)
]


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
    # promotable clones (0 by default, so that the default seeds stay the
    # clusters they were; see PRESETS["promotable"])
    p_promotable: float = 0.0  # a clone is promotable (its primitives ocf:pacemaker:Stateful)
    p_notify: float = 0.0  # a clone has notify=true
    p_promoted_max_2: float = 0.0  # a promotable clone allows two promoted instances
    p_promoted: float = 0.0  # an active promotable instance is promoted (up to promoted-max)
    p_promotion_score: float = 0.0  # a node has a promotion score for a promotable clone
    p_role_constraint: float = 0.0  # a constraint with a promotable clone names its Promoted role
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


# Named sets of knob overrides that steer the generator at one family of
# shapes.  "clones": mostly anonymous clones and cloned groups, often
# interleaved and constrained to each other, so that instance placement
# (which instance stays, which moves, which stops) is exercised in most seeds.
PRESETS: dict[str, dict[str, float]] = {
    "clones": {
        "p_clone": 0.45, "p_cloned_group": 0.25, "p_group": 0.1, "p_unique": 0.1,
        "p_interleave": 0.8, "p_colocation": 0.5, "p_order": 0.5,
    },
    # Promotable clones (most with notifications): promotion scores, promoted
    # instances, constraints by role.
    "promotable": {
        "p_clone": 0.45, "p_cloned_group": 0.15, "p_group": 0.1, "p_unique": 0.1,
        "p_colocation": 0.45, "p_order": 0.45,
        "p_promotable": 0.8, "p_notify": 0.7, "p_promoted_max_2": 0.2, "p_promoted": 0.7,
        "p_promotion_score": 0.8, "p_role_constraint": 0.6,
    },
}


@dataclass
class Node:
    id: int
    name: str
    state: NodeState
    standby: Literal["", "config", "transient"] = ""
    shutdown: bool = False
    attributes: dict[str, str] = field(default_factory=dict)
    # transient attributes besides standby, shutdown and fail-counts
    # (promotion scores, master-RSC)
    transient: dict[str, str] = field(default_factory=dict)

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
    # inside a promotable clone: one monitor per role (Promoted at the
    # interval, Unpromoted one second later)
    promotable: bool = False
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

    def clone_max(self, n_nodes: int) -> int:
        """Pacemaker's clone-max: as configured, else the number of configured nodes."""
        return int(self.meta.get("clone-max", str(n_nodes)))

    @property
    def node_max(self) -> int:
        """Instances per node: ``clone-node-max`` (only unique clones get one), else 1."""
        return int(self.meta.get("clone-node-max", "1"))

    @property
    def promotable(self) -> bool:
        return self.meta.get("promotable") == "true"

    @property
    def promoted_max(self) -> int:
        return int(self.meta.get("promoted-max", "1"))

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
    role: str | None = None


@dataclass(frozen=True)
class Colocation:
    rsc: str
    with_rsc: str
    score: str
    rsc_role: str | None = None
    with_rsc_role: str | None = None


@dataclass(frozen=True)
class Order:
    first: str
    then: str
    kind: str
    symmetrical: str | None
    require_all: str | None = None
    first_action: str | None = None
    then_action: str | None = None


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
