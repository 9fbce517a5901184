"""The YAML ``alerts:`` section translated into a CIB ``<alerts>``.

An alert is a mapping with a ``path``, its ``meta`` and ``params`` sets, a
``select`` of event kinds and a list of ``recipients``; each becomes the
``<alert>``, ``<select>`` and ``<recipient>`` Pacemaker defines, which the
CIB reader (``vigil.formats.cib.alerts``) then reads.  Ids follow ``pcs``: ``alert``,
``alert-1`` ... for alerts, ``ALERT-recipient`` ... for recipients.

``select`` is written as a list of kinds (``[resources, fencing]``) or as a
mapping of them (``{resources: true, attributes: [standby]}``); in either,
``attributes`` may list the attribute names the alert is limited to.
"""

from __future__ import annotations

import difflib

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from vigil.formats.cib.reader import Element
from vigil.formats.yaml.build import Builder
from vigil.formats.yaml.source import Mapping, describe, is_null
from vigil.formats.yaml.vocabulary import (
    ALERT_KEYS,
    META_SUFFIX,
    PARAMS_SUFFIX,
    RECIPIENT_KEYS,
    SELECT_KINDS,
    SELECTED_ATTRIBUTE_KEYS,
    alert_id,
    recipient_id,
    selected_attribute_id,
)
from vigil.model.booleans import parse_bool

_PATH_HELP = "the alert agent's executable, or vigil:webhook for the built-in webhook"
_SELECT_HELP = (
    "a list of the kinds nodes, fencing, resources, attributes (e.g. [resources, fencing]),"
    " or a mapping of them (e.g. {resources: true, attributes: [standby]})"
)


