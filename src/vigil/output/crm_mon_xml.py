"""``vigil status --output-as xml``: the status as Pacemaker 2.1.5's ``crm_mon --output-as=xml -1`` writes it.

Scripts, monitoring exporters and resource agents (pgsql, galera, redis,
rabbitmq-cluster) read crm_mon's XML, some with grep, so this is crm_mon's
document, not a look-alike: the same elements in the same order, the same
attributes in the order crm_mon writes them, its value spellings, and its
serialisation (two-space indentation, no XML declaration, attribute values
escaped as Pacemaker's own writer escapes them).  It validates against
Pacemaker's schema (``/usr/share/pacemaker/api/api-result-2.25.rng``).

What crm_mon derives from its scheduler (roles, failed, managed, node states)
comes from the :class:`~vigil.output.report.StatusReport` (vigil's scheduler,
the one the controller plans with); what it reads from the CIB (node ids,
the operation history, meta attributes, location constraints) from the
:class:`~vigil.model.cluster.Cluster` the report was built from.

Where crm_mon would write a document its own schema refuses (a failure
without ``queued``), vigil writes the attribute (``0``): valid first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from vigil import __version__
from vigil.model.booleans import is_true
from vigil.model.cluster import Cluster
from vigil.model.config import Clone, Group, Location
from vigil.model.failcounts import migration_threshold
from vigil.model.isodate import parse_interval_ms
from vigil.model.node_attributes import configured_attributes
from vigil.model.options import Options, raw_options, unpack_options
from vigil.model.resources import (
    IS_MANAGED,
    MAINTENANCE,
    MIGRATION_THRESHOLD,
    TARGET_ROLE,
    Found,
    all_resources,
    effective_meta,
    instance_base,
)
from vigil.model.results import ExecStatus, OcfRc
from vigil.model.rule_eval import RuleContext, rule_passes, rule_score
from vigil.model.scores import INFINITY
from vigil.model.status import OpRecord, ResourceHistory
from vigil.output.failcounts import FailCount
from vigil.output.report import FailedAction, NodeReport, ResourceReport, StatusReport, natural_key
from vigil.scheduler import plain_locations

# The api-version Pacemaker 2.1.5's crm_mon writes (its newest api-result schema).
API_VERSION = "2.25"
DEFAULT_REQUEST = "vigil status --output-as=xml"
DEFAULT_STONITH_TIMEOUT_MS = 60_000
# The feature set a vigil node speaks: the one its executor gives agents
# (vigil.executor.environment.CRM_FEATURE_SET, which this pure module cannot import; a test
# keeps the two equal), Pacemaker 2.1.5's.
FEATURE_SET = "3.16.1"
# What crm_mon skips in a node's operation history.
_NOTIFY = "notify"


@dataclass
class Element:
    """One XML element: attributes in the order written (None: left out, as crm_mon leaves out an
    unset one), then children."""

    tag: str
    attrs: list[tuple[str, str]] = field(default_factory=list)
    children: list[Element] = field(default_factory=list)

    @classmethod
    def of(cls, tag: str, *pairs: tuple[str, str | None], children: Iterable[Element] = ()) -> Element:
        return cls(tag, [(name, value) for name, value in pairs if value is not None], list(children))


def render_crm_mon_xml(report: StatusReport, cluster: Cluster, request: str = DEFAULT_REQUEST,
                       zone: tzinfo | None = UTC) -> str:
    """crm_mon's XML document for ``report`` (built from ``cluster``), times in ``zone`` (None: the
    machine's local time, each time with the offset it had then, as crm_mon writes them)."""
    doc = _Document(report, cluster, Times(zone))
    root = Element.of("pacemaker-result", ("api-version", API_VERSION), ("request", request))
    root.children = [child for child in doc.sections() if child is not None]
    root.children.append(Element.of("status", ("code", "0"), ("message", "OK")))
    return "\n".join(serialize(root)) + "\n"


def serialize(element: Element, depth: int = 0) -> Iterator[str]:
    """Lines of ``element`` as Pacemaker writes XML: two spaces per level, ``<empty/>``."""
    indent = "  " * depth
    attrs = "".join(f' {name}="{pacemaker_escape(value)}"' for name, value in element.attrs)
    if not element.children:
        yield f"{indent}<{element.tag}{attrs}/>"
        return
    yield f"{indent}<{element.tag}{attrs}>"
    for child in element.children:
        yield from serialize(child, depth + 1)
    yield f"{indent}</{element.tag}>"


