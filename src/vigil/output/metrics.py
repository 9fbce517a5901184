"""``/metrics``: the cluster in Prometheus' text format (version 0.0.4).

The figures ClusterLabs' ha_cluster_exporter gives for Pacemaker, named
``vigil_*``: nodes by state, resources by role (and managed, failed,
disabled), fail-counts, recoveries left and migration-threshold per resource
and node, transitions and actions from the controller's counters, and when
the last transition ran.  Written by hand: the format is a few lines of text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vigil.model.resources import instance_base
from vigil.output.failcounts import FailCount
from vigil.output.report import ResourceReport, StatusReport

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

NODE_STATES = ("online", "offline", "standby", "standby-with-resources", "maintenance", "unclean-online",
               "unclean-offline", "pending", "shutting-down")
ROLES = ("Started", "Stopped", "Promoted", "Unpromoted")


@dataclass(frozen=True)
class ActionFigures:
    task: str
    count: int
    failed: int
    seconds: float


@dataclass(frozen=True)
class ControllerFigures:
    """The controller's counters since it started."""

    transitions: int = 0
    aborted_transitions: int = 0
    actions: tuple[ActionFigures, ...] = ()
    last_transition: float | None = None
    # Plans by how they were made (incremental, unchanged, full).
    plans: tuple[tuple[str, int], ...] = ()
    scheduling_seconds: float = 0.0
    # The store refusing to read or record: since when (None: it works), and how often.
    store_failing_since: float | None = None
    store_errors: int = 0


def escape(value: str) -> str:
    """A label value as the text format wants it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str,
               samples: Iterable[tuple[dict[str, str], float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{key}="{escape(val)}"' for key, val in labels.items())
            self.lines.append(f"{name}{{{label_text}}} {_number(value)}" if label_text
                              else f"{name} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _parents(resources: tuple[ResourceReport, ...]) -> list[tuple[ResourceReport, str, str]]:
    """Each primitive with the group and clone it belongs to ("" when none)."""
    found: list[tuple[ResourceReport, str, str]] = []

    def walk(rsc: ResourceReport, group: str, clone: str) -> None:
        if rsc.kind == "primitive":
            found.append((rsc, group, clone))
            return
        for member in rsc.members:
            if rsc.kind == "clone":
                walk(member, group, rsc.id)
            else:
                walk(member, instance_base(rsc.id), clone)

    for rsc in resources:
        walk(rsc, "", "")
    return found


def _recoveries(text: str) -> float:
    return float("inf") if text == "INFINITY" else int(text)


def render_metrics(report: StatusReport, counts: list[FailCount], figures: ControllerFigures) -> str:
    """The text of ``/metrics``; ``counts`` lists every primitive on every node, zeros included."""
    out = _Writer()
    out.metric("vigil_nodes", "gauge", "Nodes in each state.",
               (({"state": state}, sum(1 for n in report.nodes if n.state == state))
                for state in NODE_STATES))
    node_flags = []
    for node in report.nodes:
        flags = {node.state: True, "standby": node.standby, "maintenance": node.maintenance,
                 "online": node.online, "offline": not node.online, "local": node.local}
        node_flags += [({"node": node.name, "status": key}, 1.0) for key, on in sorted(flags.items()) if on]
    out.metric("vigil_node_status", "gauge",
               "1 for each status a node has (online, offline, standby, maintenance, local, its state).",
               node_flags)
    primitives = _parents(report.resources)
    out.metric("vigil_resources", "gauge", "Resource instances in each role.",
               (({"role": role}, sum(1 for p, _, _ in primitives if p.role == role and not p.failed))
                for role in ROLES))
    out.metric("vigil_resources_failed", "gauge", "Resource instances that failed.",
               [({}, sum(1 for p, _, _ in primitives if p.failed))])
    out.metric("vigil_resources_unmanaged", "gauge", "Resource instances the cluster does not manage.",
               [({}, sum(1 for p, _, _ in primitives if not p.managed))])
    out.metric("vigil_resources_disabled", "gauge", "Resource instances with target-role Stopped.",
               [({}, sum(1 for p, _, _ in primitives if p.disabled))])
    out.metric("vigil_resource", "gauge",
               "1 per resource instance and node it is active on (node empty when it is stopped).",
               [({"resource": p.id, "agent": p.agent or "", "role": "Failed" if p.failed else p.role or "",
                  "node": node, "managed": str(p.managed).lower(), "failed": str(p.failed).lower(),
                  "group": group, "clone": clone}, 1.0)
                for p, group, clone in primitives for node in (p.nodes or ("",))])
    out.metric("vigil_fail_count", "gauge",
               "A resource's fail-count on a node: the sum over its operations (1000000 is INFINITY).",
               [({"resource": c.resource, "node": c.node}, c.count) for c in counts])
    out.metric("vigil_migration_threshold", "gauge",
               "A resource's migration-threshold (1000000 is INFINITY, the default).",
               [({"resource": c.resource, "node": c.node}, c.migration_threshold) for c in counts])
    out.metric("vigil_recoveries_left", "gauge",
               "How many more restarts in place the failure budget allows (+Inf without a threshold).",
               [({"resource": c.resource, "node": c.node}, _recoveries(c.recoveries_left)) for c in counts])
    out.metric("vigil_failed_actions", "gauge", "Failed operations recorded in the status until a cleanup.",
               [({}, len(report.failed_actions))])
    out.metric("vigil_transitions_total", "counter", "Transitions run since the daemon started.",
               [({}, figures.transitions)])
    out.metric("vigil_transitions_aborted_total", "counter",
               "Transitions aborted (a change or a failure) since the daemon started.",
               [({}, figures.aborted_transitions)])
    out.metric("vigil_actions_total", "counter", "Agent actions run, per task.",
               [({"task": a.task}, a.count) for a in figures.actions])
    out.metric("vigil_action_failures_total", "counter", "Agent actions that failed, per task.",
               [({"task": a.task}, a.failed) for a in figures.actions])
    out.metric("vigil_action_duration_seconds_total", "counter", "Time spent in agent actions, per task.",
               [({"task": a.task}, a.seconds) for a in figures.actions])
    out.metric("vigil_plans_total", "counter",
               "Plans made by the scheduler, by how: incremental (only what changed re-planned), "
               "unchanged, or full.",
               [({"mode": mode}, count) for mode, count in figures.plans])
    out.metric("vigil_scheduling_seconds_total", "counter", "Time spent planning.",
               [({}, figures.scheduling_seconds)])
    out.metric("vigil_store_up", "gauge",
               "1 when the store reads and records; 0 while it refuses (a full disk, a lost server).",
               [({}, int(figures.store_failing_since is None))])
    out.metric("vigil_store_errors_total", "counter",
               "Times the store refused to read or record since the daemon started.",
               [({}, figures.store_errors)])
    out.metric("vigil_last_transition_timestamp_seconds", "gauge",
               "When the last transition ended (or started, while it runs); 0 before the first.",
               [({}, figures.last_transition or 0)])
    out.metric("vigil_quorate", "gauge", "1 when the partition has quorum.", [({}, int(report.have_quorum))])
    out.metric("vigil_stonith_enabled", "gauge", "1 when fencing is enabled.",
               [({}, int(report.stonith_enabled))])
    out.metric("vigil_maintenance_mode", "gauge", "1 when the cluster is in maintenance mode.",
               [({}, int(report.maintenance_mode))])
    out.metric("vigil_config_revision", "gauge", "The store revision that last wrote the configuration.",
               [({}, report.config_revision)])
    return out.text()

