"""Pacemaker's booleans, read once the way Pacemaker reads them (``crm_is_true``).

True is ``true``, ``on``, ``yes``, ``y`` or ``1``; false is ``false``,
``off``, ``no``, ``n`` or ``0``; any case, surrounding blanks ignored.  Where
a value is only *used*, anything that is not a true spelling is false
(:func:`is_true`), as in Pacemaker; where a configuration is *validated*,
a value that is neither is refused (:func:`parse_bool`).
"""

from __future__ import annotations

TRUE_WORDS = frozenset({"true", "on", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "off", "no", "n", "0"})


def is_true(value: str | None, default: bool = False) -> bool:
    """Whether ``value`` is a true spelling; ``default`` when it is not set at all."""
    if value is None:
        return default
    return value.strip().lower() in TRUE_WORDS


def parse_bool(text: str) -> bool | None:
    """True or False for a boolean spelling; None when ``text`` is not one."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
