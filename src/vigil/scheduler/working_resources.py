"""Resources as one run of the scheduler sees them.

Mutable primitives, groups, clones and bundles with what the history says
about them (role, where they run, failures) and what placement decides
(allowed nodes, the node assigned); their colocations with each other; and
their roles.  Only the shape of the state is here: each variant's behaviour
is in ``variants/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

from vigil.model.config import Op, Primitive

if TYPE_CHECKING:
    from vigil.scheduler.variants import Variant
    from vigil.scheduler.working_actions import NotifyPoints, WorkAction


class Role(IntEnum):
    UNKNOWN = 0
    STOPPED = 1
    STARTED = 2
    UNPROMOTED = 3
    PROMOTED = 4

    @property
    def text(self) -> str:
        return self.name.capitalize()


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
    # (see history_outcome: an unmanaged member's node may appear twice).
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
