"""Values as the models' fields take them: the type a field wants, else None; never raises.

A parser collects what it read in a dict keyed by field name (or gets one from JSON whose keys
are the field names) and :func:`build` makes the frozen model of it, so the list of fields is
written once, in the model.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["as_float", "as_int", "as_str", "build"]

Model = TypeVar("Model", bound="DataclassInstance")


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: object) -> int | None:
    """An int, or a float without a fraction (JSON ``5.0``) as int; None for anything else,
    True and False too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_float(value: object) -> float | None:
    """A number as float; None for anything else, True and False too."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def build(model: type[Model], values: Mapping[str, object], /, **given: object) -> Model:
    """A ``model`` (a dataclass) of the ``values`` keyed by its field names, and ``given``.

    ``int``, ``float`` and ``str`` fields take a value through :func:`as_int`, :func:`as_float`
    and :func:`as_str`; any other field only a value of its class (a bool, an enum, a tuple, a
    model). A value of another type, None, and a key that names no field are left out: the field
    keeps its default. ``given`` is passed as it is and wins over ``values``. The model's
    annotations must name types its module imports at run time.
    """
    kept: dict[str, Any] = {}
    for name, convert in _converters(model):
        if name in values and (value := convert(values[name])) is not None:
            kept[name] = value
    return model(**(kept | given))


_CONVERTERS: dict[type, Callable[[object], object]] = {int: as_int, float: as_float, str: as_str}


@cache
def _converters(model: type) -> tuple[tuple[str, Callable[[object], object]], ...]:
    hints = typing.get_type_hints(model)
    return tuple((field.name, _converter(hints[field.name])) for field in dataclasses.fields(model))


def _converter(hint: object) -> Callable[[object], object]:
    """How a value becomes of the type ``hint`` (``X`` or ``X | None``), None when it is not."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    members = typing.get_args(hint) if union else (hint,)
    kinds = [member for member in members if member is not types.NoneType]
    if len(kinds) != 1:
        raise TypeError(f"no single type to build a field of: {hint!r}")
    kind = typing.get_origin(kinds[0]) or kinds[0]
    if kind in _CONVERTERS:
        return _CONVERTERS[kind]
    return lambda value: value if isinstance(value, kind) else None
