"""``vigil status`` for people, laid out as ``crm_mon -1`` lays it out."""

from __future__ import annotations

import re

from vigil.model.status import Ticket
from vigil.output.crm_mon_xml import Times
from vigil.output.failcounts import FailCount
from vigil.output.history import format_interval, format_time
from vigil.output.report import (
    FailedAction,
    FencingInfo,
    NodeReport,
    ResourceReport,
    StatusReport,
    TransitionInfo,
)
from vigil.output.report import natural_key as _natural_key
from vigil.output.transition import NODE_MODES

# crm_mon's words for a node that is not simply online; a shutting-down node too.
_NODE_MODES = {**NODE_MODES, "shutting-down": "shutting down"}


def _flags(*words: str) -> str:
    present = [word for word in words if word]
    return f" ({', '.join(present)})" if present else ""


def render_status(report: StatusReport) -> str:
    lines = _store_problem_lines(report)
    lines += _summary(report)
    lines += ["", "Node List:", *_node_lines(report.nodes)]
    lines += ["", "Full List of Resources:"]
    resource_lines = [line for rsc in report.resources for line in _resource_lines(rsc, report, "  ")]
    lines += resource_lines or ["  * No resources"]
    attribute_lines = _attribute_lines(report.nodes)
    if attribute_lines:
        lines += ["", "Node Attributes:", *attribute_lines]
    if report.failcounts:
        lines += ["", "Migration Summary:", *_failcount_lines(report.failcounts)]
    if report.failed_actions:
        lines += ["", "Failed Resource Actions:", *(_failed_line(a) for a in report.failed_actions)]
    if report.fencing:
        lines += ["", "Fencing History:", *_fencing_lines(report.fencing)]
    if report.tickets:
        lines += ["", "Tickets:", *(_ticket_line(ticket) for ticket in report.tickets)]
    lines += ["", "Last Transition:", *_transition_lines(report.last_transition, report.now)]
    if report.pending:
        lines += ["", "Pending Actions (what the scheduler would do now):",
                  *(f"  * {line}" for line in report.pending)]
    lines += ["", "Active Recurring Monitors:"]
    lines += [f"  * {m.resource}_monitor_{m.interval_ms} on {m.node} (every {format_interval(m.interval_ms)})"
              for m in report.monitors] or ["  * none"]
    if report.notes:
        lines += ["", "Notes:", *(f"  * {note}" for note in report.notes)]
    if report.config_warnings:
        lines += ["", "Configuration Warnings:", *(f"  * {warning}" for warning in report.config_warnings)]
    return "\n".join(lines) + "\n"


def _ticket_line(ticket: Ticket) -> str:
    """crm_mon --tickets's line: ``* siteA: granted [standby] last-granted="Tue Nov 14 22:13:20 2023"``."""
    line = f"  * {ticket.id}: {'granted' if ticket.granted else 'revoked'}"
    if ticket.standby:
        line += " [standby]"
    if ticket.last_granted is not None:
        line += f' last-granted="{Times(zone=None).ctime(ticket.last_granted)}"'
    return line


# How many fencing entries the status shows, newest first (crm_mon's order).
SHOWN_FENCINGS = 10


def _fencing_lines(fencing: tuple[FencingInfo, ...]) -> list[str]:
    """crm_mon's fence history lines: ``reboot of node1 successful: delegate=..., completed='...'``."""
    lines = []
    for entry in reversed(fencing[-SHOWN_FENCINGS:]):
        outcome, when = ("successful", "completed") if entry.succeeded else ("failed", "last-failed")
        who = (f"delegate={entry.executioner or 'unknown'}, client={entry.client or 'unknown'}, "
               f"origin={entry.origin or 'unknown'}")
        lines.append(f"  * {entry.action} of {entry.target} {outcome}: {who}, "
                     f"{when}='{format_time(entry.completed)}'")
    return lines


def _store_problem_lines(report: StatusReport) -> list[str]:
    """First, loud: while the store refuses to record, nothing that happens is recorded or acted on."""
    problem = report.store_problem
    if problem is None:
        return []
    return [f"WARNING: the store cannot record since {format_time(int(problem.since))}: {problem.error}",
            "  (results and failures are not recorded or recovered until it can; vigil keeps trying)",
            ""]


