"""What every btrfs parser shares: the health scale, sizes, durations, timestamps and lines."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lares.monitor.parsers.health import Health, worst


@dataclass(frozen=True, slots=True)
class Assessment:
    """A health verdict and the reasons for it."""

    health: Health
    reasons: tuple[str, ...] = ()


def verdict(found: Iterable[tuple[Health, str]], empty: Health, why_empty: str = "") -> Assessment:
    """The worst level found with the reasons of every level but ``ok``; ``empty`` if none."""
    return Assessment(*worst(found, empty, why_empty))


def combined(parts: Iterable[Assessment], empty: Health, why_empty: str = "") -> Assessment:
    """One verdict of several: the worst level with every part's reasons, in order; ``empty``
    if there are no parts. A part without reasons still counts with its level."""
    found: list[tuple[Health, str]] = []
    for part in parts:
        found.extend((part.health, reason) for reason in part.reasons if reason)
        if not part.reasons:
            found.append((part.health, ""))
    overall = verdict(found, empty, why_empty)
    return Assessment(overall.health, tuple(r for r in overall.reasons if r))


class Assessed:
    """A report whose ``health`` and ``reasons`` are those of its ``assessment``."""

    __slots__ = ()

    @property
    def assessment(self) -> Assessment:
        raise NotImplementedError

    @property
    def health(self) -> Health:
        return self.assessment.health

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.assessment.reasons


# ---------------------------------------------------------------------------------------------
# Sizes


_UNITS = {
    "": 1,
    "B": 1,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
    "PiB": 1024**5,
    "EiB": 1024**6,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "PB": 1000**5,
    "EB": 1000**6,
}
_SIZE_RE = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>[KMGTPE]i?B|kB|B)?$")


def parse_size(text: str) -> int | None:
    """Bytes from a btrfs-progs size: ``4096``, ``0.00B``, ``292.00KiB``, ``1.82TiB``, ``2GB``.

    Returns None for anything else. Sizes with a unit are rounded as printed.
    """
    match = _SIZE_RE.match(text.strip())
    if match is None:
        return None
    unit = _UNITS.get(match["unit"] or "")
    if unit is None:
        return None
    number = match["number"]
    if "." not in number:
        return int(number) * unit
    return round(float(number) * unit)


def is_raw(text: str) -> bool:
    return text.strip().isdigit()


def duration(text: str) -> int | None:
    """Seconds from ``H:MM:SS`` (hours may exceed 24) or ``N seconds``."""
    text = text.strip()
    if match := re.fullmatch(r"(\d+):(\d{1,2}):(\d{1,2})", text):
        return int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3])
    if match := re.fullmatch(r"(\d+)\s*seconds?", text):
        return int(match[1])
    return None


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
_CTIME_RE = re.compile(
    r"^(?:[A-Z][a-z]{2}\s+)?(?P<month>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})\s+(?P<year>\d{4})$"
)


def timestamp(text: str) -> datetime | None:
    """A naive local datetime from ctime text (``Tue Jul 15 10:01:38 2025``), in any locale."""
    match = _CTIME_RE.match(text.strip())
    if match is None or match["month"] not in _MONTHS:
        return None
    try:
        return datetime(
            int(match["year"]),
            _MONTHS[match["month"]],
            int(match["day"]),
            int(match["h"]),
            int(match["m"]),
            int(match["s"]),
        )
    except ValueError:
        return None


def lines(text: str) -> Iterable[tuple[int, str]]:
    """Numbered non-blank lines, trailing whitespace removed."""
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip()
        if line.strip():
            yield number, line
