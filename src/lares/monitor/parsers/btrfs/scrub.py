"""``btrfs scrub status``: progress, errors and their verdict, in the 5.2+ and the 4.x format."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from lares.monitor.parsers.btrfs.common import (
    Assessed,
    Assessment,
    combined,
    duration,
    lines,
    parse_size,
    timestamp,
    verdict,
)
from lares.monitor.parsers.health import Health, Report, Unparsed
from lares.monitor.parsers.values import as_str, build
from lares.text import counted


class ScrubState(StrEnum):
    """Where a scrub stands, as ``btrfs scrub status`` says it."""

    RUNNING = "running"
    FINISHED = "finished"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    NO_STATS = "no stats"
    UNKNOWN = "unknown"


#: The kinds of error a scrub finds, and what became of them, as :class:`ScrubErrors` names them.
_KINDS = ("read", "super", "verify", "csum", "malloc")
_FATES = ("corrected", "uncorrectable", "unverified")


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
    def kinds(self) -> tuple[tuple[str, int | None], ...]:
        """Each kind of error found (``read`` ... ``malloc``) with its count."""
        return tuple((kind, getattr(self, kind)) for kind in _KINDS)

    @property
    def found(self) -> int:
        """Errors found, of any kind (the 4.x total when that is all there is)."""
        counted = sum(count for _, count in self.kinds if count)
        return max(counted, self.total or 0)


@dataclass(frozen=True, slots=True)
class ScrubStatus(Assessed):
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
        found: list[tuple[Health, str]] = []
        if self.state is ScrubState.NO_STATS:
            found.append((Health.UNKNOWN, f"{where}: no scrub has run (no stats available)"))
        if errors.uncorrectable:
            found.append(
                (Health.FAILING, f"{where}: scrub found {errors.uncorrectable} uncorrectable")
            )
        kinds = [f"{name}={value}" for name, value in errors.kinds if value]
        if kinds:
            found.append((Health.WARNING, f"{where}: scrub errors {' '.join(kinds)}"))
        elif errors.total:
            found.append((Health.WARNING, f"{where}: scrub found {counted(errors.total, 'error')}"))
        if errors.corrected:
            found.append((Health.WARNING, f"{where}: scrub corrected {errors.corrected}"))
        if errors.unverified:
            found.append((Health.WARNING, f"{where}: {errors.unverified} unverified"))
        if self.state in (ScrubState.ABORTED, ScrubState.INTERRUPTED):
            found.append((Health.WARNING, f"{where}: last scrub {self.state}"))
        if self.state is ScrubState.UNKNOWN:
            found.append((Health.UNKNOWN, f"{where}: scrub state not printed"))
        return verdict(found, Health.OK)


@dataclass(frozen=True, slots=True)
class ScrubReport(Report, Assessed):
    """Every scrub status block in one output, in order (several with ``-d`` or 4.x history)."""

    scrubs: tuple[ScrubStatus, ...] = ()

    @property
    def assessment(self) -> Assessment:
        parts = (scrub.assessment for scrub in self.scrubs)
        return combined(parts, Health.UNKNOWN, "no scrub status was read")


_SCRUB_HEADER_RE = re.compile(r"(?:UUID:\s+|[Ss]crub (?:status|done) for )(?P<uuid>\S+)")
_ERROR_TOKEN_RE = re.compile(r"(?P<name>[a-z_]+)=(?P<value>\d+)")
#: The ``-R`` counters of the error summary, ``read_errors`` ... ``unverified_errors``.
_RAW_MAP = {f"{name}_errors": name for name in (*_KINDS, *_FATES)}
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
#: The fields that print a size and, in parentheses, maybe one more figure: the pattern, the
#: field the size goes to, the field of the figure in parentheses and how that is read.
_SIZE_AND_MORE: dict[str, tuple[re.Pattern[str], str, str, Callable[[str], object]]] = {
    "Bytes scrubbed": (
        re.compile(r"(\S+)(?:\s+\((\d+(?:\.\d+)?)%\))?"),
        "bytes_scrubbed",
        "percent",
        float,
    ),
    "Rate": (re.compile(r"(\S+)/s(?:\s+\(limit (\S+)/s\))?"), "rate", "rate_limit", parse_size),
}
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

    for number, line in lines(text):
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
        for key in _FATES:
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
            current["duration"] = duration(match[state])
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
        seconds = duration(value)
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
    elif key in _SIZE_AND_MORE:
        pattern, name, more, read = _SIZE_AND_MORE[key]
        match = pattern.fullmatch(value)
        size = parse_size(match[1]) if match else None
        if match is None or size is None:
            return False
        current[name] = size
        if match[2] is not None:
            current[more] = read(match[2])
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
    started_text = as_str(fields.get("started_text"))
    return build(
        ScrubStatus,
        fields,
        started=timestamp(started_text) if started_text else None,
        errors=build(ScrubErrors, errors),
        raw=tuple(raw),
    )