def _summary(report: StatusReport) -> list[str]:
    instances = len(report.primitives())
    disabled = sum(1 for p in report.primitives() if p.disabled)
    blocked = sum(1 for p in report.primitives() if p.blocked)
    lines = [
        "Cluster Summary:",
        f"  * Current node: {report.node} (vigil) - partition "
        + ("with quorum" if report.have_quorum else "WITHOUT quorum"),
        f"  * Current DC: {report.controller or 'NONE'}",
        f"  * Last updated: {format_time(report.now)} (store revision {report.revision}, "
        f"configuration revision {report.config_revision})",
        f"  * {len(report.nodes)} node{'s' if len(report.nodes) != 1 else ''} configured",
        f"  * {instances} resource instance{'s' if instances != 1 else ''} configured"
        + (f" ({disabled} DISABLED, {blocked} BLOCKED)" if disabled or blocked else ""),
    ]
    if not report.stonith_enabled:
        lines.append("  * Fencing is disabled (stonith-enabled=false)")
    if report.maintenance_mode:
        lines.append("  * Resource management is DISABLED: the cluster is in maintenance mode")
    return lines


def _node_lines(nodes: tuple[NodeReport, ...]) -> list[str]:
    """crm_mon's node list: a line per node in a state of note, then the Online and OFFLINE lists.

    A node lost without being fenced is ``UNCLEAN (offline)`` (the scheduler's
    word, while fencing is enabled); an offline node in standby or maintenance
    keeps its mode, as crm_mon says ``OFFLINE (standby)``.  A node whose health is
    not green gets a line of its own, ``(health is RED)``.
    """
    lines: list[str] = []
    online: list[str] = []
    offline: list[str] = []
    for node in sorted(nodes, key=lambda n: _natural_key(n.name)):
        health = f" (health is {node.health.upper()})" if node.health != "green" else ""
        if node.state == "online" and not health:
            online.append(node.name)
        elif node.state == "online":
            lines.append(f"  * Node {node.name}: online{health}")
        elif node.state == "offline" and (node.standby or node.maintenance):
            lines.append(f"  * Node {node.name}: OFFLINE ({'standby' if node.standby else 'maintenance'})"
                         f"{health}")
        elif node.state == "offline" and not health:
            offline.append(node.name)
        elif node.state == "offline":
            lines.append(f"  * Node {node.name}: OFFLINE{health}")
        else:
            lines.append(f"  * Node {node.name}: {_NODE_MODES.get(node.state, node.state)}{health}")
    if online:
        lines.append(f"  * Online: [ {' '.join(online)} ]")
    if offline:
        lines.append(f"  * OFFLINE: [ {' '.join(offline)} ]")
    return lines


def _attribute_lines(nodes: tuple[NodeReport, ...]) -> list[str]:
    """crm_mon -A's "Node Attributes": each online node's attributes, with what a ping resource
    running there says of connectivity (lost at 0, degraded below what all its hosts give)."""
    lines: list[str] = []
    for node in sorted(nodes, key=lambda n: _natural_key(n.name)):
        if not node.online or not node.attributes:
            continue
        lines.append(f"  * Node: {node.name}:")
        for name, value in node.attributes.items():
            line = f"    * {name:<32}\t: {value:<10}"
            expected = node.ping_expected.get(name.lower())
            if expected is not None:
                reached = _leading_int(value)
                if reached <= 0:
                    line += "\t: Connectivity is lost"
                elif reached < expected:
                    line += f"\t: Connectivity is degraded (Expected={expected})"
            lines.append(line)
    return lines


def _leading_int(text: str) -> int:
    """The integer a value starts with (0 when it starts with none), as Pacemaker reads it."""
    match = re.match(r"\s*[+-]?\d+", text)
    return int(match.group()) if match else 0


def _primitive_line(rsc: ResourceReport) -> str:
    text = f"{rsc.id}\t({rsc.agent}):\t"
    if rsc.orphan:
        text += " ORPHANED"
    text += " FAILED" if rsc.failed else f" {rsc.role}"
    if len(rsc.nodes) == 1:
        text += f" {rsc.nodes[0]}"
    unmanaged = "unmanaged" if not rsc.managed and not rsc.maintenance else ""
    text += _flags("disabled" if rsc.disabled else "", "maintenance" if rsc.maintenance else "",
                   "blocked" if rsc.blocked else unmanaged)
    if len(rsc.nodes) > 1:
        text += f" [ {' '.join(rsc.nodes)} ]"
    return text


