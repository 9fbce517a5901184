"""Nodes as one run of the scheduler sees them.

A node's state as the status section and the configuration give it (online,
unclean, standby, maintenance, attributes, remaining capacity), and the index
of its fail-counts built on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil.scheduler.working_resources import WorkPrimitive

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
