"""Reading name/value sets and rules from a CIB.

Sets (``instance_attributes``, ``meta_attributes``, ``cluster_property_set``,
``utilization``) and rules appear all over a CIB with the same grammar, so
they are read here once; ``id-ref`` is followed at every level Pacemaker
allows it (set, nvpair, rule).
"""

from __future__ import annotations

from vigil.formats.cib.reader import Element, Reader, children, normalize_role
from vigil.model.config import NvSet
from vigil.model.isodate import parse_iso8601
from vigil.model.option_values import cluster_option_problem, meta_problem
from vigil.model.rules import (
    Condition,
    DateExpression,
    DateSpec,
    Expression,
    OpExpression,
    ResourceExpression,
    Rule,
)

EXPRESSION_OPERATIONS = frozenset({"lt", "gt", "lte", "gte", "eq", "ne", "defined", "not_defined"})
EXPRESSION_TYPES = frozenset({"string", "integer", "number", "version"})
VALUE_SOURCES = frozenset({"literal", "param", "meta"})
DATE_OPERATIONS = frozenset({"in_range", "gt", "lt", "date_spec"})
BOOLEAN_OPS = frozenset({"and", "or"})


def load_nvset(reader: Reader, element: Element) -> NvSet | None:
    """One set of nvpairs with its score and optional rule."""
    target = reader.resolve(element)
    if target is None:
        return None
    values: list[tuple[str, str]] = []
    rule: Rule | None = None
    for child in children(target):
        if child.tag == "nvpair":
            pair = _load_nvpair(reader, child)
            if pair is not None:
                values.append(pair)
        elif child.tag == "rule" and rule is None:
            rule = load_rule(reader, child)
        else:
            reader.unsupported(child)
    return NvSet(
        id=reader.ident(target),
        values=tuple(values),
        score=reader.score(target) or 0,
        rule=rule,
    )


def load_nvsets(reader: Reader, elements: list[Element]) -> tuple[NvSet, ...]:
    sets = (load_nvset(reader, element) for element in elements)
    return tuple(nvset for nvset in sets if nvset is not None)


def _load_nvpair(reader: Reader, element: Element) -> tuple[str, str] | None:
    target = reader.resolve(element)
    if target is None:
        return None
    name = reader.required(target, "name")
    value = target.get("value")
    if name is None or value is None:
        # Pacemaker treats a pair without a value as unset.
        return None
    problem = _value_problem(target, name, value)
    if problem is not None:
        reader.problem(target, problem)
    return name, value


def _value_problem(nvpair: Element, name: str, value: str) -> str | None:
    """A typed option or meta attribute with a value of the wrong type (parameters are the agent's)."""
    parent = nvpair.getparent()
    kind = None if parent is None else parent.tag
    if kind == "cluster_property_set":
        return cluster_option_problem(name, value)
    if kind == "meta_attributes":
        return meta_problem(name, value)
    return None


def load_rule(reader: Reader, element: Element) -> Rule | None:
    """A ``<rule>`` (following ``id-ref``) with its nested conditions."""
    target = reader.resolve(element)
    if target is None:
        return None
    boolean_op = target.get("boolean-op", "and")
    if boolean_op not in BOOLEAN_OPS:
        reader.problem(target, f"invalid boolean-op {boolean_op!r}: use 'and' or 'or'")
    conditions = [_load_condition(reader, child) for child in children(target)]
    return Rule(
        id=reader.ident(target),
        conditions=tuple(condition for condition in conditions if condition is not None),
        boolean_op=boolean_op,
        score=reader.score(target),
        score_attribute=target.get("score-attribute"),
        role=normalize_role(target.get("role")),
    )


def _load_condition(reader: Reader, element: Element) -> Condition | None:
    if element.tag == "expression":
        return _load_expression(reader, element)
    if element.tag == "date_expression":
        return _load_date_expression(reader, element)
    if element.tag == "rsc_expression":
        return ResourceExpression(
            id=reader.ident(element),
            cls=element.get("class"),
            provider=element.get("provider"),
            type=element.get("type"),
        )
    if element.tag == "op_expression":
        return OpExpression(
            id=reader.ident(element),
            name=reader.required(element, "name") or "",
            interval_ms=reader.interval_ms(element, "interval"),
        )
    if element.tag == "rule":
        return load_rule(reader, element)
    reader.unsupported(element, "is ignored (its rule may not evaluate as Pacemaker would)")
    return None


def _load_expression(reader: Reader, element: Element) -> Expression:
    operation = reader.required(element, "operation") or ""
    if operation and operation not in EXPRESSION_OPERATIONS:
        reader.problem(
            element, f"invalid operation {operation!r}: use one of {', '.join(sorted(EXPRESSION_OPERATIONS))}"
        )
    value = element.get("value")
    if value is None and operation not in ("defined", "not_defined", ""):
        reader.problem(element, f"operation {operation!r} needs a 'value' attribute to compare with")
    kind = element.get("type")
    if kind is not None and kind not in EXPRESSION_TYPES:
        reader.problem(element, f"invalid type {kind!r}: use one of {', '.join(sorted(EXPRESSION_TYPES))}")
    source = element.get("value-source", "literal")
    if source not in VALUE_SOURCES:
        reader.problem(element, f"invalid value-source {source!r}: use literal, param or meta")
    return Expression(
        id=reader.ident(element),
        attribute=reader.required(element, "attribute") or "",
        operation=operation,
        value=value,
        type=kind,
        value_source=source,
    )


def _load_date_expression(reader: Reader, element: Element) -> DateExpression:
    operation = element.get("operation", "in_range")
    if operation not in DATE_OPERATIONS:
        reader.problem(element, f"invalid operation {operation!r}: use in_range, gt, lt or date_spec")
    for name in ("start", "end"):
        text = element.get(name)
        if text is not None:
            try:
                parse_iso8601(text)
            except ValueError as error:
                reader.problem(element, f"{name}: {error}")
    spec: DateSpec | None = None
    duration: tuple[tuple[str, str], ...] = ()
    for child in children(element):
        if child.tag == "date_spec":
            spec = DateSpec(id=reader.ident(child), fields=_fields(child))
        elif child.tag == "duration":
            duration = _fields(child)
        else:
            reader.unsupported(child)
    _check_date_operands(reader, element, operation, spec)
    return DateExpression(
        id=reader.ident(element),
        operation=operation,
        start=element.get("start"),
        end=element.get("end"),
        duration=duration,
        spec=spec,
    )


def _check_date_operands(reader: Reader, element: Element, operation: str, spec: DateSpec | None) -> None:
    if operation == "gt" and element.get("start") is None:
        reader.problem(element, "operation 'gt' needs a 'start' date")
    elif operation == "lt" and element.get("end") is None:
        reader.problem(element, "operation 'lt' needs an 'end' date")
    elif operation == "date_spec" and spec is None:
        reader.problem(element, "operation 'date_spec' needs a <date_spec> child")
    elif operation == "in_range" and element.get("start") is None and element.get("end") is None:
        reader.problem(element, "operation 'in_range' needs a 'start' or an 'end' date")


def _fields(element: Element) -> tuple[tuple[str, str], ...]:
    """All attributes but ``id``, in document order."""
    return tuple((str(name), str(value)) for name, value in element.attrib.items() if name != "id")