def _container_flags(rsc: ResourceReport, *extra: str) -> str:
    return _flags(*extra, "disabled" if rsc.disabled else "", "maintenance" if rsc.maintenance else "",
                  "unmanaged" if not rsc.managed and not rsc.maintenance else "")


def _resource_lines(rsc: ResourceReport, report: StatusReport, indent: str) -> list[str]:
    if rsc.kind == "primitive":
        return [f"{indent}* {_primitive_line(rsc)}"]
    inner = indent + "  "
    if rsc.kind == "group":
        lines = [f"{indent}* Resource Group: {rsc.id}{_container_flags(rsc)}:"]
        for member in rsc.members:
            lines += _resource_lines(member, report, inner)
        return lines
    if rsc.kind == "bundle":
        header = "Container bundle set" if len(rsc.members) > 1 else "Container bundle"
        lines = [f"{indent}* {header}: {rsc.id} [{rsc.child}]{_container_flags(rsc)}:"]
        for member in rsc.members:
            lines += _resource_lines(member, report, inner)
        return lines
    promotable = any(member.role in ("Promoted", "Unpromoted") for member in rsc.primitives())
    flags = _container_flags(rsc, "promotable" if promotable else "", "unique" if rsc.unique else "")
    lines = [f"{indent}* Clone Set: {rsc.id} [{rsc.child}]{flags}:"]
    if rsc.unique or any(member.kind != "primitive" for member in rsc.members):
        for member in rsc.members:
            lines += _resource_lines(member, report, inner)
        return lines
    # As crm_mon lists an anonymous clone's healthy instances: by role, promoted ones first.
    by_role: dict[str, list[str]] = {"Promoted": [], "Unpromoted": [], "Started": []}
    for member in rsc.members:
        healthy = member.managed and not (member.failed or member.orphan or member.blocked)
        if healthy and len(member.nodes) == 1 and member.role in by_role:
            by_role[member.role].append(member.nodes[0])
        elif member.nodes:
            lines += _resource_lines(member, report, inner)
    for role, nodes in by_role.items():
        if nodes:
            lines.append(f"{inner}* {role}: [ {' '.join(sorted(nodes, key=_natural_key))} ]")
    stopped = sorted((n.name for n in report.nodes if n.name not in rsc.nodes), key=_natural_key)
    if stopped:
        lines.append(f"{inner}* Stopped: [ {' '.join(stopped)} ]")
    return lines


def _failcount_lines(counts: tuple[FailCount, ...]) -> list[str]:
    lines: list[str] = []
    node = None
    for count in counts:
        if count.node != node:
            node = count.node
            lines.append(f"  * Node: {node}:")
        operations = ", ".join(f"{op.operation}: {op.count}" for op in count.operations)
        left = count.recoveries_left
        text = (f"    * {count.resource}: migration-threshold={count.threshold_text}, "
                f"fail-count={count.count_text}" + (f" ({operations})" if operations else "")
                + (f", last-failure='{format_time(count.last_failure)}'" if count.last_failure else "")
                + f": {left} recover{'y' if left == '1' else 'ies'} left")
        if count.expired:
            text += " (failure-timeout has passed: no longer counted)"
        lines.append(text)
        if count.unreadable:
            values = ", ".join(count.unreadable)
            lines.append(f"      warning: fail-count not a number, counted as 0: {values}"
                         f" (clear it: vigil failcount clear {count.resource} --node {count.node})")
    return lines


def _failed_line(action: FailedAction) -> str:
    return (f"  * {action.key} on {action.node} '{action.rc_text}' ({action.rc}): call={action.call_id}, "
            f"status='{action.status}', exitreason='{action.exit_reason or ''}', "
            f"last-rc-change='{format_time(action.last_rc_change)}', exec={action.exec_time_ms or 0}ms")


def _transition_lines(last: TransitionInfo | None, now: int) -> list[str]:
    if last is None:
        return ["  * none recorded yet"]
    ago = max(0, int(now - (last.finished or last.started)))
    when = format_time(int(last.finished or last.started))
    lines = [f"  * Transition {last.number}: {last.outcome}, {last.actions} action"
             f"{'s' if last.actions != 1 else ''}, at {when} ({ago} s ago)",
             f"    after: {last.trigger}"]
    lines += [f"    * {line}" for line in last.summary]
    return lines
