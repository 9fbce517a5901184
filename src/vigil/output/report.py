"""``vigil status``: the cluster as ``crm_mon -1`` shows it, as data.

Built from one store snapshot, the scheduler's view of it (the same view the
controller plans from) and what the controller reports (its transitions and
its recurring monitors), so every figure is of one revision.  The text
layout is in :mod:`vigil.output.status_text`; the JSON is these dataclasses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from vigil.model.booleans import is_true
from vigil.model.cluster import Cluster
from vigil.model.config import Bundle, Clone, Config, Group, NvSet, Primitive, Resource, iter_primitives
from vigil.model.failcounts import FAILURE_PREFIXES
from vigil.model.node_attributes import configured_attributes
from vigil.model.nvsets import plain_value, resolve_nvsets
from vigil.model.options import Options, unpack_options
from vigil.model.resources import IS_MANAGED, MAINTENANCE, TARGET_ROLE, instance_base, is_globally_unique
from vigil.model.results import rc_name, rc_word, status_label
from vigil.model.rule_eval import RuleContext
from vigil.model.scores import lenient_score
from vigil.model.status import Ticket
from vigil.model.transition import ClusterView, ResourceView, Transition
from vigil.output.failcounts import FailCount, failcounts


@dataclass(frozen=True)
class NodeReport:
    name: str
    # online, offline, standby, standby-with-resources, maintenance, unclean-online,
    # unclean-offline, pending, shutting-down (the scheduler's words)
    state: str
    online: bool
    standby: bool
    maintenance: bool
    # The node this vigil runs.
    local: bool
    id: str = ""
    type: str = "member"
    # green, yellow or red: the node's #health-* attributes as node-health-strategy reads them
    # (always green when the strategy is none), crm_mon's health.
    health: str = "green"
    # The node attributes crm_mon -A shows, by name: the configured (permanent) ones with the
    # transient ones over them, Pacemaker's own bookkeeping left out (fail-counts, #health-*, ...).
    attributes: dict[str, str] = field(default_factory=dict)
    # For an attribute a ping resource running here sets (its name in lower case): the value it
    # reaches when every host answers (host_list's length times multiplier), crm_mon's "expected".
    ping_expected: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceReport:
    """A primitive (or clone instance), or a group or clone with its members."""

    id: str
    kind: str  # primitive, group, clone, bundle
    agent: str | None = None
    # Started, Stopped, Promoted, Unpromoted (primitives only)
    role: str | None = None
    nodes: tuple[str, ...] = ()
    failed: bool = False
    managed: bool = True
    blocked: bool = False
    orphan: bool = False
    disabled: bool = False
    maintenance: bool = False
    unique: bool = False
    # A clone's child (primitive or group) id; a bundle's image.
    child: str | None = None
    members: tuple[ResourceReport, ...] = ()

    def primitives(self) -> list[ResourceReport]:
        if self.kind == "primitive":
            return [self]
        return [p for member in self.members for p in member.primitives()]


@dataclass(frozen=True)
class FailedAction:
    """A failed operation still in the status (its ``RSC_last_failure_0`` record), until a cleanup."""

    key: str
    resource: str
    node: str
    operation: str
    interval_ms: int
    rc: int
    rc_name: str
    rc_text: str
    status: str
    call_id: int
    exit_reason: str | None = None
    last_rc_change: int | None = None
    exec_time_ms: int | None = None
    queue_time_ms: int | None = None
    # The execution status as recorded (``status`` is its word).
    op_status: int = 0


@dataclass(frozen=True)
class TransitionInfo:
    number: int
    trigger: str
    summary: tuple[str, ...]
    actions: int
    started: float
    outcome: str
    finished: float | None = None


@dataclass(frozen=True)
class MonitorInfo:
    resource: str
    node: str
    interval_ms: int


@dataclass(frozen=True)
class FencingInfo:
    """One entry of the fence history, as ``crm_mon --fence-history`` shows it."""

    target: str
    action: str
    succeeded: bool
    completed: int
    executioner: str = ""
    origin: str = ""
    client: str = ""
    device: str = ""


@dataclass(frozen=True)
class StoreProblem:
    """The store refuses to read or record: nothing that happens now is recorded."""

    since: float
    error: str


@dataclass(frozen=True)
class ControllerInfo:
    """What the controller tells about itself: its node, transitions (oldest first), monitors,
    and whether its store refuses to record."""

    node: str
    transitions: tuple[TransitionInfo, ...] = ()
    monitors: tuple[MonitorInfo, ...] = ()
    store_problem: StoreProblem | None = None


@dataclass(frozen=True)
class StatusReport:
    node: str
    now: int
    revision: int
    config_revision: int
    have_quorum: bool
    stonith_enabled: bool
    maintenance_mode: bool
    nodes: tuple[NodeReport, ...]
    resources: tuple[ResourceReport, ...]
    failed_actions: tuple[FailedAction, ...]
    failcounts: tuple[FailCount, ...]
    last_transition: TransitionInfo | None
    monitors: tuple[MonitorInfo, ...]
    # What the scheduler would do now (empty when the cluster is where it should be).
    pending: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # Set while the daemon's store refuses to read or record (status cannot be trusted to be current).
    store_problem: StoreProblem | None = None
    # What reading the configuration warned about (values Pacemaker accepts and ignores, ...).
    config_warnings: tuple[str, ...] = ()
    # The fence history, oldest first (the store's; filled in by the caller that reads it).
    fencing: tuple[FencingInfo, ...] = ()
    # The node that is the controller (crm_mon's DC): on a shared store the elected one (None while
    # none is), on one machine this node.
    controller: str | None = None
    # The tickets (known_tickets), by id.
    tickets: tuple[Ticket, ...] = ()

    def primitives(self) -> list[ResourceReport]:
        return [p for rsc in self.resources for p in rsc.primitives()]


def known_tickets(cluster: Cluster) -> tuple[Ticket, ...]:
    """Every ticket with a state here, and every ticket a constraint names (revoked until granted),
    by id: what ``crm_mon --tickets`` and ``crm_ticket -l`` list."""
    known = {ticket.id: ticket for ticket in cluster.status.tickets}
    for constraint in cluster.config.rsc_tickets:
        known.setdefault(constraint.ticket, Ticket(constraint.ticket))
    return tuple(known[name] for name in sorted(known))


def build_report(cluster: Cluster, transition: Transition, now: int, controller: ControllerInfo,
                 revision: int, config_revision: int) -> StatusReport:
    """The status of ``cluster`` (one snapshot) with ``transition`` = ``schedule(cluster, now)``."""
    config = cluster.config
    view = transition.view or ClusterView()
    options = unpack_options(config, RuleContext(now=now), cluster.status.have_quorum)
    return StatusReport(
        node=controller.node,
        now=now,
        revision=revision,
        config_revision=config_revision,
        have_quorum=view.have_quorum,
        stonith_enabled=options.stonith_enabled,
        maintenance_mode=options.maintenance_mode,
        nodes=tuple(_nodes(config, cluster, view, controller.node, now, options)),
        resources=tuple(resource_tree(config, view, now)),
        failed_actions=tuple(failed_actions(cluster)),
        failcounts=tuple(failcounts(config, cluster.status, now)),
        last_transition=controller.transitions[-1] if controller.transitions else None,
        monitors=controller.monitors,
        pending=tuple(line.render().removeprefix("* ") for line in transition.summary),
        notes=transition.notes,
        store_problem=controller.store_problem,
        config_warnings=config.warnings,
        # This node, as on one machine; the caller that knows the store names the elected one.
        controller=controller.node,
        tickets=known_tickets(cluster),
    )


def _nodes(config: Config, cluster: Cluster, view: ClusterView, local: str, now: int,
           options: Options) -> list[NodeReport]:
    configured = {node.uname: node for node in config.nodes}
    reports = []
    for node in view.nodes:
        found = configured.get(node.name)
        attrs = configured_attributes(found, now) if found is not None else {}
        state = cluster.status.node(node.name)
        if state is not None:
            attrs.update(state.attributes)
        reports.append(NodeReport(
            name=node.name,
            state=node.state,
            online=node.state in ("online", "standby", "standby-with-resources", "maintenance",
                                  "shutting-down", "unclean-online"),
            standby=is_true(attrs.get("standby")),
            maintenance=is_true(attrs.get(MAINTENANCE)),
            local=node.name == local,
            id=found.id if found is not None else (state.id if state is not None else node.name),
            type="remote" if node.is_remote else (found.type if found is not None else "member") or "member",
            health=node_health(attrs, options),
            attributes=shown_attributes(attrs),
            ping_expected=_ping_expected(config, view, node.name, attrs, now),
        ))
    return reports


# Attributes crm_mon -A never shows: Pacemaker's own bookkeeping (fail-counts, shutdown and standby
# requests) and the built-in or health attributes, whose names start with "#".
HIDDEN_ATTRIBUTE_PREFIXES = (*FAILURE_PREFIXES, "shutdown", "terminate", "standby", "#")


def shown_attributes(attrs: Mapping[str, str]) -> dict[str, str]:
    """The attributes crm_mon -A lists, sorted by name as it sorts them (byte order)."""
    return {name: attrs[name] for name in sorted(attrs)
            if not name.startswith(HIDDEN_ATTRIBUTE_PREFIXES)}


def node_health(attrs: Mapping[str, str], options: Options) -> str:
    """red, yellow or green, as crm_mon colours a node from its ``#health*`` attributes: any red
    (or a score at or below node-health-red) is red; yellow when one is yellow (or at or below
    node-health-yellow, when that differs from node-health-green); no strategy, always green."""
    if options.node_health_strategy in ("none", ""):
        return "green"
    colour = "green"
    for name, value in attrs.items():
        if not name.startswith("#health"):
            continue
        word = value.strip().lower()
        if word == "red":
            return "red"
        if word == "yellow":
            colour = "yellow"
            continue
        score = {"green": options.node_health_green}.get(word)
        if score is None:
            score = lenient_score(value)
        if score <= options.node_health_red:
            return "red"
        if score <= options.node_health_yellow and options.node_health_yellow != options.node_health_green:
            colour = "yellow"
    return colour


# The agents that publish connectivity as a node attribute (ocf:pacemaker:ping and its old name).
PING_TYPES = ("ping", "pingd")


def _ping_expected(config: Config, view: ClusterView, node: str, attrs: dict[str, str],
                   now: int) -> dict[str, int]:
    """For each ping resource running on ``node``: its attribute (``name``, default pingd) and the
    value it reaches when all of ``host_list`` answers (times ``multiplier``, default 1)."""
    running = {instance_base(rsc.id) for rsc in view.resources if node in rsc.nodes}
    expected: dict[str, int] = {}
    for top in config.resources:
        for prim in iter_primitives(top):
            if prim.id not in running or prim.type.lower() not in PING_TYPES:
                continue
            params = resolve_nvsets(prim.params, RuleContext(now=now, node_attrs=attrs))
            name = params.get("name", "pingd").lower()  # crm_mon matches it without case
            host_list = params.get("host_list", "")
            hosts = len(host_list.split(" ")) if host_list else 0
            try:
                multiplier = int(params.get("multiplier", "1"))
            except ValueError:
                multiplier = 1
            expected.setdefault(name, hosts * multiplier)
    return expected


def natural_key(name: str) -> list[tuple[int, int | str]]:
    """Sort key for node names as Pacemaker orders them: digit runs by value, the rest without case
    (``node2`` before ``node10``)."""
    return [(0, int(part)) if part.isdigit() else (1, part.lower()) for part in re.split(r"(\d+)", name)
            if part]


def _own_flags(meta: tuple[NvSet, ...]) -> tuple[bool, bool, bool]:
    """(disabled, managed, maintenance) from a group's or clone's own meta attributes."""
    role = plain_value(meta, TARGET_ROLE)
    return (role is not None and role.lower() == "stopped",
            is_true(plain_value(meta, IS_MANAGED), True),
            is_true(plain_value(meta, MAINTENANCE)))


def _primitive(view: ResourceView, prim: Primitive | None) -> ResourceReport:
    maintenance = prim is not None and is_true(plain_value(prim.meta, MAINTENANCE))
    return ResourceReport(
        id=view.id, kind="primitive", agent=view.agent, role=view.role, nodes=view.nodes,
        failed=view.failed, managed=view.managed, blocked=view.blocked, orphan=view.orphan,
        disabled=view.disabled, maintenance=maintenance,
    )


def _bundle(bundle: Bundle, views: dict[str, ResourceView], shown: set[str]) -> ResourceReport:
    """A bundle as crm_mon shows it: a line per replica, named after its guest node (with its IP),
    with the inner resource's state on the container's node (the container's without one)."""
    child_id = bundle.child.id if bundle.child is not None else None
    child_views = [v for v in views.values() if instance_base(v.id) == child_id]
    shown.update(v.id for v in child_views)
    replicas: list[ResourceReport] = []
    for replica in bundle.replica_resources:
        shown.update(p.id for p in replica.primitives())
        container = views.get(replica.container.id)
        if container is None:
            continue
        guest = replica.guest_node
        if guest is None or bundle.child is None:
            replicas.append(_primitive(container, replica.container))
            continue
        inside = next((v for v in child_views if guest in v.nodes), None)
        address = dict(replica.ip.params[0].values).get("ip") if replica.ip is not None else None
        base = _primitive(inside or container, bundle.child)
        replicas.append(replace(
            base, id=guest + (f" ({address})" if address else ""), agent=bundle.child.agent,
            role=inside.role if inside is not None else "Stopped",
            nodes=container.nodes if inside is not None else (), failed=inside is not None and inside.failed))
    disabled, managed, maintenance = _own_flags(bundle.meta)
    nodes: list[str] = []
    for member in replicas:
        nodes.extend(n for n in member.nodes if n not in nodes)
    return ResourceReport(
        id=bundle.id, kind="bundle", nodes=tuple(nodes), failed=any(m.failed for m in replicas),
        managed=managed and all(m.managed for m in replicas), blocked=any(m.blocked for m in replicas),
        disabled=disabled, maintenance=maintenance, unique=bundle.replicas_per_host > 1,
        child=bundle.image, members=tuple(replicas),
    )


def _container(rsc: Group | Clone, members: list[ResourceReport], unique: bool = False) -> ResourceReport:
    disabled, managed, maintenance = _own_flags(rsc.meta)
    nodes: list[str] = []
    for member in members:
        nodes.extend(n for n in member.nodes if n not in nodes)
    return ResourceReport(
        id=rsc.id, kind="group" if isinstance(rsc, Group) else "clone", nodes=tuple(nodes),
        failed=any(m.failed for m in members), managed=managed and all(m.managed for m in members),
        blocked=any(m.blocked for m in members), disabled=disabled, maintenance=maintenance,
        unique=unique, child=rsc.child.id if isinstance(rsc, Clone) else None, members=tuple(members),
    )


def resource_tree(config: Config, view: ClusterView, now: int) -> list[ResourceReport]:
    """The configured resources in document order, each with its state; orphans at the end."""
    views = {rsc.id: rsc for rsc in view.resources}
    shown: set[str] = set()

    def primitive(prim: Primitive) -> ResourceReport | None:
        found = views.get(prim.id)
        if found is None:
            return None
        shown.add(found.id)
        return _primitive(found, prim)

    def instances(prim: Primitive) -> list[ResourceView]:
        return [v for v in view.resources if instance_base(v.id) == prim.id and v.id not in shown]

    def build(rsc: Resource) -> ResourceReport | None:
        if isinstance(rsc, Primitive):
            return primitive(rsc)
        if isinstance(rsc, Bundle):
            return _bundle(rsc, views, shown)
        if isinstance(rsc, Group):
            members = [m for m in (primitive(member) for member in rsc.members) if m is not None]
            return _container(rsc, members)
        child = rsc.child
        entries: list[ResourceReport] = []
        if isinstance(child, Primitive):
            for found in instances(child):
                shown.add(found.id)
                entries.append(_primitive(found, child))
        else:
            by_number: dict[str, list[ResourceReport]] = {}
            for member in child.members:
                for found in instances(member):
                    shown.add(found.id)
                    number = found.id.rpartition(":")[2] if ":" in found.id else "0"
                    by_number.setdefault(number, []).append(_primitive(found, member))
            for number in sorted(by_number, key=lambda n: int(n) if n.isdigit() else 0):
                entries.append(replace(_container(child, by_number[number]), id=f"{child.id}:{number}"))
        return _container(rsc, entries, unique=is_globally_unique(config, rsc, now))

    tree = [entry for entry in (build(rsc) for rsc in config.resources) if entry is not None]
    for found in view.resources:
        if found.id not in shown:
            tree.append(_primitive(found, None))
    return tree


def failed_actions(cluster: Cluster) -> list[FailedAction]:
    """Each node's ``*_last_failure_0`` records, as crm_mon's "Failed Resource Actions"."""
    found = []
    for state in cluster.status.nodes:
        for history in state.resources:
            for record in history.ops:
                if not record.id.endswith("_last_failure_0"):
                    continue
                found.append(FailedAction(
                    key=record.operation_key or f"{history.id}_{record.operation}_{record.interval_ms}",
                    resource=history.id, node=state.uname, operation=record.operation,
                    interval_ms=record.interval_ms, rc=record.rc, rc_name=rc_name(record.rc),
                    rc_text=rc_word(record.rc), status=status_label(record.op_status),
                    call_id=record.call_id, exit_reason=record.exit_reason,
                    last_rc_change=record.last_rc_change, exec_time_ms=record.exec_time_ms,
                    queue_time_ms=record.queue_time_ms, op_status=record.op_status,
                ))
    return found
