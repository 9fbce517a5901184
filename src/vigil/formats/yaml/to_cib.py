"""The YAML configuration format translated into a CIB ``<configuration>``.

The translation checks the document's shape (types, keys, required keys,
agent syntax, what may nest in what) in YAML terms; the values themselves
(scores, intervals, dates, references between items, unique ids) are then
checked by the CIB reader, which runs on the result, so that YAML and CIB
accept and mean exactly the same things.

It runs twice: the first pass only learns the ids the document names, so
that the second can generate ids for sets, ops and rules that never clash
with them.
"""

from __future__ import annotations

from collections.abc import Callable

from yaml.nodes import MappingNode, Node

from vigil.formats.cib.reader import Element
from vigil.formats.yaml.alerts import AlertTranslator
from vigil.formats.yaml.build import Builder, Positions
from vigil.formats.yaml.constraint_sets import translate_resource_sets
from vigil.formats.yaml.source import Mapping, Source, describe
from vigil.formats.yaml.tickets import translate_ticket_constraint
from vigil.formats.yaml.vocabulary import (
    CLONE_KEYS,
    COLOCATION_KEYS,
    CONSTRAINT_KINDS,
    FENCING_KEYS,
    GROUP_KEYS,
    LOCATION_KEYS,
    META_SUFFIX,
    NODE_KEYS,
    OP_DEFAULTS_SET,
    OP_EXTRA_KEYS,
    OP_KEYS,
    OP_TYPED_KEYS,
    OPTIONS_SET,
    ORDER_KEYS,
    PARAMS_SUFFIX,
    PRIMITIVE_KEYS,
    RSC_DEFAULTS_SET,
    SECTIONS,
    UTILIZATION_SUFFIX,
    fencing_level_id,
    node_set_id,
    op_id,
    rule_id,
)
from vigil.model.booleans import parse_bool
from vigil.model.isodate import parse_interval_ms
from vigil.model.names import agent_name_problem

AGENT_CLASSES = ("ocf", "lsb", "systemd", "service", "stonith", "upstart", "nagios")
ORDER_KINDS = ("Mandatory", "Optional", "Serialize")
_AGENT_HELP = (
    "write class:provider:type (ocf:heartbeat:IPaddr2) or class:type (systemd:httpd, stonith:fence_ipmilan)"
)


def translate(root: Node, filename: str) -> tuple[Element, Positions, Source]:
    """The ``<configuration>`` for a document's root node, with positions and problems."""
    first = _Translator(Builder(Source(filename)))
    first.configuration(root)
    source = Source(filename)
    second = _Translator(Builder(source, frozenset(first.builder.explicit_ids)))
    configuration = second.configuration(root)
    return configuration, second.builder.positions, source