class AlertTranslator:
    """Adds ``<alerts>`` to a ``<configuration>`` for the ``alerts:`` section."""

    def __init__(self, builder: Builder) -> None:
        self.builder = builder
        self.source = builder.source

    def section(self, configuration: Element, node: Node) -> None:
        section = self.builder.element(configuration, "alerts", node)
        for index, item in enumerate(self.source.sequence(node, "alerts") or ()):
            self.alert(section, item, index)

    def alert(self, section: Element, node: Node, index: int) -> None:
        what = f"alert {index + 1}"
        mapping = self.source.mapping(node, what)
        if mapping is None:
            return
        element = self.builder.element(section, "alert", node)
        ident = self.builder.optional_id(element, mapping, alert_id(index), what)
        if "id" in mapping and ident in self.builder.explicit_ids:
            what = f"alert {ident!r}"
        self.source.check_keys(mapping, ALERT_KEYS, what)
        self.builder.require(element, mapping, "path", what, _PATH_HELP)
        self.builder.copy(element, mapping, "description", what)
        self.sets(element, mapping, ident, what)
        select = mapping.get("select")
        if select is not None:
            self.select(element, select, ident, f"the select of {what}")
        recipients = mapping.get("recipients")
        if recipients is not None:
            items = self.source.sequence(recipients, f"the recipients of {what}")
            for number, item in enumerate(items or ()):
                self.recipient(
                    element, item, recipient_id(ident, number), f"recipient {number + 1} of {what}"
                )

    def sets(self, element: Element, mapping: Mapping, ident: str, what: str) -> None:
        for key, tag, suffix in (
            ("meta", "meta_attributes", META_SUFFIX),
            ("params", "instance_attributes", PARAMS_SUFFIX),
        ):
            value = mapping.get(key)
            if value is not None:
                self.builder.nvsets(element, tag, value, f"{ident}-{suffix}", f"the {key} of {what}")

    def recipient(self, alert: Element, node: Node, base: str, what: str) -> None:
        if isinstance(node, ScalarNode) and not is_null(node):
            self.source.problem(
                node, f"{what} must be a mapping, not {describe(node)}: write {{value: {node.value}}}"
            )
            return
        mapping = self.source.mapping(node, what)
        if mapping is None:
            return
        element = self.builder.element(alert, "recipient", node)
        ident = self.builder.optional_id(element, mapping, base, what)
        self.source.check_keys(mapping, RECIPIENT_KEYS, what)
        hint = "what the agent is told to alert (a file, an address, or a URL for vigil:webhook)"
        self.builder.require(element, mapping, "value", what, hint)
        self.builder.copy(element, mapping, "description", what)
        self.sets(element, mapping, ident, what)

    # -- select ----------------------------------------------------------------------

    def select(self, alert: Element, node: Node, ident: str, what: str) -> None:
        if not isinstance(node, MappingNode | SequenceNode):
            self.source.problem(node, f"{what} must be {_SELECT_HELP}, not {describe(node)}")
            return
        element = self.builder.element(alert, "select", node)
        seen: dict[str, Node] = {}
        items = node.value if isinstance(node, SequenceNode) else [node]
        for index, item in enumerate(items):
            if isinstance(item, MappingNode):
                self.select_mapping(element, item, ident, what, seen)
                continue
            kind = self.source.text(item, f"item {index + 1} of {what}")
            if kind is not None and self.kind(item, kind, what, seen):
                self.builder.element(element, f"select_{kind}", item)

    def select_mapping(
        self, element: Element, node: MappingNode, ident: str, what: str, seen: dict[str, Node]
    ) -> None:
        mapping = self.source.mapping(node, what)
        if mapping is None:
            return
        self.source.check_keys(mapping, SELECT_KINDS, what)
        for entry in mapping:
            if entry.key not in SELECT_KINDS:
                continue
            if entry.key == "attributes" and isinstance(entry.value, SequenceNode):
                if self.kind(entry.key_node, entry.key, what, seen):
                    self.attributes(element, entry.key_node, entry.value, ident, what)
                continue
            text = self.source.text(entry.value, f"{entry.key!r} in {what}")
            if text is None:
                continue
            selected = parse_bool(text)
            if selected is None:
                names = ", or a list of attribute names" if entry.key == "attributes" else ""
                self.source.problem(
                    entry.value, f"invalid {entry.key} {text!r} in {what}: use true or false{names}"
                )
            elif selected and self.kind(entry.key_node, entry.key, what, seen):
                self.builder.element(element, f"select_{entry.key}", entry.key_node)

    def kind(self, node: Node, kind: str, what: str, seen: dict[str, Node]) -> bool:
        """Whether ``kind`` is one to add: known, and not selected already."""
        if kind not in SELECT_KINDS:
            close = difflib.get_close_matches(kind, SELECT_KINDS, n=1)
            suggestion = f"did you mean {close[0]!r}? " if close else ""
            self.source.problem(
                node, f"unknown kind {kind!r} in {what}: {suggestion}(use {', '.join(SELECT_KINDS)})"
            )
            return False
        first = seen.get(kind)
        if first is not None:
            self.source.problem(
                node,
                f"{kind!r} is selected twice in {what} (first at line {first.start_mark.line + 1}):"
                " keep one of them",
            )
            return False
        seen[kind] = node
        return True

    def attributes(self, select: Element, key_node: Node, node: SequenceNode, ident: str, what: str) -> None:
        """``attributes: [standby, {id: x, name: shutdown}]``: the attribute names selected."""
        element = self.builder.element(select, "select_attributes", key_node)
        what = f"the attributes of {what}"
        for index, item in enumerate(node.value):
            item_what = f"attribute {index + 1} of {what}"
            if isinstance(item, MappingNode):
                mapping = self.source.mapping(item, item_what)
                if mapping is None:
                    continue
                self.source.check_keys(mapping, SELECTED_ATTRIBUTE_KEYS, item_what)
                attribute = self.builder.element(element, "attribute", item)
                hint = "the node attribute's name"
                name = self.builder.require(attribute, mapping, "name", item_what, hint)
                self.builder.optional_id(
                    attribute, mapping, selected_attribute_id(ident, name or ""), item_what
                )
                continue
            name = self.source.text(item, item_what)
            if name is None:
                continue
            attribute = self.builder.element(element, "attribute", item)
            attribute.set("id", self.builder.fresh_id(selected_attribute_id(ident, name)))
            self.builder.attribute(attribute, "name", name, item)
