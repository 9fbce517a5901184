"""CIB XML of a ``ClusterPlan`` (see ``vigil.testing.gen_plan``), as Pacemaker 2.1.5 loads it.

Things that keep the output honest for Pacemaker:

* ``validate-with="pacemaker-3.9"``, ``crm_feature_set="3.16.1"`` and only
  2.x option names (``stonith-enabled``, not ``fencing-enabled``): 2.1.5
  refuses anything newer.
* ``execution-date`` on ``<cib>`` fixes "now", so time never leaks in.
* Operation digests are computed the way Pacemaker does (``op_digest``): a
  wrong digest means "definition changed" to Pacemaker and would turn every
  steady resource into a restart.
* Histories are written per ``lrm_resource`` id as the plan keys them: a
  clone instance's records (``rsc:1_last_0``, operation key
  ``rsc:1_start_0``) carry its number exactly when its id does.
* XML ids never contain ``#`` or ``:`` (not allowed in an XML ID).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lxml import etree

from vigil.model.failcounts import FAILCOUNT_PREFIX, LAST_FAILURE_PREFIX
from vigil.testing.gen_model import (
    EXECUTION_DATE,
    FEATURE_SET,
    HISTORY_START,
    SCHEMA,
    ClusterPlan,
    Group,
    History,
    Node,
    Primitive,
    TopLevel,
    op_digest,
)

UUID_FMT = "00000000-0000-4000-8000-{:012d}"


def _sub(parent: etree._Element, tag: str, **attrs: str | None) -> etree._Element:
    """A child element; attributes given as ``None`` are left out.

    CIB attribute names are not Python identifiers, so keywords spell them:
    a trailing ``_`` is dropped (``class_`` -> ``class``) and ``__`` is a
    dash (``call__id`` -> ``call-id``, ``with__rsc`` -> ``with-rsc``).
    """
    el = etree.SubElement(parent, tag)
    for name, value in attrs.items():
        if value is not None:
            el.set(name.rstrip("_").replace("__", "-"), value)
    return el


def _xml_id(text: str) -> str:
    return text.replace("#", ".").replace(":", "-")


def _nvset(parent: etree._Element, tag: str, set_id: str, pairs: Mapping[str, str]) -> None:
    if not pairs:
        return
    nvs = _sub(parent, tag, id=set_id)
    for name, value in pairs.items():
        _sub(nvs, "nvpair", id=_xml_id(f"{set_id}-{name}"), name=name, value=value)


def _seconds(ms: int) -> str:
    return f"{ms // 1000}s"


def _write_primitive(parent: etree._Element, prim: Primitive) -> None:
    el = _sub(parent, "primitive", id=prim.id, class_=prim.cls, provider=prim.provider, type=prim.type)
    _nvset(el, "instance_attributes", f"{prim.id}-instance_attributes", prim.params)
    _nvset(el, "meta_attributes", f"{prim.id}-meta_attributes", prim.meta)
    ops = _sub(el, "operations")
    mon = _seconds(prim.monitor_interval_ms)
    if prim.promotable:
        # One monitor per role: Promoted at the interval, Unpromoted a second later.
        unpromoted = _seconds(unpromoted_monitor_ms(prim))
        _sub(ops, "op", id=f"{prim.id}-monitor-interval-{mon}", name="monitor", interval=mon,
             timeout=_seconds(prim.monitor_timeout_ms), role="Promoted")
        _sub(ops, "op", id=f"{prim.id}-monitor-interval-{unpromoted}", name="monitor", interval=unpromoted,
             timeout=_seconds(prim.monitor_timeout_ms), role="Unpromoted")
    else:
        _sub(ops, "op", id=f"{prim.id}-monitor-interval-{mon}", name="monitor", interval=mon,
             timeout=_seconds(prim.monitor_timeout_ms))
    if prim.explicit_ops:
        _sub(ops, "op", id=f"{prim.id}-start-interval-0s", name="start", interval="0s", timeout="60s")
        _sub(ops, "op", id=f"{prim.id}-stop-interval-0s", name="stop", interval="0s", timeout="45s")


def unpromoted_monitor_ms(prim: Primitive) -> int:
    """The Unpromoted-role monitor of a promotable primitive (the plain one otherwise)."""
    return prim.monitor_interval_ms + 1000 if prim.promotable else prim.monitor_interval_ms


def _write_resource(parent: etree._Element, top: TopLevel) -> None:
    if isinstance(top, Primitive):
        _write_primitive(parent, top)
    elif isinstance(top, Group):
        el = _sub(parent, "group", id=top.id)
        _nvset(el, "meta_attributes", f"{top.id}-meta_attributes", top.meta)
        for member in top.members:
            _write_primitive(el, member)
    else:
        el = _sub(parent, "clone", id=top.id)
        _nvset(el, "meta_attributes", f"{top.id}-meta_attributes", top.meta)
        _write_resource(el, top.child)


def _write_configuration(cib: etree._Element, plan: ClusterPlan) -> None:
    conf = _sub(cib, "configuration")
    crm_config = _sub(conf, "crm_config")
    _nvset(crm_config, "cluster_property_set", "cib-bootstrap-options", plan.options)
    nodes = _sub(conf, "nodes")
    for n in plan.nodes:
        el = _sub(nodes, "node", id=str(n.id), uname=n.name)
        attrs = dict(n.attributes)
        if n.standby == "config":
            attrs["standby"] = "on"
        _nvset(el, "instance_attributes", f"nodes-{n.id}", attrs)
    resources = _sub(conf, "resources")
    if plan.fencing_device is not None:
        _write_primitive(resources, plan.fencing_device)
    for top in plan.resources:
        _write_resource(resources, top)
    constraints = _sub(conf, "constraints")
    for i, loc in enumerate(plan.locations, 1):
        lid = f"loc-{i}"
        if loc.node is not None:
            _sub(constraints, "rsc_location", id=lid, rsc=loc.rsc, node=loc.node, score=loc.score,
                 role=loc.role)
            continue
        el = _sub(constraints, "rsc_location", id=lid, rsc=loc.rsc)
        rule = _sub(el, "rule", id=f"{lid}-rule", score=loc.score, boolean__op=loc.boolean_op)
        for j, e in enumerate(loc.exprs, 1):
            _sub(rule, "expression", id=f"{lid}-rule-expr-{j}", attribute=e.attribute,
                 operation=e.operation, value=e.value, type=e.type)
    for i, col in enumerate(plan.colocations, 1):
        _sub(constraints, "rsc_colocation", id=f"col-{i}", rsc=col.rsc, with__rsc=col.with_rsc,
             score=col.score, rsc__role=col.rsc_role, with__rsc__role=col.with_rsc_role)
    for i, o in enumerate(plan.orders, 1):
        _sub(constraints, "rsc_order", id=f"ord-{i}", first=o.first, then=o.then, kind=o.kind,
             symmetrical=o.symmetrical, require__all=o.require_all, first__action=o.first_action,
             then__action=o.then_action)
    if plan.rsc_defaults:
        _nvset(_sub(conf, "rsc_defaults"), "meta_attributes", "rsc-options", plan.rsc_defaults)


class _NodeHistoryWriter:
    """Writes one node's ``<lrm>``: call ids and timestamps count up per node."""

    def __init__(self, lrm_resources: etree._Element, node: Node) -> None:
        self.parent = lrm_resources
        self.node = node
        self.call = 0
        self.transition = 0

    def op(self, rsc_el: etree._Element, record_id: str, lrm_id: str, task: str, interval_ms: int,
           rc: int, target_rc: int, digest: str) -> None:
        self.call += 1
        key = f"{self.call}:{self.transition}:{target_rc}:{UUID_FMT.format(1)}"
        when = str(HISTORY_START + 60 * self.call)
        _sub(rsc_el, "lrm_rsc_op", id=record_id, operation_key=f"{lrm_id}_{task}_{interval_ms}",
             operation=task, crm__debug__origin="do_update_resource", crm_feature_set=FEATURE_SET,
             transition__key=key, transition__magic=f"0:{rc};{key}", exit__reason="",
             on_node=self.node.name, call__id=str(self.call), rc__code=str(rc), op__status="0",
             interval=str(interval_ms), last__rc__change=when, exec__time="12", queue__time="0",
             op__digest=digest)

    def resource(self, prim: Primitive, lrm_id: str, hist: History) -> None:
        el = _sub(self.parent, "lrm_resource", id=lrm_id, class_=prim.cls, provider=prim.provider,
                  type=prim.type)
        plain = op_digest(prim.params)
        mon_ms = unpromoted_monitor_ms(prim)
        mon_digest = op_digest({**prim.params, "CRM_meta_timeout": str(prim.monitor_timeout_ms)})
        last, failure, mon = f"{lrm_id}_last_0", f"{lrm_id}_last_failure_0", f"{lrm_id}_monitor_{mon_ms}"
        kind = hist.kind
        if kind in ("promoted", "failed_promoted"):
            # The promote is the last one-shot operation; the Promoted-role
            # monitor answers 8 ("running promoted"), or 9 when it failed.
            promoted_ms = prim.monitor_interval_ms
            promoted_mon = f"{lrm_id}_monitor_{promoted_ms}"
            self.op(el, last, lrm_id, "promote", 0, 0, 0, plain)
            rc = hist.rc if kind == "failed_promoted" else 8
            self.op(el, promoted_mon, lrm_id, "monitor", promoted_ms, rc, 8, mon_digest)
            if kind == "failed_promoted":
                self.call -= 1
                self.op(el, failure, lrm_id, "monitor", promoted_ms, rc, 8, mon_digest)
            return
        if kind in ("probed_stopped", "probe_running"):
            self.op(el, last, lrm_id, "monitor", 0, 7 if kind == "probed_stopped" else 0, 7, plain)
            return
        if kind == "failed_start":
            self.op(el, last, lrm_id, "start", 0, hist.rc, 0, plain)
            self.call -= 1  # the failure record is the same operation
            self.op(el, failure, lrm_id, "start", 0, hist.rc, 0, plain)
            return
        self.op(el, last, lrm_id, "start", 0, 0, 0, plain)
        if kind == "running":
            self.op(el, mon, lrm_id, "monitor", mon_ms, 0, 0, mon_digest)
        elif kind == "failed_monitor":
            self.op(el, mon, lrm_id, "monitor", mon_ms, hist.rc, 0, mon_digest)
            self.call -= 1
            self.op(el, failure, lrm_id, "monitor", mon_ms, hist.rc, 0, mon_digest)
        elif kind == "stale_failure":
            self.op(el, failure, lrm_id, "monitor", mon_ms, hist.rc, 0, mon_digest)
        if kind in ("stopped_after_run", "stale_failure", "failed_stop"):
            # the stop replaces the start as the last record
            el.remove(el[0])
            rc = hist.rc if kind == "failed_stop" else 0
            self.op(el, last, lrm_id, "stop", 0, rc, 0, plain)
            if kind == "failed_stop":
                self.call -= 1
                self.op(el, failure, lrm_id, "stop", 0, rc, 0, plain)


