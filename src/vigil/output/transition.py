"""Turn a transition into text: crm_simulate's layout, JSON, or a readable report.

Rendering is kept out of the scheduler so that the scheduler stays a pure
function returning data, and so that every output format reads the same
:class:`~vigil.model.transition.Transition`.  Nothing here reads a clock or a
file: ``now`` is passed in, as everywhere else in vigil.

The ``pacemaker`` format follows ``crm_simulate -S`` closely enough that the
``*`` lines of its ``Transition Summary:`` block are byte for byte what
Pacemaker prints (column widths included), which is what the conformance
suite compares after normalising white space.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from vigil.model.booleans import is_true
from vigil.model.cluster import Cluster
from vigil.model.config import Bundle, Clone, Config, Group, Primitive, Resource
from vigil.model.resources import GLOBALLY_UNIQUE, IS_MANAGED, TARGET_ROLE, Found, effective_meta
from vigil.model.transition import (
    Action,
    ClusterView,
    NodeView,
    ResourceView,
    SummaryLine,
    Transition,
    topological_order,
)

__all__ = [
    "format_summary_lines",
    "render_json",
    "render_pacemaker",
    "render_text",
]

# ---------------------------------------------------------------------------
# Transition Summary block
# ---------------------------------------------------------------------------

# Pacemaker's column widths start at 5 and only ever grow.  The resource
# column grows to ``len + 2`` each time a longer id is met (so it depends on
# the order of the lines, not just on the longest id); the details column
# grows to the longest details text.  Reproduced from observing every summary
# in the regression corpus, all 852 of which this rule reproduces exactly.
_MIN_WIDTH = 5


def _split_details(text: str) -> tuple[str, str] | None:
    """Split ``"( node1 -> node2 ) due to X"`` into details and the tail.

    Returns None when the text has no parenthesised node part (fencing lines,
    or anything the scheduler phrases freely), which is then printed as is.
    """
    if not text.startswith("( "):
        return None
    end = text.find(" )")
    if end < 0:
        return None
    return text[2:end].strip(), text[end + 2 :].strip()


def format_summary_lines(lines: Sequence[SummaryLine]) -> list[str]:
    """The ``  * ...`` lines of crm_simulate's Transition Summary, aligned."""
    rsc_width = _MIN_WIDTH
    detail_width = _MIN_WIDTH
    for line in lines:
        parts = _split_details(line.text)
        if parts is None:
            continue
        if len(line.subject) > rsc_width:
            rsc_width = len(line.subject) + 2
        detail_width = max(detail_width, len(parts[0]))

    out: list[str] = []
    for line in lines:
        parts = _split_details(line.text)
        if parts is None:
            out.append("  " + line.render())
            continue
        details, tail = parts
        out.append(
            f"  * {line.verb:<8}   {line.subject:<{rsc_width}}   ( {details:>{detail_width}} )"
            + (f"  {tail}" if tail else "")
        )
    return out


# ---------------------------------------------------------------------------
# Graph order, shared by the pacemaker and text formats
# ---------------------------------------------------------------------------


_CLUSTER_TASKS = frozenset({"clear_failcount", "do_shutdown", "lrm_delete"})


def _task_label(action: Action) -> str:
    return f"{action.task}={action.interval_ms}" if action.interval_ms else action.task


def _executing_line(action: Action) -> str:
    """One line of crm_simulate's ``Executing Cluster Transition:`` block."""
    meta = dict(action.meta)
    if action.task == "stonith":
        return f"  * Fencing {action.node} ({meta.get('stonith_action', 'reboot')})"
    if action.pseudo:
        return f"  * Pseudo action:   {action.key}"
    if action.task in _CLUSTER_TASKS:
        target = f" for {action.resource}" if action.resource else ""
        return f"  * Cluster action:  {action.task}{target} on {action.node}"
    return f"  * Resource action: {action.resource or '':<15} {_task_label(action)} on {action.node}"


# ---------------------------------------------------------------------------
# Current cluster status block
# ---------------------------------------------------------------------------

NODE_MODES = {
    "standby": "standby",
    "standby-with-resources": "standby (with active resources)",
    "maintenance": "maintenance",
    "unclean-online": "UNCLEAN (online)",
    "unclean-offline": "UNCLEAN (offline)",
    "pending": "pending",
}


def _natural_key(name: str) -> list[tuple[int, int | str]]:
    """Sort ``node2`` before ``node10`` and ignore case, as Pacemaker does."""
    return [
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    ]


