"""Pacemaker score arithmetic.

Scores are integers clamped to +/-INFINITY (1,000,000).  Adding -INFINITY to
anything gives -INFINITY, even +INFINITY: a ban always wins over a preference,
which is what makes "never run here" constraints safe.
"""

from __future__ import annotations

INFINITY = 1_000_000
SCORE_WORDS = {
    "infinity": INFINITY,
    "+infinity": INFINITY,
    "-infinity": -INFINITY,
    "inf": INFINITY,
    "+inf": INFINITY,
    "-inf": -INFINITY,
    "red": None,  # node-health colours are resolved by the caller
    "yellow": None,
    "green": None,
}


class ScoreError(ValueError):
    """A score string that is neither an integer nor an INFINITY word."""


def parse_score(text: str) -> int:
    """Parse a Pacemaker score such as ``100``, ``-INFINITY`` or ``+inf``."""
    stripped = text.strip()
    word = stripped.lower()
    if word in SCORE_WORDS and SCORE_WORDS[word] is not None:
        value = SCORE_WORDS[word]
        assert value is not None
        return value
    try:
        number = int(stripped)
    except ValueError:
        raise ScoreError(f"invalid score {text!r}: use an integer or [+-]INFINITY") from None
    return clamp(number)


def clamp(value: int) -> int:
    if value >= INFINITY:
        return INFINITY
    if value <= -INFINITY:
        return -INFINITY
    return value


def add(a: int, b: int) -> int:
    """Add two scores the way Pacemaker does: -INFINITY dominates."""
    if a <= -INFINITY or b <= -INFINITY:
        return -INFINITY
    if a >= INFINITY or b >= INFINITY:
        return INFINITY
    return clamp(a + b)


def format_score(value: int) -> str:
    if value >= INFINITY:
        return "INFINITY"
    if value <= -INFINITY:
        return "-INFINITY"
    return str(value)


def lenient_score(text: str) -> int:
    """Read a score the forgiving way Pacemaker reads meta attributes.

    The INFINITY words, else the leading integer ("1.0" is 1, "10s" is 10),
    else 0.  Constraint scores are validated strictly by the loader; meta
    attributes such as ``priority`` have always been read like this.
    """
    stripped = text.strip()
    word = stripped.lower()
    value = SCORE_WORDS.get(word)
    if value is not None:
        return value
    digits = ""
    for index, char in enumerate(stripped):
        if char.isdigit() or (index == 0 and char in "+-"):
            digits += char
        else:
            break
    try:
        return clamp(int(digits))
    except ValueError:
        return 0
