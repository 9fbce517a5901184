"""The scheduler's private working state for one run.

Mutable objects that live only inside one call of ``schedule()``: nodes as
the scheduler sees them, primitives with what their history says, and the
actions being planned with the orderings between them.  Nothing here
escapes; ``schedule()`` turns it into the frozen ``Transition``.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

from vigil.model.cluster import Cluster
from vigil.model.config import Op, Primitive
from vigil.model.options import Options
from vigil.model.status import OpRecord

if TYPE_CHECKING:
    from vigil.scheduler.variants import Variant


class Role(IntEnum):
    UNKNOWN = 0
    STOPPED = 1
    STARTED = 2
    UNPROMOTED = 3
    PROMOTED = 4

    @property
    def text(self) -> str:
        return self.name.capitalize()


class OnFail(IntEnum):
    """What a failed operation asks for; higher values are more severe."""

    IGNORE = 0
    DEMOTE = 1
    RECOVER = 2
    # A remote node's connection failed while up: fence the remote node.
    RESET_REMOTE = 3
    RESTART_CONTAINER = 4
    MIGRATE = 5
    BLOCK = 6
    STOP = 7
    STANDBY = 8
    FENCE = 9


class Ord:
    """How an ordering ties two actions' flags together: bits of an ``int``
    (an :data:`OrdFlags`).  Plain integers rather than an ``IntFlag``: the
    propagation combines and tests them a few hundred thousand times in a
    large cluster, and on Python 3.11 every ``IntFlag`` operation builds a
    new member through ``Enum.__call__`` (about 2 us, against 30 ns)."""

    NONE = 0
    OPTIONAL = 1 << 0
    IMPLIES_THEN = 1 << 1
    IMPLIES_FIRST = 1 << 2
    RUNNABLE_LEFT = 1 << 3
    RESTART = 1 << 4
    ASYMMETRICAL = 1 << 5
    PRESERVE = 1 << 6
    SERIALIZE_ONLY = 1 << 7
    SAME_NODE = 1 << 8
    THEN_CANCELS_FIRST = 1 << 9
    PROBE = 1 << 10
    PROMOTED_IMPLIES_FIRST = 1 << 11
    # Only shapes the graph (Pacemaker's "printed" and anti-colocation kinds).
    GRAPH_ONLY = 1 << 12
    # Counts towards a minimum of runnable "first" actions (clone-min).
    ONE_OR_MORE = 1 << 13
    # Live migration (see migration): "first" cannot run unless "then" can
    # still be part of the migration, and is required when "then" is.
    UNMIGRATABLE_THEN_BLOCKS = 1 << 14
    # Shapes the graph only when "first" is not part of a migration.
    IF_FIRST_UNMIGRATABLE = 1 << 15
    # When "first" (a migrate_from) cannot run, "then" (the start it stands
    # for) is no longer part of a migration and becomes a real start.
    FIRST_ELSE_THEN = 1 << 16


# (fail-count, newest last-failure time) of one resource on one node.
FailTotals = tuple[int, int]


@dataclass(eq=False)
class NodeFailures:
    """A node's fail-count and last-failure attributes, summed per resource
    (see failcounts)."""

    # By the resource name written in the attribute (``RSC`` or ``RSC:N``).
    by_name: dict[str, FailTotals] = field(default_factory=dict)
    # By the name without an instance number: what anonymous instances share.
    by_base: dict[str, FailTotals] = field(default_factory=dict)


# A combination of Ord bits.
OrdFlags = int


@dataclass(eq=False)
class WorkNode:
    name: str
    id: str
    type: str = "member"
    online: bool = False
    unclean: bool = False
    unseen: bool = True
    standby: bool = False
    standby_onfail: bool = False
    pending: bool = False
    maintenance: bool = False
    shutdown: bool = False
    expected_up: bool = False
    is_dc: bool = False
    has_state: bool = False
    # A remote node with a status entry: seen in this cluster's lifetime.
    remote_seen: bool = False
    attrs: dict[str, str] = field(default_factory=dict)
    # Its fail-counts per resource, indexed on first use (see failcounts).
    failures: NodeFailures | None = None
    fence_reason: str | None = None
    num_resources: int = 0
    health_score: int = 0
    # Capacity left, by kind (its <utilization>, less what is placed on it).
    capacity: dict[str, int] = field(default_factory=dict)
    # A Pacemaker Remote or guest node: its connection resource (see remote_nodes).
    remote_rsc: WorkPrimitive | None = None
    # Its connection was lost in a way that needs the node reset (fenced, or
    # for a guest, its container recovered).
    remote_requires_reset: bool = False
    # It was fenced since its connection was lost (``node_fenced``).
    remote_was_fenced: bool = False
    # Its history has been read (remote nodes wait for their connection).
    unpacked: bool = False
    # Probes may run there (``resource-discovery-enabled`` on a remote node).
    probes_allowed: bool = True

    def is_available(self) -> bool:
        """Can this node run resources at all (ignoring scores)?"""
        return (
            self.online
            and not self.shutdown
            and not self.unclean
            and not self.standby
            and not self.maintenance
        )


@dataclass(eq=False)
class WorkColocation:
    """A colocation between two resources of this run (primitive or group)."""

    id: str
    dependent: WorkResource
    primary: WorkResource
    score: int
    dependent_role: Role = Role.UNKNOWN
    primary_role: Role = Role.UNKNOWN
    node_attribute: str = "#uname"
    influence: bool = True


@dataclass(eq=False)
class WorkAction:
    id: int
    rsc: WorkResource | None
    task: str
    node: str | None
    interval_ms: int = 0
    optional: bool = True
    runnable: bool = True
    pseudo: bool = False
    reason: str | None = None
    needs: str = "nothing"  # nothing | quorum | fencing
    implied_by_stonith: bool = False
    # Part of a live migration still possible (Pacemaker's "migratable"
    # flag): cleared as orderings rule the migration out.
    migratable: bool = False
    # A stop that ends a dangling migration (it implies nothing after it).
    migration_abort: bool = False
    print_always: bool = False
    name: str | None = None  # for rsc-less actions (stonith, pseudo)
    # Runnable only when enough of the actions before it are (clone-min).
    required_runnable_before: int = 0
    meta: dict[str, str] = field(default_factory=dict)
    # The action whose state first made this one required / unrunnable,
    # kept to explain a stop or start (the stop context).
    required_by: WorkAction | None = None
    blocked_by: WorkAction | None = None
    befores: list[tuple[WorkAction, OrdFlags]] = field(default_factory=list)
    afters: list[tuple[WorkAction, OrdFlags]] = field(default_factory=list)

    @property
    def key(self) -> str:
        owner = self.rsc.id if self.rsc is not None else (self.name or "")
        return f"{owner}_{self.task}_{self.interval_ms}"

    def set_reason(self, reason: str | None, overwrite: bool = False) -> None:
        if self.reason is None or overwrite:
            self.reason = reason


@dataclass(eq=False)
class NotifyPoints:
    """A notifying clone's pseudo-actions around one of its tasks: notify
    before ("pre"), all notified before, notify after ("post"), all notified
    after.  Either pair is missing when the task has no start (end) point."""

    task: str
    pre: WorkAction | None = None
    pre_done: WorkAction | None = None
    post: WorkAction | None = None
    post_done: WorkAction | None = None


@dataclass(eq=False)
class WorkPrimitive:
    """A primitive as this run sees it."""

    id: str
    prim: Primitive
    meta: dict[str, str]
    params: dict[str, str]
    ops: tuple[Op, ...]
    managed: bool = True
    blocked: bool = False
    failed: bool = False
    stop_needed: bool = False  # Pacemaker's pe_rsc_stop: recovery must stop it
    failure_ignored: bool = False
    orphan: bool = False
    start_pending: bool = False
    restarting: bool = False
    stop_unexpected: bool = False
    role: Role = Role.STOPPED
    next_role: Role = Role.UNKNOWN
    running_on: list[str] = field(default_factory=list)
    known_on: set[str] = field(default_factory=set)
    allowed: dict[str, int] = field(default_factory=dict)
    assigned: str | None = None
    # The score its node had when it was placed there (Pacemaker keeps a copy
    # of the node): what a mandatory colocation with a role of its clone adds.
    assigned_score: int = 0
    provisional: bool = True
    allocating: bool = False
    merging: bool = False
    stickiness: int = 0
    migration_threshold: int = 1_000_000
    failure_timeout_s: int = 0
    priority: int = 0
    needs_fencing: bool = False
    # requires=unfencing (the default once any resource uses unfencing).
    needs_unfencing: bool = False
    needs_quorum: bool = True
    is_fence_device: bool = False
    multiple_active: str = "stop_start"
    critical: bool = True
    parent: WorkGroup | WorkClone | None = None
    # Where a start is in progress (from a pending operation in the history).
    pending_node: str | None = None
    # What it uses of a node's capacity (its <utilization>).
    utilization: dict[str, int] = field(default_factory=dict)
    # The node a shutdown lock keeps it on, and since when (see shutdown_lock).
    lock_node: str | None = None
    lock_time: int = 0
    # allow-migrate: moved by migrate_to/migrate_from instead of stop/start.
    allow_migrate: bool = False
    # A migration the history shows begun (migrate_to done, migrate_from
    # not yet): its source and target, which may continue it.
    partial_migration_source: str | None = None
    partial_migration_target: str | None = None
    # Sources of completed migrations that were never stopped there.
    dangling_migrations: list[str] = field(default_factory=list)
    # Old-style container: this resource runs inside ``container``, which is
    # restarted when it fails ("fillers" are the resources inside).
    container: WorkPrimitive | None = None
    fillers: list[WorkPrimitive] = field(default_factory=list)
    # The bundle this is an implicit resource of (container, IP, connection).
    bundle_id: str | None = None
    this_with: list[WorkColocation] = field(default_factory=list)
    with_this: list[WorkColocation] = field(default_factory=list)
    actions: list[WorkAction] = field(default_factory=list)
    # The same actions by task, each list in creation order (see Work.new_action).
    actions_by_task: dict[str, list[WorkAction]] = field(default_factory=dict)
    # per node: the recurring ops found active in the history (name, interval)
    active_recurring: dict[str, list[tuple[str, int, str | None]]] = field(default_factory=dict)
    # Nodes where the resource is failed now (a failure that still counts).
    failed_on: set[str] = field(default_factory=set)
    # Nodes where it runs with an outdated definition (restart or reload).
    changed_on: set[str] = field(default_factory=set)
    # Nodes where this transition clears its fail-count.
    failcount_cleared_on: set[str] = field(default_factory=set)
    # Nodes where it failed and has been stopped (or demoted) since, but not started (or
    # promoted) again: a recovery that an earlier, aborted transition began.
    failed_since_start_on: set[str] = field(default_factory=set)
    failed_since_promote_on: set[str] = field(default_factory=set)
    # Nodes it is banned from because another resource failed there (an
    # instance of an anonymous clone shares its siblings' failures).
    banned_by: dict[str, WorkPrimitive] = field(default_factory=dict)
    # recurring ops whose definition changed: (node, task, interval)
    reschedule: set[tuple[str, str, int]] = field(default_factory=set)
    # where the agent will reload a changed definition instead of a restart
    reload_node: str | None = None
    # The id its history is recorded under (an anonymous instance's is the
    # primitive's own, or an old ``rsc:N``): promotion scores are named after it.
    history_id: str | None = None
    # A promotable clone instance's claim to be promoted (see promotable).
    promotion_priority: int = 0
    # Location constraints for the Promoted role, as (node, score).
    promoted_locations: list[tuple[str, int]] = field(default_factory=list)
    # An ocf:pacemaker:remote connection: a remote or guest node of its name
    # is up while it runs (see remote_nodes).
    is_remote_connection: bool = False
    # A connection's reconnect_interval (seconds; 0: none).
    remote_reconnect_s: int = 0
    variant: Variant = field(kw_only=True, repr=False)


    @property
    def agent(self) -> str:
        return self.prim.agent

    def primitives(self) -> list[WorkPrimitive]:
        return [self]

    def children(self) -> list[WorkPrimitive | WorkGroup]:
        return []


@dataclass(eq=False)
class WorkGroup:
    """A group: members placed together and started in order."""

    id: str
    members: list[WorkPrimitive]
    meta: dict[str, str]
    ordered: bool = True
    colocated: bool = True
    priority: int = 0
    managed: bool = True
    role: Role = Role.STOPPED
    next_role: Role = Role.UNKNOWN
    provisional: bool = True
    allocating: bool = False
    merging: bool = False
    expanded: bool = False
    allowed: dict[str, int] = field(default_factory=dict)
    this_with: list[WorkColocation] = field(default_factory=list)
    with_this: list[WorkColocation] = field(default_factory=list)
    actions: list[WorkAction] = field(default_factory=list)
    # The same actions by task, each list in creation order (see Work.new_action).
    actions_by_task: dict[str, list[WorkAction]] = field(default_factory=dict)
    critical: bool = True
    parent: WorkClone | None = None
    # Pacemaker's blocked and failed flags: never set on a group here (its
    # members carry them), present so that every resource answers.
    blocked: bool = False
    failed: bool = False
    # Where its members run, in the order the status section shows them
    # (see unpack_history: an unmanaged member's node may appear twice).
    running_on: list[str] = field(default_factory=list)
    # A promotable clone instance's claim to be promoted (see promotable).
    promotion_priority: int = 0
    # Location constraints for the Promoted role, as (node, score).
    promoted_locations: list[tuple[str, int]] = field(default_factory=list)
    variant: Variant = field(kw_only=True, repr=False)


    @property
    def assigned(self) -> str | None:
        if not self.colocated or not self.members:
            return None
        return self.members[0].assigned

    @property
    def params(self) -> dict[str, str]:
        """A group has no instance attributes of its own (rules see none)."""
        return {}

    def primitives(self) -> list[WorkPrimitive]:
        return list(self.members)

    def children(self) -> list[WorkPrimitive | WorkGroup]:
        return list(self.members)


@dataclass(eq=False)
class WorkClone:
    """A clone: instances of one primitive or group, each on its own node."""

    id: str
    template_id: str
    meta: dict[str, str]
    instances: list[WorkPrimitive | WorkGroup] = field(default_factory=list)
    unique: bool = False
    clone_max: int = 1
    clone_node_max: int = 1
    clone_min: int = 0
    interleave: bool = False
    ordered: bool = False
    # Promotable: instances are Unpromoted or Promoted, at most promoted_max
    # promoted in all and promoted_node_max on one node.
    promotable: bool = False
    promoted_max: int = 1
    promoted_node_max: int = 1
    # Location constraints for the Promoted role, as (node, score): they
    # weigh which instance is promoted, not where instances run.
    promoted_locations: list[tuple[str, int]] = field(default_factory=list)
    # notify=true: instances are told before and after each start, stop,
    # promote and demote (the pseudo-actions of each, by task).
    notify: bool = False
    notify_points: dict[str, NotifyPoints] = field(default_factory=dict)
    priority: int = 0
    managed: bool = True
    critical: bool = True
    role: Role = Role.STOPPED
    next_role: Role = Role.UNKNOWN
    provisional: bool = True
    allocating: bool = False
    merging: bool = False
    allowed: dict[str, int] = field(default_factory=dict)
    # Instances placed on each node during placement.
    counts: dict[str, int] = field(default_factory=dict)
    this_with: list[WorkColocation] = field(default_factory=list)
    with_this: list[WorkColocation] = field(default_factory=list)
    actions: list[WorkAction] = field(default_factory=list)
    # The same actions by task, each list in creation order (see Work.new_action).
    actions_by_task: dict[str, list[WorkAction]] = field(default_factory=dict)
    total_instances: int = 0
    # Where its instances run, in the order the status section shows them.
    running_on: list[str] = field(default_factory=list)
    # Pacemaker's blocked flag: never set on a clone here (its instances'
    # primitives carry it), present so that every resource answers.
    blocked: bool = False
    # For a bundle's container set: the bundle, whose own pseudo-actions the
    # set's are (see variants/bundle.py).
    bundle: WorkBundle | None = field(default=None, repr=False)
    variant: Variant = field(kw_only=True, repr=False)

    parent = None

    @property
    def assigned(self) -> str | None:
        return None

    @property
    def params(self) -> dict[str, str]:
        """A clone has no instance attributes of its own (rules see none)."""
        return {}

    def primitives(self) -> list[WorkPrimitive]:
        found: list[WorkPrimitive] = []
        for instance in self.instances:
            found.extend(instance.primitives())
        return found

    def children(self) -> list[WorkPrimitive | WorkGroup]:
        return list(self.instances)


# A colocation's node attribute comparing bundle guest nodes by the cluster node they live on.
BUNDLE_HOST = "#bundle-host"


@dataclass(eq=False)
class WorkReplica:
    """One replica of a bundle: its container, optional IP and connection, and the
    inner clone's instance that runs on its guest node (named after the connection)."""

    index: int
    container: WorkPrimitive
    ip: WorkPrimitive | None = None
    remote: WorkPrimitive | None = None
    inner: WorkPrimitive | None = None

    @property
    def guest(self) -> str | None:
        return self.remote.id if self.remote is not None else None

    def primitives(self) -> list[WorkPrimitive]:
        """In the order Pacemaker lists them: IP, container, connection, inner instance."""
        return [p for p in (self.ip, self.container, self.remote, self.inner) if p is not None]


