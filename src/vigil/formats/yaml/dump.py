"""``dump_yaml_config``: vigil's model as the YAML configuration format.

The output reads back (``load_yaml_config``) to an equal model, and is proven
to before it is returned: a configuration the format cannot carry (resource
templates, ``<master>`` resources, objects shared through ``id-ref``, or
anything vigil read but does not model, such as resource sets) is
refused with :class:`NotExpressibleInYaml` naming each thing, never written
with a piece missing.

Ids the reader would generate itself are left out, so a configuration made
by hand (or by Pacemaker's tools, whose naming the format follows) comes out
as readable as it went in; any other id is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import fields

import yaml
from yaml.nodes import Node, ScalarNode

from vigil.errors import InputError, Problem
from vigil.formats.cib.resources import has_promotable_meta
from vigil.formats.yaml.constraint_sets import resource_sets_yaml
from vigil.formats.yaml.dump_base import USE_XML, Flow, FlowList, WriterBase, Yaml, op_fields
from vigil.formats.yaml.load import load_yaml_config
from vigil.formats.yaml.source import NULL_TAG
from vigil.formats.yaml.to_cib import AGENT_CLASSES
from vigil.formats.yaml.vocabulary import (
    META_SUFFIX,
    OP_DEFAULTS_SET,
    OPTIONS_SET,
    PARAMS_SUFFIX,
    RSC_DEFAULTS_SET,
    UTILIZATION_SUFFIX,
    alert_id,
    fencing_level_id,
    indexed,
    node_set_id,
    op_id,
    recipient_id,
    rule_id,
    selected_attribute_id,
    ticket_set_id,
)
from vigil.model.config import (
    Alert,
    AlertRecipient,
    AlertSelect,
    Bundle,
    Clone,
    Config,
    FencingLevel,
    Group,
    NvSet,
    Op,
    Primitive,
    Resource,
    RscTicket,
)
from vigil.model.config import Node as ClusterNode
from vigil.model.names import is_plain_name
from vigil.model.scores import format_score


class NotExpressibleInYaml(InputError):
    """The configuration holds something the YAML format cannot carry."""


class YamlRoundTripError(InputError):
    """The YAML written would not read back as the same configuration (a bug in vigil)."""


def dump_yaml_config(config: Config) -> str:
    """``config`` as YAML that reads back to an equal configuration.

    Raises :class:`NotExpressibleInYaml` rather than drop anything, and
    :class:`YamlRoundTripError` if the text would not read back equal (a bug:
    the check is cheap next to a wrong configuration file).
    """
    writer = _Writer(config)
    document = writer.document()
    if writer.refusals:
        raise NotExpressibleInYaml(writer.refusals)
    # One section at a time, with a blank line between sections.
    text = "\n".join(
        yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        for key, value in document.items()
    )
    text = text or "resources: []\n"  # an empty file would read as a mistake
    _check_round_trip(config, text)
    return text


def _check_round_trip(config: Config, text: str) -> None:
    try:
        again, _ = load_yaml_config(text, name="<yaml dump>")
    except InputError as error:
        raise YamlRoundTripError(
            [Problem("", f"vigil wrote YAML it cannot read back ({error}); {USE_XML} and report this bug")]
        ) from None
    if again != config:
        differing = [
            field.name
            for field in fields(Config)
            if field.compare and getattr(again, field.name) != getattr(config, field.name)
        ]
        message = f"the YAML would not read back the same {', '.join(differing)}"
        raise YamlRoundTripError([Problem("", f"{message}: {USE_XML} and report this bug")])


class _Writer(WriterBase):
    """Builds the document (plain dicts and lists) and collects refusals."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config

    def document(self) -> dict[str, Yaml]:
        config = self.config
        for message in config.unsupported:
            self.refuse("", message)
        for template in config.templates:
            self.refuse(f"template {template.id!r}", "resource templates cannot be written in YAML")
        document: dict[str, Yaml] = {}
        sections: list[tuple[str, Yaml | None]] = [
            ("options", self.nvsets(config.options, OPTIONS_SET, "options")),
            ("rsc_defaults", self.nvsets(config.rsc_defaults, RSC_DEFAULTS_SET, "rsc_defaults")),
            ("op_defaults", self.nvsets(config.op_defaults, OP_DEFAULTS_SET, "op_defaults")),
            ("nodes", [self.node(node) for node in config.nodes]),
            ("resources", [self.resource(resource) for resource in config.resources]),
            ("constraints", self.constraints()),
            ("tags", {tag.id: list(tag.refs) for tag in config.tags} if config.tags else None),
            ("fencing-topology", [self.fencing_level(level) for level in config.fencing_levels]),
            ("alerts", [self.alert(alert, index) for index, alert in enumerate(config.alerts)]),
        ]
        for key, value in sections:
            if value is not None and value != []:
                document[key] = value
        return document

    # -- nodes ---------------------------------------------------------------------

    def node(self, node: ClusterNode) -> Yaml:
        item: dict[str, Yaml] = {"name": node.uname}
        if node.id != node.uname:
            item["id"] = node.id
        if node.type != "member":
            item["type"] = node.type
        for key, sets in (("attributes", node.attributes), ("utilization", node.utilization)):
            value = self.nvsets(sets, node_set_id(node.id, key), f"the {key} of node {node.uname!r}")
            if value is not None:
                item[key] = value
        return item

    def fencing_level(self, level: FencingLevel) -> Yaml:
        item: dict[str, Yaml] = {}
        base = fencing_level_id(
            level.index, level.target, level.target_pattern, level.target_attribute, level.target_value
        )
        self.put_id(item, level.id, base, f"fencing level {level.id!r}")
        item["index"] = str(level.index)
        for key, value in (
            ("target", level.target),
            ("target-pattern", level.target_pattern),
            ("target-attribute", level.target_attribute),
            ("target-value", level.target_value),
        ):
            if value is not None:
                item[key] = value
        if not (level.target or level.target_pattern or level.target_attribute):
            self.refuse(f"fencing level {level.id!r}", "a level without a target cannot be written in YAML")
        item["devices"] = list(level.devices)
        return Flow(item)

    # -- alerts --------------------------------------------------------------------

    def alert(self, alert: Alert, index: int) -> Yaml:
        what = f"alert {alert.id!r}"
        item: dict[str, Yaml] = {}
        self.put_id(item, alert.id, alert_id(index), what)
        item["path"] = alert.path
        self.alert_parts(item, alert, what)
        if alert.select is not None:
            item["select"] = self.select(alert.select, alert.id, what)
        if alert.recipients:
            item["recipients"] = [
                self.recipient(recipient, recipient_id(alert.id, number), what)
                for number, recipient in enumerate(alert.recipients)
            ]
        return item

    def recipient(self, recipient: AlertRecipient, base: str, alert: str) -> Yaml:
        what = f"recipient {recipient.id!r} of {alert}"
        item: dict[str, Yaml] = {}
        self.put_id(item, recipient.id, base, what)
        item["value"] = recipient.value
        self.alert_parts(item, recipient, what)
        return item

    def alert_parts(self, item: dict[str, Yaml], owner: Alert | AlertRecipient, what: str) -> None:
        """The description and the sets an alert and a recipient both have."""
        if owner.description is not None:
            item["description"] = owner.description
        for key, sets, suffix in (("meta", owner.meta, META_SUFFIX), ("params", owner.params, PARAMS_SUFFIX)):
            value = self.nvsets(sets, f"{owner.id}-{suffix}", f"the {key} of {what}")
            if value is not None:
                item[key] = value

    def select(self, select: AlertSelect, alert: str, what: str) -> Yaml:
        """``[nodes, resources]``, with ``{attributes: [NAME, ...]}`` when names narrow it."""
        kinds: FlowList = FlowList(
            kind
            for kind, selected in (
                ("nodes", select.nodes),
                ("fencing", select.fencing),
                ("resources", select.resources),
            )
            if selected
        )
        if select.attribute_names and not select.attributes:
            self.refuse(f"the select of {what}", "it names attributes without selecting attribute events")
        if not select.attributes:
            return kinds
        names: list[Yaml] = []
        for selected in select.attribute_names:
            self.register(selected.id, f"selected attribute {selected.id!r} of {what}")
            if selected.id == selected_attribute_id(alert, selected.name):
                names.append(selected.name)
            else:
                names.append(Flow(id=selected.id, name=selected.name))
        kinds.append(Flow(attributes=names) if names else "attributes")
        return kinds

    # -- resources -----------------------------------------------------------------

    def resource(self, resource: Resource) -> Yaml:
        if isinstance(resource, Bundle):
            self.refuse(f"bundle {resource.id!r}", "it is a bundle")
            return {}
        if isinstance(resource, Primitive):
            return self.primitive(resource)
        if isinstance(resource, Group):
            return self.group(resource)
        return self.clone(resource)

    def primitive(self, primitive: Primitive, params: tuple[NvSet, ...] | None = None) -> Yaml:
        what = f"resource {primitive.id!r}"
        self.register(primitive.id, what)
        if primitive.template is not None:
            self.refuse(
                what, f"it uses the resource template {primitive.template!r}, which YAML cannot write"
            )
        item: dict[str, Yaml] = {"id": primitive.id, "agent": self.agent(primitive, what)}
        own_params = primitive.params if params is None else params
        for key, sets, suffix in (
            ("params", own_params, PARAMS_SUFFIX),
            ("meta", primitive.meta, META_SUFFIX),
            ("utilization", primitive.utilization, UTILIZATION_SUFFIX),
        ):
            value = self.nvsets(sets, f"{primitive.id}-{suffix}", f"the {key} of {what}")
            if value is not None:
                item[key] = value
        if primitive.ops:
            item["ops"] = [self.op(op, primitive.id, what) for op in primitive.ops]
        return item

    def agent(self, primitive: Primitive, what: str) -> str:
        parts = [primitive.cls, *([primitive.provider] if primitive.provider else []), primitive.type]
        if (
            primitive.cls not in AGENT_CLASSES
            or not all(parts)
            or not all(is_plain_name(part) for part in parts[1:])
            or (primitive.cls == "ocf" and not primitive.provider)
        ):
            self.refuse(what, f"its agent {primitive.agent!r} cannot be written as class:provider:type"
                              " of plain names")
        return ":".join(parts)

    def op(self, op: Op, resource: str, what: str) -> Yaml:
        what = f"op {op.id!r} of {what}"
        item: dict[str, Yaml] = {}
        self.put_id(item, op.id, op_id(resource, op.name, op.interval_ms), what)
        item["name"] = op.name
        written, problem = op_fields(op)
        if problem is not None:
            self.refuse(what, problem)
        item.update(written)
        for key, pairs in (("meta", op.meta), ("params", op.params)):
            if pairs:
                item[key] = self.pairs(pairs, f"the {key} of {what}")
        return Flow(item)

    def group(self, group: Group) -> Yaml:
        what = f"group {group.id!r}"
        self.register(group.id, what)
        item: dict[str, Yaml] = {"group": group.id}
        inherited = (
            _common_tail([member.params for member in group.members]) if len(group.members) > 1 else ()
        )
        params = self.nvsets(inherited, f"{group.id}-{PARAMS_SUFFIX}", f"the params of {what}")
        if params is not None:
            item["params"] = params
        meta = self.nvsets(group.meta, f"{group.id}-{META_SUFFIX}", f"the meta of {what}")
        if meta is not None:
            item["meta"] = meta
        if not group.members:
            self.refuse(what, "a group without members cannot be written in YAML")
        cut = len(inherited)
        item["members"] = [
            self.primitive(member, member.params[: len(member.params) - cut]) for member in group.members
        ]
        return item

    def clone(self, clone: Clone) -> Yaml:
        what = f"clone {clone.id!r}"
        self.register(clone.id, what)
        if clone.promotable and not has_promotable_meta(clone.meta):
            self.refuse(
                what,
                "it is a <master> resource (Pacemaker's deprecated form); YAML writes a promotable clone"
                " as a clone with meta promotable: true",
            )
        item: dict[str, Yaml] = {"clone": clone.id}
        meta = self.nvsets(clone.meta, f"{clone.id}-{META_SUFFIX}", f"the meta of {what}")
        if meta is not None:
            item["meta"] = meta
        item["resource"] = self.resource(clone.child)
        return item

    # -- constraints ---------------------------------------------------------------

    def constraints(self) -> list[Yaml]:
        items: list[Yaml] = []
        for location in self.config.locations:
            self.register(location.id, f"location {location.id!r}")
            item: dict[str, Yaml] = {"location": location.id}
            if location.sets:
                item["sets"] = resource_sets_yaml(self, location.sets, location.id,
                                                  f"location {location.id!r}")
            elif location.rsc or location.rsc_pattern is None:
                item["resource"] = location.rsc
            _put_optional(
                item,
                {
                    "resource-pattern": location.rsc_pattern,
                    "node": location.node,
                    "score": None if location.score is None else format_score(location.score),
                    "role": location.role,
                    "resource-discovery": None
                    if location.resource_discovery == "always"
                    else location.resource_discovery,
                },
            )
            if location.rules:
                item["rules"] = [
                    self.rule(rule, rule_id(location.id, index), f"location {location.id!r}")
                    for index, rule in enumerate(location.rules)
                ]
            items.append(item)
        for colocation in self.config.colocations:
            self.register(colocation.id, f"colocation {colocation.id!r}")
            item = {"colocation": colocation.id}
            if colocation.sets:
                item["sets"] = resource_sets_yaml(self, colocation.sets, colocation.id,
                                                  f"colocation {colocation.id!r}")
            else:
                item.update({"resource": colocation.rsc, "with": colocation.with_rsc})
            item["score"] = format_score(colocation.score)
            _put_optional(
                item,
                {
                    "resource-role": colocation.rsc_role,
                    "with-role": colocation.with_rsc_role,
                    "node-attribute": None
                    if colocation.node_attribute == "#uname"
                    else colocation.node_attribute,
                    "influence": None if colocation.influence else "false",
                },
            )
            items.append(item)
        for order in self.config.orders:
            self.register(order.id, f"order {order.id!r}")
            item = {"order": order.id}
            if order.sets:
                item["sets"] = resource_sets_yaml(self, order.sets, order.id, f"order {order.id!r}")
            else:
                item.update({"first": order.first, "then": order.then})
            _put_optional(
                item,
                {
                    "first-action": None if order.first_action == "start" else order.first_action,
                    "then-action": order.then_action,
                    "kind": None if order.kind == "Mandatory" else order.kind,
                    "symmetrical": None if order.symmetrical is None else str(order.symmetrical).lower(),
                    "require-all": None if order.require_all else "false",
                },
            )
            items.append(item)
        items.extend(self.rsc_ticket(constraint) for constraint in self.config.rsc_tickets)
        return items

    def rsc_ticket(self, constraint: RscTicket) -> Yaml:
        what = f"ticket constraint {constraint.id!r}"
        self.register(constraint.id, what)
        item: dict[str, Yaml] = {"ticket-constraint": constraint.id, "ticket": constraint.ticket}
        _put_optional(item, {
            "resource": constraint.rsc,
            "resource-role": constraint.rsc_role,
            "loss-policy": None if constraint.loss_policy == "stop" else constraint.loss_policy,
        })
        if constraint.rsc is None:
            sets: list[Yaml] = []
            for index, ticket_set in enumerate(constraint.sets):
                entry: dict[str, Yaml] = {}
                self.put_id(entry, ticket_set.id, ticket_set_id(constraint.id, index), what)
                _put_optional(entry, {"role": ticket_set.role})
                entry["resources"] = list(ticket_set.resources)
                sets.append(entry)
            item["sets"] = sets
        return item

    # -- name/value sets -------------------------------------------------------------

    def nvsets(self, sets: Sequence[NvSet], base: str, what: str) -> Yaml | None:
        """One plain set as a mapping; anything more (ids, scores, rules, several) as a list."""
        if not sets:
            return None
        only = sets[0]
        if len(sets) == 1 and only.id == base and only.score == 0 and only.rule is None:
            self.register(only.id, what)
            return self.pairs(only.values, what)
        listed: list[Yaml] = []
        for index, nvset in enumerate(sets):
            item: dict[str, Yaml] = {}
            self.put_id(item, nvset.id, indexed(base, index), what)
            if nvset.score:
                item["score"] = format_score(nvset.score)
            if nvset.rule is not None:
                item["rule"] = self.rule(nvset.rule, rule_id(nvset.id, 0), f"set {nvset.id!r}")
            item["values"] = self.pairs(nvset.values, f"set {nvset.id!r}")
            listed.append(item)
        return listed

    def pairs(self, values: Sequence[tuple[str, str]], what: str) -> Yaml:
        repeated = sorted(name for name, count in Counter(name for name, _ in values).items() if count > 1)
        if repeated:
            self.refuse(
                what, f"it sets {', '.join(map(repr, repeated))} more than once; a YAML mapping cannot"
            )
        return dict(values)


