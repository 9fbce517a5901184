"""ISO 8601 dates and durations, and Pacemaker interval specs."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import pytest

from vigil.model.isodate import (
    Duration,
    add_duration,
    format_iso8601,
    parse_duration,
    parse_interval_ms,
    parse_iso8601,
)


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Reference epoch computed independently of the module under test."""
    return calendar.timegm(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timetuple())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2005-020", epoch(2005, 1, 20)),
        ("2005020", epoch(2005, 1, 20)),
        ("2005-020T12:30", epoch(2005, 1, 20, 12, 30)),
        ("2014-05-07 00:28:00", epoch(2014, 5, 7, 0, 28)),
        ("2010-05-09T03:00:00Z", epoch(2010, 5, 9, 3)),
        ("20100509T030000Z", epoch(2010, 5, 9, 3)),
        ("2010-05-09T03:00:00+01:00", epoch(2010, 5, 9, 2)),
        ("2010-05-09T03:00:00-0530", epoch(2010, 5, 9, 8, 30)),
        ("2019-09-20 15:10:52 +00:00", epoch(2019, 9, 20, 15, 10, 52)),
        ("2019-09-23 11:00:00 -05:00", epoch(2019, 9, 23, 16)),
        ("2010-05-09T03:00:00.250Z", epoch(2010, 5, 9, 3)),
        ("2019-W02-3", epoch(2019, 1, 9)),
        ("2019W023", epoch(2019, 1, 9)),
        ("2019-W02", epoch(2019, 1, 7)),
        ("2009-W53-7", epoch(2010, 1, 3)),  # 2009 has 53 ISO weeks
        ("2020-W01-1", epoch(2019, 12, 30)),  # week 1 can start in the previous year
        ("2020-02-29", epoch(2020, 2, 29)),
        ("2010-05-09T24:00:00", epoch(2010, 5, 10)),
        ("1969-12-31T23:59:59Z", -1),
        ("2038-01-19T03:14:08Z", 2**31),
        ("  2005-020  ", epoch(2005, 1, 20)),
    ],
)
def test_parse_iso8601_accepts_pacemaker_forms(text: str, expected: int) -> None:
    assert parse_iso8601(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "12:30",
        "2005-13-01",
        "2005-02-30",
        "2021-02-29",
        "2005-000",
        "2005-366",
        "2019-W54-1",
        "2019-W53-1",  # 2019 has 52 ISO weeks
        "2019-W02-8",
        "2010-05-09T25:00",
        "2010-05-09T12:60",
        "2010-05-09T24:00:01",
        "2010-05-09Tnoon",
        "2010-05-09T03:00:00+1",
    ],
)
def test_parse_iso8601_rejects_with_a_helpful_message(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid ISO 8601 .*use e\.g\. 2010-05-09T03:00:00Z"):
        parse_iso8601(text)


def test_format_iso8601_is_the_inverse_of_parse() -> None:
    for value in (0, -1, 1_700_000_000, 2**31, epoch(2000, 2, 29, 23, 59, 59)):
        assert parse_iso8601(format_iso8601(value)) == value
    assert format_iso8601(epoch(2010, 5, 9, 3)) == "2010-05-09T03:00:00Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P1Y2M3DT4H5M6S", Duration(1, 2, 3, 4, 5, 6)),
        ("PT10S", Duration(seconds=10)),
        ("P10S", Duration(seconds=10)),  # Pacemaker accepts S before the T
        ("P2W", Duration(days=14)),
        ("P1M", Duration(months=1)),
        ("PT1M", Duration(minutes=1)),
        ("P1DT12H", Duration(days=1, hours=12)),
        ("pt90s", Duration(seconds=90)),
    ],
)
def test_parse_duration(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "10S", "P1X", "PT1.5S", "P-1D", "P1DT"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid ISO 8601 duration .*use e\.g\. PT10S"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (epoch(2020, 1, 31), "P1M", epoch(2020, 2, 29)),  # clamped to the end of February
        (epoch(2021, 1, 31), "P1M", epoch(2021, 2, 28)),
        (epoch(2020, 2, 29), "P1Y", epoch(2021, 2, 28)),
        (epoch(2020, 11, 15), "P3M", epoch(2021, 2, 15)),
        (epoch(2020, 1, 1), "P1Y2M3DT4H5M6S", epoch(2021, 3, 4, 4, 5, 6)),
        (epoch(2020, 12, 31, 23), "PT2H", epoch(2021, 1, 1, 1)),
        (epoch(1969, 12, 31), "P1D", epoch(1970, 1, 1)),
    ],
)
def test_add_duration_is_calendar_aware(start: int, duration: str, expected: int) -> None:
    assert add_duration(start, parse_duration(duration)) == expected


def test_add_duration_subtracts_with_negative_sign() -> None:
    assert add_duration(epoch(2020, 3, 31), parse_duration("P1M"), sign=-1) == epoch(2020, 2, 29)
    assert add_duration(epoch(2020, 1, 1), parse_duration("PT1S"), sign=-1) == epoch(2019, 12, 31, 23, 59, 59)


def test_duration_approximate_seconds() -> None:
    assert Duration(years=1, months=1, days=1, hours=1, minutes=1, seconds=1).approximate_seconds() == (
        (365 + 30 + 1) * 86_400 + 3600 + 60 + 1
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", 10_000),
        ("0", 0),
        ("10s", 10_000),
        ("10sec", 10_000),
        ("500ms", 500),
        ("500msec", 500),
        ("2min", 120_000),
        ("1m", 60_000),
        ("1h", 3_600_000),
        ("2hr", 7_200_000),
        ("PT10S", 10_000),
        ("P10S", 10_000),
        ("PT1M30S", 90_000),
        (" 20s ", 20_000),
        ("10 s", 10_000),
        ("10S", 10_000),
    ],
)
def test_parse_interval_ms(text: str, expected: int) -> None:
    assert parse_interval_ms(text) == expected


@pytest.mark.parametrize("text", ["", "bad", "10x", "-5", "1.5s", "s", "P", "PTX"])
def test_parse_interval_ms_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid interval .*use a number of seconds \(10\)"):
        parse_interval_ms(text)
