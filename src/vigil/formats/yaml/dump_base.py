"""The YAML writer's shared parts: ids, refusals, rules and op fields.

Kept apart from ``dump`` (which walks the sections) because rules and
ops are where the writer must mirror the reader most closely: a key may be
left out only when the reader would arrive at the same value without it.
"""

from __future__ import annotations

from typing import TypeAlias

from vigil.errors import Problem
from vigil.formats.cib.reader import normalize_role
from vigil.formats.yaml.vocabulary import (
    DATE_FIELDS,
    DURATION_FIELDS,
    condition_id,
    date_spec_id,
    format_duration,
)
from vigil.model.booleans import parse_bool
from vigil.model.config import Op
from vigil.model.isodate import parse_interval_ms
from vigil.model.rules import Condition, DateExpression, Expression, OpExpression, ResourceExpression, Rule
from vigil.model.scores import format_score

Yaml: TypeAlias = "str | list[Yaml] | dict[str, Yaml]"
USE_XML = "use --format xml"


class Flow(dict[str, Yaml]):
    """A mapping written on one line (``{name: monitor, interval: 10s}``)."""


class FlowList(list[Yaml]):
    """A list written on one line (``[resources, fencing]``)."""


class WriterBase:
    """Collects what cannot be written, and checks that every id is written once."""

    def __init__(self) -> None:
        self.refusals: list[Problem] = []
        self._ids: dict[str, str] = {}
        self._shared: set[str] = set()

    def refuse(self, where: str, message: str) -> None:
        self.refusals.append(Problem(where, f"{message}: the YAML format cannot express it; {USE_XML}"))

    def register(self, ident: str, what: str) -> None:
        """Note an id; one met twice was shared through ``id-ref``, which YAML has no way to say."""
        first = self._ids.setdefault(ident, what)
        if first != what and ident not in self._shared:
            self._shared.add(ident)
            self.refuse(what, f"its id {ident!r} is also used by {first} (shared through id-ref in the CIB)")

    def put_id(self, item: dict[str, Yaml], ident: str, base: str, what: str) -> None:
        """Write ``id`` unless it is the one the reader generates from ``base``."""
        self.register(ident, what)
        if ident != base:
            item["id"] = ident

    # -- rules ---------------------------------------------------------------------

    def rule(self, rule: Rule, base: str, what: str) -> Yaml:
        what = f"rule {rule.id!r} of {what}"
        item: dict[str, Yaml] = {}
        self.put_id(item, rule.id, base, what)
        if rule.score is not None:
            item["score"] = format_score(rule.score)
        if rule.score_attribute is not None:
            item["score-attribute"] = rule.score_attribute
        if rule.boolean_op != "and":
            item["boolean-op"] = rule.boolean_op
        if rule.role is not None:
            item["role"] = rule.role
        item["expressions"] = [
            self.condition(condition, condition_id(rule.id, index), what)
            for index, condition in enumerate(rule.conditions)
        ]
        return item

    def condition(self, condition: Condition, base: str, what: str) -> Yaml:
        if isinstance(condition, Rule):
            return self.rule(condition, base, what)
        item = Flow()
        self.put_id(item, condition.id, base, f"expression {condition.id!r} of {what}")
        if isinstance(condition, Expression):
            item["attribute"] = condition.attribute
            item["operation"] = condition.operation
            _put(item, "value", condition.value)
            _put(item, "type", condition.type)
            _put(
                item, "value-source", None if condition.value_source == "literal" else condition.value_source
            )
        elif isinstance(condition, DateExpression):
            self.date_expression(item, condition, what)
        elif isinstance(condition, ResourceExpression):
            _put(item, "class", condition.cls)
            _put(item, "provider", condition.provider)
            _put(item, "type", condition.type)
            if len(item) == ("id" in item):
                self.refuse(what, f"the resource expression {condition.id!r} tests nothing")
        else:
            self.op_expression(item, condition)
        return item

    def date_expression(self, item: Flow, expression: DateExpression, what: str) -> None:
        item["date"] = expression.operation
        _put(item, "start", expression.start)
        _put(item, "end", expression.end)
        parts: list[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]]] = [
            ("duration", expression.duration, DURATION_FIELDS)
        ]
        if expression.spec is not None:
            parts.append(("date-spec", expression.spec.fields, DATE_FIELDS))
        for key, values, allowed in parts:
            unknown = [name for name, _ in values if name not in allowed]
            if unknown:
                self.refuse(what, f"the {key} of {expression.id!r} has fields YAML does not know: {unknown}")
        if expression.duration:
            item["duration"] = Flow(expression.duration)
        if expression.spec is not None:
            spec = Flow()
            self.put_id(spec, expression.spec.id, date_spec_id(expression.id), f"the date-spec of {what}")
            spec.update(expression.spec.fields)
            item["date-spec"] = spec

    @staticmethod
    def op_expression(item: Flow, expression: OpExpression) -> None:
        item["op"] = expression.name
        if expression.interval_ms is not None:
            item["interval"] = format_duration(expression.interval_ms)


def op_fields(op: Op) -> tuple[dict[str, Yaml], str | None]:
    """The typed keys an op needs written, and why it cannot be written, if so.

    An op's meta pairs stand in for absent attributes (``timeout`` in meta
    sets the timeout), so a key is left out when its meta pair, or the
    default, already gives the same value.
    """
    meta = dict(op.meta)
    written: dict[str, Yaml] = {}
    missing: list[str] = []
    if "interval" in meta:
        implied_interval: int | None = _milliseconds(meta["interval"])
    else:
        implied_interval = None if op.name == "monitor" else 0
    if op.interval_ms != implied_interval:
        written["interval"] = format_duration(op.interval_ms)
    for key, value, implied in (
        ("timeout", op.timeout_ms, _milliseconds(meta.get("timeout"))),
        ("role", op.role, normalize_role(meta.get("role"))),
        ("on-fail", op.on_fail, meta.get("on-fail")),
        ("enabled", op.enabled, True if "enabled" not in meta else parse_bool(meta["enabled"])),
        ("start-delay", op.start_delay_ms, _milliseconds(meta.get("start-delay"))),
    ):
        if value == implied:
            continue
        if value is None:
            missing.append(key)
        elif isinstance(value, bool):
            written[key] = str(value).lower()
        elif isinstance(value, int):
            written[key] = format_duration(value)
        else:
            written[key] = value
    problem = f"its {', '.join(missing)} is unset while its meta sets one" if missing else None
    return written, problem


def _milliseconds(text: str | None) -> int | None:
    try:
        return None if text is None else parse_interval_ms(text)
    except ValueError:
        return None


def _put(item: dict[str, Yaml], key: str, value: str | None) -> None:
    if value is not None:
        item[key] = value
