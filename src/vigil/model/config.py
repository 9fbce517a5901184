"""The cluster configuration: what the operator asked for.

Frozen dataclasses, one per Pacemaker concept, so that a CIB maps one to one
and the scheduler can never mutate its input.  The adapters (CIB XML and YAML)
live in :mod:`vigil.formats` and are the only code that knows a file format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vigil.model.rules import Rule

ResourceClass = Literal["ocf", "lsb", "systemd", "service", "stonith", "upstart", "nagios"]
OrderKind = Literal["Mandatory", "Optional", "Serialize"]
LossPolicy = Literal["stop", "demote", "fence", "freeze"]
LOSS_POLICIES: tuple[LossPolicy, ...] = ("stop", "demote", "fence", "freeze")
ContainerKind = Literal["docker", "podman", "rkt"]
CONTAINER_KINDS: tuple[ContainerKind, ...] = ("docker", "podman", "rkt")


@dataclass(frozen=True)
class NvSet:
    """A set of name/value pairs that applies when its rule (if any) passes.

    Sets are applied in descending ``score`` order and the first set to define
    a name wins, as in Pacemaker.
    """

    id: str
    values: tuple[tuple[str, str], ...]
    score: int = 0
    rule: Rule | None = None


@dataclass(frozen=True)
class Op:
    """An operation definition (``<op>``) of a primitive."""

    id: str
    name: str
    interval_ms: int = 0
    timeout_ms: int | None = None
    role: str | None = None
    on_fail: str | None = None
    enabled: bool = True
    start_delay_ms: int | None = None
    # Other attributes of the op (record-pending, interval-origin, ...) and
    # its instance attributes such as OCF_CHECK_LEVEL.
    meta: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.name}_{self.interval_ms}"


@dataclass(frozen=True)
class Primitive:
    id: str
    cls: str
    type: str
    provider: str | None = None
    params: tuple[NvSet, ...] = ()
    meta: tuple[NvSet, ...] = ()
    ops: tuple[Op, ...] = ()
    utilization: tuple[NvSet, ...] = ()
    # Set when the primitive lives inside a group or clone.
    parent: str | None = None
    # The <template> it was expanded from (its sets and ops are already
    # merged in above); kept so that an export can write the template back.
    template: str | None = None

    @property
    def agent(self) -> str:
        if self.provider:
            return f"{self.cls}:{self.provider}:{self.type}"
        return f"{self.cls}:{self.type}"


@dataclass(frozen=True)
class Group:
    id: str
    members: tuple[Primitive, ...]
    meta: tuple[NvSet, ...] = ()
    parent: str | None = None


@dataclass(frozen=True)
class Clone:
    id: str
    child: Primitive | Group
    meta: tuple[NvSet, ...] = ()
    promotable: bool = False


@dataclass(frozen=True)
class BundleReplica:
    """The implicit resources of one replica."""

    index: int
    container: Primitive
    ip: Primitive | None = None
    remote: Primitive | None = None

    @property
    def guest_node(self) -> str | None:
        """The guest node the inner instance runs on (the connection's name)."""
        return self.remote.id if self.remote is not None else None

    def primitives(self) -> list[Primitive]:
        """In Pacemaker's order: IP, container, connection."""
        return [p for p in (self.ip, self.container, self.remote) if p is not None]




@dataclass(frozen=True)
class PortMapping:
    """A ``<port-mapping>``: ``port`` (to ``internal_port``) or a ``range``."""

    id: str
    port: str | None = None
    internal_port: str | None = None
    range: str | None = None


@dataclass(frozen=True)
class StorageMapping:
    """A ``<storage-mapping>``: ``source_dir`` (or per-replica subdirectories of
    ``source_dir_root``) mounted at ``target_dir``."""

    id: str
    target_dir: str
    source_dir: str | None = None
    source_dir_root: str | None = None
    options: str | None = None


@dataclass(frozen=True)
class BundleNetwork:
    """A bundle's ``<network>``."""

    ip_range_start: str | None = None
    control_port: str | None = None
    host_interface: str | None = None
    host_netmask: str | None = None
    add_host: bool = True
    port_mappings: tuple[PortMapping, ...] = ()


@dataclass(frozen=True)
class Bundle:
    """A ``<bundle>``: ``replicas`` containers of ``image``, at most
    ``replicas_per_host`` on a node, each running an instance of ``child``
    (when there is one) on its own guest node."""

    id: str
    kind: ContainerKind
    image: str
    replicas: int = 1
    replicas_per_host: int = 1
    promoted_max: int = 0
    network_mode: str | None = None  # the container's own --net
    options: str | None = None
    run_command: str | None = None
    network: BundleNetwork | None = None
    storage: tuple[StorageMapping, ...] = ()
    child: Primitive | None = None
    meta: tuple[NvSet, ...] = ()
    # Derived from the above by vigil.model.bundle.expand_bundle (the readers call it):
    # each replica's implicit resources and the inner primitive's clone.
    replica_resources: tuple[BundleReplica, ...] = field(default=(), compare=False)
    child_clone: Clone | None = field(default=None, compare=False)
    @property
    def promotable(self) -> bool:
        return self.promoted_max > 0

    @property
    def manages_child(self) -> bool:
        """An inner resource needs a way to reach the container: an IP range or a control port."""
        return self.network is not None and bool(self.network.ip_range_start or self.network.control_port)

    def primitives(self) -> list[Primitive]:
        """The implicit primitives, replica by replica, then the inner primitive."""
        found = [p for replica in self.replica_resources for p in replica.primitives()]
        if self.child is not None:
            found.append(self.child)
        return found


Resource = Primitive | Group | Clone | Bundle


@dataclass(frozen=True)
class ResourceSet:
    """A ``<resource_set>`` of a location, colocation or order constraint.

    ``resources`` are the references as written: a tag or template stands
    for its members (see :meth:`Config.set_members`).  The other fields are
    None when not written, because Pacemaker's default depends on where the
    set is: ``sequential`` is true inside a set, but between two order sets
    only a set written ``sequential="true"`` is taken as a chain.
    ``require_all``, ``action`` and ``kind`` apply to order sets,
    ``ordering`` (deprecated: ``listed`` colocates each resource with the
    next instead of the previous) to colocation sets, ``score`` to location
    and colocation sets, ``role`` to both.
    """

    id: str
    resources: tuple[str, ...]
    sequential: bool | None = None
    require_all: bool | None = None
    ordering: str | None = None
    action: str | None = None
    role: str | None = None
    score: int | None = None
    kind: OrderKind | None = None

    @property
    def is_sequential(self) -> bool:
        return self.sequential is not False


@dataclass(frozen=True)
class Location:
    """``rsc`` (or every resource of ``sets``) prefers or avoids ``node``,
    or the nodes ``rules`` select.  A constraint has ``rsc``,
    ``rsc_pattern`` or ``sets``."""

    id: str
    rsc: str
    node: str | None = None
    score: int | None = None
    rules: tuple[Rule, ...] = ()
    role: str | None = None
    resource_discovery: str = "always"
    rsc_pattern: str | None = None
    sets: tuple[ResourceSet, ...] = ()

    def references(self) -> tuple[str, ...]:
        """Every resource, tag or template the constraint names (none for a pattern)."""
        if self.sets:
            return tuple(ref for resource_set in self.sets for ref in resource_set.resources)
        return () if self.rsc_pattern is not None else (self.rsc,)


@dataclass(frozen=True)
class Colocation:
    """``rsc`` is placed relative to ``with_rsc`` (the dependent follows);
    or, with ``sets`` (``rsc`` and ``with_rsc`` empty), the resources of
    each set relative to each other and each set relative to the next."""

    id: str
    rsc: str
    with_rsc: str
    score: int
    rsc_role: str | None = None
    with_rsc_role: str | None = None
    node_attribute: str = "#uname"
    influence: bool = True
    sets: tuple[ResourceSet, ...] = ()

    def references(self) -> tuple[str, ...]:
        """Every resource, tag or template the constraint names."""
        if self.sets:
            return tuple(ref for resource_set in self.sets for ref in resource_set.resources)
        return (self.rsc, self.with_rsc)


@dataclass(frozen=True)
class Order:
    """``first`` ``first_action`` happens before ``then`` ``then_action``;
    or, with ``sets`` (``first`` and ``then`` empty), within each set and
    from each set to the next."""

    id: str
    first: str
    then: str
    first_action: str = "start"
    then_action: str | None = None  # defaults to first_action
    kind: OrderKind = "Mandatory"
    symmetrical: bool | None = None  # None: the default for the kind
    require_all: bool = True
    sets: tuple[ResourceSet, ...] = ()

    def references(self) -> tuple[str, ...]:
        """Every resource, tag or template the constraint names."""
        if self.sets:
            return tuple(ref for resource_set in self.sets for ref in resource_set.resources)
        return (self.first, self.then)

    @property
    def effective_then_action(self) -> str:
        return self.then_action or self.first_action

    @property
    def is_symmetrical(self) -> bool:
        if self.symmetrical is not None:
            return self.symmetrical
        return self.kind != "Serialize"


@dataclass(frozen=True)
class TicketSet:
    """A ``<resource_set>`` of an ``rsc_ticket``: these resources, limited to ``role``."""

    id: str
    resources: tuple[str, ...]
    role: str | None = None


@dataclass(frozen=True)
class RscTicket:
    """An ``rsc_ticket``: ``rsc`` (or every resource of ``sets``) may run
    (with ``rsc_role``: have that role) only while ``ticket`` is granted and
    not in standby.

    ``loss_policy`` says what happens to it where it is active when the
    ticket is revoked: stop it, demote it (only with ``rsc_role`` Promoted),
    fence the nodes it is active on, or freeze it where it is.  A constraint
    has either ``rsc`` or ``sets``.
    """

    id: str
    ticket: str
    rsc: str | None = None
    rsc_role: str | None = None
    loss_policy: LossPolicy = "stop"
    sets: tuple[TicketSet, ...] = ()

    def dependencies(self) -> list[tuple[str, str | None]]:
        """Each (resource, role limit) the ticket governs, sets flattened in order."""
        if self.rsc is not None:
            return [(self.rsc, self.rsc_role)]
        return [(rsc, ticket_set.role) for ticket_set in self.sets for rsc in ticket_set.resources]


@dataclass(frozen=True)
class Node:
    id: str
    uname: str
    type: str = "member"
    attributes: tuple[NvSet, ...] = ()
    utilization: tuple[NvSet, ...] = ()


@dataclass(frozen=True)
class FencingLevel:
    id: str
    index: int
    devices: tuple[str, ...]
    target: str | None = None
    target_pattern: str | None = None
    target_attribute: str | None = None
    target_value: str | None = None


@dataclass(frozen=True)
class SelectedAttribute:
    """One ``<attribute>`` of ``<select_attributes>``: alert only on this attribute."""

    id: str
    name: str


@dataclass(frozen=True)
class AlertSelect:
    """An alert's ``<select>``: which kinds of event it receives.

    An alert without ``<select>`` (``Alert.select`` is None), or with an
    empty one, receives node, fencing and resource events, as in Pacemaker;
    attribute events only when selected.  ``attribute_names`` narrows
    ``select_attributes`` to those attributes (empty: all of them).
    """

    nodes: bool = False
    fencing: bool = False
    resources: bool = False
    attributes: bool = False
    attribute_names: tuple[SelectedAttribute, ...] = ()


@dataclass(frozen=True)
class AlertRecipient:
    """A ``<recipient>``: the agent runs once per recipient, told ``value``.

    Its own instance attributes and meta attributes (timeout,
    timestamp-format) override the alert's.
    """

    id: str
    value: str
    description: str | None = None
    params: tuple[NvSet, ...] = ()
    meta: tuple[NvSet, ...] = ()


@dataclass(frozen=True)
class Alert:
    """An ``<alert>``: an agent run for cluster events (Pacemaker's alert agents).

    ``path`` is the agent's executable, or ``vigil:webhook`` for vigil's
    built-in webhook (each recipient a URL the event is POSTed to as JSON).
    ``params`` (instance attributes) reach the agent as plain environment
    variables; ``meta`` holds ``timeout``, ``timestamp-format`` (and, for
    webhooks, ``retries`` and ``retry-delay``).
    """

    id: str
    path: str
    description: str | None = None
    params: tuple[NvSet, ...] = ()
    meta: tuple[NvSet, ...] = ()
    select: AlertSelect | None = None
    recipients: tuple[AlertRecipient, ...] = ()


@dataclass(frozen=True)
class Tag:
    """A ``<tag>``: a name for several resources, usable wherever a
    constraint names a resource (it stands for each of them)."""

    id: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    """Everything under ``<configuration>``."""

    options: tuple[NvSet, ...] = ()
    nodes: tuple[Node, ...] = ()
    resources: tuple[Resource, ...] = ()
    locations: tuple[Location, ...] = ()
    colocations: tuple[Colocation, ...] = ()
    orders: tuple[Order, ...] = ()
    rsc_tickets: tuple[RscTicket, ...] = ()
    rsc_defaults: tuple[NvSet, ...] = ()
    op_defaults: tuple[NvSet, ...] = ()
    fencing_levels: tuple[FencingLevel, ...] = ()
    alerts: tuple[Alert, ...] = ()
    # Elements we read but do not act on, reported to the user once each.
    unsupported: tuple[str, ...] = field(default=(), compare=False)
    # Everything the reader warned about (those elements, and values Pacemaker
    # accepts and ignores), kept with the configuration so that ``vigil
    # status`` can still show them after ``vigil config load`` printed them.
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # Resource templates (<template>), as primitives.  Primitives that use
    # one are already expanded; these are kept only for export.
    templates: tuple[Primitive, ...] = ()
    # Tags (<tags>): names for groups of resources, used by constraints.
    tags: tuple[Tag, ...] = ()

    def constrained(self, ident: str) -> tuple[str, ...]:
        """The resources a constraint's reference stands for: a tag's
        members, the primitives made from a template, else ``ident`` itself."""
        for tag in self.tags:
            if tag.id == ident:
                return tag.refs
        if any(template.id == ident for template in self.templates):
            return tuple(p.id for p in self.primitives() if p.template == ident)
        return (ident,)

    def set_members(self, resource_set: ResourceSet) -> tuple[str, ...]:
        """The resources of a set, each tag or template replaced by what it stands for."""
        return tuple(rsc for ref in resource_set.resources for rsc in self.constrained(ref))

    def primitives(self) -> list[Primitive]:
        """Every primitive, groups and clones flattened, in document order."""
        found: list[Primitive] = []
        for rsc in self.resources:
            found.extend(iter_primitives(rsc))
        return found


def iter_primitives(rsc: Resource) -> list[Primitive]:
    if isinstance(rsc, Primitive):
        return [rsc]
    if isinstance(rsc, Group):
        return list(rsc.members)
    if isinstance(rsc, Bundle):
        return rsc.primitives()
    return iter_primitives(rsc.child)
