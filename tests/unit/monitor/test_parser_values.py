"""The typed-or-None helpers and the model builder the parsers share."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from lares.monitor.parsers.values import as_float, as_int, as_str, build


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5), (-3, -3), (5.0, 5), (5.5, None), (True, None), ("5", None), (None, None)],
)
def test_as_int(value: object, expected: int | None) -> None:
    assert as_int(value) == expected
    assert as_int(value) is None or type(as_int(value)) is int


def test_as_float_and_as_str() -> None:
    assert (as_float(1.5), as_float(2), as_float(False), as_float("1.5")) == (1.5, 2.0, None, None)
    assert (as_str(" a "), as_str(1), as_str(None)) == (" a ", None, None)


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    count: int | None = None
    ratio: float | None = None
    flag: bool = False
    pair: tuple[int, int] | None = None
    extra: tuple[str, ...] = ()


def test_build_takes_each_value_as_its_field_type_and_leaves_out_the_rest() -> None:
    values = {"name": "x", "count": True, "ratio": 0.5, "flag": 1, "pair": [1, 2], "other": 3}
    assert build(Model, values) == Model("x", ratio=0.5)
    assert build(Model, {"name": "x", "count": 4.0, "pair": (1, 2)}) == Model("x", 4, pair=(1, 2))


def test_build_given_wins_over_values() -> None:
    assert build(Model, {"name": "x", "extra": ("a",)}, name="y", extra=()) == Model("y")