class _Translator:
    def __init__(self, builder: Builder) -> None:
        self.builder = builder
        self.source = builder.source

    def configuration(self, root: Node) -> Element:
        configuration = self.builder.element(None, "configuration", root)
        if not isinstance(root, MappingNode):
            self.source.problem(
                root,
                "the configuration must be a mapping of sections (options:, nodes:, resources:,"
                f" constraints: ...), not {describe(root)}",
            )
            return configuration
        mapping = self.source.mapping(root, "the top level")
        if mapping is None:
            return configuration
        handlers: dict[str, Callable[[Element, Node], None]] = {
            "options": self.options,
            "rsc_defaults": self.rsc_defaults,
            "op_defaults": self.op_defaults,
            "nodes": self.nodes,
            "resources": self.resources,
            "constraints": self.constraints,
            "tags": self.tags,
            "fencing-topology": self.fencing_topology,
            "alerts": AlertTranslator(self.builder).section,
        }
        self.source.check_keys(mapping, SECTIONS, "the top level")
        for entry in mapping:
            handler = handlers.get(entry.key)
            if handler is not None:
                handler(configuration, entry.value)
        return configuration

    # -- sections of name/value sets ---------------------------------------------

    def options(self, configuration: Element, node: Node) -> None:
        section = self.builder.element(configuration, "crm_config", node)
        self.builder.nvsets(section, "cluster_property_set", node, OPTIONS_SET, "options")

    def rsc_defaults(self, configuration: Element, node: Node) -> None:
        section = self.builder.element(configuration, "rsc_defaults", node)
        self.builder.nvsets(section, "meta_attributes", node, RSC_DEFAULTS_SET, "rsc_defaults")

    def op_defaults(self, configuration: Element, node: Node) -> None:
        section = self.builder.element(configuration, "op_defaults", node)
        self.builder.nvsets(section, "meta_attributes", node, OP_DEFAULTS_SET, "op_defaults")

    # -- nodes ---------------------------------------------------------------------

    def nodes(self, configuration: Element, node: Node) -> None:
        section = self.builder.element(configuration, "nodes", node)
        for index, item in enumerate(self.source.sequence(node, "nodes") or ()):
            self.node(section, item, f"node {index + 1}")

    def node(self, section: Element, node: Node, what: str) -> None:
        mapping = self.source.mapping(node, what)
        if mapping is None:
            return
        self.source.check_keys(mapping, NODE_KEYS, what)
        element = self.builder.element(section, "node", node)
        name = self.builder.require(element, mapping, "name", what, "the node's host name", name="uname")
        if name is not None:
            what = f"node {name!r}"
        # Node ids live apart from the other ids: not recorded as explicit.
        ident = self.builder.copy(element, mapping, "id", what)
        if ident is None:
            ident = name or self.builder.placeholder_id()
            element.set("id", ident)
        self.builder.copy(element, mapping, "type", what)
        for key, tag in (("attributes", "instance_attributes"), ("utilization", "utilization")):
            value = mapping.get(key)
            if value is not None:
                self.builder.nvsets(element, tag, value, node_set_id(ident, key), f"the {key} of {what}")

    # -- resources -----------------------------------------------------------------

    def resources(self, configuration: Element, node: Node) -> None:
        section = self.builder.element(configuration, "resources", node)
        for index, item in enumerate(self.source.sequence(node, "resources") or ()):
            self.resource(section, item, f"resource {index + 1}", inside=None)

    def resource(self, parent: Element, node: Node, what: str, inside: str | None) -> None:
        """A primitive, group or clone; ``inside`` is "group" or "clone" for nested ones."""
        mapping = self.source.mapping(node, what)
        if mapping is None:
            if inside == "clone":
                self.builder.positions.reported.add(parent)  # its missing child is said already
            return
        if "group" in mapping and inside == "group":
            self.source.problem(
                node, "a group inside a group is not allowed: list its members in the outer group"
            )
        elif "clone" in mapping and inside is not None:
            hint = (
                "clone the whole group instead"
                if inside == "group"
                else "give the clone a primitive or a group"
            )
            self.source.problem(node, f"a clone inside a {inside} is not allowed: {hint}")
            self.builder.positions.reported.add(parent)
        elif "group" in mapping:
            self.group(parent, mapping)
        elif "bundle" in mapping:
            self.source.problem(node, "bundles have no YAML form yet: write the configuration as "
                                "Pacemaker CIB XML (a <bundle> in <resources>)")
        elif "clone" in mapping:
            self.clone(parent, mapping)
        else:
            self.primitive(parent, mapping, what)

    def primitive(self, parent: Element, mapping: Mapping, what: str) -> None:
        element = self.builder.element(parent, "primitive", mapping.node)
        if "id" in mapping:
            ident = self.builder.named_id(element, mapping, "id", what)
        else:
            self.builder.fail(
                element, mapping.node, f"{what} needs 'id' and 'agent' (a primitive), 'group' or 'clone'"
            )
            ident = self.builder.placeholder_id()
            element.set("id", ident)
        what = f"resource {ident!r}" if "id" in mapping else what
        self.source.check_keys(mapping, PRIMITIVE_KEYS, what)
        self.agent(element, mapping, what)
        self.sets(element, mapping, ident, what, ("params", "meta", "utilization"))
        ops = mapping.get("ops")
        if ops is not None:
            operations = self.builder.element(element, "operations", ops)
            for index, item in enumerate(self.source.sequence(ops, f"the ops of {what}") or ()):
                self.op(operations, item, ident, f"op {index + 1} of {what}")

    def agent(self, element: Element, mapping: Mapping, what: str) -> None:
        entry = mapping.entries.get("agent")
        text = None if entry is None else self.source.text(entry.value, f"the agent of {what}")
        problem = self._agent_problem(text) if entry is not None and text is not None else None
        if entry is None:
            self.builder.fail(element, mapping.node, f"{what} needs 'agent': {_AGENT_HELP}")
        elif problem is not None:
            self.builder.fail(element, entry.value, problem)
        if text is None or problem is not None or entry is None:
            element.set("class", "ocf")  # keeps the CIB reader from reporting it again
            element.set("type", "unknown")
            self.builder.positions.reported.add(element)
            return
        parts = text.split(":")
        names = ("class", "type") if len(parts) == 2 else ("class", "provider", "type")
        for name, part in zip(names, parts, strict=True):
            self.builder.attribute(element, name, part, entry.key_node, "agent")

    @staticmethod
    def _agent_problem(text: str) -> str | None:
        parts = text.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            return f"invalid agent {text!r}: {_AGENT_HELP}"
        if parts[0] not in AGENT_CLASSES:
            return f"unknown agent class {parts[0]!r} in {text!r}: use one of {', '.join(AGENT_CLASSES)}"
        if parts[0] == "ocf" and len(parts) == 2:
            return (
                f"agent {text!r} lacks its provider: write ocf:PROVIDER:TYPE, e.g. ocf:heartbeat:{parts[1]}"
            )
        named = zip(("provider", "type") if len(parts) == 3 else ("type",), parts[1:], strict=True)
        return next(filter(None, (agent_name_problem(text, part, value) for part, value in named)), None)

    def sets(self, element: Element, mapping: Mapping, ident: str, what: str, keys: tuple[str, ...]) -> None:
        tags = {
            "params": ("instance_attributes", PARAMS_SUFFIX),
            "meta": ("meta_attributes", META_SUFFIX),
            "utilization": ("utilization", UTILIZATION_SUFFIX),
        }
        for key in keys:
            value = mapping.get(key)
            if value is not None:
                tag, suffix = tags[key]
                self.builder.nvsets(element, tag, value, f"{ident}-{suffix}", f"the {key} of {what}")

    def op(self, operations: Element, node: Node, resource: str, what: str) -> None:
        mapping = self.source.mapping(node, what)
        if mapping is None:
            return
        self.source.check_keys(mapping, OP_KEYS, what)
        element = self.builder.element(operations, "op", node)
        name = self.builder.require(
            element, mapping, "name", what, "start, stop, monitor, promote, demote ..."
        )
        meta_node = mapping.get("meta")
        meta = None if meta_node is None else self.source.mapping(meta_node, f"the meta of {what}")
        interval = self._op_interval(element, mapping, meta, name, what)
        ident = self.builder.optional_id(element, mapping, op_id(resource, name or "op", interval), what)
        for key in (*OP_TYPED_KEYS[1:], *OP_EXTRA_KEYS):
            self.builder.copy(element, mapping, key, what)
        if "interval" not in mapping and (meta is None or "interval" not in meta):
            element.set("interval", "0")
        for key, tag in (("meta", "meta_attributes"), ("params", "instance_attributes")):
            value = mapping.get(key)
            if value is not None:
                self.builder.flat_nvset(element, tag, value, f"{ident}-{tag}", f"the {key} of {what}")

    def _op_interval(
        self, element: Element, mapping: Mapping, meta: Mapping | None, name: str | None, what: str
    ) -> int | None:
        """The interval in ms as the CIB reader will see it (for the op's id); None if unreadable."""
        node = mapping.get("interval") or (meta.get("interval") if meta is not None else None)
        if node is None:
            if name == "monitor":
                self.builder.fail(
                    element,
                    mapping.node,
                    f"{what} needs 'interval' (e.g. 10s); a monitor runs every interval",
                )
            return 0
        text = self.source.text(node, f"the interval of {what}")
        try:
            return None if text is None else parse_interval_ms(text)
        except ValueError:
            return None

    def group(self, parent: Element, mapping: Mapping) -> None:
        element = self.builder.element(parent, "group", mapping.node)
        ident = self.builder.named_id(element, mapping, "group", "a group")
        what = f"group {ident!r}"
        self.source.check_keys(mapping, GROUP_KEYS, what)
        self.sets(element, mapping, ident, what, ("params", "meta"))
        members = mapping.get("members")
        items = None if members is None else self.source.sequence(members, f"the members of {what}")
        if members is None or items == []:
            self.builder.fail(
                element, members or mapping.node, f"{what} needs 'members': a list of primitives"
            )
        for index, item in enumerate(items or ()):
            self.resource(element, item, f"member {index + 1} of {what}", inside="group")

    def clone(self, parent: Element, mapping: Mapping) -> None:
        element = self.builder.element(parent, "clone", mapping.node)
        ident = self.builder.named_id(element, mapping, "clone", "a clone")
        what = f"clone {ident!r}"
        self.source.check_keys(mapping, CLONE_KEYS, what)
        self.sets(element, mapping, ident, what, ("meta",))
        resource = mapping.get("resource")
        if resource is None:
            self.builder.fail(
                element, mapping.node, f"{what} needs 'resource': the primitive or group it clones"
            )
            return
        self.resource(element, resource, f"the resource of {what}", inside="clone")

    # -- constraints -----------------------------------------------------------------

    def constraints(self, configuration: Element, node: Node) -> None:
        section = self.builder.element(configuration, "constraints", node)
        for index, item in enumerate(self.source.sequence(node, "constraints") or ()):
            what = f"constraint {index + 1}"
            mapping = self.source.mapping(item, what)
            if mapping is None:
                continue
            kinds = [kind for kind in CONSTRAINT_KINDS if kind in mapping]
            if len(kinds) != 1:
                self.source.problem(
                    item,
                    f"{what} must start with exactly one of 'location:', 'colocation:', 'order:'"
                    " or 'ticket-constraint:'"
                    " followed by its id",
                )
                continue
            if kinds[0] == "ticket-constraint":
                translate_ticket_constraint(self.builder, section, mapping)
                continue
            {"location": self.location, "colocation": self.colocation, "order": self.order}[kinds[0]](
                section, mapping
            )

    def location(self, section: Element, mapping: Mapping) -> None:
        element = self.builder.element(section, "rsc_location", mapping.node)
        ident = self.builder.named_id(element, mapping, "location", "a location")
        what = f"location {ident!r}"
        self.source.check_keys(mapping, LOCATION_KEYS, what)
        named = [key for key in ("resource", "resource-pattern", "sets") if key in mapping]
        if not named:
            self.builder.fail(element, mapping.node,
                              f"{what} needs 'resource' (or 'resource-pattern' or 'sets')")
        elif len(named) > 1:
            self.builder.fail(element, mapping.node,
                              f"{what} has {' and '.join(map(repr, named))}: keep one of them")
        rules = mapping.get("rules")
        items = None if rules is None else self.source.sequence(rules, f"the rules of {what}")
        if rules is not None and items is None:
            self.builder.positions.reported.add(element)  # said already
        elif "node" in mapping and "score" not in mapping and "sets" not in mapping:  # sets: their scores
            self.builder.fail(
                element, mapping.node, f"{what} has 'node' but no 'score': add one, e.g. INFINITY"
            )
        elif "node" not in mapping and not items:
            self.builder.fail(element, mapping.node, f"{what} needs 'node' and 'score', or 'rules'")
        self.builder.copy(element, mapping, "resource", what, name="rsc")
        self.builder.copy(element, mapping, "resource-pattern", what, name="rsc-pattern")
        for key in ("node", "score", "role", "resource-discovery"):
            self.builder.copy(element, mapping, key, what)
        translate_resource_sets(self.builder, element, mapping, ident, what)
        for index, rule in enumerate(items or ()):
            self.builder.rule(element, rule, rule_id(ident, index), f"rule {index + 1} of {what}")

    def colocation(self, section: Element, mapping: Mapping) -> None:
        element = self.builder.element(section, "rsc_colocation", mapping.node)
        ident = self.builder.named_id(element, mapping, "colocation", "a colocation")
        what = f"colocation {ident!r}"
        self.source.check_keys(mapping, COLOCATION_KEYS, what)
        self.builder.require(element, mapping, "score", what, "INFINITY keeps them together, -INFINITY apart")
        for key, name in (("resource", "rsc"), ("with", "with-rsc")):
            if key not in mapping and "sets" not in mapping:
                self.builder.fail(element, mapping.node, f"{what} needs {key!r}: the id of a resource"
                                                         " (or 'sets')")
            elif key in mapping and "sets" in mapping:
                self.builder.fail(element, mapping.node, f"{what} has {key!r} and 'sets': keep one of them")
            self.builder.copy(element, mapping, key, what, name=name)
        translate_resource_sets(self.builder, element, mapping, ident, what)
        self.builder.copy(element, mapping, "resource-role", what, name="rsc-role")
        self.builder.copy(element, mapping, "with-role", what, name="with-rsc-role")
        self.builder.copy(element, mapping, "node-attribute", what)
        self.boolean(element, mapping, "influence", what)

    def order(self, section: Element, mapping: Mapping) -> None:
        element = self.builder.element(section, "rsc_order", mapping.node)
        ident = self.builder.named_id(element, mapping, "order", "an order")
        what = f"order {ident!r}"
        self.source.check_keys(mapping, ORDER_KEYS, what)
        for key in ("first", "then"):
            if "sets" not in mapping:
                self.builder.require(element, mapping, key, what, "the id of a resource (or 'sets')")
            elif key in mapping:
                self.builder.fail(element, mapping.node, f"{what} has {key!r} and 'sets': keep one of them")
        translate_resource_sets(self.builder, element, mapping, ident, what)
        self.builder.copy(element, mapping, "first-action", what)
        self.builder.copy(element, mapping, "then-action", what)
        kind = self.builder.copy(element, mapping, "kind", what)
        if kind is not None and kind not in ORDER_KINDS:
            self.builder.fail(
                element, mapping.node, f"invalid kind {kind!r} in {what}: use {', '.join(ORDER_KINDS)}"
            )
        self.boolean(element, mapping, "symmetrical", what)
        self.boolean(element, mapping, "require-all", what)

    def boolean(self, element: Element, mapping: Mapping, key: str, what: str) -> None:
        """A boolean the CIB reader would only warn about: a YAML file gets an error instead."""
        text = self.builder.copy(element, mapping, key, what)
        if text is not None and parse_bool(text) is None:
            self.builder.fail(element, mapping.node, f"invalid {key} {text!r} in {what}: use true or false")

    # -- tags --------------------------------------------------------------------------

    def tags(self, configuration: Element, node: Node) -> None:
        """``tags: {TAG: [RESOURCE, ...]}``: names a constraint may use for several resources."""
        section = self.builder.element(configuration, "tags", node)
        mapping = self.source.mapping(node, "tags")
        for entry in mapping or ():
            what = f"tag {entry.key!r}"
            element = self.builder.element(section, "tag", entry.key_node)
            self.builder.attribute(element, "id", entry.key, entry.key_node)
            items = self.source.sequence(entry.value, f"the resources of {what}")
            for item in items or ():
                text = self.source.text(item, f"a resource of {what}")
                if text is not None:
                    ref = self.builder.element(element, "obj_ref", item)
                    self.builder.attribute(ref, "id", text, item)

    # -- fencing ---------------------------------------------------------------------

    def fencing_topology(self, configuration: Element, node: Node) -> None:
        section = self.builder.element(configuration, "fencing-topology", node)
        for index, item in enumerate(self.source.sequence(node, "fencing-topology") or ()):
            self.fencing_level(section, item, f"fencing level {index + 1}")

    def fencing_level(self, section: Element, node: Node, what: str) -> None:
        mapping = self.source.mapping(node, what)
        if mapping is None:
            return
        self.source.check_keys(mapping, FENCING_KEYS, what)
        element = self.builder.element(section, "fencing-level", node)
        index = self.builder.require(element, mapping, "index", what, "the level's number, 1 is tried first")
        targets = [self.builder.copy(element, mapping, key, what) for key in FENCING_KEYS[3:]]
        if not any(targets[:3]):
            self.source.problem(node, f"{what} needs 'target', 'target-pattern' or 'target-attribute'")
        self.builder.optional_id(element, mapping, fencing_level_id(_integer(index), *targets), what)
        self.devices(element, mapping, what)

    def devices(self, element: Element, mapping: Mapping, what: str) -> None:
        # A placeholder keeps the CIB reader from repeating a problem reported here,
        # while it still checks the level's other attributes.
        element.set("devices", "")
        entry = mapping.entries.get("devices")
        if entry is None:
            self.source.problem(mapping.node, f"{what} needs 'devices': a list of fencing resource ids")
            return
        items = self.source.sequence(entry.value, f"the devices of {what}")
        texts = [self.source.text(item, f"a device of {what}") for item in items or ()]
        if items is not None and None not in texts:
            self.builder.attribute(
                element, "devices", ",".join(text for text in texts if text), entry.key_node
            )


def _integer(text: str | None) -> int | None:
    try:
        return None if text is None else int(text.strip())
    except ValueError:
        return None
