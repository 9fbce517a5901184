"""The scheduler's private working state for one run: :class:`Work`.

Mutable objects that live only inside one call of ``schedule()``: nodes as
the scheduler sees them (``working_nodes``), resources with what their
history says (``working_resources``), and the actions being planned with the
orderings between them (``working_actions``).  ``Work`` holds them all, with
the questions every stage asks of the whole run (which resource a constraint
names, where a resource is active, whether a node can be fenced).  Nothing
here escapes; ``schedule()`` turns it into the frozen ``Transition``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil.model.cluster import Cluster
from vigil.model.options import Options
from vigil.model.status import OpRecord
from vigil.scheduler.working_actions import WorkAction
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import WorkBundle, WorkClone, WorkGroup, WorkPrimitive, WorkResource

# A colocation's node attribute comparing bundle guest nodes by the cluster node they live on.
BUNDLE_HOST = "#bundle-host"


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
