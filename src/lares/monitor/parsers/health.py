"""The health scale every parser reports on, and what a parser did not understand.

A source's own levels (btrfs ``degraded``, SMART ``failing``) are words of one scale whose rank
says which is worse; a verdict is the worst level found with the reasons behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["RANK", "Unparsed", "worst"]

# ``unknown`` ranks above ``ok``: "never checked" is not reported as healthy.
RANK = {"ok": 0, "unknown": 1, "warning": 2, "degraded": 3, "failing": 4}

Level = TypeVar("Level", bound=str)


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A line, or the part of a line, the parser did not understand (1-based line number)."""

    line: int
    text: str


def worst(
    found: Iterable[tuple[Level, str]], empty: Level, why_empty: str = ""
) -> tuple[Level, tuple[str, ...]]:
    """The worst level found with the reasons of every level but ``ok``; ``empty`` if none."""
    items = list(found)
    if not items:
        return empty, (why_empty,) if why_empty else ()
    level = max((level for level, _ in items), key=RANK.__getitem__)
    return level, tuple(reason for found_level, reason in items if found_level != "ok")
