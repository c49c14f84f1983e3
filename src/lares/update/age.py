"""How old a pinned image is, and whether that is older than ``updates.max_age``.

An image's age is from the ``created`` date of its config (when it was built), as the registry
serves it (``lares outdated``) or as the engine recorded it when ``lares up`` pulled it (kept
in ``lares.lock`` for ``lares plan``). Ages are counted in calendar months, as people say them.
"""

from __future__ import annotations

import calendar
import os
import re
from datetime import date, timedelta

PATTERN = r"^[1-9]\d{0,3} (day|week|month|year)s?$"
DEFAULT = "12 months"
_AGE = re.compile(PATTERN)


def today() -> date:
    """The machine's date, or ``LARES_TODAY`` (YYYY-MM-DD) for output that must read the same
    on any day."""
    fixed = os.environ.get("LARES_TODAY")
    return date.fromisoformat(fixed) if fixed else date.today()


def limit(built: date, max_age: str) -> date:
    """The last day an image built on ``built`` is not yet older than ``max_age``."""
    match = _AGE.match(max_age)
    if match is None:
        raise ValueError(f"not an age: {max_age!r}")
    count, unit = int(max_age.split()[0]), match.group(1)
    if unit in ("day", "week"):
        return built + timedelta(days=count * (7 if unit == "week" else 1))
    months = built.month - 1 + count * (12 if unit == "year" else 1)
    year, month = built.year + months // 12, months % 12 + 1
    return date(year, month, min(built.day, calendar.monthrange(year, month)[1]))


def too_old(built: date, max_age: str, today: date) -> bool:
    return today > limit(built, max_age)


def describe(built: date, today: date) -> str:
    """``built``'s age on ``today`` as a person says it: 12 days, 7 months, 2 years."""
    months = (today.year - built.year) * 12 + today.month - built.month
    months -= today.day < built.day
    if months >= 24:
        return f"{months // 12} years"
    if months >= 1:
        return f"{months} month{'s' if months > 1 else ''}"
    days = (today - built).days
    return f"{days} day{'' if days == 1 else 's'}"
