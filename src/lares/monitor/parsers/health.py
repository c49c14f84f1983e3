"""The health scale every parser reports on, what a parser did not understand, and the
:class:`Report` of a whole output, which keeps it.

A source's own levels (btrfs ``degraded``, SMART ``failing``) are words of one scale whose rank
says which is worse; a verdict is the worst level found with the reasons behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["RANK", "Health", "Report", "Unparsed", "worst"]


class Health(StrEnum):
    """What an alert rule needs to know about a filesystem, a drive or one of their readings,
    mildest first. ``unknown`` ranks above ``ok``: "never checked" is not reported as healthy."""

    OK = "ok"
    UNKNOWN = "unknown"
    WARNING = "warning"
    DEGRADED = "degraded"
    FAILING = "failing"


RANK = {level.value: rank for rank, level in enumerate(Health)}


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A line, or the part of a line, the parser did not understand (1-based line number)."""

    line: int
    text: str


def worst(
    found: Iterable[tuple[Health, str]], empty: Health, why_empty: str = ""
) -> tuple[Health, tuple[str, ...]]:
    """The worst level found with the reasons of every level but ``ok``; ``empty`` if none."""
    items = list(found)
    if not items:
        return empty, (why_empty,) if why_empty else ()
    level = max((level for level, _ in items), key=RANK.__getitem__)
    return level, tuple(reason for found_level, reason in items if found_level != "ok")


@dataclass(frozen=True, slots=True)
class Report:
    """What a parser read from one whole output; ``unparsed``: what it did not understand."""

    unparsed: tuple[Unparsed, ...] = ()
