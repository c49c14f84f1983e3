"""Schedules written as systemd ``OnCalendar`` expressions — the subset lares understands.

Accepted forms (``HH:MM`` may omit the seconds)::

    hourly | daily | weekly | monthly
    *-*-* HH:MM:SS            every day at that time
    Sun *-*-* HH:MM:SS        on the named weekdays (Mon,Wed or Mon..Fri) at that time
    *-*-01 HH:MM:SS           on that day of the month (01,15 is a list) at that time

``weekly`` is Monday 00:00 and ``monthly`` the 1st at 00:00, as systemd has them. Times are wall
clock in the host's time zone. The same value renders as a systemd timer (unchanged) and as a
crontab line (:meth:`Calendar.cron`); :meth:`Calendar.previous` tells whether a job is due.
Pure: no clock is read here, callers pass ``now``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FORMS = (
    "hourly, daily, weekly, monthly, '*-*-* 03:00:00', 'Sun *-*-* 04:00:00' or '*-*-01 05:00:00'"
)
_SHORTHANDS = {
    "daily": "*-*-* 00:00:00",
    "weekly": "Mon *-*-* 00:00:00",
    "monthly": "*-*-01 00:00:00",
}
_EXPR = re.compile(
    r"^(?:(?P<wd>[A-Za-z]{3}(?:(?:,|\.\.)[A-Za-z]{3})*)\s+)?"
    r"\*-\*-(?P<day>\*|\d{1,2}(?:,\d{1,2})*)\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$"
)
_LOOKBACK_DAYS = 400  # longer than any gap between two matching days (31st of a month, etc.)


@dataclass(frozen=True)
class Calendar:
    """One parsed expression. ``hour`` is None for ``hourly``; empty sets mean "any"."""

    expr: str
    weekdays: frozenset[int]  # 0 = Monday
    days: frozenset[int]  # days of the month
    hour: int | None
    minute: int
    second: int

    def matches_day(self, day: date) -> bool:
        if self.weekdays and day.weekday() not in self.weekdays:
            return False
        return not self.days or day.day in self.days

    def previous(self, now: datetime) -> datetime:
        """The latest occurrence at or before ``now`` (same tzinfo as ``now``)."""
        if self.hour is None:
            at = now.replace(minute=self.minute, second=self.second, microsecond=0)
            return at if at <= now else at - timedelta(hours=1)
        at_time = time(self.hour, self.minute, self.second)
        day = now.date()
        for _ in range(_LOOKBACK_DAYS):
            if self.matches_day(day):
                at = datetime.combine(day, at_time, tzinfo=now.tzinfo)
                if at <= now:
                    return at
            day -= timedelta(days=1)
        raise ValueError(f"{self.expr!r} never occurs")

    def next(self, now: datetime) -> datetime:
        """The earliest occurrence strictly after ``now``."""
        if self.hour is None:
            at = now.replace(minute=self.minute, second=self.second, microsecond=0)
            return at if at > now else at + timedelta(hours=1)
        at_time = time(self.hour, self.minute, self.second)
        day = now.date()
        for _ in range(_LOOKBACK_DAYS):
            if self.matches_day(day):
                at = datetime.combine(day, at_time, tzinfo=now.tzinfo)
                if at > now:
                    return at
            day += timedelta(days=1)
        raise ValueError(f"{self.expr!r} never occurs")

    def due(self, last: datetime | None, now: datetime) -> bool:
        """Whether a job last done at ``last`` (None: never) should run at ``now``."""
        return last is None or last < self.previous(now)

    def cron(self) -> str:
        """The five crontab time fields for this schedule (cron has no seconds: they are dropped).

        Cron runs a line when the day of month OR the weekday matches if both are restricted,
        where systemd needs both; a schedule that restricts both cannot be written for cron.
        """
        if self.weekdays and self.days:
            raise ValueError(f"{self.expr!r} restricts both weekday and day: cron cannot say that")
        hour = "*" if self.hour is None else str(self.hour)
        dom = ",".join(str(d) for d in sorted(self.days)) if self.days else "*"
        dow = ",".join(str((w + 1) % 7) for w in sorted(self.weekdays)) if self.weekdays else "*"
        return f"{self.minute} {hour} {dom} * {dow}"


def _weekdays(text: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.lower().split(","):
        if ".." in part:
            first, last = part.split("..", 1)
            a, b = _weekday(first), _weekday(last)
            if b < a:
                raise ValueError(f"weekday range {part!r} runs backwards")
            out.update(range(a, b + 1))
        else:
            out.add(_weekday(part))
    return frozenset(out)


def _weekday(name: str) -> int:
    if name not in WEEKDAYS:
        raise ValueError(f"{name!r} is not a weekday (Mon, Tue, … Sun)")
    return WEEKDAYS.index(name)


def parse(expr: str) -> Calendar:
    """Parse ``expr``; raises ValueError naming the accepted forms."""
    text = " ".join(expr.split())
    if text.lower() == "hourly":
        return Calendar(expr, frozenset(), frozenset(), None, 0, 0)
    text = _SHORTHANDS.get(text.lower(), text)
    match = _EXPR.match(text)
    if match is None:
        raise ValueError(f"{expr!r} is not a schedule lares understands; use {FORMS}")
    weekdays = _weekdays(match.group("wd")) if match.group("wd") else frozenset()
    days: frozenset[int] = frozenset()
    if match.group("day") != "*":
        days = frozenset(int(d) for d in match.group("day").split(","))
        if not all(1 <= d <= 31 for d in days):
            raise ValueError(f"{expr!r}: a day of the month is between 01 and 31")
    hour, minute = int(match.group("h")), int(match.group("m"))
    second = int(match.group("s") or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{expr!r}: the time must be HH:MM:SS within a day")
    return Calendar(expr, weekdays, days, hour, minute, second)