_ESCAPES = {"<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "&": "&amp;", "\t": "    ",
            "\n": "\\n", "\r": "\\r"}


def pacemaker_escape(text: str) -> str:
    """An attribute value as Pacemaker 2.1.5's ``crm_xml_escape`` writes it: the five XML entities,
    a tab as four spaces, newlines as ``\\n``, other control characters in octal; it stops escaping
    at the first non-ASCII character (its own quirk, kept: the text after it is left as it is)."""
    out: list[str] = []
    for index, char in enumerate(text):
        if ord(char) > 0x7F:
            out.append(text[index:])
            break
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char < " " or char > "~":
            out.append(f"\\{ord(char):03o}")
        else:
            out.append(char)
    return "".join(out)


def _bool(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class Times:
    """Epoch seconds as crm_mon writes them, in one time zone (None: the machine's local time)."""

    zone: tzinfo | None = UTC

    def at(self, epoch: int) -> datetime:
        when = datetime.fromtimestamp(epoch, UTC)
        return when.astimezone(self.zone) if self.zone is not None else when.astimezone()

    def ctime(self, epoch: int) -> str:
        """``Tue Nov 14 22:13:20 2023``: crm_mon's ``pcmk__epoch2str``."""
        return self.at(epoch).strftime("%a %b %e %H:%M:%S %Y")

    def iso(self, epoch: int) -> str:
        """``2023-11-14 22:13:20Z`` (``Z`` at offset 0, else `` -05:00``): crm_mon's
        ``crm_time_as_string`` with date, time of day and time zone."""
        when = self.at(epoch)
        delta = when.utcoffset()
        offset = int(delta.total_seconds()) if delta is not None else 0
        suffix = "Z"
        if offset:
            hours, minutes = divmod(abs(offset) // 60, 60)
            suffix = f" {'-' if offset < 0 else '+'}{hours:02d}:{minutes:02d}"
        return when.strftime("%Y-%m-%d %H:%M:%S") + suffix


def _rc_text(rc: int) -> str:
    """``services_ocf_exitcode_str``: ``ok``, ``not running``, ... ``unknown``."""
    return OcfRc(rc).text if rc in OcfRc._value2member_map_ else "unknown"


def _status_text(status: int) -> str:
    """``pcmk_exec_status_str``: ``complete``, ``Timed Out``, ..."""
    return ExecStatus(status).text if status in ExecStatus._value2member_map_ else "UNKNOWN!"


class _Document:
    """The sections of one document, with what several of them look up."""

    def __init__(self, report: StatusReport, cluster: Cluster, times: Times) -> None:
        self.report = report
        self.times = times
        self.cluster = cluster
        self.config = cluster.config
        self.ctx = RuleContext(now=report.now)
        self.options: Options = unpack_options(self.config, self.ctx, report.have_quorum)
        self.nodes = sorted(report.nodes, key=lambda node: natural_key(node.name))
        self.by_name = {node.name: node for node in report.nodes}
        self.configured = {found.resource.id: found for found in all_resources(self.config)}
        self._meta: dict[str, dict[str, str]] = {}

    def sections(self) -> list[Element | None]:
        return [self.summary(), self.node_list(), self.resources(), self.node_attributes(),
                self.node_history(), self.failures(), self.fence_history(), self.tickets(), self.bans()]

    # -- summary -------------------------------------------------------------------------------

    def summary(self) -> Element:
        raw = raw_options(self.config, self.ctx)
        counted = [p for p in self.report.primitives() if not (p.orphan and not p.nodes)]
        return Element.of("summary", children=[
            Element.of("stack", ("type", raw.get("cluster-infrastructure", "vigil"))),
            self.current_dc(raw),
            Element.of("last_update", ("time", self.times.ctime(self.report.now))),
            Element.of("last_change", ("time", ""), ("user", ""), ("client", ""), ("origin", "")),
            Element.of("nodes_configured", ("number", str(len(self.report.nodes)))),
            Element.of("resources_configured", ("number", str(len(counted))),
                       ("disabled", str(sum(1 for p in counted if p.disabled))),
                       ("blocked", str(sum(1 for p in counted if p.blocked)))),
            self.cluster_options(raw),
        ])

    def current_dc(self, raw: dict[str, str]) -> Element:
        dc = self.by_name.get(self.report.controller or "")
        if dc is None:
            return Element.of("current_dc", ("present", "false"))
        return Element.of("current_dc", ("present", "true"),
                          ("version", raw.get("dc-version", f"vigil-{__version__}")),
                          ("name", dc.name), ("id", dc.id), ("with_quorum", _bool(self.report.have_quorum)),
                          ("mixed_version", "false"))

    def cluster_options(self, raw: dict[str, str]) -> Element:
        options = self.options
        return Element.of(
            "cluster_options",
            ("stonith-enabled", _bool(options.stonith_enabled)),
            ("symmetric-cluster", _bool(options.symmetric_cluster)),
            # vigil calls Pacemaker's "suicide" fence (and reads a suicide it cannot honour as stop)
            ("no-quorum-policy", "suicide" if options.no_quorum_policy == "fence"
             else options.no_quorum_policy),
            ("maintenance-mode", _bool(options.maintenance_mode)),
            ("stop-all-resources", _bool(options.stop_all_resources)),
            ("stonith-timeout-ms", str(_interval_ms(raw.get("stonith-timeout"), DEFAULT_STONITH_TIMEOUT_MS))),
            ("priority-fencing-delay-ms",
             str(_interval_ms(options.priority_fencing_delay, 0) // 1000 * 1000)),
        )

    # -- nodes ---------------------------------------------------------------------------------

    def node_list(self) -> Element:
        return Element.of("nodes", children=[self.node(node) for node in self.nodes])

    def node(self, node: NodeReport) -> Element:
        state = self.cluster.status.node(node.name)
        unclean = node.state.startswith("unclean")
        pending = node.state == "pending"
        shutdown = node.state == "shutting-down"
        standby_onfail = node.state.startswith("standby") and not node.standby
        remote = node.type == "remote"
        feature_set = None
        if node.online and not remote:
            feature_set = FEATURE_SET
        running = sum(1 for rsc in self.report.primitives() if node.name in rsc.nodes)
        return Element.of(
            "node", ("name", node.name), ("id", node.id), ("online", _bool(node.online)),
            ("standby", _bool(node.standby or standby_onfail or pending)),
            ("standby_onfail", _bool(standby_onfail)), ("maintenance", _bool(node.maintenance)),
            ("pending", _bool(pending)), ("unclean", _bool(unclean)), ("health", node.health),
            ("feature_set", feature_set), ("shutdown", _bool(shutdown)),
            ("expected_up", _bool(not shutdown and state is not None
                                  and (state.expected or "").lower() == "member")),
            ("is_dc", _bool(node.name == self.report.controller)),
            ("resources_running", str(running)),
            ("type", node.type if node.type in ("member", "remote", "ping") else "unknown"),
        )

    # -- resources -----------------------------------------------------------------------------

    def resources(self) -> Element | None:
        shown = [self.resource(rsc) for rsc in self.report.resources
                 if not (rsc.kind == "primitive" and rsc.orphan and not self.is_active(rsc))]
        return Element.of("resources", children=shown) if shown else None

    def resource(self, rsc: ResourceReport, clone: Clone | None = None) -> Element:
        if rsc.kind == "group":
            return self.group(rsc, clone)
        if rsc.kind == "clone":
            return self.clone(rsc)
        return self.primitive(rsc, clone)

    def found(self, rsc_id: str) -> Found | None:
        return self.configured.get(instance_base(rsc_id))

    def meta(self, rsc_id: str) -> dict[str, str]:
        """The meta attributes in effect (read once per resource: a document reads them often)."""
        base = instance_base(rsc_id)
        if base not in self._meta:
            found = self.configured.get(base)
            self._meta[base] = {} if found is None else effective_meta(self.config, found, self.report.now)
        return self._meta[base]

    def is_managed(self, meta: dict[str, str]) -> bool:
        """Pacemaker's managed flag of a group or clone: its own is-managed and maintenance (and the
        cluster's maintenance-mode)."""
        return (is_true(meta.get(IS_MANAGED), True) and not is_true(meta.get(MAINTENANCE))
                and not self.options.maintenance_mode)

    def is_active(self, rsc: ResourceReport) -> bool:
        """crm_mon's ``active``: running on a node that is up or unclean (an offline node counts
        only for an unmanaged resource)."""
        for name in rsc.nodes:
            node = self.by_name.get(name)
            if node is None or node.online or node.state.startswith("unclean") or not rsc.managed:
                return True
        return False

    def primitive(self, rsc: ResourceReport, clone: Clone | None) -> Element:
        anonymous = clone is not None and not is_true(self.meta(clone.id).get("globally-unique"))
        return Element.of(
            "resource", ("id", instance_base(rsc.id) if anonymous else rsc.id),
            ("resource_agent", rsc.agent or ""), ("role", self.role(rsc, clone)),
            ("target_role", self.meta(rsc.id).get(TARGET_ROLE)), ("active", _bool(self.is_active(rsc))),
            ("orphaned", _bool(rsc.orphan)), ("blocked", _bool(rsc.blocked)), ("managed", _bool(rsc.managed)),
            ("failed", _bool(rsc.failed)), ("failure_ignored", "false"),
            ("nodes_running_on", str(len(rsc.nodes))),
            children=[Element.of("node", ("name", name), ("id", self.node_id(name)),
                                 ("cached", _bool(self.is_online(name)))) for name in rsc.nodes],
        )

    def role(self, rsc: ResourceReport, clone: Clone | None) -> str:
        """A promotable clone's instance that is merely started is Unpromoted, as crm_mon shows it."""
        role = rsc.role or "Stopped"
        if role == "Started" and clone is not None and self.is_promotable(clone):
            return "Unpromoted"
        return role

    def is_promotable(self, clone: Clone) -> bool:
        return clone.promotable or is_true(self.meta(clone.id).get("promotable"))

    def node_id(self, name: str) -> str:
        node = self.by_name.get(name)
        return node.id if node is not None else name

    def is_online(self, name: str) -> bool:
        node = self.by_name.get(name)
        return node is not None and node.online

    def group(self, rsc: ResourceReport, clone: Clone | None) -> Element:
        found = self.found(rsc.id)
        meta = self.meta(rsc.id)
        configured = found.resource if found is not None else None
        size = len(configured.members) if isinstance(configured, Group) else len(rsc.members)
        return Element.of(
            "group", ("id", rsc.id), ("number_resources", str(size)),
            ("managed", _bool(self.is_managed(meta))),
            ("disabled", _bool(self.is_disabled(meta, clone))),
            children=[self.primitive(member, clone) for member in rsc.members],
        )

    def is_disabled(self, meta: dict[str, str], clone: Clone | None) -> bool:
        """Pacemaker's ``pe__resource_is_disabled``: target-role Stopped, or Unpromoted in a
        promotable clone."""
        role = (meta.get(TARGET_ROLE) or "").lower()
        return role == "stopped" or (role in ("unpromoted", "slave") and clone is not None
                                      and self.is_promotable(clone))

    def clone(self, rsc: ResourceReport) -> Element:
        found = self.found(rsc.id)
        clone = found.resource if found is not None and isinstance(found.resource, Clone) else None
        meta = self.meta(rsc.id)
        target_role = meta.get(TARGET_ROLE)
        if target_role is None and clone is not None:
            target_role = self.meta(clone.child.id).get(TARGET_ROLE)
        return Element.of(
            "clone", ("id", rsc.id), ("multi_state", _bool(clone is not None and self.is_promotable(clone))),
            ("unique", _bool(rsc.unique)), ("managed", _bool(self.is_managed(meta))),
            # crm_mon marks the failed instance, never the clone itself
            ("disabled", _bool(self.is_disabled(meta, clone))), ("failed", "false"),
            ("failure_ignored", "false"), ("target_role", target_role),
            children=[self.resource(member, clone) for member in _by_instance(rsc.members)],
        )

    # -- node attributes -----------------------------------------------------------------------

    def node_attributes(self) -> Element | None:
        """``crm_mon -A``: each online node's attributes (sorted by name); a ping resource's
        attribute with the value it expects when the ping resource runs there."""
        shown = []
        for node in self.nodes:
            if not node.online or not node.attributes:
                continue
            attributes = []
            for name, value in node.attributes.items():
                expected = node.ping_expected.get(name.lower())
                attributes.append(Element.of("attribute", ("name", name), ("value", value),
                                             ("expected", None if expected is None else str(expected))))
            shown.append(Element.of("node", ("name", node.name), children=attributes))
        return Element.of("node_attributes", children=shown) if shown else None

    # -- node history --------------------------------------------------------------------------

    def node_history(self) -> Element | None:
        """Each online node's operations per resource, oldest call first (probes that found the
        resource stopped and notifications left out), with its fail-count."""
        counts = {(count.node, count.resource): count for count in self.report.failcounts}
        shown = []
        for state in self.cluster.status.nodes:
            node = self.by_name.get(state.uname)
            if node is None or not node.online:
                continue
            histories = [self.resource_history(history, counts.get((state.uname, history.id)))
                         for history in state.resources]
            found = [history for history in histories if history is not None]
            if found:
                shown.append(Element.of("node", ("name", state.uname), children=found))
        return Element.of("node_history", children=shown) if shown else None

    def resource_history(self, history: ResourceHistory, count: FailCount | None) -> Element | None:
        ops = sorted((op for op in history.ops if _is_shown_operation(op)), key=lambda op: op.call_id)
        if not ops:
            return None
        threshold = migration_threshold(self.meta(history.id).get(MIGRATION_THRESHOLD))
        failures = count.count if count is not None else 0
        last = count.last_failure if count is not None and failures > 0 else None
        return Element.of(
            "resource_history", ("id", history.id), ("orphan", "false"),
            ("migration-threshold", str(threshold)),
            ("fail-count", str(failures) if failures > 0 else None),
            ("last-failure", self.times.ctime(last) if last else None),
            children=[_operation(op, self.times) for op in ops],
        )

    # -- failures, fencing, tickets, bans ------------------------------------------------------

    def failures(self) -> Element | None:
        """The failed actions crm_mon lists: on online nodes, once per operation and node, without
        probes that found the agent not installed or misconfigured."""
        seen: set[tuple[str, str]] = set()
        shown = []
        for action in self.report.failed_actions:
            if not self.is_online(action.node) or _is_masked_probe_failure(action):
                continue
            if (action.key, action.node) in seen:
                continue
            seen.add((action.key, action.node))
            shown.append(_failure(action, self.times))
        return Element.of("failures", children=shown) if shown else None

    def fence_history(self) -> Element | None:
        """The fence history, newest first."""
        events = []
        for entry in sorted(self.report.fencing, key=lambda entry: entry.completed, reverse=True):
            events.append(Element.of(
                "fence_event", ("action", entry.action), ("target", entry.target), ("client", entry.client),
                ("origin", entry.origin), ("status", "success" if entry.succeeded else "failed"),
                ("delegate", entry.executioner or None), ("completed", self.times.iso(entry.completed)),
            ))
        return Element.of("fence_history", children=events) if events else None

    def tickets(self) -> Element | None:
        """Every ticket with a state or named by a constraint, by id (crm_mon lists them in its
        hash table's order, which means nothing)."""
        tickets = [Element.of("ticket", ("id", ticket.id),
                              ("status", "granted" if ticket.granted else "revoked"),
                              ("standby", _bool(ticket.standby)),
                              ("last-granted", None if ticket.last_granted is None
                               else self.times.ctime(ticket.last_granted)))
                   for ticket in self.report.tickets]
        return Element.of("tickets", children=tickets) if tickets else None

    def bans(self) -> Element | None:
        """Negative location scores, newest constraint first (crm_mon lists them so)."""
        # A location of resource sets stands for one per resource (with its set's score).
        locations = list(plain_locations(self.config))
        bans = [ban for location in reversed(locations) for ban in self.location_bans(location)]
        return Element.of("bans", children=bans) if bans else None

    def location_bans(self, location: Location) -> list[Element]:
        promoted = _bool((location.role or "").lower() in ("promoted", "master"))
        found: list[Element] = []
        for rsc in self.location_resources(location):
            for ban_id, node, score in self.negative_scores(location):
                found.append(Element.of("ban", ("id", ban_id), ("resource", rsc), ("node", node),
                                        ("weight", str(score)), ("promoted-only", promoted),
                                        ("master_only", promoted)))
        return found

    def location_resources(self, location: Location) -> list[str]:
        if location.rsc_pattern:
            try:
                pattern = re.compile(location.rsc_pattern)
            except re.error:
                return []
            # one constraint per resource, each put before the last, as Pacemaker unpacks them
            return [rsc.id for rsc in reversed(self.config.resources) if pattern.search(rsc.id)]
        return [location.rsc] if self.found(location.rsc) is not None else []

    def negative_scores(self, location: Location) -> list[tuple[str, str, int]]:
        """(id, node, score) of each negative score: the constraint's, or each rule's (named by the rule)."""
        names = [node.name for node in self.nodes]
        if location.node is not None:
            score = location.score if location.score is not None else 0
            return [(location.id, location.node, score)] if location.node in names and score < 0 else []
        scored = []
        for rule in location.rules:
            for name in names:
                ctx = RuleContext(now=self.report.now, node_attrs=self.node_attributes_of(name))
                if rule_passes(rule, ctx):
                    score = max(rule_score(rule, ctx), -INFINITY)
                    if score < 0:
                        scored.append((rule.id, name, score))
        return scored

    def node_attributes_of(self, name: str) -> dict[str, str]:
        """Every attribute rules see on ``name`` (built-ins, configured, transient)."""
        node = next((node for node in self.config.nodes if node.uname == name), None)
        attrs = {}
        if node is not None:
            attrs = configured_attributes(node, self.report.now, is_dc=name == self.report.controller)
        state = self.cluster.status.node(name)
        if state is not None:
            attrs.update(state.attributes)
        return attrs


def _interval_ms(text: str | None, default: int) -> int:
    if not text:
        return default
    try:
        return parse_interval_ms(text)
    except ValueError:
        return default


def _by_instance(members: Iterable[ResourceReport]) -> list[ResourceReport]:
    """A clone's instances in instance-number order (``:0``, ``:1``, ... ``:10``)."""
    def number(rsc: ResourceReport) -> int:
        suffix = rsc.id.rpartition(":")[2]
        return int(suffix) if suffix.isdigit() else 0

    return sorted(members, key=number)


def _is_shown_operation(op: OpRecord) -> bool:
    """crm_mon's operation history leaves out notifications and probes that found nothing."""
    return op.operation != _NOTIFY and not (op.is_probe and op.rc == OcfRc.NOT_RUNNING)


def _operation(op: OpRecord, times: Times) -> Element:
    return Element.of(
        "operation_history", ("call", str(op.call_id)), ("task", "probe" if op.is_probe else op.operation),
        ("rc", str(op.rc)), ("rc_text", _rc_text(op.rc)),
        ("interval", f"{op.interval_ms}ms" if op.interval_ms else None),
        ("last-rc-change", times.ctime(op.last_rc_change) if op.last_rc_change else None),
        ("exec-time", None if op.exec_time_ms is None else f"{op.exec_time_ms}ms"),
        ("queue-time", None if op.queue_time_ms is None else f"{op.queue_time_ms}ms"),
    )


def _is_masked_probe_failure(action: FailedAction) -> bool:
    """A probe that found the agent not installed or its parameters invalid is no failure to crm_mon."""
    return (action.operation == "monitor" and action.interval_ms == 0
            and action.rc in (OcfRc.ERR_INSTALLED, OcfRc.ERR_ARGS))


def _failure(action: FailedAction, times: Times) -> Element:
    element = Element.of(
        "failure", ("op_key", action.key), ("node", action.node), ("exitstatus", _rc_text(action.rc)),
        # crm_mon escapes the reason once more before writing it, and says "none" when there is none
        ("exitreason", pacemaker_escape(action.exit_reason if action.exit_reason is not None else "none")),
        ("exitcode", str(action.rc)), ("call", str(action.call_id)),
        ("status", _status_text(action.op_status)),
    )
    if action.last_rc_change:
        element.attrs += [("last-rc-change", times.iso(action.last_rc_change)),
                          ("queued", str(action.queue_time_ms or 0)), ("exec", str(action.exec_time_ms or 0)),
                          ("interval", str(action.interval_ms)), ("task", action.operation)]
    return element