def _common_tail(lists: Sequence[tuple[NvSet, ...]]) -> tuple[NvSet, ...]:
    """The longest run of sets every list ends with: what a group (or its clone) gave its members."""
    shortest = min((len(items) for items in lists), default=0)
    length = 0
    while length < shortest and all(items[-length - 1] == lists[0][-length - 1] for items in lists):
        length += 1
    return lists[0][len(lists[0]) - length :] if length else ()


def _put_optional(item: dict[str, Yaml], values: dict[str, str | None]) -> None:
    item.update({key: value for key, value in values.items() if value is not None})


# libyaml's emitter where it is installed (much faster), else PyYAML's own;
# both write the same text.
_Emitter: type[yaml.SafeDumper] | type[yaml.CSafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Emitter):  # type: ignore[valid-type,misc]
    """Writes text as plainly as YAML allows, since the reader takes every value as written.

    ``stonith-enabled: false`` needs no quotes because the reader keeps the
    text "false"; only what would read as empty (``null``, ``~``, "") must be
    quoted.
    """


def _represent_text(dumper: yaml.SafeDumper | yaml.CSafeDumper, text: str) -> Node:
    tag = dumper.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return dumper.represent_scalar("tag:yaml.org,2002:str" if tag == NULL_TAG else tag, text)


def _represent_flow(dumper: yaml.SafeDumper | yaml.CSafeDumper, mapping: Flow) -> Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", mapping, flow_style=True)


def _represent_flow_list(dumper: yaml.SafeDumper | yaml.CSafeDumper, items: FlowList) -> Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=True)


_Dumper.add_representer(str, _represent_text)
_Dumper.add_representer(Flow, _represent_flow)
_Dumper.add_representer(FlowList, _represent_flow_list)
