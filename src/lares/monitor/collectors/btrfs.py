"""btrfs health: parse device error counters, scrub status and space usage.

Each parser takes the text a btrfs-progs command (or sysfs file) printed and returns a frozen
report; none raises, and every line it does not understand is kept in ``unparsed`` with its line
number.

* :func:`parse_device_stats`: ``btrfs device stats`` (``[/dev/sdb].write_io_errs   0``, padded
  or single-spaced) and the ``-T`` table form.
* :func:`parse_error_stats`: ``/sys/fs/btrfs/<UUID>/devinfo/<DEVID>/error_stats`` (kernel 5.14+).
* :func:`parse_scrub_status`: ``btrfs scrub status`` in the format of btrfs-progs 5.2+ (with
  ``-d`` per device and ``-R`` raw counters) and the 4.x format.
* :func:`parse_filesystem_usage`: ``btrfs filesystem usage``, with ``-b`` (bytes) or human units.
* :func:`parse_device_usage`: ``btrfs device usage``.

Sizes printed with units (``1.82TiB``) are rounded by btrfs-progs; they are returned as bytes but
are only as exact as the text was (``raw_bytes`` says whether every size was a plain byte count).

Health (:class:`BtrfsHealth`, worst wins in :func:`assess`):

* ``failing``: a scrub found uncorrectable errors.
* ``degraded``: a device is missing.
* ``warning``: any device error counter is above zero (they count since the last
  ``btrfs device stats -z``, so a rule that alerts once should compare with the last value), a
  scrub found errors it corrected, a scrub was aborted or interrupted, or the filesystem mixes
  profiles for one kind of chunk (an interrupted balance or convert).
* ``unknown``: no scrub has ever run (``no stats available``) or there is nothing to judge.
* ``ok``: otherwise.

As a collector (``ID = "btrfs"``), :func:`collect` reads the error counters and missing devices of
every btrfs pool (sysfs, else ``btrfs device stats``) and :func:`samples` turns them into samples;
the hourly ``scrub`` collector (:mod:`lares.monitor.collectors.scrub`) reads scrub status and
allocation with the parsers here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from lares.monitor.collectors import Sample
from lares.text import counted

if TYPE_CHECKING:
    from lares.monitor.collectors import Context
    from lares.monitor.config import WatchConfig
    from lares.run import Result

__all__ = [
    "Assessment",
    "BtrfsHealth",
    "DeviceAmount",
    "DeviceErrors",
    "DeviceStatsReport",
    "DeviceUsage",
    "DeviceUsageReport",
    "FilesystemUsage",
    "ProfileUsage",
    "ScrubErrors",
    "ScrubReport",
    "ScrubState",
    "ScrubStatus",
    "Unparsed",
    "assess",
    "parse_device_stats",
    "parse_device_usage",
    "parse_error_stats",
    "parse_filesystem_usage",
    "parse_scrub_status",
    "parse_size",
]


class BtrfsHealth(StrEnum):
    """What an alert rule needs to know about a btrfs filesystem or one of its readings."""

    OK = "ok"
    UNKNOWN = "unknown"
    WARNING = "warning"
    DEGRADED = "degraded"
    FAILING = "failing"


_RANK = {
    BtrfsHealth.OK: 0,
    BtrfsHealth.UNKNOWN: 1,
    BtrfsHealth.WARNING: 2,
    BtrfsHealth.DEGRADED: 3,
    BtrfsHealth.FAILING: 4,
}


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A line the parser did not understand (1-based line number, text without the newline)."""

    line: int
    text: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """A health verdict and the reasons for it."""

    health: BtrfsHealth
    reasons: tuple[str, ...] = ()


def _verdict(
    found: Iterable[tuple[BtrfsHealth, str]], empty: BtrfsHealth, why_empty: str = ""
) -> Assessment:
    """The worst level found with the reasons of every level but ``ok``; ``empty`` if none."""
    items = list(found)
    if not items:
        return Assessment(empty, (why_empty,) if why_empty else ())
    worst = max((level for level, _ in items), key=_RANK.__getitem__)
    return Assessment(
        worst, tuple(reason for level, reason in items if level is not BtrfsHealth.OK)
    )


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


def _is_raw(text: str) -> bool:
    return text.strip().isdigit()


def _duration(text: str) -> int | None:
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


def _timestamp(text: str) -> datetime | None:
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


# ---------------------------------------------------------------------------------------------
# Device error counters


