"""Rules: boolean conditions on node attributes, dates and resource/op kinds.

Only the data lives here; evaluation is in ``vigil.model.rule_eval`` because it
needs the scheduler's view of node attributes and of "now".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Expression:
    """``<expression attribute operation value type value-source>``."""

    id: str
    attribute: str
    operation: str
    value: str | None = None
    type: str | None = None
    value_source: str = "literal"


@dataclass(frozen=True)
class DateSpec:
    id: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DateExpression:
    """``<date_expression operation=in_range|gt|lt|date_spec>``."""

    id: str
    operation: str
    start: str | None = None
    end: str | None = None
    duration: tuple[tuple[str, str], ...] = ()
    spec: DateSpec | None = None


@dataclass(frozen=True)
class ResourceExpression:
    """``<rsc_expression class provider type>`` (in rsc_defaults rules)."""

    id: str
    cls: str | None = None
    provider: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class OpExpression:
    """``<op_expression name interval>`` (in op_defaults rules)."""

    id: str
    name: str
    interval_ms: int | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    conditions: tuple[Condition, ...]
    boolean_op: str = "and"
    score: int | None = None
    score_attribute: str | None = None
    role: str | None = None


Condition = Expression | DateExpression | ResourceExpression | OpExpression | Rule