def _node_list(nodes: Iterable[NodeView]) -> list[str]:
    """Node List lines: odd states one per node, then grouped lists."""
    lines: list[str] = []
    groups: dict[str, list[str]] = {
        "Online": [],
        "OFFLINE": [],
        "RemoteOnline": [],
        "RemoteOFFLINE": [],
    }
    for node in sorted(nodes, key=lambda n: _natural_key(n.name)):
        if node.state in ("online", "shutting-down"):
            groups["RemoteOnline" if node.is_remote else "Online"].append(node.name)
        elif node.state == "offline":
            groups["RemoteOFFLINE" if node.is_remote else "OFFLINE"].append(node.name)
        else:
            kind = "RemoteNode" if node.is_remote else "Node"
            lines.append(f"    * {kind} {node.name}: {NODE_MODES.get(node.state, node.state)}")
    for label, names in groups.items():
        if names:
            lines.append(f"    * {label}: [ {' '.join(names)} ]")
    return lines


def _flags(words: Iterable[str]) -> str:
    present = [word for word in words if word]
    return f" ({', '.join(present)})" if present else ""


def _primitive_line(view: ResourceView, name: str, unclean: frozenset[str]) -> str:
    """``rsc1\\t(ocf:heartbeat:apache):\\t FAILED node2`` and its flags."""
    text = f"{name}\t({view.agent}):\t"
    if view.orphan:
        text += " ORPHANED"
    if view.failed:
        text += " FAILED"
        if view.role == "Promoted":
            text += " Promoted"
    else:
        text += f" {view.role}"
    node = view.nodes[0] if len(view.nodes) == 1 else None
    if node is not None:
        text += f" {node}"
    text += _flags(
        [
            "UNCLEAN" if node in unclean else "",
            "disabled" if view.disabled else "",
            "blocked" if view.blocked else ("unmanaged" if not view.managed else ""),
        ]
    )
    if len(view.nodes) > 1:
        text += f" [ {' '.join(view.nodes)} ]"
    return text


def _parent_flags(meta: dict[str, str], *extra: str) -> str:
    """Flags of a group or clone header, from its resolved meta attributes."""
    return _flags(
        [
            *extra,
            "disabled" if meta.get(TARGET_ROLE, "").lower() == "stopped" else "",
            "unmanaged" if not is_true(meta.get(IS_MANAGED), default=True) else "",
        ]
    )