@dataclass(eq=False)
class WorkBundle:
    """A bundle's implicit resources, replica by replica (they are placed as
    ordinary resources; see :mod:`vigil.scheduler.bundles`), and the inner clone."""

    id: str
    replicas_per_host: int
    # The containers, placed as a clone's instances (see variants/bundle.py).
    containers: WorkClone
    replicas: list[WorkReplica] = field(default_factory=list)
    child: WorkClone | None = None
    # notify=true on the bundle itself: orderings after its actions wait for
    # notifications it never has, so they stay on the actions themselves.
    notify: bool = False


WorkResource = WorkPrimitive | WorkGroup | WorkClone

# An ordering between two resources' actions: (first, its task, then, its task, flags).
OrderTuple = tuple[WorkResource, str, WorkResource, str, OrdFlags]

# A step of the ordering propagation: yields actions to revisit at once
# (nested, as Pacemaker's recursive update does) and returns (first changed,
# then changed).
Updates = Generator[WorkAction, None, tuple[bool, bool]]


@dataclass(frozen=True)
class DeferredParamCheck:
    """A check of recorded parameters against the configuration, put off until
    resources are placed: ``ops`` is the active history of ``rsc`` on ``node``
    (a restart may follow), or its one last failure (``last_failure``: only its
    fail-count may be cleared)."""

    rsc: WorkPrimitive
    node: str
    ops: list[OpRecord]
    last_failure: bool


