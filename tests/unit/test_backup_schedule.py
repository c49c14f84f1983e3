"""Schedules: the OnCalendar subset, when a job is due, and the crontab line it becomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lares.oncalendar import parse


def at(text: str, tz: str = "UTC") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz) if tz != "UTC" else UTC)


@pytest.mark.parametrize(
    ("expr", "now", "previous", "following"),
    [
        ("daily", "2026-03-10 12:00", "2026-03-10 00:00", "2026-03-11 00:00"),
        ("*-*-* 03:00:00", "2026-03-10 02:59:59", "2026-03-09 03:00", "2026-03-10 03:00"),
        ("*-*-* 03:00:00", "2026-03-10 03:00:00", "2026-03-10 03:00", "2026-03-11 03:00"),
        ("*-*-* 03:00", "2026-03-10 04:00", "2026-03-10 03:00", "2026-03-11 03:00"),
        # 2026-03-10 is a Tuesday
        ("Sun *-*-* 04:00:00", "2026-03-10 12:00", "2026-03-08 04:00", "2026-03-15 04:00"),
        ("weekly", "2026-03-10 12:00", "2026-03-09 00:00", "2026-03-16 00:00"),
        ("Mon..Fri *-*-* 18:30:00", "2026-03-14 12:00", "2026-03-13 18:30", "2026-03-16 18:30"),
        ("Sat,Sun *-*-* 09:00:00", "2026-03-10 12:00", "2026-03-08 09:00", "2026-03-14 09:00"),
        ("*-*-01 05:00:00", "2026-03-10 12:00", "2026-03-01 05:00", "2026-04-01 05:00"),
        ("monthly", "2026-03-01 00:00", "2026-03-01 00:00", "2026-04-01 00:00"),
        ("*-*-31 01:00:00", "2026-04-15 00:00", "2026-03-31 01:00", "2026-05-31 01:00"),
        ("*-*-01,15 02:00:00", "2026-03-10 00:00", "2026-03-01 02:00", "2026-03-15 02:00"),
        ("hourly", "2026-03-10 12:34", "2026-03-10 12:00", "2026-03-10 13:00"),
    ],
)
def test_previous_and_next_occurrence(expr: str, now: str, previous: str, following: str) -> None:
    calendar = parse(expr)
    assert calendar.previous(at(now)) == at(previous)
    assert calendar.next(at(now)) == at(following)


def test_due_against_the_last_success() -> None:
    calendar = parse("*-*-* 03:00:00")
    now = at("2026-03-10 08:00")
    assert calendar.due(None, now)  # never ran
    assert calendar.due(at("2026-03-10 02:59"), now)  # ran before today's occurrence
    assert not calendar.due(at("2026-03-10 03:00"), now)
    assert not calendar.due(at("2026-03-10 07:00"), now)


def test_wall_clock_in_the_host_time_zone() -> None:
    calendar = parse("*-*-* 03:00:00")
    now = at("2026-07-01 02:30", "Europe/Berlin")
    assert calendar.previous(now) == at("2026-06-30 03:00", "Europe/Berlin")
    assert calendar.previous(now).utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("expr", "cron"),
    [
        ("daily", "0 0 * * *"),
        ("*-*-* 03:00:00", "0 3 * * *"),
        ("Sun *-*-* 04:00:00", "0 4 * * 0"),
        ("Mon..Wed *-*-* 04:15:00", "15 4 * * 1,2,3"),
        ("*-*-01 05:00:00", "0 5 1 * *"),
        ("weekly", "0 0 * * 1"),
        ("monthly", "0 0 1 * *"),
        ("hourly", "0 * * * *"),
    ],
)
def test_crontab_fields(expr: str, cron: str) -> None:
    assert parse(expr).cron() == cron


def test_cron_cannot_say_weekday_and_day() -> None:
    with pytest.raises(ValueError, match="cron cannot say that"):
        parse("Sun *-*-01 04:00:00").cron()


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("every day", "is not a schedule lares understands; use hourly, daily"),
        ("2026-*-* 03:00:00", "is not a schedule lares understands"),
        ("*-*-* 25:00:00", "the time must be HH:MM:SS within a day"),
        ("*-*-32 01:00:00", "a day of the month is between 01 and 31"),
        ("Sox *-*-* 01:00:00", "'sox' is not a weekday"),
        ("Fri..Mon *-*-* 01:00:00", "runs backwards"),
    ],
)
def test_bad_expressions_say_what_is_accepted(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(expr)
