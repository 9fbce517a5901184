"""The cluster status: what actually happened.

Per node: membership flags, transient attributes (fail-counts, standby,
shutdown, ...) and the operation history of every resource the node has
touched.  The scheduler derives every resource's current state from this
history alone, as Pacemaker does, so the history is kept verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class OpRecord(NamedTuple):
    """One ``<lrm_rsc_op>``: the latest result of one operation key.

    Operation records and resource histories are named tuples rather than
    frozen dataclasses: just as immutable, but a status holds one per node
    and resource (a million in a large cluster), and a named tuple is built
    about ten times faster.  Use ``_replace`` and ``_asdict`` on them.
    """

    id: str
    operation: str
    interval_ms: int
    rc: int
    op_status: int
    call_id: int
    on_node: str | None = None
    op_digest: str | None = None
    op_restart_digest: str | None = None
    op_secure_digest: str | None = None
    op_force_restart: str | None = None
    last_rc_change: int | None = None
    last_run: int | None = None
    exec_time_ms: int | None = None
    queue_time_ms: int | None = None
    transition_key: str | None = None
    transition_magic: str | None = None
    exit_reason: str | None = None
    crm_feature_set: str | None = None
    migrate_source: str | None = None
    migrate_target: str | None = None
    # Names of the parameters left out of op_secure_digest (``op-secure-params``).
    op_secure_params: str | None = None
    # ``operation_key`` as recorded (RSC_OP_INTERVAL); None when the record
    # has none, in which case Pacemaker falls back to the record's id.
    operation_key: str | None = None

    @property
    def expected_rc(self) -> int | None:
        """The rc the controller expected, from the transition key."""
        key = self.transition_key
        if not key and self.transition_magic and ";" in self.transition_magic:
            key = self.transition_magic.split(";", 1)[1]
        if not key:
            return None
        parts = key.split(":")
        if len(parts) < 4:
            return None
        try:
            return int(parts[2])
        except ValueError:
            return None

    @property
    def is_probe(self) -> bool:
        return self.operation == "monitor" and self.interval_ms == 0


class ResourceHistory(NamedTuple):
    """One ``<lrm_resource>``: what one node remembers of one resource
    (a named tuple, as :class:`OpRecord`)."""

    id: str
    cls: str | None = None
    provider: str | None = None
    type: str | None = None
    container: str | None = None
    ops: tuple[OpRecord, ...] = ()
    # Epoch seconds at which the resource was locked to this node by
    # shutdown-lock (``shutdown-lock`` attribute), if it is.
    shutdown_lock: int | None = None


@dataclass(frozen=True)
class NodeState:
    """One ``<node_state>``."""

    id: str
    uname: str
    in_ccm: str | None = None
    crmd: str | None = None
    join: str | None = None
    expected: str | None = None
    is_remote: bool = False
    attributes: tuple[tuple[str, str], ...] = ()
    resources: tuple[ResourceHistory, ...] = ()
    # Transient capacities (``<utilization>`` in ``<transient_attributes>``,
    # attrd's ``--utilization``): they add to the configured ones, which win
    # where both name the same capacity.
    utilization: tuple[tuple[str, str], ...] = ()
    # ``node_fenced`` (epoch seconds of the last fencing, 3.x) and
    # ``node_in_maintenance`` ("1"/"0", remote nodes), raw.
    node_fenced: str | None = None
    node_in_maintenance: str | None = None
    # Other <node_state> attributes (shutdown, ha, crm-debug-origin ...),
    # uninterpreted, kept so that an export writes them back.
    extra_attributes: tuple[tuple[str, str], ...] = ()

    def attribute(self, name: str) -> str | None:
        for key, value in self.attributes:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class Ticket:
    """A ``<ticket_state>``: whether the ticket is granted to this site, in
    standby, and when it was last granted (epoch seconds, kept for export)."""

    id: str
    granted: bool = False
    standby: bool = False
    last_granted: int | None = None


@dataclass(frozen=True)
class Status:
    """Everything under ``<status>`` plus the ``<cib>`` attributes it needs."""

    nodes: tuple[NodeState, ...] = ()
    have_quorum: bool = True
    dc_uuid: str | None = None
    execution_date: int | None = None
    tickets: tuple[Ticket, ...] = field(default=())

    def node(self, uname: str) -> NodeState | None:
        for state in self.nodes:
            if state.uname == uname:
                return state
        return None