class _StatusWriter:
    """Lays out the Full List of Resources from the config tree and the view.

    The configuration gives the structure (groups, clones, document order);
    the scheduler's view gives each primitive's state.  Views that nothing in
    the configuration claims (orphans) are listed at the end, as Pacemaker
    lists them.
    """

    def __init__(self, view: ClusterView, config: Config, now: int) -> None:
        self.config = config
        self.now = now
        self.views = {rsc.id: rsc for rsc in view.resources}
        self.order = [rsc.id for rsc in view.resources]
        # Positions of the views, by what a clone recognises its instances
        # by (see _instances), so that it need not scan every view.
        self.by_parent: dict[str, list[int]] = {}
        self.by_parent_base: dict[str, list[int]] = {}
        self.by_base: dict[str, list[int]] = {}
        for position, rsc in enumerate(view.resources):
            if rsc.parent is not None:
                self.by_parent.setdefault(rsc.parent, []).append(position)
            self.by_parent_base.setdefault((rsc.parent or "").split(":", 1)[0], []).append(position)
            self.by_base.setdefault(rsc.id.split(":", 1)[0], []).append(position)
        self.nodes = view.nodes
        self.unclean = frozenset(
            node.name for node in view.nodes if node.state in ("unclean-offline",)
        )
        self.shown: set[str] = set()
        self.lines: list[str] = []

    def write(self, resources: Sequence[Resource]) -> list[str]:
        for rsc in resources:
            self._resource(rsc, "    ")
        for rsc_id in self.order:
            if rsc_id not in self.shown:
                self._primitive_view(self.views[rsc_id], rsc_id, "    ")
        return self.lines

    def _primitive_view(self, view: ResourceView, name: str, indent: str) -> None:
        self.shown.add(view.id)
        self.lines.append(f"{indent}* {_primitive_line(view, name, self.unclean)}")

    def _resource(self, rsc: Resource, indent: str) -> None:
        if isinstance(rsc, Primitive):
            view = self.views.get(rsc.id)
            if view is not None:
                self._primitive_view(view, rsc.id, indent)
        elif isinstance(rsc, Group):
            self.lines.append(f"{indent}* Resource Group: {rsc.id}{_parent_flags(self._meta(rsc))}:")
            for member in rsc.members:
                self._resource(member, indent + "  ")
        elif isinstance(rsc, Bundle):
            self._bundle(rsc, indent)
        else:
            self._clone(rsc, indent)

    def _bundle(self, bundle: Bundle, indent: str) -> None:
        """Pacemaker's layout: one line per replica, named after its guest node
        (with its IP), showing the inner resource's state on the container's node."""
        header = "Container bundle set" if bundle.replicas > 1 else "Container bundle"
        flags = _parent_flags(self._meta(bundle))
        self.lines.append(f"{indent}* {header}: {bundle.id} [{bundle.image}]{flags}:")
        child_views = [v for v in (self.views.get(i) for i in self.order) if v is not None
                       and bundle.child is not None and v.id.split(":", 1)[0] == bundle.child.id]
        for view in child_views:
            self.shown.add(view.id)
        for replica in bundle.replica_resources:
            container = self.views.get(replica.container.id)
            for prim in replica.primitives():
                self.shown.add(prim.id)
            if container is None:
                continue
            guest = replica.guest_node
            if guest is None or bundle.child is None:
                self._primitive_view(container, container.id, indent + "  ")
                continue
            name = guest + (f" ({replica.ip.params[0].values[0][1]})" if replica.ip is not None else "")
            inside = next((v for v in child_views if guest in v.nodes), None)
            shown = replace(inside or container, agent=bundle.child.agent, nodes=container.nodes,
                            role=inside.role if inside is not None else "Stopped")
            if inside is None:
                shown = replace(shown, failed=False, nodes=())
            self.lines.append(f"{indent}  * {_primitive_line(shown, name, self.unclean)}")

    def _meta(self, rsc: Group | Clone | Bundle) -> dict[str, str]:
        """A group's or clone's own meta attributes in effect (its header's flags are its own)."""
        return effective_meta(self.config, Found(rsc), self.now)

    def _instances(self, clone: Clone) -> list[ResourceView]:
        """The clone's instance views, by parent or by ``child:N`` naming, in
        view order."""
        members = {clone.child.id}
        if isinstance(clone.child, Group):
            members.update(member.id for member in clone.child.members)
        found = set(self.by_parent.get(clone.id, ()))
        for name in members:
            found.update(self.by_parent_base.get(name, ()))
            found.update(self.by_base.get(name, ()))
        return [self.views[self.order[i]] for i in sorted(found)]

    def _clone(self, clone: Clone, indent: str) -> None:
        meta = self._meta(clone)
        unique = is_true(meta.get(GLOBALLY_UNIQUE))
        kind = ("promotable" if clone.promotable else "", "unique" if unique else "")
        header_flags = _parent_flags(meta, *kind)
        self.lines.append(f"{indent}* Clone Set: {clone.id} [{clone.child.id}]{header_flags}:")
        inner = indent + "  "
        instances = self._instances(clone)
        if unique or isinstance(clone.child, Group):
            # Approximate for cloned groups: each instance member on its own.
            for view in instances:
                self._primitive_view(view, view.id, inner)
            return
        by_role: dict[str, list[str]] = {}
        active: set[str] = set()
        for view in instances:
            self.shown.add(view.id)
            active.update(view.nodes)
            healthy = view.managed and not (view.failed or view.orphan or view.blocked)
            if healthy and len(view.nodes) == 1 and view.role in ("Started", "Promoted", "Unpromoted"):
                by_role.setdefault(view.role, []).append(view.nodes[0])
            elif view.nodes:
                self._primitive_view(view, view.id.split(":", 1)[0], inner)
        for role in ("Promoted", "Unpromoted", "Started"):
            if role in by_role:
                names = sorted(by_role[role], key=_natural_key)
                self.lines.append(f"{inner}* {role}: [ {' '.join(names)} ]")
        stopped = sorted((n.name for n in self.nodes if n.name not in active), key=_natural_key)
        if stopped:
            self.lines.append(f"{inner}* Stopped: [ {' '.join(stopped)} ]")


def _status_block(cluster: Cluster, view: ClusterView | None, now: int) -> list[str]:
    if view is None:
        return ["Current cluster status:", "  * (the scheduler gave no view of the cluster)"]
    lines: list[str] = []
    disabled = sum(1 for rsc in view.resources if rsc.disabled)
    blocked = sum(1 for rsc in view.resources if rsc.blocked)
    if disabled or blocked:
        lines += [
            f"{disabled} of {len(view.resources)} resource instances DISABLED and {blocked} BLOCKED "
            "from further action due to failure",
            "",
        ]
    lines += ["Current cluster status:", "  * Node List:", *_node_list(view.nodes)]
    lines += ["", "  * Full List of Resources:"]
    resources = _StatusWriter(view, cluster.config, now).write(cluster.config.resources)
    lines += resources or ["    * No resources"]
    return lines


