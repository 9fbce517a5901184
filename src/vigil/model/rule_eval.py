"""Evaluate ``<rule>`` conditions against node attributes, dates and kinds.

Pure: "now" comes in through the context, never from the clock.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vigil.model.isodate import parse_iso8601
from vigil.model.rules import (
    Condition,
    DateExpression,
    Expression,
    OpExpression,
    ResourceExpression,
    Rule,
)
from vigil.model.scores import ScoreError, parse_score


@dataclass(frozen=True)
class RuleContext:
    now: int
    node_attrs: dict[str, str] | None = None
    rsc_class: str | None = None
    rsc_provider: str | None = None
    rsc_type: str | None = None
    op_name: str | None = None
    op_interval_ms: int | None = None
    role: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)


def rule_passes(rule: Rule, ctx: RuleContext) -> bool:
    if rule.role is not None and ctx.role is not None and rule.role != ctx.role:
        return False
    if not rule.conditions:
        return True
    results = (condition_passes(cond, ctx) for cond in rule.conditions)
    if rule.boolean_op.lower() == "or":
        return any(results)
    return all(results)


def rule_score(rule: Rule, ctx: RuleContext) -> int:
    """The score a passing location rule contributes."""
    if rule.score_attribute and ctx.node_attrs is not None:
        value = ctx.node_attrs.get(rule.score_attribute)
        if value is None:
            return 0
        try:
            return parse_score(value)
        except ScoreError:
            return 0
    return rule.score if rule.score is not None else 0


def condition_passes(cond: Condition, ctx: RuleContext) -> bool:
    if isinstance(cond, Rule):
        return rule_passes(cond, ctx)
    if isinstance(cond, Expression):
        return _expression_passes(cond, ctx)
    if isinstance(cond, DateExpression):
        return _date_passes(cond, ctx.now)
    if isinstance(cond, ResourceExpression):
        return _rsc_expression_passes(cond, ctx)
    return _op_expression_passes(cond, ctx)


def _rsc_expression_passes(cond: ResourceExpression, ctx: RuleContext) -> bool:
    return (
        (cond.cls is None or cond.cls == ctx.rsc_class)
        and (cond.provider is None or cond.provider == ctx.rsc_provider)
        and (cond.type is None or cond.type == ctx.rsc_type)
    )


def _op_expression_passes(cond: OpExpression, ctx: RuleContext) -> bool:
    if ctx.op_name is None or cond.name != ctx.op_name:
        return False
    return cond.interval_ms is None or cond.interval_ms == ctx.op_interval_ms


def _expression_passes(expr: Expression, ctx: RuleContext) -> bool:
    attrs = ctx.node_attrs if ctx.node_attrs is not None else {}
    actual = attrs.get(expr.attribute)
    op = expr.operation.lower()
    if op == "defined":
        return actual is not None
    if op == "not_defined":
        return actual is None
    expected = expr.value
    if expr.value_source == "param" and expected is not None:
        expected = ctx.params.get(expected)
    elif expr.value_source == "meta" and expected is not None:
        expected = ctx.meta.get(expected)
    if actual is None or expected is None:
        # A comparison against a missing value passes only for "ne".
        return op == "ne" and not (actual is None and expected is None)
    cmp = _compare(actual, expected, expr.type, op)
    if cmp is None:
        return False
    return {
        "eq": cmp == 0,
        "ne": cmp != 0,
        "lt": cmp < 0,
        "lte": cmp <= 0,
        "gt": cmp > 0,
        "gte": cmp >= 0,
    }.get(op, False)


def _compare(actual: str, expected: str, typ: str | None, op: str) -> int | None:
    kind = (typ or "").lower()
    if not kind:
        # Pacemaker compares numerically when either side looks like a number
        # for ordering operators, as strings otherwise.
        kind = "number" if op in ("lt", "lte", "gt", "gte") and _is_number(expected) else "string"
    if kind in ("integer", "number"):
        try:
            a = float(actual) if kind == "number" else int(float(actual))
            b = float(expected) if kind == "number" else int(float(expected))
        except ValueError:
            # Pacemaker falls back to comparing the text when a value is
            # not a number.
            kind = "string"
        else:
            return (a > b) - (a < b)
    if kind == "version":
        va, vb = _version(actual), _version(expected)
        return (va > vb) - (va < vb)
    # string: case-insensitive as in Pacemaker
    sa, sb = actual.lower(), expected.lower()
    return (sa > sb) - (sa < sb)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _date_passes(expr: DateExpression, now: int) -> bool:
    op = expr.operation.lower()
    start = parse_iso8601(expr.start) if expr.start else None
    end = parse_iso8601(expr.end) if expr.end else None
    if op == "in_range":
        if end is None and start is not None and expr.duration:
            end = add_duration_fields(start, expr.duration)
        if start is not None and now < start:
            return False
        return not (end is not None and now > end)
    if op == "gt":
        return start is not None and now > start
    if op == "lt":
        return end is not None and now < end
    if op == "date_spec":
        return expr.spec is not None and _date_spec_passes(expr.spec.fields, now)
    return False


def add_duration_fields(epoch: int, fields: tuple[tuple[str, str], ...]) -> int:
    values = {k: int(v) for k, v in fields if k != "id" and v.lstrip("-").isdigit()}
    moment = datetime.fromtimestamp(epoch, UTC)
    months = moment.month - 1 + values.get("months", 0) + 12 * values.get("years", 0)
    year = moment.year + months // 12
    month = months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    moment = moment.replace(year=year, month=month, day=day)
    seconds = (
        values.get("weeks", 0) * 7 * 86400
        + values.get("days", 0) * 86400
        + values.get("hours", 0) * 3600
        + values.get("minutes", 0) * 60
        + values.get("seconds", 0)
    )
    return int(moment.timestamp()) + seconds


def _date_spec_passes(fields: tuple[tuple[str, str], ...], now: int) -> bool:
    moment = datetime.fromtimestamp(now, UTC)
    iso_year, iso_week, iso_weekday = moment.isocalendar()
    actual = {
        "seconds": moment.second,
        "minutes": moment.minute,
        "hours": moment.hour,
        "monthdays": moment.day,
        "weekdays": iso_weekday,
        "yeardays": moment.timetuple().tm_yday,
        "months": moment.month,
        "weeks": iso_week,
        "years": moment.year,
        "weekyears": iso_year,
    }
    for name, spec in fields:
        if name not in actual:
            continue
        if not _in_ranges(actual[name], spec):
            return False
    return True


def _in_ranges(value: int, spec: str) -> bool:
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part[1:]:
            low_text, high_text = part.split("-", 1)
            try:
                low, high = int(low_text), int(high_text)
            except ValueError:
                return False
            if low <= value <= high:
                return True
        else:
            try:
                if int(part) == value:
                    return True
            except ValueError:
                return False
    return False