def _records(node: Node, prims: Iterable[Primitive]) -> list[tuple[Primitive, str, History]]:
    """``(primitive, lrm_resource id, history)`` of every record on ``node``, in plan order."""
    return [(prim, lrm_id, hist) for prim in prims
            for (where, lrm_id), hist in prim.history.items() if where == node.name]


def _fail_attributes(records: Iterable[tuple[Primitive, str, History]]) -> dict[str, str]:
    """Fail-count and last-failure attributes, named after the ``lrm_resource`` id."""
    attrs: dict[str, str] = {}
    for prim, lrm_id, hist in records:
        if not hist.fail_count:
            continue
        promoted = hist.kind == "failed_promoted"
        monitor_ms = prim.monitor_interval_ms if promoted else unpromoted_monitor_ms(prim)
        op = {"failed_start": "start_0", "failed_stop": "stop_0"}.get(hist.kind, f"monitor_{monitor_ms}")
        attrs[f"{FAILCOUNT_PREFIX}{lrm_id}#{op}"] = hist.fail_count
        attrs[f"{LAST_FAILURE_PREFIX}{lrm_id}#{op}"] = str(HISTORY_START + 3600)
    return attrs


_NODE_STATE_ATTRS: dict[str, dict[str, str]] = {
    "online": {"in_ccm": "true", "crmd": "online", "join": "member", "expected": "member"},
    "down": {"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "down"},
    "unclean": {"in_ccm": "false", "crmd": "offline", "join": "member", "expected": "member"},
}


def _write_status(cib: etree._Element, plan: ClusterPlan) -> None:
    status = _sub(cib, "status")
    for node in plan.nodes:
        if not node.has_node_state:
            continue
        ns = _sub(status, "node_state", id=str(node.id), uname=node.name,
                  crm__debug__origin="do_update_resource")
        for name, value in _NODE_STATE_ATTRS[node.state].items():
            ns.set(name, value)
        records = _records(node, plan.all_primitives())
        transient = {}
        if node.standby == "transient":
            transient["standby"] = "on"
        if node.shutdown:
            transient["shutdown"] = str(EXECUTION_DATE - 30)
        transient.update(_fail_attributes(records))
        transient.update(node.transient)
        if transient:
            ta = _sub(ns, "transient_attributes", id=str(node.id))
            _nvset(ta, "instance_attributes", f"status-{node.id}", transient)
        lrm = _sub(ns, "lrm", id=str(node.id))
        writer = _NodeHistoryWriter(_sub(lrm, "lrm_resources"), node)
        for prim, lrm_id, hist in records:
            writer.resource(prim, lrm_id, hist)


def render_cib(plan: ClusterPlan) -> bytes:
    """The CIB XML of ``plan``, as Pacemaker 2.1.5 loads it."""
    cib = etree.Element("cib")
    for name, value in (
        ("crm_feature_set", FEATURE_SET), ("validate-with", SCHEMA), ("epoch", "1"),
        ("num_updates", "0"), ("admin_epoch", "0"), ("have-quorum", "1" if plan.have_quorum else "0"),
        ("dc-uuid", str(plan.dc.id)), ("execution-date", str(EXECUTION_DATE)),
    ):
        cib.set(name, value)
    _write_configuration(cib, plan)
    _write_status(cib, plan)
    return etree.tostring(cib, pretty_print=True, encoding="UTF-8", xml_declaration=False)

