"""``dump_cib``: vigil's model back to a Pacemaker CIB XML document.

The output is what ``load_cib`` reads back to an equal model and what
Pacemaker's ``crm_simulate -x FILE -S`` loads, so a scenario can be checked
against Pacemaker itself.  Things vigil does not model (nvpair ids, bundles,
templates) are not written: templates are already expanded into primitives.

Model objects that were shared in the CIB through ``id-ref`` (the same set,
rule or operations list in several places) are written once and referenced
by ``id-ref`` afterwards, because ids must stay unique in the output.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import fields, is_dataclass, replace

from lxml import etree

from vigil.formats.cib.alerts import write_alerts
from vigil.formats.cib.dump_status import write_status
from vigil.formats.cib.reader import Element
from vigil.formats.cib.resources import has_promotable_meta
from vigil.formats.cib.sets import written_set_attributes
from vigil.model.booleans import parse_bool
from vigil.model.cluster import Cluster
from vigil.model.config import (
    Bundle,
    Clone,
    Colocation,
    Config,
    FencingLevel,
    Group,
    Location,
    Node,
    NvSet,
    Op,
    Order,
    Primitive,
    Resource,
    ResourceSet,
    RscTicket,
)
from vigil.model.options import RENAMED_OPTIONS  # 3.x -> the 2.x names 2.1.5 understands
from vigil.model.rules import (
    Condition,
    DateExpression,
    Expression,
    OpExpression,
    ResourceExpression,
    Rule,
)
from vigil.model.scores import format_score

# The newest schema Pacemaker 2.1.5 validates, and its CIB feature set.
SCHEMA_2_1_5 = "pacemaker-3.9"
FEATURE_SET_2_1_5 = "3.16.1"
# Generated ids must be XML NCNames: Pacemaker's schema types them as ID.
_INVALID_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]")
_VALID_ID_START = re.compile(r"[A-Za-z_]")
_DEFAULT_CIB_ATTRIBUTES = (
    ("validate-with", SCHEMA_2_1_5),
    ("epoch", "1"),
    ("num_updates", "0"),
    ("admin_epoch", "0"),
)


def dump_cib(cluster: Cluster, pacemaker_2_1_5: bool = False) -> bytes:
    """Serialize ``cluster`` as CIB XML.

    With ``pacemaker_2_1_5`` the output is made loadable by Pacemaker 2.1.5:
    ``validate-with`` is lowered to the newest schema it knows and Pacemaker
    3.x option names are renamed back to their 2.x spelling.
    """
    writer = _Writer(cluster.config, pacemaker_2_1_5)
    root = etree.Element("cib", _cib_attributes(cluster, pacemaker_2_1_5))
    root.append(writer.configuration())
    root.append(write_status(cluster.status, writer.fresh_id))
    return bytes(etree.tostring(root, pretty_print=True, xml_declaration=False, encoding="UTF-8"))


def _cib_attributes(cluster: Cluster, pacemaker_2_1_5: bool) -> dict[str, str]:
    """The original <cib> attributes, updated where the status says otherwise."""
    attributes = dict(cluster.cib_attributes)
    for name, default in _DEFAULT_CIB_ATTRIBUTES:
        attributes.setdefault(name, default)
    status = cluster.status
    raw_quorum = attributes.get("have-quorum")
    # A missing have-quorum means no quorum, to Pacemaker as to vigil's reader.
    if bool(parse_bool(raw_quorum) if raw_quorum is not None else False) is not status.have_quorum:
        attributes["have-quorum"] = "1" if status.have_quorum else "0"
    _set_or_drop(attributes, "dc-uuid", status.dc_uuid)
    # Rewrite execution-date only when it changed, so "0100" survives a round trip.
    if _as_int(attributes.get("execution-date")) != status.execution_date:
        _set_or_drop(attributes, "execution-date", _optional_str(status.execution_date))
    if pacemaker_2_1_5:
        _lower_to_2_1_5(attributes)
    return attributes


def _lower_to_2_1_5(attributes: dict[str, str]) -> None:
    if attributes["validate-with"].startswith("pacemaker-"):
        attributes["validate-with"] = SCHEMA_2_1_5
    # 2.1.5 refuses to simulate a CIB claiming a newer feature set, and
    # applies legacy semantics (e.g. to fail-counts) to one claiming an older
    # one or none; Pacemaker 3.x has dropped those, so always claim 2.1.5's.
    attributes["crm_feature_set"] = FEATURE_SET_2_1_5


def _set_or_drop(attributes: dict[str, str], name: str, value: str | None) -> None:
    if value is None:
        attributes.pop(name, None)
    else:
        attributes[name] = value


def _as_int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _optional_str(value: int | None) -> str | None:
    return None if value is None else str(value)


def format_ms(milliseconds: int) -> str:
    """An interval for an XML attribute: whole seconds as a plain number."""
    if milliseconds % 1000 == 0:
        return str(milliseconds // 1000)
    return f"{milliseconds}ms"


def model_ids(value: object) -> Iterator[str]:
    """Every ``id`` field anywhere in a model object."""
    if is_dataclass(value) and not isinstance(value, type):
        for field in fields(value):
            item = getattr(value, field.name)
            if field.name == "id" and isinstance(item, str):
                yield item
            else:
                yield from model_ids(item)
    elif isinstance(value, tuple):
        for item in value:
            yield from model_ids(item)


class _Writer:
    """Writes ``<configuration>``, tracking ids so the output stays valid."""

    def __init__(self, config: Config, pacemaker_2_1_5: bool) -> None:
        self.config = config
        self.pacemaker_2_1_5 = pacemaker_2_1_5
        self.used_ids: set[str] = set(model_ids(config))
        self.written: dict[tuple[str, str], object] = {}
        self.shared_ops = _shared_op_lists(config)
        self.ops_ids: dict[tuple[Op, ...], str] = {}
        self.templates = {template.id: template for template in config.templates}

    def fresh_id(self, base: str) -> str:
        """A valid XML id not used anywhere in the model or output so far."""
        base = _INVALID_ID_CHARACTERS.sub("_", base)
        if not _VALID_ID_START.match(base):
            base = f"_{base}"
        candidate = base
        counter = 1
        while candidate in self.used_ids:
            counter += 1
            candidate = f"{base}-{counter}"
        self.used_ids.add(candidate)
        return candidate

    def is_reference(self, tag: str, ident: str, value: object) -> bool:
        """Whether this object was already written (then write an id-ref)."""
        key = (tag, ident)
        if key in self.written and self.written[key] == value:
            return True
        self.written.setdefault(key, value)
        return False

    # -- sections --------------------------------------------------------------

    def configuration(self) -> Element:
        config = self.config
        element = etree.Element("configuration")
        crm_config = etree.SubElement(element, "crm_config")
        for nvset in config.options:
            self.nvset(crm_config, "cluster_property_set", self._options(nvset))
        nodes = etree.SubElement(element, "nodes")
        for node in config.nodes:
            self.node(nodes, node)
        resources = etree.SubElement(element, "resources")
        for template in config.templates:
            self.primitive(resources, template, tag="template")
        for resource in config.resources:
            self.resource(resources, resource)
        self.constraints(etree.SubElement(element, "constraints"))
        self.defaults(element, "rsc_defaults", config.rsc_defaults)
        self.defaults(element, "op_defaults", config.op_defaults)
        if config.fencing_levels:
            topology = etree.SubElement(element, "fencing-topology")
            for level in config.fencing_levels:
                self.fencing_level(topology, level)
        if config.tags:
            tags = etree.SubElement(element, "tags")
            for tag in config.tags:
                tag_element = etree.SubElement(tags, "tag", id=tag.id)
                for ref in tag.refs:
                    etree.SubElement(tag_element, "obj_ref", id=ref)
        write_alerts(element, config.alerts, self.nvset)
        return element

    def _options(self, nvset: NvSet) -> NvSet:
        if not self.pacemaker_2_1_5:
            return nvset
        values = tuple((RENAMED_OPTIONS.get(name, name), value) for name, value in nvset.values)
        return NvSet(id=nvset.id, values=values, score=nvset.score, rule=nvset.rule)

    def defaults(self, parent: Element, tag: str, sets: tuple[NvSet, ...]) -> None:
        if not sets:
            return
        section = etree.SubElement(parent, tag)
        for nvset in sets:
            self.nvset(section, "meta_attributes", nvset)

    def node(self, parent: Element, node: Node) -> None:
        element = etree.SubElement(parent, "node", id=node.id, uname=node.uname, type=node.type)
        for nvset in node.attributes:
            self.nvset(element, "instance_attributes", nvset)
        for nvset in node.utilization:
            self.nvset(element, "utilization", nvset)

    def fencing_level(self, parent: Element, level: FencingLevel) -> None:
        attributes = {"id": level.id, "index": str(level.index), "devices": ",".join(level.devices)}
        optional = {
            "target": level.target,
            "target-pattern": level.target_pattern,
            "target-attribute": level.target_attribute,
            "target-value": level.target_value,
        }
        attributes.update({name: value for name, value in optional.items() if value is not None})
        etree.SubElement(parent, "fencing-level", attributes)

    # -- name/value sets and rules ----------------------------------------------

    def nvset(self, parent: Element, tag: str, nvset: NvSet) -> None:
        if self.is_reference(tag, nvset.id, nvset):
            etree.SubElement(parent, tag, {"id-ref": nvset.id})
            return
        element = etree.SubElement(parent, tag, id=nvset.id)
        if nvset.score:
            element.set("score", format_score(nvset.score))
        if nvset.rule is not None:
            self.rule(element, nvset.rule)
        for name, value in nvset.values:
            etree.SubElement(
                element, "nvpair", id=self.fresh_id(f"{nvset.id}-{name}"), name=name, value=value
            )

    def rule(self, parent: Element, rule: Rule) -> None:
        if self.is_reference("rule", rule.id, rule):
            etree.SubElement(parent, "rule", {"id-ref": rule.id})
            return
        element = etree.SubElement(parent, "rule", id=rule.id)
        if rule.score is not None:
            element.set("score", format_score(rule.score))
        if rule.score_attribute is not None:
            element.set("score-attribute", rule.score_attribute)
        if rule.boolean_op != "and":
            element.set("boolean-op", rule.boolean_op)
        if rule.role is not None:
            element.set("role", rule.role)
        for condition in rule.conditions:
            self.condition(element, condition)

    def condition(self, parent: Element, condition: Condition) -> None:
        if isinstance(condition, Rule):
            self.rule(parent, condition)
        elif isinstance(condition, Expression):
            _expression(parent, condition)
        elif isinstance(condition, DateExpression):
            self.date_expression(parent, condition)
        elif isinstance(condition, ResourceExpression):
            _write_attributes(
                etree.SubElement(parent, "rsc_expression", id=condition.id),
                {"class": condition.cls, "provider": condition.provider, "type": condition.type},
            )
        else:
            _op_expression(parent, condition)

    def date_expression(self, parent: Element, expression: DateExpression) -> None:
        element = etree.SubElement(
            parent, "date_expression", id=expression.id, operation=expression.operation
        )
        _write_attributes(element, {"start": expression.start, "end": expression.end})
        if expression.spec is not None:
            spec = etree.SubElement(element, "date_spec", id=expression.spec.id)
            _write_attributes(spec, dict(expression.spec.fields))
        if expression.duration:
            duration = etree.SubElement(element, "duration", id=self.fresh_id(f"{expression.id}-duration"))
            _write_attributes(duration, dict(expression.duration))

    # -- resources ---------------------------------------------------------------

    def resource(self, parent: Element, resource: Resource) -> None:
        if isinstance(resource, Primitive):
            self.primitive(parent, resource)
        elif isinstance(resource, Group):
            self.group(parent, resource)
        elif isinstance(resource, Bundle):
            self.bundle(parent, resource)
        else:
            self.clone(parent, resource)

    def primitive(self, parent: Element, primitive: Primitive, tag: str = "primitive") -> None:
        element = etree.SubElement(parent, tag, id=primitive.id)
        template = self.templates.get(primitive.template or "")
        own = _without_template(primitive, template)
        if template is not None:
            element.set("template", template.id)
        agent = {"class": own.cls, "provider": own.provider, "type": own.type}
        inherited = (
            {}
            if template is None
            else {"class": template.cls, "provider": template.provider, "type": template.type}
        )
        _write_attributes(
            element, {name: value for name, value in agent.items() if inherited.get(name) != value}
        )
        for nvset in own.params:
            self.nvset(element, "instance_attributes", nvset)
        for nvset in own.meta:
            self.nvset(element, "meta_attributes", nvset)
        for nvset in own.utilization:
            self.nvset(element, "utilization", nvset)
        if own.ops:
            self.operations(element, own)

    def operations(self, parent: Element, primitive: Primitive) -> None:
        ops = primitive.ops
        if ops in self.ops_ids:
            etree.SubElement(parent, "operations", {"id-ref": self.ops_ids[ops]})
            return
        element = etree.SubElement(parent, "operations")
        if ops in self.shared_ops:
            self.ops_ids[ops] = self.fresh_id(f"{primitive.id}-operations")
            element.set("id", self.ops_ids[ops])
        for op in ops:
            self.op(element, op)

    def op(self, parent: Element, op: Op) -> None:
        element = etree.SubElement(parent, "op", id=op.id, name=op.name, interval=format_ms(op.interval_ms))
        optional = {
            "timeout": None if op.timeout_ms is None else format_ms(op.timeout_ms),
            "role": op.role,
            "on-fail": op.on_fail,
            "enabled": None if op.enabled else "false",
            "start-delay": None if op.start_delay_ms is None else format_ms(op.start_delay_ms),
        }
        _write_attributes(element, optional)
        # Extra attributes and op meta nvpairs both go in as nvpairs: Pacemaker
        # reads them the same way and any name is valid there.
        for tag, pairs in (("meta_attributes", op.meta), ("instance_attributes", op.params)):
            if pairs:
                nvset = NvSet(id=self.fresh_id(f"{op.id}-{tag}"), values=pairs)
                self.nvset(element, tag, nvset)

    def group(self, parent: Element, group: Group) -> None:
        element = etree.SubElement(parent, "group", id=group.id)
        for nvset in group.meta:
            self.nvset(element, "meta_attributes", nvset)
        for member in group.members:
            self.primitive(element, member)

    def clone(self, parent: Element, clone: Clone) -> None:
        # A promotable clone without promotable=true meta came from <master>.
        tag = "master" if clone.promotable and not has_promotable_meta(clone.meta) else "clone"
        element = etree.SubElement(parent, tag, id=clone.id)
        for nvset in clone.meta:
            self.nvset(element, "meta_attributes", nvset)
        self.resource(element, clone.child)

    def bundle(self, parent: Element, bundle: Bundle) -> None:
        element = etree.SubElement(parent, "bundle", id=bundle.id)
        for nvset in bundle.meta:
            self.nvset(element, "meta_attributes", nvset)
        _write_attributes(etree.SubElement(element, bundle.kind), {
            "image": bundle.image, "replicas": str(bundle.replicas),
            "replicas-per-host": str(bundle.replicas_per_host),
            "promoted-max": str(bundle.promoted_max) if bundle.promoted_max else None,
            "network": bundle.network_mode, "options": bundle.options, "run-command": bundle.run_command,
        })
        if bundle.network is not None:
            network = bundle.network
            net = etree.SubElement(element, "network")
            _write_attributes(net, {
                "ip-range-start": network.ip_range_start, "control-port": network.control_port,
                "host-interface": network.host_interface, "host-netmask": network.host_netmask,
                "add-host": None if network.add_host else "false",
            })
            for mapping in network.port_mappings:
                _write_attributes(etree.SubElement(net, "port-mapping"), {
                    "id": mapping.id, "port": mapping.port, "internal-port": mapping.internal_port,
                    "range": mapping.range,
                })
        if bundle.storage:
            storage = etree.SubElement(element, "storage")
            for mount in bundle.storage:
                _write_attributes(etree.SubElement(storage, "storage-mapping"), {
                    "id": mount.id, "source-dir": mount.source_dir, "source-dir-root": mount.source_dir_root,
                    "target-dir": mount.target_dir, "options": mount.options,
                })
        if bundle.child is not None:
            self.primitive(element, bundle.child)

    # -- constraints -------------------------------------------------------------

    def constraints(self, parent: Element) -> None:
        for location in self.config.locations:
            self.location(parent, location)
        for colocation in self.config.colocations:
            _colocation(parent, colocation, self.is_reference)
        for order in self.config.orders:
            _order(parent, order, self.is_reference)
        for constraint in self.config.rsc_tickets:
            _rsc_ticket(parent, constraint)

    def location(self, parent: Element, location: Location) -> None:
        element = etree.SubElement(parent, "rsc_location", id=location.id)
        attributes = {
            "rsc": location.rsc if location.rsc_pattern is None and not location.sets else None,
            "rsc-pattern": location.rsc_pattern,
            "node": location.node,
            "score": None if location.score is None else format_score(location.score),
            "role": location.role,
            "resource-discovery": None
            if location.resource_discovery == "always"
            else location.resource_discovery,
        }
        _write_attributes(element, attributes)
        _resource_sets(element, location.sets, self.is_reference)
        for rule in location.rules:
            self.rule(element, rule)


# Whether an object was already written (then write an id-ref): _Writer.is_reference.
IsReference = Callable[[str, str, object], bool]


def _without_template(primitive: Primitive, template: Primitive | None) -> Primitive:
    """The primitive as written in the CIB: what it inherits from its template removed."""
    if template is None:
        return primitive
    return replace(
        primitive,
        params=_strip_tail(primitive.params, template.params),
        meta=_strip_tail(primitive.meta, template.meta),
        utilization=_strip_tail(primitive.utilization, template.utilization),
        ops=tuple(op for op in primitive.ops if op not in template.ops),
    )


def _strip_tail(items: tuple[NvSet, ...], tail: tuple[NvSet, ...]) -> tuple[NvSet, ...]:
    if tail and items[-len(tail) :] == tail:
        return items[: -len(tail)]
    return items


def _shared_op_lists(config: Config) -> set[tuple[Op, ...]]:
    """Op lists used by more than one primitive (written once, then id-ref'd)."""
    counts = Counter(primitive.ops for primitive in config.primitives() if primitive.ops)
    return {ops for ops, count in counts.items() if count > 1}


def _write_attributes(element: Element, attributes: dict[str, str | None]) -> None:
    for name, value in attributes.items():
        if value is not None:
            element.set(name, value)


def _expression(parent: Element, expression: Expression) -> None:
    element = etree.SubElement(
        parent, "expression", id=expression.id, attribute=expression.attribute, operation=expression.operation
    )
    _write_attributes(element, {"value": expression.value, "type": expression.type})
    if expression.value_source != "literal":
        element.set("value-source", expression.value_source)


def _op_expression(parent: Element, expression: OpExpression) -> None:
    element = etree.SubElement(parent, "op_expression", id=expression.id, name=expression.name)
    if expression.interval_ms is not None:
        element.set("interval", format_ms(expression.interval_ms))


def _colocation(parent: Element, colocation: Colocation, is_reference: IsReference) -> None:
    if colocation.sets:
        element = etree.SubElement(parent, "rsc_colocation", id=colocation.id,
                                   score=format_score(colocation.score))
        _write_attributes(element, {"influence": None if colocation.influence else "false"})
        _resource_sets(element, colocation.sets, is_reference)
        return
    element = etree.SubElement(
        parent,
        "rsc_colocation",
        {
            "id": colocation.id,
            "rsc": colocation.rsc,
            "with-rsc": colocation.with_rsc,
            "score": format_score(colocation.score),
        },
    )
    optional = {
        "rsc-role": colocation.rsc_role,
        "with-rsc-role": colocation.with_rsc_role,
        "node-attribute": None if colocation.node_attribute == "#uname" else colocation.node_attribute,
        "influence": None if colocation.influence else "false",
    }
    _write_attributes(element, optional)


def _order(parent: Element, order: Order, is_reference: IsReference) -> None:
    if order.sets:
        element = etree.SubElement(parent, "rsc_order", id=order.id, kind=order.kind)
        _write_attributes(element, {
            "symmetrical": None if order.symmetrical is None else str(order.symmetrical).lower(),
        })
        _resource_sets(element, order.sets, is_reference)
        return
    element = etree.SubElement(
        parent,
        "rsc_order",
        {"id": order.id, "first": order.first, "then": order.then, "first-action": order.first_action},
    )
    optional = {
        "then-action": order.then_action,
        "kind": order.kind,
        "symmetrical": None if order.symmetrical is None else str(order.symmetrical).lower(),
        "require-all": None if order.require_all else "false",
    }
    _write_attributes(element, optional)


def _resource_sets(parent: Element, sets: tuple[ResourceSet, ...], is_reference: IsReference) -> None:
    """Each set with the attributes written in the source, and its references
    as written; a set shared through id-ref is written once, then referred to."""
    for resource_set in sets:
        if is_reference("resource_set", resource_set.id, resource_set):
            etree.SubElement(parent, "resource_set", {"id-ref": resource_set.id})
            continue
        element = etree.SubElement(parent, "resource_set", id=resource_set.id)
        _write_attributes(element, written_set_attributes(resource_set))
        for rsc in resource_set.resources:
            etree.SubElement(element, "resource_ref", id=rsc)



def _rsc_ticket(parent: Element, constraint: RscTicket) -> None:
    element = etree.SubElement(parent, "rsc_ticket", id=constraint.id)
    _write_attributes(element, {
        "rsc": constraint.rsc,
        "rsc-role": constraint.rsc_role,
        "ticket": constraint.ticket,
        "loss-policy": None if constraint.loss_policy == "stop" else constraint.loss_policy,
    })
    for ticket_set in constraint.sets:
        set_element = etree.SubElement(element, "resource_set", id=ticket_set.id)
        _write_attributes(set_element, {"role": ticket_set.role})
        for rsc in ticket_set.resources:
            etree.SubElement(set_element, "resource_ref", id=rsc)
