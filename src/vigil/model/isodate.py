"""ISO 8601 dates and durations, and Pacemaker interval specs.

Pacemaker configurations carry times in three shapes: ISO 8601 date-times in
date rules and ``crm_simulate -t``, ISO 8601 durations in ``<duration>`` and
``PT10S``-style intervals, and its own ``10s``/``2min`` interval shorthand.
This module is the single place that reads them, so the CIB adapter, the rule
evaluator and the simulator agree on what a date means.

Times are integer epoch seconds in UTC.  A date-time without an offset is
taken as UTC (not the host's local zone) so that the scheduler stays a pure
function of its input.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

__all__ = [
    "Duration",
    "add_duration",
    "format_iso8601",
    "parse_duration",
    "parse_interval_ms",
    "parse_iso8601",
]

_DATE_FORMS = (
    # (regex, kind) for the date part; tried in order.
    (re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"), "calendar"),
    (re.compile(r"(?P<y>\d{4})-W(?P<w>\d{2})(?:-(?P<wd>\d))?"), "week"),
    (re.compile(r"(?P<y>\d{4})W(?P<w>\d{2})(?P<wd>\d)?"), "week"),
    (re.compile(r"(?P<y>\d{4})-(?P<o>\d{3})"), "ordinal"),
    (re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"), "calendar"),
    (re.compile(r"(?P<y>\d{4})(?P<o>\d{3})"), "ordinal"),
)
_TIME = re.compile(
    r"(?P<h>\d{2})(?::?(?P<mi>\d{2})(?::?(?P<s>\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?"
)
_DURATION_PART = re.compile(r"(?P<n>\d+)(?P<unit>[YMWDHS])")
_DURATION_UNITS: dict[object, str] = {
    "Y": "years",
    ("M", False): "months",
    ("M", True): "minutes",
    "D": "days",
    "H": "hours",
    "S": "seconds",
}
_DURATION_HELP = "use e.g. PT10S, P1D or P1Y2M3DT4H5M6S"
_INTERVAL_HELP = "use a number of seconds (10), a number with a unit (500ms, 10s, 2min, 1h) or PT10S"
_INTERVAL = re.compile(r"(?P<n>\d+)\s*(?P<unit>[a-z]*)")
_UNIT_MS = {
    "": 1000,
    "s": 1000,
    "sec": 1000,
    "ms": 1,
    "msec": 1,
    "m": 60_000,
    "min": 60_000,
    "h": 3_600_000,
    "hr": 3_600_000,
}
_DATE_HELP = "use e.g. 2010-05-09T03:00:00Z, 2005-020 (ordinal day), 2019-W02-3 or '2014-05-07 00:28:00'"


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration kept in its calendar parts.

    Years and months are not a fixed number of seconds, so they are kept
    apart and applied with calendar arithmetic by :func:`add_duration`.
    """

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def approximate_seconds(self) -> int:
        """Length in seconds with 365-day years and 30-day months (for timeouts)."""
        days = self.years * 365 + self.months * 30 + self.days
        return ((days * 24 + self.hours) * 60 + self.minutes) * 60 + self.seconds


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration such as ``P1Y2M3DT4H5M6S``, ``PT10S`` or ``P2W``.

    Like Pacemaker, ``H`` and ``S`` are accepted before the ``T`` (``P10S``);
    ``M`` means months before the ``T`` and minutes after it.
    """
    stripped = text.strip().upper()
    if not stripped.startswith("P") or len(stripped) < 3 or stripped.endswith("T"):
        raise ValueError(f"invalid ISO 8601 duration {text!r}: {_DURATION_HELP}")
    parts = dict.fromkeys(("years", "months", "days", "hours", "minutes", "seconds"), 0)
    in_time = False
    position = 1
    while position < len(stripped):
        if stripped[position] == "T" and not in_time:
            in_time = True
            position += 1
            continue
        match = _DURATION_PART.match(stripped, position)
        if match is None:
            raise ValueError(f"invalid ISO 8601 duration {text!r}: {_DURATION_HELP}")
        number, unit = int(match["n"]), match["unit"]
        if unit == "W":
            parts["days"] += 7 * number
        else:
            parts[_DURATION_UNITS[(unit, in_time) if unit == "M" else unit]] += number
        position = match.end()
    return Duration(**parts)


def add_duration(epoch: int, duration: Duration, sign: int = 1) -> int:
    """Add (``sign=-1``: subtract) a duration to an epoch time, calendar-aware.

    Years and months move the calendar date and clamp the day to the end of
    the month (Jan 31 + 1 month = Feb 28/29), then the fixed-length parts are
    added as seconds.
    """
    days, rest = divmod(epoch, 86_400)
    year, month, day = _civil_from_days(days)
    total_months = year * 12 + (month - 1) + sign * (duration.years * 12 + duration.months)
    year, month0 = divmod(total_months, 12)
    month = month0 + 1
    day = min(day, calendar.monthrange(year, month)[1])
    fixed = ((duration.days * 24 + duration.hours) * 60 + duration.minutes) * 60 + duration.seconds
    return _days_from_civil(year, month, day) * 86_400 + rest + sign * fixed


def parse_iso8601(text: str) -> int:
    """Parse an ISO 8601 date or date-time into epoch seconds (UTC).

    Accepts calendar (``2010-05-09``), ordinal (``2005-020``) and week
    (``2019-W02-3``) dates, optionally followed by ``T`` or a space and a time
    (``12:30``, ``03:00:00``), and an offset (``Z``, ``+01:00``, ``-0500``).
    """
    stripped = text.strip()
    date_part, time_part = _split_date_time(stripped)
    days = _parse_date(date_part, text)
    seconds = _parse_time(time_part, text) if time_part is not None else 0
    return days * 86_400 + seconds


def format_iso8601(epoch: int) -> str:
    """Format epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ``."""
    days, rest = divmod(epoch, 86_400)
    year, month, day = _civil_from_days(days)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{year:04d}-{month:02d}-{day:02d}T{hours:02d}:{minutes:02d}:{seconds:02d}Z"


def parse_interval_ms(text: str) -> int:
    """Parse a Pacemaker interval or timeout into milliseconds.

    A bare number is seconds (``10`` = 10 s); units ``ms``/``msec``,
    ``s``/``sec``, ``m``/``min``, ``h``/``hr`` are accepted, as are ISO 8601
    durations (``PT10S``).
    """
    stripped = text.strip()
    if stripped.upper().startswith("P"):
        try:
            return parse_duration(stripped.upper()).approximate_seconds() * 1000
        except ValueError:
            raise ValueError(f"invalid interval {text!r}: {_INTERVAL_HELP}") from None
    match = _INTERVAL.fullmatch(stripped.lower())
    if match is None or match["unit"] not in _UNIT_MS:
        raise ValueError(f"invalid interval {text!r}: {_INTERVAL_HELP}")
    return int(match["n"]) * _UNIT_MS[match["unit"]]


def _split_date_time(text: str) -> tuple[str, str | None]:
    for separator in ("T", " "):
        if separator in text:
            date_part, time_part = text.split(separator, 1)
            return date_part, time_part.strip()
    return text, None


def _parse_date(text: str, original: str) -> int:
    """Days since the epoch for the date part."""
    for pattern, kind in _DATE_FORMS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        year = int(match["y"])
        if kind == "calendar":
            month, day = int(match["m"]), int(match["d"])
            if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
                break
            return _days_from_civil(year, month, day)
        if kind == "ordinal":
            ordinal = int(match["o"])
            if not 1 <= ordinal <= (366 if calendar.isleap(year) else 365):
                break
            return _days_from_civil(year, 1, 1) + ordinal - 1
        return _week_date_days(year, int(match["w"]), int(match["wd"] or 1), original)
    raise ValueError(f"invalid ISO 8601 date {original!r}: {_DATE_HELP}")


def _week_date_days(year: int, week: int, weekday: int, original: str) -> int:
    jan4 = _days_from_civil(year, 1, 4)
    jan4_weekday = (jan4 + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    weeks_in_year = 53 if _has_53_weeks(year) else 52
    if not 1 <= week <= weeks_in_year or not 1 <= weekday <= 7:
        raise ValueError(f"invalid ISO 8601 week date {original!r}: {_DATE_HELP}")
    return jan4 - jan4_weekday + (week - 1) * 7 + weekday - 1


def _has_53_weeks(year: int) -> bool:
    jan1_weekday = calendar.weekday(year, 1, 1)  # 0 = Monday
    return jan1_weekday == 3 or (jan1_weekday == 2 and calendar.isleap(year))


def _parse_time(text: str, original: str) -> int:
    """Seconds since midnight UTC for the time part, offset applied."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid ISO 8601 time in {original!r}: {_DATE_HELP}")
    hours, minutes, seconds = int(match["h"]), int(match["mi"] or 0), int(match["s"] or 0)
    if hours > 24 or minutes > 59 or seconds > 60 or (hours == 24 and (minutes or seconds)):
        raise ValueError(
            f"invalid ISO 8601 time in {original!r}: hours run 0-24, minutes and seconds 0-59; {_DATE_HELP}"
        )
    return hours * 3600 + minutes * 60 + seconds - _offset_seconds(match["tz"])


def _offset_seconds(tz: str | None) -> int:
    if tz is None or tz == "Z":
        return 0
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return sign * (hours * 3600 + minutes * 60)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year)."""
    return calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0)) // 86_400


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Inverse of :func:`_days_from_civil` (Howard Hinnant's algorithm)."""
    shifted = days + 719_468
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = year_of_era + era * 400 + (1 if month <= 2 else 0)
    return year, month, day
