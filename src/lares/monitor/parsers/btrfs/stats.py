"""``btrfs device stats`` and sysfs ``error_stats``: the error counters of each device."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lares.monitor.parsers.btrfs.common import Assessed, Assessment, lines, verdict
from lares.monitor.parsers.health import Health, Report, Unparsed
from lares.monitor.parsers.values import build

#: The error counters of a device: the name :class:`DeviceErrors` gives each, and how
#: ``btrfs device stats`` prints it.
_PRINTED = {
    "write": "write_io_errs",
    "read": "read_io_errs",
    "flush": "flush_io_errs",
    "corruption": "corruption_errs",
    "generation": "generation_errs",
}
COUNTERS = tuple(_PRINTED)
# Both spellings map to one name: "btrfs device stats" says write_io_errs, sysfs says write_errs.
_COUNTER_NAMES = {
    **{printed: name for name, printed in _PRINTED.items()},
    "write_errs": "write",
    "read_errs": "read",
    "flush_errs": "flush",
}


@dataclass(frozen=True, slots=True)
class DeviceErrors:
    """The error counters of one device.

    Counters the kernel keeps since the last reset (``btrfs device stats -z``): ``write``,
    ``read`` and ``flush`` are I/O errors the device returned, ``corruption`` are checksum or
    metadata mismatches, ``generation`` are blocks older than expected (lost writes). ``other``
    holds counters this module does not know yet, by their printed name. ``devid`` is known only
    from the ``-T`` table or when the caller names it.
    """

    device: str
    devid: int | None = None
    write: int = 0
    read: int = 0
    flush: int = 0
    corruption: int = 0
    generation: int = 0
    other: tuple[tuple[str, int], ...] = ()

    def counters(self) -> tuple[tuple[str, int], ...]:
        """The known counters as (name, value), ``write`` to ``generation``, then ``other``."""
        return (*((name, getattr(self, name)) for name in COUNTERS), *self.other)

    def errors_total(self) -> int:
        """The sum of every counter, known or not."""
        return sum(value for _, value in self.counters())

    def nonzero(self) -> tuple[tuple[str, int], ...]:
        """The counters above zero, as (name as ``btrfs device stats`` prints it, value)."""
        return tuple((_PRINTED.get(name, name), value) for name, value in self.counters() if value)


@dataclass(frozen=True, slots=True)
class DeviceStatsReport(Report, Assessed):
    """Error counters per device, in the order printed."""

    devices: tuple[DeviceErrors, ...] = ()

    def get(self, device: str) -> DeviceErrors | None:
        """The counters of ``device`` (as printed, e.g. ``/dev/sdb``), or None."""
        return next((entry for entry in self.devices if entry.device == device), None)

    def errors_total(self) -> int:
        return sum(entry.errors_total() for entry in self.devices)

    @property
    def assessment(self) -> Assessment:
        """``warning`` for each device with a counter above zero; ``unknown`` with no devices."""
        found: list[tuple[Health, str]] = []
        for entry in self.devices:
            counts = ", ".join(f"{name} {value}" for name, value in entry.nonzero())
            if counts:
                found.append((Health.WARNING, f"{entry.device}: {counts}"))
            else:
                found.append((Health.OK, ""))
        return verdict(found, Health.UNKNOWN, "no device counters were read")


_STATS_LINE_RE = re.compile(r"^\[(?P<device>[^\]]+)\]\.(?P<name>[a-z_]+)\s+(?P<value>\d+)\s*$")
_STATS_TABLE_HEAD_RE = re.compile(r"^\s*Id\s+Path\s+Write errors\s+Read errors", re.IGNORECASE)
_STATS_TABLE_RULE_RE = re.compile(r"^[\s-]+$")
_STATS_TABLE_ROW_RE = re.compile(
    r"^\s*(?P<devid>\d+)\s+(?P<device>\S+)"
    r"\s+(?P<write>\d+)\s+(?P<read>\d+)\s+(?P<flush>\d+)\s+(?P<corruption>\d+)\s+(?P<generation>\d+)"
    r"\s*$"
)


def _build_errors(device: str, devid: int | None, counters: dict[str, int]) -> DeviceErrors:
    other = tuple((k, v) for k, v in counters.items() if k not in _PRINTED)
    return build(DeviceErrors, counters, device=device, devid=devid, other=other)


def parse_device_stats(text: str) -> DeviceStatsReport:
    """Parse ``btrfs device stats <path>`` (plain or ``-T``); never raises.

    Padding between name and value may be any run of spaces or tabs. Lines of another shape
    (including the ``ERROR:`` lines btrfs prints to stderr) land in ``unparsed``.
    """
    order: list[str] = []
    counters: dict[str, dict[str, int]] = {}
    rows: list[DeviceErrors] = []
    unparsed: list[Unparsed] = []
    for number, line in lines(text):
        if match := _STATS_LINE_RE.match(line):
            device = match["device"]
            if device not in counters:
                order.append(device)
                counters[device] = {}
            name = _COUNTER_NAMES.get(match["name"], match["name"])
            counters[device][name] = int(match["value"])
        elif match := _STATS_TABLE_ROW_RE.match(line):
            counts = {name: int(match[name]) for name in COUNTERS}
            rows.append(_build_errors(match["device"], int(match["devid"]), counts))
        elif not (_STATS_TABLE_HEAD_RE.match(line) or _STATS_TABLE_RULE_RE.match(line)):
            unparsed.append(Unparsed(number, line))
    devices = tuple(_build_errors(d, None, counters[d]) for d in order) + tuple(rows)
    return DeviceStatsReport(devices=devices, unparsed=tuple(unparsed))


def parse_error_stats(text: str, device: str = "", devid: int | None = None) -> DeviceStatsReport:
    """Parse one sysfs ``devinfo/<DEVID>/error_stats`` file (``name value`` lines); never raises.

    sysfs does not say which device it is: ``device`` and ``devid`` name it in the result.
    """
    found: dict[str, int] = {}
    unparsed: list[Unparsed] = []
    for number, line in lines(text):
        if match := re.fullmatch(r"\s*(?P<name>[a-z_]+)\s+(?P<value>\d+)\s*", line):
            found[_COUNTER_NAMES.get(match["name"], match["name"])] = int(match["value"])
        else:
            unparsed.append(Unparsed(number, line))
    devices = (_build_errors(device, devid, found),) if found else ()
    return DeviceStatsReport(devices=devices, unparsed=tuple(unparsed))
