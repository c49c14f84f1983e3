"""A result's data: every field in order, nested results, tuples, mappings, enums and paths made
plain, and an override of one key that keeps its place."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum, StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from lares.plain import Plain, plain


class Colour(Enum):
    RED = 1
    BLUE = "blue"


class Health(StrEnum):
    OK = "ok"


@dataclass(frozen=True)
class Inner(Plain):
    name: str
    sizes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Shown:
    """Not a Plain: its own to_dict is what a result holding it shows."""

    value: int

    def to_dict(self) -> dict[str, Any]:
        return {"shown": self.value * 2}


@dataclass(frozen=True)
class Bare:
    """A dataclass without to_dict: its fields."""

    a: int
    b: tuple[str, ...] = ()


@dataclass(slots=True)
class Slotted(Plain):
    x: int
    y: int | None = None


@dataclass
class Outer(Plain):
    title: str
    count: int
    ratio: float
    done: bool
    missing: str | None
    inner: Inner
    inners: tuple[Inner, ...]
    maybe: Inner | None = None
    colour: Colour = Colour.RED
    health: Health = Health.OK
    shown: Shown = field(default_factory=lambda: Shown(2))
    bare: Bare = field(default_factory=lambda: Bare(1, ("x",)))
    labels: dict[str, tuple[int, ...]] = field(default_factory=dict)
    options: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    nested: list[list[Inner]] = field(default_factory=list)
    folder: Path = Path("/srv/data")


@dataclass(frozen=True)
class Timed(Plain):
    name: str
    duration: float
    when: datetime
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "duration": round(self.duration, 3)}


def test_every_field_in_order_with_nested_records_made_plain() -> None:
    outer = Outer(
        "t",
        3,
        0.5,
        True,
        None,
        Inner("a", (1, 2)),
        (Inner("b"), Inner("c", (3,))),
        labels={"k": (1, 2)},
        options=MappingProxyType({"o": (Colour.BLUE,)}),
        nested=[[Inner("d")]],
    )
    data = outer.to_dict()
    assert list(data) == [
        "title",
        "count",
        "ratio",
        "done",
        "missing",
        "inner",
        "inners",
        "maybe",
        "colour",
        "health",
        "shown",
        "bare",
        "labels",
        "options",
        "nested",
        "folder",
    ]
    assert data == {
        "title": "t",
        "count": 3,
        "ratio": 0.5,
        "done": True,
        "missing": None,
        "inner": {"name": "a", "sizes": [1, 2]},
        "inners": [{"name": "b", "sizes": []}, {"name": "c", "sizes": [3]}],
        "maybe": None,
        "colour": 1,
        "health": "ok",
        "shown": {"shown": 4},
        "bare": {"a": 1, "b": ["x"]},
        "labels": {"k": [1, 2]},
        "options": {"o": ["blue"]},
        "nested": [[{"name": "d", "sizes": []}]],
        "folder": "/srv/data",
    }
    assert type(data["health"]) is str
    assert json.loads(json.dumps(data)) == data


def test_values_keep_their_types_and_are_copies() -> None:
    tags = ["a"]
    data = Inner("n", (1,)).to_dict()
    assert type(data["sizes"]) is list
    assert plain(True) is True
    assert plain(None) is None
    assert plain(tags) == tags and plain(tags) is not tags
    assert plain({"a": tags})["a"] is not tags


def test_datetimes_are_left_to_the_result() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert plain(when) is when
    timed = Timed("backup", 1.23456, when, ("x",))
    assert timed.to_dict() == {"name": "backup", "duration": 1.235, "when": when, "tags": ["x"]}


def test_an_override_keeps_the_key_in_its_place() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    assert list(Timed("a", 2.0, when).to_dict()) == ["name", "duration", "when", "tags"]


def test_slots_stay_slots() -> None:
    value = Slotted(1)
    assert not hasattr(value, "__dict__")
    assert value.to_dict() == {"x": 1, "y": None}
    with pytest.raises(AttributeError):
        value.z = 3  # type: ignore[attr-defined]