def render_pacemaker(cluster: Cluster, transition: Transition, now: int) -> str:
    """crm_simulate's ``-S`` layout, up to the planned actions.

    vigil does not execute the transition here, so there is no "Revised
    Cluster Status"; the "Executing Cluster Transition" block lists the
    actions in an order the graph allows.  Like crm_simulate, it says so
    when "now" is the CIB's own ``execution-date``.
    """
    lines: list[str] = []
    if cluster.status.execution_date is not None and cluster.status.execution_date == now:
        lines.append(f"Using the original execution date of: {_format_time(now)}")
    lines += _status_block(cluster, transition.view, now)
    lines += ["", "Transition Summary:", *format_summary_lines(transition.summary), ""]
    lines.append("Executing Cluster Transition:")
    lines += [_executing_line(action) for action in topological_order(transition)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------


def render_json(transition: Transition) -> str:
    """The transition for programs: actions with their meta, order, summary.

    Key order is fixed and meta keys are sorted, so equal transitions give
    byte-identical output (the differential tests diff it).
    """
    document = {
        "actions": [
            {
                "id": action.index,
                "task": action.task,
                "resource": action.resource,
                "node": action.node,
                "interval": action.interval_ms,
                "pseudo": action.pseudo,
                "meta": dict(sorted(action.meta)),
            }
            for action in transition.actions
        ],
        "order": [[before, then] for before, then in transition.order],
        "summary": [line.render() for line in transition.summary],
    }
    return json.dumps(document, indent=2) + "\n"


# ---------------------------------------------------------------------------
# Text, for people
# ---------------------------------------------------------------------------


def _format_time(now: int) -> str:
    return datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _view_state(view: ResourceView) -> str:
    role = "" if view.failed and view.role == "Started" else view.role
    words = ["orphaned" if view.orphan else "", "FAILED" if view.failed else "", role]
    state = " ".join(word for word in words if word)
    if view.nodes:
        state += " on " + ", ".join(view.nodes)
    return state + _flags(
        [
            "disabled" if view.disabled else "",
            "blocked" if view.blocked else ("unmanaged" if not view.managed else ""),
        ]
    )


def _action_title(action: Action) -> str:
    where = f" on {action.node}" if action.node else ""
    meta = dict(action.meta)
    if action.task == "stonith":
        return f"fence {action.node} ({meta.get('stonith_action', 'reboot')})"
    label = _task_label(action)
    if action.task in ("notify", "notified") and "notify_key_type" in meta:
        # e.g. "notify pre demote", "notified confirmed-post running"
        label = f"{action.task} {meta['notify_key_type']} {meta.get('notify_key_operation', '')}".rstrip()
    pseudo = " (pseudo)" if action.pseudo else ""
    return f"{label}{where}{pseudo}"


# Shown in the title of a notification instead of as meta.
_NOTIFY_LABELS = frozenset({"notify_key_type", "notify_key_operation"})


def _shown_meta(action: Action) -> list[tuple[str, str]]:
    """The meta attributes the text report lists: all of them, except a
    notification's name parts (in its title) and the notify_* lists that
    are empty (" ", as the agent sees them)."""
    return [(key, value) for key, value in action.meta
            if key not in _NOTIFY_LABELS and not (key.startswith("notify_") and not value.strip())]


def render_text(cluster: Cluster, transition: Transition, now: int) -> str:
    """A report for people: the state, the plan, and each action's meta.

    Actions are grouped by resource (fencing and cluster actions first, under
    "cluster"), each group in graph order, with the meta the agent will
    receive, so an agent author can read the stop context (and a promotable
    clone's demote/promote context, and what a notification tells) at a
    glance; the empty notify_* lists are left out.
    """
    del cluster  # the view carries everything this format shows
    lines = [f"Now: {_format_time(now)}"]
    view = transition.view
    if view is not None:
        online = sum(1 for node in view.nodes if node.state == "online")
        quorum = "yes" if view.have_quorum else "NO"
        lines += ["", f"Nodes ({online} of {len(view.nodes)} online, quorum: {quorum}):"]
        width = max((len(node.name) for node in view.nodes), default=0)
        nodes = sorted(view.nodes, key=lambda node: _natural_key(node.name))
        lines += [f"  {node.name:<{width}}  {node.state}" for node in nodes]
        lines += ["", "Resources:"]
        width = max((len(rsc.id) for rsc in view.resources), default=0)
        lines += [f"  {rsc.id:<{width}}  {rsc.agent}  {_view_state(rsc)}" for rsc in view.resources]
        if not view.resources:
            lines.append("  (none)")

    lines += ["", "Plan:"]
    lines += [f"  {line.render()}" for line in transition.summary] or ["  nothing to do"]

    groups: dict[str, list[Action]] = {}
    for action in topological_order(transition):
        groups.setdefault(action.resource or "cluster", []).append(action)
    if groups:
        lines += ["", f"Actions ({len(transition.actions)}, in graph order):"]
        names = sorted(groups, key=lambda name: name != "cluster")
        for name in names:
            lines.append(f"  {name}:")
            for action in groups[name]:
                lines.append(f"    {_action_title(action)}")
                lines += [f"        {key}={value}" for key, value in _shown_meta(action)]
    if transition.notes:
        lines += ["", "Notes:", *(f"  {note}" for note in transition.notes)]
    return "\n".join(lines) + "\n"
