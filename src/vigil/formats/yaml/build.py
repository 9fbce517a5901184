"""Building CIB elements from YAML nodes: positions, ids, sets and rules.

The YAML reader translates a document into an in-memory ``<configuration>``
and lets the CIB reader turn that into the model, so both formats mean
exactly the same and share one validation.  This module is the translation's
toolbox: every element it makes remembers the YAML position it came from
(and each attribute the key it came from), so the CIB reader's problems can
be reported at the YAML line and in the YAML user's words.

Sets and rules appear in every section with one grammar, so they are built
here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, SequenceNode

from vigil.formats.cib.reader import Element
from vigil.formats.yaml.source import Mapping, Source, describe
from vigil.formats.yaml.vocabulary import (
    DATE_FIELDS,
    DATE_KEYS,
    DURATION_FIELDS,
    EXPRESSION_KEYS,
    OP_EXPRESSION_KEYS,
    RESOURCE_EXPRESSION_KEYS,
    RULE_KEYS,
    SET_KEYS,
    condition_id,
    date_spec_id,
    indexed,
    rule_id,
)


@dataclass(frozen=True)
class AttributeOrigin:
    """The YAML key an attribute came from; ``key`` differs from the attribute for renamed keys."""

    mark: Mark
    key: str


@dataclass
class Positions:
    """Where each element of the translated CIB came from in the YAML document."""

    elements: dict[Element, Mark] = field(default_factory=dict)
    attributes: dict[Element, dict[str, AttributeOrigin]] = field(default_factory=dict)
    # Elements the translation already reported a problem for: the CIB
    # reader's complaints about them would only repeat it in other words.
    reported: set[Element] = field(default_factory=set)


class Builder:
    """Makes elements, records positions and generates ids.

    ``known_ids`` are the ids the document names itself (found by a first
    translation pass); generated ids avoid them, so a user is never told
    about a clash with an id they did not write.
    """

    def __init__(self, source: Source, known_ids: frozenset[str] = frozenset()) -> None:
        self.source = source
        self.positions = Positions()
        self.known_ids = known_ids
        self.explicit_ids: set[str] = set()
        self.generated_ids: set[str] = set()
        self._placeholders = 0

    # -- elements and attributes -------------------------------------------------

    def element(self, parent: Element | None, tag: str, node: Node) -> Element:
        element = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
        # lxml-stubs types sourceline as a bare "..."; it is Optional[int] and writable.
        element.sourceline = node.start_mark.line + 1  # type: ignore[assignment]
        self.positions.elements[element] = node.start_mark
        return element

    def fail(self, element: Element | None, node: Node, message: str) -> None:
        """Report a problem found while translating; the element is then not checked again."""
        self.source.problem(node, message)
        if element is not None:
            self.positions.reported.add(element)

    def attribute(
        self, element: Element, name: str, value: str, key_node: Node, key: str | None = None
    ) -> bool:
        try:
            element.set(name, value)
        except ValueError:
            self.fail(element, key_node, f"{key or name}: the value contains control characters: remove them")
            return False
        self.positions.attributes.setdefault(element, {})[name] = AttributeOrigin(
            key_node.start_mark, key or name
        )
        return True

    def copy(
        self, element: Element, mapping: Mapping, key: str, what: str, name: str | None = None
    ) -> str | None:
        """``mapping[key]`` (a single value) as attribute ``name`` (default: the key)."""
        entry = mapping.entries.get(key)
        if entry is None:
            return None
        text = self.source.text(entry.value, f"{key!r} of {what}")
        if text is None:
            self.positions.reported.add(element)
            return None
        renamed = None if name is None else key
        return text if self.attribute(element, name or key, text, entry.key_node, renamed) else None

    def require(
        self, element: Element, mapping: Mapping, key: str, what: str, hint: str, name: str | None = None
    ) -> str | None:
        """Like :meth:`copy`, with a problem when the key is missing."""
        if key not in mapping:
            self.fail(element, mapping.node, f"{what} needs {key!r}: {hint}")
            return None
        return self.copy(element, mapping, key, what, name)

    # -- ids ---------------------------------------------------------------------

    def fresh_id(self, base: str) -> str:
        candidate = base
        counter = 1
        while candidate in self.known_ids or candidate in self.generated_ids:
            counter += 1
            candidate = f"{base}-{counter}"
        self.generated_ids.add(candidate)
        return candidate

    def placeholder_id(self) -> str:
        """An id for an item whose own id is missing, so nothing else fails because of it."""
        self._placeholders += 1
        return f" missing id {self._placeholders}"

    def named_id(self, element: Element, mapping: Mapping, key: str, what: str) -> str:
        """The id the user gives under ``key`` (e.g. ``group: compute``); required."""
        entry = mapping.entries.get(key)
        text = None if entry is None else self.source.text(entry.value, f"the id of {what}")
        if entry is None or text is None:
            if entry is None:
                self.fail(element, mapping.node, f"{what} needs {key!r}: its id, unique in the configuration")
            ident = self.placeholder_id()
            element.set("id", ident)
            self.positions.reported.add(element)
            return ident
        if not self.attribute(element, "id", text, entry.key_node):
            element.set("id", self.placeholder_id())
        self.explicit_ids.add(text)
        return text

    def optional_id(self, element: Element, mapping: Mapping, base: str, what: str) -> str:
        """The ``id`` the user gives, else a generated one from ``base``."""
        if "id" in mapping:
            return self.named_id(element, mapping, "id", what)
        ident = self.fresh_id(base)
        element.set("id", ident)
        return ident

    # -- name/value sets ---------------------------------------------------------

    def nvsets(self, parent: Element, tag: str, node: Node, base: str, what: str) -> None:
        """A set (a mapping of names to values) or a list of sets with ids, scores and rules."""
        if isinstance(node, MappingNode):
            mapping = self.source.mapping(node, what)
            element = self.element(parent, tag, node)
            element.set("id", self.fresh_id(base))
            if mapping is not None:
                self.nvpairs(element, mapping, what)
            return
        if not isinstance(node, SequenceNode):
            self.source.problem(
                node, f"{what} must be a mapping of names to values, or a list of sets, not {describe(node)}"
            )
            return
        for index, item in enumerate(node.value):
            self._listed_nvset(parent, tag, item, indexed(base, index), f"set {index + 1} of {what}")

    def _listed_nvset(self, parent: Element, tag: str, node: Node, base: str, what: str) -> None:
        mapping = self.source.mapping(node, what)
        if mapping is None:
            return
        self.source.check_keys(mapping, SET_KEYS, what)
        element = self.element(parent, tag, node)
        ident = self.optional_id(element, mapping, base, what)
        self.copy(element, mapping, "score", what)
        rule = mapping.get("rule")
        if rule is not None:
            self.rule(element, rule, rule_id(ident, 0), f"the rule of {what}")
        values = mapping.get("values")
        if values is None:
            self.fail(element, node, f"{what} needs 'values': a mapping of names to values")
            return
        pairs = self.source.mapping(values, f"the values of {what}")
        if pairs is not None:
            self.nvpairs(element, pairs, what)

    def nvpairs(self, element: Element, mapping: Mapping, what: str) -> None:
        for entry in mapping:
            value = self.source.text(entry.value, f"{entry.key!r} in {what}")
            if value is None:
                continue
            pair = self.element(element, "nvpair", entry.key_node)
            self.attribute(pair, "name", entry.key, entry.key_node)
            self.attribute(pair, "value", value, entry.value)

    def flat_nvset(self, parent: Element, tag: str, node: Node, ident: str, what: str) -> None:
        """A single set that can only be a mapping (an op's meta or params)."""
        mapping = self.source.mapping(node, what)
        if mapping is not None:
            element = self.element(parent, tag, node)
            element.set("id", self.fresh_id(ident))
            self.nvpairs(element, mapping, what)

    # -- rules -------------------------------------------------------------------

    def rule(self, parent: Element, node: Node, base: str, what: str) -> None:
        mapping = self.source.mapping(node, what)
        if mapping is None:
            return
        self.source.check_keys(mapping, RULE_KEYS, what)
        element = self.element(parent, "rule", node)
        ident = self.optional_id(element, mapping, base, what)
        for key in ("score", "score-attribute", "boolean-op", "role"):
            self.copy(element, mapping, key, what)
        expressions = mapping.get("expressions")
        if expressions is None:
            self.fail(element, node, f"{what} needs 'expressions': a list of conditions")
            return
        items = self.source.sequence(expressions, f"the expressions of {what}")
        for index, item in enumerate(items or ()):
            self.condition(element, item, condition_id(ident, index), f"expression {index + 1} of {what}")

    def condition(self, parent: Element, node: Node, base: str, what: str) -> None:
        mapping = self.source.mapping(node, what)
        if mapping is None:
            return
        if "attribute" in mapping:
            self._expression(parent, mapping, base, what)
        elif "date" in mapping:
            self._date_expression(parent, mapping, base, what)
        elif "op" in mapping:
            self._keyed(parent, mapping, "op_expression", OP_EXPRESSION_KEYS, base, what)
        elif "expressions" in mapping or "boolean-op" in mapping:
            self.rule(parent, node, base, f"the rule in {what}")
        elif any(key in mapping for key in ("class", "provider", "type")):
            self._keyed(parent, mapping, "rsc_expression", RESOURCE_EXPRESSION_KEYS, base, what)
        else:
            self.source.problem(
                node,
                f"{what} needs one of 'attribute' (a node attribute test), 'date' (a date test),"
                " 'op' (an operation test), 'class'/'provider'/'type' (a resource kind test)"
                " or 'expressions' (a nested rule)",
            )

    def _expression(self, parent: Element, mapping: Mapping, base: str, what: str) -> None:
        self.source.check_keys(mapping, EXPRESSION_KEYS, what)
        element = self.element(parent, "expression", mapping.node)
        self.optional_id(element, mapping, base, what)
        self.copy(element, mapping, "attribute", what)
        self.require(element, mapping, "operation", what, "eq, ne, lt, gt, lte, gte, defined or not_defined")
        for key in ("value", "type", "value-source"):
            self.copy(element, mapping, key, what)

    def _date_expression(self, parent: Element, mapping: Mapping, base: str, what: str) -> None:
        self.source.check_keys(mapping, DATE_KEYS, what)
        element = self.element(parent, "date_expression", mapping.node)
        ident = self.optional_id(element, mapping, base, what)
        self.copy(element, mapping, "date", what, name="operation")
        self.copy(element, mapping, "start", what)
        self.copy(element, mapping, "end", what)
        duration = mapping.get("duration")
        if duration is not None:
            self._fields(element, "duration", duration, DURATION_FIELDS, f"the duration of {what}")
        spec = mapping.get("date-spec")
        if spec is not None:
            self._fields(element, "date_spec", spec, ("id", *DATE_FIELDS), f"the date-spec of {what}", ident)

    def _fields(
        self,
        parent: Element,
        tag: str,
        node: Node,
        allowed: tuple[str, ...],
        what: str,
        owner: str | None = None,
    ) -> None:
        mapping = self.source.mapping(node, what)
        if mapping is None:
            return
        self.source.check_keys(mapping, allowed, what)
        element = self.element(parent, tag, node)
        if owner is not None:
            self.optional_id(element, mapping, date_spec_id(owner), what)
        for entry in mapping:
            if entry.key != "id" and entry.key in allowed:
                self.copy(element, mapping, entry.key, what)

    def _keyed(
        self, parent: Element, mapping: Mapping, tag: str, allowed: tuple[str, ...], base: str, what: str
    ) -> None:
        self.source.check_keys(mapping, allowed, what)
        element = self.element(parent, tag, mapping.node)
        self.optional_id(element, mapping, base, what)
        for key in allowed[1:]:
            self.copy(element, mapping, key, what, name="name" if key == "op" else None)
