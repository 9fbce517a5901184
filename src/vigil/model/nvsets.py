"""Resolve name/value sets: highest score first, first definition wins."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vigil.model.config import NvSet
from vigil.model.rule_eval import RuleContext, rule_passes

# A value that means the name is not set at all.
UNSET = "#default"


def resolve_nvsets(sets: Iterable[NvSet], ctx: RuleContext, into: dict[str, str] | None = None,
                   overwrite: bool = False) -> dict[str, str]:
    """Merge ``sets`` into a dict.

    Sets are visited by descending score (document order for ties); a name
    already present is kept unless ``overwrite`` is set, which is how
    Pacemaker lets a resource's own meta attributes beat rsc_defaults.
    """
    result: dict[str, str] = {} if into is None else into
    ordered = sorted(enumerate(sets), key=lambda item: (-item[1].score, item[0]))
    seen: set[str] = set()
    for _, nvset in ordered:
        if nvset.rule is not None and not rule_passes(nvset.rule, ctx):
            continue
        for name, value in nvset.values:
            if value.lower() == UNSET:
                # Pacemaker's (deprecated) way of saying "no value": it
                # clears what an earlier set gave, and a later set may give one.
                result.pop(name, None)
                seen.discard(name)
                continue
            if name in seen:
                continue
            if overwrite or name not in result:
                result[name] = value
            seen.add(name)
    return result


def plain_value(sets: Sequence[NvSet], name: str) -> str | None:
    """``name`` as the sets without rules define it (highest score first, then document order): the
    value an operator set, which an edit changes, whatever rules may say at a given time."""
    ordered = sorted(enumerate(sets), key=lambda item: (-item[1].score, item[0]))
    for _, nvset in ordered:
        if nvset.rule is not None:
            continue
        for key, value in nvset.values:
            if key == name:
                return value
    return None