@dataclass(eq=False)
class Work:
    cluster: Cluster
    options: Options
    now: int
    have_quorum: bool
    nodes: dict[str, WorkNode] = field(default_factory=dict)
    # Every primitive, by id.
    rscs: dict[str, WorkPrimitive] = field(default_factory=dict)
    groups: dict[str, WorkGroup] = field(default_factory=dict)
    # Top-level resources in the order they are placed (priority, then
    # document order).
    top: list[WorkResource] = field(default_factory=list)
    actions: list[WorkAction] = field(default_factory=list)
    fence_ops: dict[str, WorkAction] = field(default_factory=dict)
    # Each node's unfencing ("on") action, once something needs it (see unfencing).
    unfence_ops: dict[str, WorkAction] = field(default_factory=dict)
    # Some resource's meta attributes mention unfencing (see unfencing).
    enable_unfencing: bool = False
    have_stonith_resource: bool = False
    # Some remote or guest node has a connection resource.
    have_remote_nodes: bool = False
    # The CIB has its secrets masked (as in saved or shared CIBs): a change
    # only in secret parameters is not a definition change.
    sanitized: bool = False
    notes: list[str] = field(default_factory=list)

    clones: dict[str, WorkClone] = field(default_factory=dict)
    # Promotable clones (by id) whose Promoted role depends on a ticket that
    # is revoked or in standby: none of their instances may be promoted
    # (see tickets).
    promotion_without_ticket: set[str] = field(default_factory=set)
    # resource-discovery from location constraints (see discovery): per
    # resource id, the nodes where it is "never" or "exclusive" ...
    discovery: dict[str, dict[str, str]] = field(default_factory=dict)
    # ... and the resources some constraint gives exclusive discovery.
    exclusive_discovery: set[str] = field(default_factory=set)
    # Bundles, by id (their implicit resources are in rscs and top).
    bundles: dict[str, WorkBundle] = field(default_factory=dict)
    # Definition checks that wait until resources are placed: a bundle connection's
    # address is its container's node (see config_changes).
    deferred_param_checks: list[DeferredParamCheck] = field(default_factory=list)

    def resource(self, rsc_id: str) -> WorkResource | None:
        """A resource by the id a constraint uses (a clone's child template
        id stands for the clone, a bundle's id for its inner clone)."""
        found = self.rscs.get(rsc_id) or self.groups.get(rsc_id) or self.clones.get(rsc_id)
        bundle = self.bundles.get(rsc_id)
        if found is None and bundle is not None:
            return bundle.child
        if found is None:
            for clone in self.clones.values():
                if clone.template_id == rsc_id:
                    return clone
        return found

    def node_attribute(self, node: str, attribute: str) -> str | None:
        """A node attribute as a colocation compares it; ``BUNDLE_HOST`` is the
        cluster node a bundle's guest node lives on (the node itself otherwise)."""
        if attribute == BUNDLE_HOST:
            return self.bundle_host(node)
        if attribute == "#uname":
            return node
        return self.nodes[node].attrs.get(attribute)

    def guest_container_placed(self, node: str) -> bool:
        """Whether ``node`` can run what is placed on it as far as its container goes:
        a guest node only while its container is placed (any other node: always)."""
        conn = self.nodes[node].remote_rsc
        if conn is None or conn.container is None:
            return True
        return conn.container.assigned is not None

    def bundle_host(self, node: str) -> str | None:
        """Where the container of a bundle's guest ``node`` is placed (or runs, before it
        is placed); ``node`` itself for any other node."""
        conn = self.nodes[node].remote_rsc if node in self.nodes else None
        if conn is None or conn.bundle_id is None or conn.container is None:
            return node
        container = conn.container
        if not container.provisional:
            return container.assigned
        return container.running_on[0] if container.running_on else None

    def new_action(self, rsc: WorkResource | None, task: str, node: str | None, interval_ms: int = 0,
                   optional: bool = True, name: str | None = None) -> WorkAction:
        action = WorkAction(len(self.actions), rsc, task, node, interval_ms, optional=optional, name=name)
        self.actions.append(action)
        if rsc is not None:
            rsc.actions.append(action)
            rsc.actions_by_task.setdefault(task, []).append(action)
        return action

    def current_node(self, rsc: WorkResource) -> str | None:
        """Where ``rsc`` is considered active (see its variant)."""
        if not rsc.running_on:
            return None
        return rsc.variant.current_node(self, rsc)

    def can_fence(self, node: WorkNode | None) -> bool:
        """Whether ``node`` can be fenced.  A guest is fenced by stopping its
        container: possible while every host the container is on is up or
        can itself be fenced."""
        container = node.remote_rsc.container if node is not None and node.remote_rsc is not None else None
        if container is not None:
            hosts = (self.nodes.get(name) for name in container.running_on)
            return all(host is None or host.online or self.can_fence(host) for host in hosts)
        if not self.options.stonith_enabled or not self.have_stonith_resource:
            return False
        if self.have_quorum or self.options.no_quorum_policy == "ignore":
            return True
        return node is not None and node.online


def order(first: WorkAction, then: WorkAction, flags: OrdFlags) -> None:
    """Record "first before then" with ``flags``.  A second ordering of the
    same pair that shares a flag with the first is a duplicate and dropped
    whole (its other flags too), as Pacemaker filters them; one with other
    flags only adds them."""
    if first is then:
        return
    for index, (other, existing) in enumerate(then.befores):
        if other is first:
            if existing & flags:
                return
            merged = existing | flags
            then.befores[index] = (first, merged)
            for j, (after, _) in enumerate(first.afters):
                if after is then:
                    first.afters[j] = (then, merged)
            return
    then.befores.append((first, flags))
    first.afters.append((then, flags))


def find_first_action(rsc: WorkResource, task: str, node: str | None) -> WorkAction | None:
    """The newest one-shot action of ``rsc`` for ``task`` (on ``node`` if given)."""
    for action in reversed(rsc.actions_by_task.get(task, ())):
        if action.interval_ms == 0 and (node is None or action.node == node):
            return action
    return None
