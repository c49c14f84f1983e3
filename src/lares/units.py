"""Sizes, durations and counts as people write them ("32GiB", "12TB", "90s", "2h", "1 stack").

Decimal units (kB, MB, GB, TB) are powers of 1000, as drive makers use them; binary units
(KiB, MiB, GiB, TiB) and Docker's short forms (k, m, g, t) are powers of 1024.

A size that is a drive, the host's memory or a container's memory must also be plausible
(:data:`DRIVE_RANGE`, :data:`HOST_MEMORY_RANGE`, :data:`CONTAINER_MEMORY_RANGE`): a drive of
0 bytes or of 10^18 is a typo, never a machine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1000,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1000**4,
    "tib": 1024**4,
    "pb": 1000**5,
    "pib": 1024**5,
}
#: the largest size lares accepts (what a signed 64-bit byte count holds, as Docker's do)
MAX_SIZE = 2**63 - 1
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_size(value: Any) -> int:
    """Bytes in ``value`` ("12TB", "32GiB", "512m", 1024); ValueError names the accepted forms."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 512MiB or 12TB, not a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        if value > MAX_SIZE:
            raise ValueError(f"{value} is too large to be a size")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise ValueError("a size is a finite number of bytes, not negative")
        if value > MAX_SIZE:
            raise ValueError(f"{value} is too large to be a size")
        return int(value)
    if not isinstance(value, str):
        raise ValueError("expected a size such as 512MiB or 12TB")
    match = _SIZE.match(value)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(
            f"{value!r} is not a size; write a number and a unit such as 512MiB, 2GiB or 12TB"
        )
    # Decimal, not float: a byte count written in full keeps every digit.
    size = int(Decimal(match.group(1)) * _SIZE_UNITS[unit])
    if size > MAX_SIZE:
        raise ValueError(f"{value!r} is too large to be a size")
    return size


def parse_duration(value: Any) -> float:
    """Seconds in ``value`` ("30s", "5m", "1h30m", "2d", 90). Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 2h, not a boolean")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
        if not math.isfinite(seconds):
            raise ValueError("a duration is a finite number of seconds")
        return seconds
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30s, 5m or 2h")
    text = value.strip().replace(" ", "")
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a duration; write it as 30s, 5m, 2h, 1d or 1h30m")
    seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is too long to be a duration")
    return seconds


def format_size(n: float, *, binary: bool = True, precision: int = 1) -> str:
    """A human size: 34359738368 → "32.0 GiB" (binary) or "34.4 GB" (decimal)."""
    base = 1024 if binary else 1000
    units = (
        ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] if binary else ["B", "kB", "MB", "GB", "TB", "PB"]
    )
    value = float(n)
    for unit in units:
        if abs(value) < base or unit == units[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.{precision}f} {unit}"
        value /= base
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """Compact duration: 90 → "1m30s", 7200 → "2h"."""
    seconds = int(seconds)
    if seconds <= 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


def compose_size(n: int) -> str:
    """A size as Compose writes it, in whole MiB when possible ("512m") else bytes."""
    if n % (1024**3) == 0:
        return f"{n // 1024**3}g"
    if n % (1024**2) == 0:
        return f"{n // 1024**2}m"
    return str(n)


def compose_duration(seconds: float) -> str:
    """A duration as Compose writes it ("30s", "1m30s")."""
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    return format_duration(seconds)


@dataclass(frozen=True)
class _Unit(GroupedMetadata):
    """What makes a unit type: the text form read by ``parse``, written by ``format`` in JSON,
    and a schema that allows a plain number or that text (``pattern``)."""

    parse: Callable[[Any], Any]
    format: Callable[[Any], str]
    json_type: str
    pattern: str
    description: str

    def __iter__(self) -> Iterator[object]:
        yield BeforeValidator(self.parse)
        yield PlainSerializer(self.format, when_used="json")
        number = {"type": self.json_type, "minimum": 0}
        text = {"type": "string", "pattern": self.pattern}
        yield WithJsonSchema({"anyOf": [number, text], "description": self.description})


_SIZE_TEXT = r"^\d+(\.\d+)?\s*([kKmMgGtTpP]i?[bB]?|[bB])?$"
_SIZE_HELP = "a size: bytes, or a number and a unit (512MiB, 2GiB, 12TB)"
ByteSize = Annotated[int, _Unit(parse_size, format_size, "integer", _SIZE_TEXT, _SIZE_HELP)]
_DURATION_TEXT = r"^(\d+(\.\d+)?(ms|s|m|h|d|w))+$"
_DURATION_HELP = "a duration: seconds, or 30s, 5m, 2h, 1d, 1h30m"
Duration = Annotated[
    float, _Unit(parse_duration, format_duration, "number", _DURATION_TEXT, _DURATION_HELP)
]


def _in_range(low: int, high: int, what: str) -> AfterValidator:
    """A check that a size lies in [low, high], naming the value and the range when not."""

    def check(n: int) -> int:
        if not low <= n <= high:
            raise ValueError(
                f"{what} of {n} bytes ({format_size(n)}) is not plausible: "
                f"lares accepts {format_size(low, precision=0)} to {format_size(high, precision=0)}"
            )
        return n

    return AfterValidator(check)


#: Plausible bounds, far outside anything real on either side and inside what the tools take.
#: Drives: the smallest btrfs device is about 110 MiB, the largest drive sold ~100 TB.
DRIVE_RANGE = (64 * 1024**2, 1024**5)
#: Host memory: from a Raspberry Pi Zero's 512 MiB (halved) to past the largest servers' 24 TiB.
HOST_MEMORY_RANGE = (256 * 1024**2, 64 * 1024**4)
#: A container's memory limit or reservation: Docker refuses a limit under 6 MiB.
CONTAINER_MEMORY_RANGE = (6 * 1024**2, 64 * 1024**4)

DriveSize = Annotated[ByteSize, _in_range(*DRIVE_RANGE, "a drive")]
HostMemory = Annotated[ByteSize, _in_range(*HOST_MEMORY_RANGE, "host memory")]
ContainerMemory = Annotated[ByteSize, _in_range(*CONTAINER_MEMORY_RANGE, "a container memory size")]
