"""Results as plain data: what ``--json`` prints and the web API sends. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: an object with ``to_dict`` becomes its dict, another
    dataclass the dict of its fields, a tuple or list a list, a mapping a dict (each value
    plain in turn), an Enum member its value and a path its text. Everything else (str, int,
    float, bool, None, but also datetimes, whose shown form a result chooses) is left as it is.
    """
    if isinstance(value, Enum):
        return plain(value.value)
    if value is None or isinstance(value, str | int | float):
        return value
    if callable(getattr(value, "to_dict", None)):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


def _fields(record: DataclassInstance) -> dict[str, Any]:
    return {f.name: plain(getattr(record, f.name)) for f in dataclasses.fields(record)}


class Plain:
    """A dataclass whose ``to_dict`` is every field, in order, each made :func:`plain`.

    A result that shows a field otherwise overrides only that key, which keeps its place:
    ``return {**super().to_dict(), "duration": round(self.duration, 3)}``.
    """

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return _fields(cast("DataclassInstance", self))