# Both spellings map to one name: "btrfs device stats" says write_io_errs, sysfs says write_errs.
_COUNTER_NAMES = {
    "write_io_errs": "write",
    "read_io_errs": "read",
    "flush_io_errs": "flush",
    "corruption_errs": "corruption",
    "generation_errs": "generation",
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

    def errors_total(self) -> int:
        """The sum of every counter, known or not."""
        known = self.write + self.read + self.flush + self.corruption + self.generation
        return known + sum(value for _, value in self.other)

    def nonzero(self) -> tuple[tuple[str, int], ...]:
        """The counters above zero, as (name, value)."""
        named = (
            ("write_io_errs", self.write),
            ("read_io_errs", self.read),
            ("flush_io_errs", self.flush),
            ("corruption_errs", self.corruption),
            ("generation_errs", self.generation),
            *self.other,
        )
        return tuple((name, value) for name, value in named if value)


@dataclass(frozen=True, slots=True)
class DeviceStatsReport:
    """Error counters per device, in the order printed."""

    devices: tuple[DeviceErrors, ...] = ()
    unparsed: tuple[Unparsed, ...] = ()

    def get(self, device: str) -> DeviceErrors | None:
        """The counters of ``device`` (as printed, e.g. ``/dev/sdb``), or None."""
        for entry in self.devices:
            if entry.device == device:
                return entry
        return None

    def errors_total(self) -> int:
        return sum(entry.errors_total() for entry in self.devices)

    @property
    def assessment(self) -> Assessment:
        """``warning`` for each device with a counter above zero; ``unknown`` with no devices."""
        found: list[tuple[BtrfsHealth, str]] = []
        for entry in self.devices:
            counts = ", ".join(f"{name} {value}" for name, value in entry.nonzero())
            if counts:
                found.append((BtrfsHealth.WARNING, f"{entry.device}: {counts}"))
            else:
                found.append((BtrfsHealth.OK, ""))
        return _verdict(found, BtrfsHealth.UNKNOWN, "no device counters were read")

    @property
    def health(self) -> BtrfsHealth:
        return self.assessment.health

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.assessment.reasons


_STATS_LINE_RE = re.compile(r"^\[(?P<device>[^\]]+)\]\.(?P<name>[a-z_]+)\s+(?P<value>\d+)\s*$")
_STATS_TABLE_HEAD_RE = re.compile(r"^\s*Id\s+Path\s+Write errors\s+Read errors", re.IGNORECASE)
_STATS_TABLE_RULE_RE = re.compile(r"^[\s-]+$")
_STATS_TABLE_ROW_RE = re.compile(
    r"^\s*(?P<devid>\d+)\s+(?P<device>\S+)"
    r"\s+(?P<write>\d+)\s+(?P<read>\d+)\s+(?P<flush>\d+)\s+(?P<corruption>\d+)\s+(?P<generation>\d+)"
    r"\s*$"
)


def _build_errors(device: str, devid: int | None, counters: dict[str, int]) -> DeviceErrors:
    known = {"write", "read", "flush", "corruption", "generation"}
    return DeviceErrors(
        device=device,
        devid=devid,
        write=counters.get("write", 0),
        read=counters.get("read", 0),
        flush=counters.get("flush", 0),
        corruption=counters.get("corruption", 0),
        generation=counters.get("generation", 0),
        other=tuple((k, v) for k, v in counters.items() if k not in known),
    )


def parse_device_stats(text: str) -> DeviceStatsReport:
    """Parse ``btrfs device stats <path>`` (plain or ``-T``); never raises.

    Padding between name and value may be any run of spaces or tabs. Lines of another shape
    (including the ``ERROR:`` lines btrfs prints to stderr) land in ``unparsed``.
    """
    order: list[str] = []
    counters: dict[str, dict[str, int]] = {}
    rows: list[DeviceErrors] = []
    unparsed: list[Unparsed] = []
    for number, line in _lines(text):
        if match := _STATS_LINE_RE.match(line):
            device = match["device"]
            if device not in counters:
                order.append(device)
                counters[device] = {}
            name = _COUNTER_NAMES.get(match["name"], match["name"])
            counters[device][name] = int(match["value"])
        elif match := _STATS_TABLE_ROW_RE.match(line):
            rows.append(
                DeviceErrors(
                    device=match["device"],
                    devid=int(match["devid"]),
                    write=int(match["write"]),
                    read=int(match["read"]),
                    flush=int(match["flush"]),
                    corruption=int(match["corruption"]),
                    generation=int(match["generation"]),
                )
            )
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
    for number, line in _lines(text):
        if match := re.fullmatch(r"\s*(?P<name>[a-z_]+)\s+(?P<value>\d+)\s*", line):
            found[_COUNTER_NAMES.get(match["name"], match["name"])] = int(match["value"])
        else:
            unparsed.append(Unparsed(number, line))
    devices = (_build_errors(device, devid, found),) if found else ()
    return DeviceStatsReport(devices=devices, unparsed=tuple(unparsed))


# ---------------------------------------------------------------------------------------------
# Scrub status


class ScrubState(StrEnum):
    """Where a scrub stands, as ``btrfs scrub status`` says it."""

    RUNNING = "running"
    FINISHED = "finished"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    NO_STATS = "no stats"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ScrubErrors:
    """The error summary of a scrub; None where the output did not say.

    ``read``/``super``/``verify``/``csum`` are the kinds of error found; ``corrected``,
    ``uncorrectable`` and ``unverified`` say what became of them. ``total`` is the 4.x
    ``with N errors`` figure (new-format output leaves it None). ``malloc`` comes from ``-R``.
    """

    read: int | None = None
    super: int | None = None
    verify: int | None = None
    csum: int | None = None
    malloc: int | None = None
    corrected: int | None = None
    uncorrectable: int | None = None
    unverified: int | None = None
    total: int | None = None

    @property
    def found(self) -> int:
        """Errors found, of any kind (the 4.x total when that is all there is)."""
        kinds = (self.read, self.super, self.verify, self.csum, self.malloc)
        counted = sum(k for k in kinds if k)
        return max(counted, self.total or 0)


@dataclass(frozen=True, slots=True)
class ScrubStatus:
    """One scrub: the whole filesystem, or one device of it with ``-d``.

    ``started`` is a naive datetime in the host's local time. ``bytes_scrubbed`` and
    ``total_to_scrub`` are in bytes (rounded when printed with units), ``rate`` in bytes per second,
    ``duration``/``time_left`` in seconds. ``raw`` holds the ``-R`` counters as printed.
    """

    uuid: str | None = None
    device: str | None = None
    devid: int | None = None
    state: ScrubState = ScrubState.UNKNOWN
    started: datetime | None = None
    started_text: str | None = None
    resumed: bool = False
    duration: int | None = None
    time_left: int | None = None
    eta: str | None = None
    total_to_scrub: int | None = None
    bytes_scrubbed: int | None = None
    percent: float | None = None
    rate: int | None = None
    rate_limit: int | None = None
    errors: ScrubErrors = field(default_factory=ScrubErrors)
    raw: tuple[tuple[str, int], ...] = ()
    line: int = 0

    def raw_counter(self, name: str) -> int | None:
        """A ``-R`` counter by its printed name (``csum_errors``), or None."""
        for key, value in self.raw:
            if key == name:
                return value
        return None

    @property
    def assessment(self) -> Assessment:
        where = self.device or self.uuid or "scrub"
        errors = self.errors
        found: list[tuple[BtrfsHealth, str]] = []
        if self.state is ScrubState.NO_STATS:
            found.append((BtrfsHealth.UNKNOWN, f"{where}: no scrub has run (no stats available)"))
        if errors.uncorrectable:
            found.append(
                (BtrfsHealth.FAILING, f"{where}: scrub found {errors.uncorrectable} uncorrectable")
            )
        kinds = [
            f"{name}={value}"
            for name, value in (
                ("read", errors.read),
                ("super", errors.super),
                ("verify", errors.verify),
                ("csum", errors.csum),
                ("malloc", errors.malloc),
            )
            if value
        ]
        if kinds:
            found.append((BtrfsHealth.WARNING, f"{where}: scrub errors {' '.join(kinds)}"))
        elif errors.total:
            found.append(
                (BtrfsHealth.WARNING, f"{where}: scrub found {counted(errors.total, 'error')}")
            )
        if errors.corrected:
            found.append((BtrfsHealth.WARNING, f"{where}: scrub corrected {errors.corrected}"))
        if errors.unverified:
            found.append((BtrfsHealth.WARNING, f"{where}: {errors.unverified} unverified"))
        if self.state in (ScrubState.ABORTED, ScrubState.INTERRUPTED):
            found.append((BtrfsHealth.WARNING, f"{where}: last scrub {self.state}"))
        if self.state is ScrubState.UNKNOWN:
            found.append((BtrfsHealth.UNKNOWN, f"{where}: scrub state not printed"))
        return _verdict(found, BtrfsHealth.OK)

    @property
    def health(self) -> BtrfsHealth:
        return self.assessment.health

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.assessment.reasons


@dataclass(frozen=True, slots=True)
class ScrubReport:
    """Every scrub status block in one output, in order (several with ``-d`` or 4.x history)."""

    scrubs: tuple[ScrubStatus, ...] = ()
    unparsed: tuple[Unparsed, ...] = ()

    @property
    def assessment(self) -> Assessment:
        parts = [scrub.assessment for scrub in self.scrubs]
        found = [(part.health, reason) for part in parts for reason in part.reasons]
        found += [(part.health, "") for part in parts if not part.reasons]
        return _verdict(found, BtrfsHealth.UNKNOWN, "no scrub status was read")

    @property
    def health(self) -> BtrfsHealth:
        return self.assessment.health

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(reason for reason in self.assessment.reasons if reason)


_SCRUB_HEADER_RE = re.compile(r"(?:UUID:\s+|[Ss]crub (?:status|done) for )(?P<uuid>\S+)")
_ERROR_TOKEN_RE = re.compile(r"(?P<name>[a-z_]+)=(?P<value>\d+)")
_RAW_MAP = {
    "read_errors": "read",
    "super_errors": "super",
    "verify_errors": "verify",
    "csum_errors": "csum",
    "malloc_errors": "malloc",
    "corrected_errors": "corrected",
    "uncorrectable_errors": "uncorrectable",
    "unverified_errors": "unverified",
}
_SCRUB_FIELD_RE = re.compile(r"^\s*(?P<key>[A-Z][A-Za-z ]*?):\s*(?P<value>.*?)\s*$")
_LEGACY_STARTED_RE = re.compile(
    r"^\s*scrub (?:started|resumed) at (?P<when>.+?)"
    r"(?:, running for (?P<running>.+)"
    r"| and finished after (?P<finished>.+)"
    r"| and was aborted after (?P<aborted>.+)"
    r"|, interrupted after (?P<interrupted>.+?)(?:, not running)?)\s*$"
)
_LEGACY_TOTAL_RE = re.compile(
    r"^\s*total bytes scrubbed: (?P<bytes>\S+) with (?P<errors>\d+) errors\s*$"
)
_LEGACY_DETAILS_RE = re.compile(r"^\s*error details:(?P<rest>( [a-z_]+=\d+)+)\s*$")
_LEGACY_FIXED_RE = re.compile(
    r"^\s*corrected errors: (?P<corrected>\d+), uncorrectable errors: (?P<uncorrectable>\d+), "
    r"unverified errors: (?P<unverified>\d+)\s*$"
)


def parse_scrub_status(text: str) -> ScrubReport:
    """Parse ``btrfs scrub status [-d] [-R]`` (5.2+ or 4.x), or ``scrub start -B``; never raises.

    A block starts at ``UUID:``, ``scrub status for``, ``scrub done for`` or, with ``-d``, at each
    ``scrub device ... status`` line (which inherits the UUID). Several outputs concatenated give
    several entries.
    """
    scrubs: list[ScrubStatus] = []
    unparsed: list[Unparsed] = []
    current: dict[str, object] | None = None
    errors: dict[str, int] = {}
    raw: list[tuple[str, int]] = []

    def flush() -> None:
        if current is not None:
            scrubs.append(_scrub_from(current, errors, raw))

    def start(number: int, uuid: object, **extra: object) -> dict[str, object]:
        nonlocal errors, raw
        flush()
        errors, raw = {}, []
        return {"uuid": uuid, "line": number, **extra}

    for number, line in _lines(text):
        stripped = line.strip()
        if match := _SCRUB_HEADER_RE.fullmatch(stripped):
            current = start(number, match["uuid"])
        elif match := re.fullmatch(
            r"scrub device (\S+) \(id (\d+)\) (?:status|history|done)", stripped
        ):
            # With -d the UUID line comes first and each device follows: a device block of its
            # own replaces the bare filesystem block that has no data yet.
            uuid = current.get("uuid") if current is not None else None
            if current is not None and set(current) <= {"uuid", "line"}:
                current = None
            current = start(number, uuid, device=match[1], devid=int(match[2]))
        elif re.fullmatch(r"Starting scrub on devid \d+", stripped):
            continue
        elif current is None or not _scrub_line(stripped, current, errors, raw):
            unparsed.append(Unparsed(number, line))
    flush()
    return ScrubReport(scrubs=tuple(scrubs), unparsed=tuple(unparsed))


def _scrub_line(
    stripped: str, current: dict[str, object], errors: dict[str, int], raw: list[tuple[str, int]]
) -> bool:
    """Read one line of a scrub block into ``current``; False when it is not understood."""
    if stripped == "no stats available":
        current["state"] = ScrubState.NO_STATS
        return True
    if match := re.fullmatch(r"([a-z_]+):\s+(\d+)", stripped):
        name, value = match[1], int(match[2])
        raw.append((name, value))
        if name in _RAW_MAP:
            errors[_RAW_MAP[name]] = value
        return True
    if match := _LEGACY_STARTED_RE.match(stripped):
        return _legacy_started(match, current)
    if match := _LEGACY_TOTAL_RE.match(stripped):
        size = parse_size(match["bytes"])
        if size is None:
            return False
        current["bytes_scrubbed"] = size
        errors["total"] = int(match["errors"])
        return True
    if match := _LEGACY_DETAILS_RE.match(stripped):
        for token in _ERROR_TOKEN_RE.finditer(match["rest"]):
            errors[token["name"]] = int(token["value"])
        return True
    if match := _LEGACY_FIXED_RE.match(stripped):
        for key in ("corrected", "uncorrectable", "unverified"):
            errors[key] = int(match[key])
        return True
    if match := _SCRUB_FIELD_RE.match(stripped):
        return _scrub_field(match["key"], match["value"], current, errors)
    return False


def _legacy_started(match: re.Match[str], current: dict[str, object]) -> bool:
    current["started_text"] = match["when"]
    current["resumed"] = match.string.startswith("scrub resumed")
    for state in ("running", "finished", "aborted", "interrupted"):
        if match[state] is not None:
            current["state"] = ScrubState(state)
            current["duration"] = _duration(match[state])
    return True


def _scrub_field(key: str, value: str, current: dict[str, object], errors: dict[str, int]) -> bool:
    if key in ("Scrub started", "Scrub resumed"):
        current["started_text"] = value
        current["resumed"] = key == "Scrub resumed"
    elif key == "Status":
        try:
            current["state"] = ScrubState(value)
        except ValueError:
            return False
    elif key in ("Duration", "Time left"):
        seconds = _duration(value)
        if seconds is None:
            return False
        current["duration" if key == "Duration" else "time_left"] = seconds
    elif key == "ETA":
        current["eta"] = value
    elif key == "Total to scrub":
        size = parse_size(value)
        if size is None:
            return False
        current["total_to_scrub"] = size
    elif key == "Bytes scrubbed":
        match = re.fullmatch(r"(\S+)(?:\s+\((\d+(?:\.\d+)?)%\))?", value)
        size = parse_size(match[1]) if match else None
        if match is None or size is None:
            return False
        current["bytes_scrubbed"] = size
        if match[2] is not None:
            current["percent"] = float(match[2])
    elif key == "Rate":
        match = re.fullmatch(r"(\S+)/s(?:\s+\(limit (\S+)/s\))?", value)
        rate = parse_size(match[1]) if match else None
        if match is None or rate is None:
            return False
        current["rate"] = rate
        if match[2] is not None:
            current["rate_limit"] = parse_size(match[2])
    elif key == "Error summary":
        if value == "no errors found":
            return True
        tokens = list(_ERROR_TOKEN_RE.finditer(value))
        if not tokens or _ERROR_TOKEN_RE.sub("", value).strip():
            return False
        for token in tokens:
            errors[token["name"]] = int(token["value"])
    elif key in ("Corrected", "Uncorrectable", "Unverified"):
        if not value.isdigit():
            return False
        errors[key.lower()] = int(value)
    else:
        return False
    return True


def _scrub_from(
    fields: dict[str, object], errors: dict[str, int], raw: list[tuple[str, int]]
) -> ScrubStatus:
    def num(key: str) -> int | None:
        value = fields.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def text(key: str) -> str | None:
        value = fields.get(key)
        return value if isinstance(value, str) else None

    state = fields.get("state")
    percent = fields.get("percent")
    started_text = text("started_text")
    return ScrubStatus(
        uuid=text("uuid"),
        device=text("device"),
        devid=num("devid"),
        state=state if isinstance(state, ScrubState) else ScrubState.UNKNOWN,
        started=_timestamp(started_text) if started_text else None,
        started_text=started_text,
        resumed=fields.get("resumed") is True,
        duration=num("duration"),
        time_left=num("time_left"),
        eta=text("eta"),
        total_to_scrub=num("total_to_scrub"),
        bytes_scrubbed=num("bytes_scrubbed"),
        percent=percent if isinstance(percent, float) else None,
        rate=num("rate"),
        rate_limit=num("rate_limit"),
        errors=ScrubErrors(
            read=errors.get("read"),
            super=errors.get("super"),
            verify=errors.get("verify"),
            csum=errors.get("csum"),
            malloc=errors.get("malloc"),
            corrected=errors.get("corrected"),
            uncorrectable=errors.get("uncorrectable"),
            unverified=errors.get("unverified"),
            total=errors.get("total"),
        ),
        raw=tuple(raw),
        line=num("line") or 0,
    )


# ---------------------------------------------------------------------------------------------
# Space usage


@dataclass(frozen=True, slots=True)
class DeviceAmount:
    """Bytes of one kind on one device."""

    device: str
    bytes: int


@dataclass(frozen=True, slots=True)
class ProfileUsage:
    """One ``Data,RAID1: Size:..., Used:...`` block.

    ``kind`` is ``Data``, ``Metadata`` or ``System``; ``profile`` is as printed (``single``,
    ``DUP``, ``RAID1``, ``RAID1C3``, ``RAID5`` ...). ``percent`` is only printed by newer
    btrfs-progs. ``devices`` are the per-device allocations below the header line.
    """

    kind: str
    profile: str
    size: int
    used: int
    percent: float | None = None
    devices: tuple[DeviceAmount, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class FilesystemUsage:
    """``btrfs filesystem usage``: the Overall block, the profile blocks and unallocated space.

    Every size is in bytes; None where the output did not print it (older btrfs-progs print no
    ``Device slack``, ``Free (statfs, df)`` or ``Multiple profiles``). ``warnings`` keeps the
    ``WARNING:`` lines btrfs-progs prints (e.g. numbers incomplete when not run as root).
    """

    device_size: int | None = None
    device_allocated: int | None = None
    device_unallocated: int | None = None
    device_missing: int | None = None
    device_slack: int | None = None
    used: int | None = None
    free_estimated: int | None = None
    free_estimated_min: int | None = None
    free_statfs: int | None = None
    data_ratio: float | None = None
    metadata_ratio: float | None = None
    global_reserve: int | None = None
    global_reserve_used: int | None = None
    multiple_profiles: bool | None = None
    profiles: tuple[ProfileUsage, ...] = ()
    unallocated: tuple[DeviceAmount, ...] = ()
    warnings: tuple[str, ...] = ()
    raw_bytes: bool = True
    unparsed: tuple[Unparsed, ...] = ()

    def profile(self, kind: str) -> tuple[ProfileUsage, ...]:
        """The blocks of one kind (``Data``); more than one means mixed profiles."""
        return tuple(p for p in self.profiles if p.kind.lower() == kind.lower())

    @property
    def assessment(self) -> Assessment:
        """``degraded`` when a device is missing, ``warning`` when profiles are mixed."""
        found: list[tuple[BtrfsHealth, str]] = []
        if self.device_missing:
            found.append((BtrfsHealth.DEGRADED, f"device missing: {self.device_missing} bytes"))
        missing = sorted(
            {
                amount.device
                for amount in (*self.unallocated, *(d for p in self.profiles for d in p.devices))
                if _missing_device(amount.device)
            }
        )
        if missing and not self.device_missing:
            found.append((BtrfsHealth.DEGRADED, f"device missing: {', '.join(missing)}"))
        kinds = [p.kind for p in self.profiles]
        mixed = sorted({k for k in kinds if kinds.count(k) > 1})
        if self.multiple_profiles:
            found.append(
                (BtrfsHealth.WARNING, "multiple profiles in use: finish the balance or convert")
            )
        elif mixed:
            found.append((BtrfsHealth.WARNING, f"multiple profiles for {', '.join(mixed)}"))
        if self.device_size is None:
            return _verdict(found, BtrfsHealth.UNKNOWN, "no Overall block was read")
        return _verdict(found, BtrfsHealth.OK)

    @property
    def health(self) -> BtrfsHealth:
        return self.assessment.health

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.assessment.reasons


def _missing_device(name: str) -> bool:
    return name in ("missing", "<missing disk>") or name.startswith("<missing")


_OVERALL_KEYS = {
    "Device size": "device_size",
    "Device allocated": "device_allocated",
    "Device unallocated": "device_unallocated",
    "Device missing": "device_missing",
    "Device slack": "device_slack",
    "Used": "used",
    "Free (estimated)": "free_estimated",
    "Free (statfs, df)": "free_statfs",
    "Data ratio": "data_ratio",
    "Metadata ratio": "metadata_ratio",
    "Global reserve": "global_reserve",
    "Multiple profiles": "multiple_profiles",
}
_OVERALL_RE = re.compile(
    r"^\s+(?P<key>"
    + "|".join(re.escape(k) for k in sorted(_OVERALL_KEYS, key=len, reverse=True))
    + r"):?\s+(?P<value>\S+)(?:\s+\((?P<extra>min|used):\s*(?P<extra_value>\S+)\))?\s*$"
)
_PROFILE_RE = re.compile(
    r"^(?P<kind>[A-Za-z]+),(?P<profile>[\w/]+):\s+Size:(?P<size>[^,\s]+),\s+Used:(?P<used>\S+)"
    r"(?:\s+\((?P<percent>\d+(?:\.\d+)?)%\))?\s*$"
)
_DEVICE_AMOUNT_RE = re.compile(r"^\s+(?P<device>\S.*?)\s+(?P<amount>\d\S*)\s*$")


def parse_filesystem_usage(text: str) -> FilesystemUsage:
    """Parse ``btrfs filesystem usage [-b] <path>``; never raises.

    The Overall block, each ``Kind,profile: Size:..., Used:...`` block with its per-device lines,
    and the ``Unallocated:`` block are read. ``WARNING:`` lines are kept in ``warnings``. The
    ``Free (statfs, df)`` key is accepted with or without its colon.
    """
    values: dict[str, object] = {}
    profiles: list[ProfileUsage] = []
    unallocated: list[DeviceAmount] = []
    warnings: list[str] = []
    unparsed: list[Unparsed] = []
    raw_bytes = True
    section: str | None = None
    profile_header: dict[str, object] | None = None
    profile_devices: list[DeviceAmount] = []

    def close_profile() -> None:
        nonlocal profile_header, profile_devices
        if profile_header is not None:
            header = profile_header
            profiles.append(
                ProfileUsage(
                    kind=str(header["kind"]),
                    profile=str(header["profile"]),
                    size=_as_int(header["size"]),
                    used=_as_int(header["used"]),
                    percent=_as_float(header.get("percent")),
                    devices=tuple(profile_devices),
                    line=_as_int(header["line"]),
                )
            )
        profile_header, profile_devices = None, []

    for number, line in _lines(text):
        stripped = line.strip()
        if stripped.startswith(("WARNING:", "ERROR:")):
            warnings.append(stripped)
            continue
        if stripped == "Overall:" and not line[0].isspace():
            close_profile()
            section = "overall"
            continue
        if stripped == "Unallocated:" and not line[0].isspace():
            close_profile()
            section = "unallocated"
            continue
        if match := _PROFILE_RE.match(line):
            size, used = parse_size(match["size"]), parse_size(match["used"])
            if size is not None and used is not None:
                close_profile()
                raw_bytes = raw_bytes and _is_raw(match["size"]) and _is_raw(match["used"])
                section = "profile"
                profile_header = {
                    "kind": match["kind"],
                    "profile": match["profile"],
                    "size": size,
                    "used": used,
                    "percent": float(match["percent"]) if match["percent"] else None,
                    "line": number,
                }
                continue
        if section == "overall" and (match := _OVERALL_RE.match(line)):
            name = _OVERALL_KEYS[match["key"]]
            if _overall_value(name, match, values):
                if name not in ("data_ratio", "metadata_ratio", "multiple_profiles"):
                    raw_bytes = raw_bytes and _is_raw(match["value"])
                continue
        if section in ("profile", "unallocated") and (match := _DEVICE_AMOUNT_RE.match(line)):
            amount = parse_size(match["amount"])
            if amount is not None:
                raw_bytes = raw_bytes and _is_raw(match["amount"])
                entry = DeviceAmount(match["device"], amount)
                (profile_devices if section == "profile" else unallocated).append(entry)
                continue
        unparsed.append(Unparsed(number, line))
    close_profile()

    def byte_value(key: str) -> int | None:
        value = values.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    multiple = values.get("multiple_profiles")
    return FilesystemUsage(
        device_size=byte_value("device_size"),
        device_allocated=byte_value("device_allocated"),
        device_unallocated=byte_value("device_unallocated"),
        device_missing=byte_value("device_missing"),
        device_slack=byte_value("device_slack"),
        used=byte_value("used"),
        free_estimated=byte_value("free_estimated"),
        free_estimated_min=byte_value("free_estimated_min"),
        free_statfs=byte_value("free_statfs"),
        data_ratio=_as_float(values.get("data_ratio")),
        metadata_ratio=_as_float(values.get("metadata_ratio")),
        global_reserve=byte_value("global_reserve"),
        global_reserve_used=byte_value("global_reserve_used"),
        multiple_profiles=multiple if isinstance(multiple, bool) else None,
        profiles=tuple(profiles),
        unallocated=tuple(unallocated),
        warnings=tuple(warnings),
        raw_bytes=raw_bytes,
        unparsed=tuple(unparsed),
    )


def _overall_value(name: str, match: re.Match[str], values: dict[str, object]) -> bool:
    value = match["value"]
    if name in ("data_ratio", "metadata_ratio"):
        if not re.fullmatch(r"\d+(?:\.\d+)?", value):
            return False
        values[name] = float(value)
        return match["extra"] is None
    if name == "multiple_profiles":
        if value not in ("yes", "no"):
            return False
        values[name] = value == "yes"
        return match["extra"] is None
    amount = parse_size(value)
    if amount is None:
        return False
    values[name] = amount
    if match["extra"] is not None:
        extra = parse_size(match["extra_value"])
        if extra is None:
            return False
        values[f"{name}_{match['extra']}"] = extra
    return True


def _as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _as_float(value: object) -> float | None:
    return value if isinstance(value, float) else None


@dataclass(frozen=True, slots=True)
class DeviceUsage:
    """One device block of ``btrfs device usage``: its size and what is allocated on it."""

    device: str
    devid: int | None = None
    size: int | None = None
    slack: int | None = None
    allocations: tuple[tuple[str, str, int], ...] = ()  # (kind, profile, bytes)
    unallocated: int | None = None
    line: int = 0

    @property
    def allocated(self) -> int:
        return sum(amount for _, _, amount in self.allocations)


@dataclass(frozen=True, slots=True)
class DeviceUsageReport:
    """Every device block of ``btrfs device usage``, in order."""

    devices: tuple[DeviceUsage, ...] = ()
    unparsed: tuple[Unparsed, ...] = ()

    @property
    def assessment(self) -> Assessment:
        found = [
            (BtrfsHealth.DEGRADED, f"device missing: devid {d.devid}")
            for d in self.devices
            if _missing_device(d.device)
        ]
        if not self.devices:
            return _verdict(found, BtrfsHealth.UNKNOWN, "no device blocks were read")
        return _verdict(found, BtrfsHealth.OK)

    @property
    def health(self) -> BtrfsHealth:
        return self.assessment.health

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.assessment.reasons


_DEVICE_HEADER_RE = re.compile(r"^(?P<device>\S.*?),\s+ID:\s+(?P<devid>\d+)\s*$")
_DEVICE_LINE_RE = re.compile(r"^\s+(?P<key>[^:]+):\s+(?P<value>\S+)\s*$")


def parse_device_usage(text: str) -> DeviceUsageReport:
    """Parse ``btrfs device usage [-b] <path>``; never raises."""
    devices: list[DeviceUsage] = []
    unparsed: list[Unparsed] = []
    current: DeviceUsage | None = None
    for number, line in _lines(text):
        if match := _DEVICE_HEADER_RE.match(line):
            if current is not None:
                devices.append(current)
            current = DeviceUsage(match["device"], int(match["devid"]), line=number)
            continue
        match = _DEVICE_LINE_RE.match(line)
        amount = parse_size(match["value"]) if match else None
        if current is None or match is None or amount is None:
            unparsed.append(Unparsed(number, line))
            continue
        key = match["key"].strip()
        if key == "Device size":
            current = replace(current, size=amount)
        elif key == "Device slack":
            current = replace(current, slack=amount)
        elif key == "Unallocated":
            current = replace(current, unallocated=amount)
        elif chunk := re.fullmatch(r"([A-Za-z]+),([\w/]+)", key):
            current = replace(
                current, allocations=(*current.allocations, (chunk[1], chunk[2], amount))
            )
        else:
            unparsed.append(Unparsed(number, line))
    if current is not None:
        devices.append(current)
    return DeviceUsageReport(devices=tuple(devices), unparsed=tuple(unparsed))


# ---------------------------------------------------------------------------------------------
# Putting readings together


def assess(
    *,
    stats: DeviceStatsReport | None = None,
    scrub: ScrubReport | None = None,
    usage: FilesystemUsage | None = None,
    device_usage: DeviceUsageReport | None = None,
) -> Assessment:
    """One verdict for a filesystem from whichever readings are at hand; worst wins.

    Readings left out do not count. With none at all, or when every one is ``unknown``, the
    answer is ``unknown``; an ``unknown`` reading (e.g. never scrubbed) beside ``ok`` ones gives
    ``unknown`` too, so "never checked" is not reported as healthy.
    """
    found: list[tuple[BtrfsHealth, str]] = []
    for reading in (stats, scrub, usage, device_usage):
        if reading is None:
            continue
        part = reading.assessment
        found.extend((part.health, reason) for reason in part.reasons if reason)
        if not part.reasons:
            found.append((part.health, ""))
    verdict = _verdict(found, BtrfsHealth.UNKNOWN)
    return Assessment(verdict.health, tuple(r for r in verdict.reasons if r))


def _lines(text: str) -> Iterable[tuple[int, str]]:
    """Numbered non-blank lines, trailing whitespace removed."""
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip()
        if line.strip():
            yield number, line


# ---------------------------------------------------------------------------------------------
# Collecting: device error counters and missing devices of every btrfs pool

ID = "btrfs"
DEFAULT_INTERVAL: float | None = None
SYSFS_ROOT = "/sys/fs/btrfs"
NAMES_EVERY = 3600.0  # seconds before the devid → device name map is read again
_MISSING_NAMES = ("missing", "<missing disk>")


def watched_mounts(config: WatchConfig) -> list[str]:
    """Mount points of the blueprint's btrfs pools, in blueprint order."""
    return [p.mount for p in config.pools if p.filesystem == "btrfs"]


def collect(ctx: Context) -> list[Sample]:
    """Read each btrfs pool's counters from sysfs (kernel 5.14+), else ``btrfs device stats``.

    sysfs needs no process and no root, but names devices only by devid: the names come from one
    ``btrfs device stats -T`` now and then. A pool that is not mounted gives no samples here (the
    disks collector reports it).
    """
    from lares.monitor.collectors.disks import read_mounts

    mounts = read_mounts()
    memo = ctx.memo(ID)
    out: list[Sample] = []
    for mount in watched_mounts(ctx.config):
        if mount not in mounts or mounts[mount][1] != "btrfs":
            continue
        uuid = sysfs_uuid(mounts[mount][0])
        devinfo = read_devinfo(uuid) if uuid else {}
        if devinfo:
            names = memo.get(mount)
            if names is None or ctx.now - names[0] > NAMES_EVERY:
                names = (ctx.now, _device_names(mount))
                memo[mount] = names
            found: list[DeviceErrors] = []
            lost: list[Unparsed] = []
            for devid, (text, _) in sorted(devinfo.items()):
                report = parse_error_stats(text, names[1].get(devid, f"devid {devid}"), devid)
                found.extend(report.devices)
                lost.extend(report.unparsed)
            stats = DeviceStatsReport(devices=tuple(found), unparsed=tuple(lost))
            missing = {devid: gone for devid, (_, gone) in devinfo.items()}
        else:
            stats = parse_device_stats(_stats_command(mount).stdout)
            missing = {
                d.devid if d.devid is not None else i: d.device in _MISSING_NAMES
                for i, d in enumerate(stats.devices)
            }
        out.extend(samples(mount, stats, missing=missing, uuid=uuid or ""))
    return out


def sysfs_uuid(device: str, root: str = SYSFS_ROOT) -> str | None:
    """The filesystem UUID whose ``devices/`` folder lists ``device`` (a /dev path), or None."""
    import os

    name = os.path.basename(os.path.realpath(device))
    try:
        entries = os.listdir(root)
    except OSError:
        return None
    for entry in entries:
        if os.path.exists(f"{root}/{entry}/devices/{name}"):
            return entry
    return None


def read_devinfo(uuid: str, root: str = SYSFS_ROOT) -> dict[int, tuple[str, bool]]:
    """devid → (``error_stats`` text, missing) from sysfs; empty when the kernel lacks them."""
    import os

    found: dict[int, tuple[str, bool]] = {}
    folder = f"{root}/{uuid}/devinfo"
    try:
        devids = [int(d) for d in os.listdir(folder) if d.isdigit()]
    except OSError:
        return found
    for devid in devids:
        try:
            with open(f"{folder}/{devid}/error_stats", encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            return {}
        try:
            with open(f"{folder}/{devid}/missing", encoding="utf-8") as fh:
                gone = fh.read().strip() == "1"
        except OSError:
            gone = False
        found[devid] = (text, gone)
    return found


def _stats_command(mount: str) -> Result:
    from lares import run

    return run.run(
        ["btrfs", "device", "stats", "-T", mount],
        timeout=60,
        what=f"read the btrfs device counters of {mount}",
        hint="lares reads btrfs counters as root; run the watcher as root",
    )


def _device_names(mount: str) -> dict[int, str]:
    from lares import run
    from lares.errors import LaresError

    try:
        result = run.run(["btrfs", "device", "stats", "-T", mount], timeout=60, check=False)
    except LaresError:
        return {}
    return {
        d.devid: d.device for d in parse_device_stats(result.stdout).devices if d.devid is not None
    }


_COUNTERS = ("write", "read", "flush", "corruption", "generation")


def samples(
    mount: str,
    stats: DeviceStatsReport,
    *,
    missing: Mapping[int, bool] | None = None,
    uuid: str = "",
) -> list[Sample]:
    """Samples of one filesystem: per device each error counter and ``missing``; per filesystem
    the device count, the missing count and a health word.

    Counters are kept as the kernel counts them (since the last ``btrfs device stats -z``); the
    rules compare them with the acknowledged baseline, so health here only reflects missing
    devices and counters above zero.
    """
    missing = missing or {}
    out: list[Sample] = []
    gone = 0
    for index, device in enumerate(stats.devices):
        devid = device.devid if device.devid is not None else index
        subject = f"{mount}:{device.device}"
        labels = {"mount": mount, "device": device.device, "devid": str(devid), "uuid": uuid}
        for counter in _COUNTERS:
            value = getattr(device, counter)
            out.append(Sample(ID, subject, f"errors_{counter}", float(value), labels=labels))
        for name, value in device.other:
            out.append(Sample(ID, subject, f"errors_{name}", float(value), labels=labels))
        is_missing = bool(missing.get(devid)) or device.device in _MISSING_NAMES
        gone += is_missing
        out.append(Sample(ID, subject, "missing", 1.0 if is_missing else 0.0, labels=labels))
    assessment = stats.assessment
    health = assessment.health
    reasons = list(assessment.reasons)
    if gone:
        health = BtrfsHealth.DEGRADED
        reasons.insert(0, f"{counted(gone, 'device')} missing")
    labels = {"mount": mount, "uuid": uuid}
    out += [
        Sample(ID, mount, "devices", float(len(stats.devices)), labels=labels),
        Sample(ID, mount, "missing_devices", float(gone), labels=labels),
        Sample(
            ID,
            mount,
            "health",
            1.0 if health is BtrfsHealth.OK else 0.0,
            health.value,
            "; ".join(reasons),
            labels,
        ),
    ]
    if stats.unparsed:
        quoted = "; ".join(f"line {u.line}: {u.text.strip()}" for u in stats.unparsed[:5])
        out.append(Sample(ID, mount, "unparsed", float(len(stats.unparsed)), detail=quoted))
    return out
