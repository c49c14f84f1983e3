"""Linux software RAID: parse ``/proc/mdstat`` and ``/sys/block/mdX/md/*``.

:func:`parse` turns the text of ``/proc/mdstat`` into an :class:`MdstatReport`: one
:class:`MdArray` per array with its members, geometry, ``[n/m] [UU_]`` status, sync progress and
bitmap, plus a :class:`MdHealth` verdict and the reasons for it. Lines the parser does not
understand are returned in ``MdstatReport.unparsed`` with their line numbers; nothing raises.

:func:`parse_sysfs` reads the optional per-array sysfs attributes (``array_state``, ``degraded``,
``sync_action``, ``mismatch_cnt`` ...) and :func:`refine` folds them into an array, which then
re-decides its health with the kernel's own counters.

Health rules, first match wins:

* ``inactive``: the array is not started (``inactive`` in mdstat, or sysfs ``array_state`` is
  ``inactive``/``clear``). Never ``ok``, even when it prints ``[4/4] [UUUU]``.
* ``failed``: more members are missing than the level survives (raid0/linear: any failed member;
  raid1: none working; raid4/5: two; raid6: three; raid10: a whole mirror set), or sysfs says
  ``broken``.
* ``rebuilding``: degraded and a recovery runs; or not degraded and a resync or reshape runs or
  waits (``resync=DELAYED``/``PENDING``): redundancy is not yet where it should be.
* ``degraded``: a member is marked ``(F)``, the map shows ``_``, fewer members work than expected,
  or sysfs ``degraded`` is above zero.
* ``checking``: a ``check`` or ``repair`` pass runs on a complete array.
* ``ok``: none of the above.

As a collector (``ID = "mdstat"``), :func:`collect` reads ``/proc/mdstat`` and each array's sysfs
folder, and :func:`samples` turns the report into samples: health (with its reasons), member
counts, sync progress, and the lines that were not understood.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from lares.monitor.collectors import Sample

if TYPE_CHECKING:
    from lares.monitor.collectors import Context

__all__ = [
    "Bitmap",
    "DeviceRole",
    "MdArray",
    "MdDevice",
    "MdHealth",
    "MdSysfs",
    "MdstatReport",
    "SyncAction",
    "SyncProgress",
    "Unparsed",
    "parse",
    "parse_sysfs",
    "refine",
]

MDSTAT_PATH = "/proc/mdstat"
SYSFS_ATTRIBUTES = (
    "array_state",
    "degraded",
    "sync_action",
    "mismatch_cnt",
    "sync_completed",
    "raid_disks",
    "level",
    "last_sync_action",
)


class MdHealth(StrEnum):
    """What an alert rule needs to know about one array."""

    OK = "ok"
    DEGRADED = "degraded"
    REBUILDING = "rebuilding"
    CHECKING = "checking"
    INACTIVE = "inactive"
    FAILED = "failed"


class DeviceRole(StrEnum):
    """A member's role, from its mdstat suffix; a failed mark wins over every other."""

    ACTIVE = "active"
    FAILED = "failed"  # (F)
    SPARE = "spare"  # (S)
    WRITE_MOSTLY = "write-mostly"  # (W)
    JOURNAL = "journal"  # (J)
    REPLACEMENT = "replacement"  # (R)


class SyncAction(StrEnum):
    """The background pass md runs; ``repair`` only appears in sysfs (mdstat prints resync)."""

    RESYNC = "resync"
    RECOVERY = "recovery"
    CHECK = "check"
    RESHAPE = "reshape"
    REPAIR = "repair"


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A line, or the part of a line, the parser did not understand (1-based line number)."""

    line: int
    text: str


@dataclass(frozen=True, slots=True)
class MdDevice:
    """One member as listed on the array line, e.g. ``sde1[6](F)``.

    ``index`` is the kernel's descriptor number in brackets, not the slot in the ``[UU_]`` map.
    ``flags`` keeps every suffix letter in print order (``"WF"`` for ``(W)(F)``).
    """

    name: str
    index: int
    role: DeviceRole
    flags: str = ""

    @property
    def failed(self) -> bool:
        return "F" in self.flags

    @property
    def spare(self) -> bool:
        return "S" in self.flags and "F" not in self.flags

    @property
    def write_mostly(self) -> bool:
        return "W" in self.flags


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """A running, delayed or pending background pass.

    ``percent``, ``done``/``total`` (1 KiB blocks), ``finish_minutes`` and ``speed_kib_s`` are
    None when mdstat did not print them (always so for ``delayed`` and ``pending``).
    """

    action: SyncAction
    percent: float | None = None
    done: int | None = None
    total: int | None = None
    finish_minutes: float | None = None
    speed_kib_s: int | None = None
    delayed: bool = False
    pending: bool = False

    @property
    def running(self) -> bool:
        return not (self.delayed or self.pending)


@dataclass(frozen=True, slots=True)
class Bitmap:
    """The write-intent bitmap line: pages in use of total, memory used and bitmap chunk size."""

    pages_used: int
    pages_total: int
    size_kib: int
    chunk_kib: int
    file: str | None = None


@dataclass(frozen=True, slots=True)
class MdSysfs:
    """Values read from ``/sys/block/mdX/md/``; None where not given or not a valid value."""

    array_state: str | None = None
    degraded: int | None = None
    sync_action: str | None = None
    mismatch_cnt: int | None = None
    sync_completed: tuple[int, int] | None = None
    raid_disks: int | None = None
    level: str | None = None
    last_sync_action: str | None = None
    unparsed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MdArray:
    """One array from ``/proc/mdstat`` with its health verdict.

    ``personality`` is the RAID level as md names it (``raid1``, ``raid10``, ``linear``,
    ``multipath`` ...) or None for an inactive array that does not print one. ``metadata`` is the
    ``super`` token (``1.2``, ``external:imsm``, ``non-persistent``); None means mdstat printed
    none, which is the old 0.90 superblock. ``expected``/``working`` are ``[n/m]`` and
    ``member_map`` is the ``[UU_U]`` text; raid0 and linear have neither. ``line`` is the line
    number of the array's first line.
    """

    name: str
    line: int
    state: str
    read_only: bool = False
    auto_read_only: bool = False
    personality: str | None = None
    devices: tuple[MdDevice, ...] = ()
    blocks: int | None = None
    metadata: str | None = None
    chunk_kib: int | None = None
    algorithm: int | None = None
    rounding_kib: int | None = None
    copies: int | None = None
    layout: str | None = None  # raid10: "near", "far" or "offset"
    expected: int | None = None
    working: int | None = None
    member_map: str | None = None
    sync: SyncProgress | None = None
    bitmap: Bitmap | None = None
    sysfs: MdSysfs | None = None
    health: MdHealth = MdHealth.OK
    reasons: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.state == "active"

    @property
    def failed_devices(self) -> tuple[MdDevice, ...]:
        return tuple(d for d in self.devices if d.failed)

    @property
    def spare_devices(self) -> tuple[MdDevice, ...]:
        return tuple(d for d in self.devices if d.spare)

    @property
    def missing(self) -> int | None:
        """Members the array expects but does not have working, from ``[n/m]``."""
        if self.expected is None or self.working is None:
            return None
        return max(self.expected - self.working, 0)

    @property
    def is_container(self) -> bool:
        """An IMSM/DDF metadata container: always inactive; its member arrays hold the data."""
        return (
            self.metadata is not None
            and re.fullmatch(r"external:[^/].*", self.metadata) is not None
        )

    @property
    def ok(self) -> bool:
        return self.health is MdHealth.OK


@dataclass(frozen=True, slots=True)
class MdstatReport:
    """Everything read from one ``/proc/mdstat``."""

    personalities: tuple[str, ...] = ()
    arrays: tuple[MdArray, ...] = ()
    unused_devices: tuple[str, ...] = ()
    unparsed: tuple[Unparsed, ...] = ()

    def get(self, name: str) -> MdArray | None:
        """The array called ``name`` (``md0``), or None."""
        for array in self.arrays:
            if array.name == name:
                return array
        return None

    @property
    def ok(self) -> bool:
        return all(array.ok for array in self.arrays)


_PERSONALITIES_RE = re.compile(r"^Personalities\s*:(?P<rest>.*)$")
_UNUSED_RE = re.compile(r"^unused devices\s*:(?P<rest>.*)$")
_ARRAY_RE = re.compile(
    r"^(?P<name>md[^\s:]*)\s*:\s*(?P<state>active|inactive)(?=\s|$)(?P<rest>.*)$"
)
_DEVICE_RE = re.compile(r"^(?P<name>[^\[\]\s()]+)\[(?P<index>\d+)\](?P<flags>(?:\([A-Z]\))*)$")
_PERSONALITY_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
_STATUS_RE = re.compile(r"^\s*(?P<blocks>\d+)\s+blocks(?=\s|$)(?P<rest>.*)$")
_STATUS_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("super", re.compile(r"\s*super\s+(?P<v>\S+)")),
    (
        "level",
        re.compile(
            r"\s*level\s+(?P<level>\d+),\s*(?P<chunk>\d+)[kK]\s+chunk,\s*algorithm\s+(?P<alg>\d+)"
        ),
    ),
    ("chunks", re.compile(r"\s*(?P<v>\d+)[kK]\s+chunks?(?=\s|$)")),
    ("copies", re.compile(r"\s*(?P<n>\d+)\s+(?P<layout>near|far|offset)-copies")),
    ("rounding", re.compile(r"\s*(?P<v>\d+)[kK]\s+rounding")),
    ("counts", re.compile(r"\s*\[(?P<expected>\d+)/(?P<working>\d+)\]")),
    ("map", re.compile(r"\s*\[(?P<v>[U_]*)\]")),
)
_PROGRESS_RE = re.compile(
    r"^\s*(?:\[[=>.]*\]\s*)?(?P<action>resync|recovery|check|reshape|repair)\s*=\s*"
    r"(?P<percent>\d+(?:\.\d+)?)%\s*"
    r"(?:\((?P<done>\d+)/(?P<total>\d+)\))?\s*"
    r"(?:finish=(?P<finish>\d+(?:\.\d+)?)min)?\s*"
    r"(?:speed=(?P<speed>\d+)K/sec)?\s*$"
)
_WAITING_RE = re.compile(
    r"^\s*(?P<action>resync|recovery|check|reshape|repair)\s*=\s*(?P<flag>DELAYED|PENDING)\s*$"
)
_BITMAP_RE = re.compile(
    r"^\s*bitmap:\s*(?P<used>\d+)/(?P<total>\d+)\s+pages\s+\[(?P<size>\d+)KB\],\s*"
    r"(?P<chunk>\d+)KB\s+chunk(?:,\s*file:\s*(?P<file>\S.*?))?\s*$"
)
_ROLE_BY_FLAG = {
    "F": DeviceRole.FAILED,
    "S": DeviceRole.SPARE,
    "R": DeviceRole.REPLACEMENT,
    "J": DeviceRole.JOURNAL,
    "W": DeviceRole.WRITE_MOSTLY,
}
_ROLE_PRECEDENCE = "FSRJW"


def parse(text: str) -> MdstatReport:
    """Parse the text of ``/proc/mdstat``; never raises.

    Lines that belong to an array (status, progress, ``resync=DELAYED``, bitmap) attach to the
    array named by the closest ``mdX : ...`` line above them, whatever their indentation (tabs
    and 4 to 8 spaces are all seen in the wild). Blank lines are skipped. Anything else, and any
    part of a line that is not understood, lands in ``unparsed`` with its line number.
    """
    personalities: list[str] = []
    unused: list[str] = []
    unparsed: list[Unparsed] = []
    builders: list[_ArrayBuilder] = []
    current: _ArrayBuilder | None = None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if match := _PERSONALITIES_RE.match(line):
            names, rest = _bracketed(match["rest"])
            personalities.extend(names)
            if rest:
                unparsed.append(Unparsed(number, rest))
            continue
        if match := _UNUSED_RE.match(line):
            current = None
            for word in match["rest"].split():
                if word != "<none>":
                    unused.append(word)
            continue
        if match := _ARRAY_RE.match(line):
            current = _ArrayBuilder(match["name"], number, match["state"])
            builders.append(current)
            current.read_header(match["rest"], number, unparsed)
            continue
        if current is not None and current.read_line(line, number, unparsed):
            continue
        unparsed.append(Unparsed(number, line))

    return MdstatReport(
        personalities=tuple(personalities),
        arrays=tuple(_assessed(b.build()) for b in builders),
        unused_devices=tuple(unused),
        unparsed=tuple(unparsed),
    )


def parse_sysfs(values: Mapping[str, str]) -> MdSysfs:
    """Read ``/sys/block/mdX/md/<name>`` values, keyed by attribute name; never raises.

    Values are stripped. Numbers that do not parse, and attributes this module does not know, are
    listed in ``unparsed`` as ``name='value'``.
    """
    problems: list[str] = []
    fields: dict[str, object] = {}
    for key, raw in values.items():
        value = raw.strip()
        if key in ("degraded", "mismatch_cnt", "raid_disks"):
            if value.isdigit():
                fields[key] = int(value)
            else:
                problems.append(f"{key}={value!r}")
        elif key == "sync_completed":
            if match := re.fullmatch(r"(\d+)\s*/\s*(\d+)", value):
                fields[key] = (int(match[1]), int(match[2]))
            elif value != "none":
                problems.append(f"{key}={value!r}")
        elif key in ("array_state", "sync_action", "level", "last_sync_action"):
            fields[key] = value
        else:
            problems.append(f"{key}={value!r}")
    return MdSysfs(
        array_state=_opt_str(fields.get("array_state")),
        degraded=_opt_int(fields.get("degraded")),
        sync_action=_opt_str(fields.get("sync_action")),
        mismatch_cnt=_opt_int(fields.get("mismatch_cnt")),
        sync_completed=_opt_pair(fields.get("sync_completed")),
        raid_disks=_opt_int(fields.get("raid_disks")),
        level=_opt_str(fields.get("level")),
        last_sync_action=_opt_str(fields.get("last_sync_action")),
        unparsed=tuple(problems),
    )


def refine(array: MdArray, sysfs: MdSysfs) -> MdArray:
    """Return ``array`` with ``sysfs`` attached and its health decided again.

    sysfs is the kernel's own answer and wins where it speaks: ``array_state`` ``inactive`` or
    ``clear`` makes the array inactive, ``broken`` makes it failed, ``degraded`` > 0 makes it
    degraded (or rebuilding while ``sync_action`` is ``recover``), and ``check``/``repair`` make a
    complete array checking. ``mismatch_cnt`` is kept for rules but does not change health: on
    raid1/raid10 with swap it is often non-zero and harmless.
    """
    return _assessed(replace(array, sysfs=sysfs))


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _opt_pair(value: object) -> tuple[int, int] | None:
    if isinstance(value, tuple) and len(value) == 2:
        first, second = value
        if isinstance(first, int) and isinstance(second, int):
            return (first, second)
    return None


def _bracketed(text: str) -> tuple[list[str], str]:
    """Names in ``[...]`` tokens, and whatever else was left over (stripped)."""
    names = re.findall(r"\[([^\]\s]+)\]", text)
    rest = re.sub(r"\[[^\]\s]+\]", " ", text).strip()
    return names, rest


class _ArrayBuilder:
    """Collects what the lines say about one array before the frozen value is made."""

    def __init__(self, name: str, line: int, state: str) -> None:
        self.fields: dict[str, object] = {"name": name, "line": line, "state": state}
        self.devices: list[MdDevice] = []
        self.has_status = False

    def read_header(self, rest: str, number: int, unparsed: list[Unparsed]) -> None:
        leftovers: list[str] = []
        for word in rest.split():
            if word == "(read-only)":
                self.fields["read_only"] = True
            elif word == "(auto-read-only)":
                self.fields["auto_read_only"] = True
            elif match := _DEVICE_RE.match(word):
                self.devices.append(_device(match))
            elif (
                _PERSONALITY_RE.match(word)
                and "personality" not in self.fields
                and not self.devices
            ):
                self.fields["personality"] = word
            else:
                leftovers.append(word)
        if leftovers:
            unparsed.append(Unparsed(number, " ".join(leftovers)))

    def read_line(self, line: str, number: int, unparsed: list[Unparsed]) -> bool:
        """Take a line that belongs to this array; False when it is not one of its lines."""
        if not self.has_status and (match := _STATUS_RE.match(line)):
            self.has_status = True
            self.fields["blocks"] = int(match["blocks"])
            leftover = self._read_status(match["rest"])
            if leftover:
                unparsed.append(Unparsed(number, leftover))
            return True
        if "sync" not in self.fields and (match := _PROGRESS_RE.match(line)):
            self.fields["sync"] = SyncProgress(
                action=SyncAction(match["action"]),
                percent=float(match["percent"]),
                done=_int_or_none(match["done"]),
                total=_int_or_none(match["total"]),
                finish_minutes=float(match["finish"]) if match["finish"] else None,
                speed_kib_s=_int_or_none(match["speed"]),
            )
            return True
        if "sync" not in self.fields and (match := _WAITING_RE.match(line)):
            self.fields["sync"] = SyncProgress(
                action=SyncAction(match["action"]),
                delayed=match["flag"] == "DELAYED",
                pending=match["flag"] == "PENDING",
            )
            return True
        if "bitmap" not in self.fields and (match := _BITMAP_RE.match(line)):
            self.fields["bitmap"] = Bitmap(
                pages_used=int(match["used"]),
                pages_total=int(match["total"]),
                size_kib=int(match["size"]),
                chunk_kib=int(match["chunk"]),
                file=match["file"],
            )
            return True
        return False

    def _read_status(self, rest: str) -> str:
        """Consume the known tokens of a status line; return what is left, stripped."""
        position = 0
        while position < len(rest):
            if not rest[position:].strip():
                return ""
            for kind, pattern in _STATUS_TOKENS:
                match = pattern.match(rest, position)
                if match is None:
                    continue
                self._status_token(kind, match)
                position = match.end()
                break
            else:
                return rest[position:].strip()
        return ""

    def _status_token(self, kind: str, match: re.Match[str]) -> None:
        if kind == "super":
            self.fields["metadata"] = match["v"]
        elif kind == "level":
            self.fields["chunk_kib"] = int(match["chunk"])
            self.fields["algorithm"] = int(match["alg"])
        elif kind == "chunks":
            self.fields["chunk_kib"] = int(match["v"])
        elif kind == "copies":
            self.fields["copies"] = int(match["n"])
            self.fields["layout"] = match["layout"]
        elif kind == "rounding":
            self.fields["rounding_kib"] = int(match["v"])
        elif kind == "counts":
            self.fields["expected"] = int(match["expected"])
            self.fields["working"] = int(match["working"])
        elif kind == "map":
            self.fields["member_map"] = match["v"]

    def build(self) -> MdArray:
        f = self.fields
        sync = f.get("sync")
        bitmap = f.get("bitmap")
        return MdArray(
            name=str(f["name"]),
            line=_opt_int(f.get("line")) or 0,
            state=str(f["state"]),
            read_only=f.get("read_only") is True,
            auto_read_only=f.get("auto_read_only") is True,
            personality=_opt_str(f.get("personality")),
            devices=tuple(self.devices),
            blocks=_opt_int(f.get("blocks")),
            metadata=_opt_str(f.get("metadata")),
            chunk_kib=_opt_int(f.get("chunk_kib")),
            algorithm=_opt_int(f.get("algorithm")),
            rounding_kib=_opt_int(f.get("rounding_kib")),
            copies=_opt_int(f.get("copies")),
            layout=_opt_str(f.get("layout")),
            expected=_opt_int(f.get("expected")),
            working=_opt_int(f.get("working")),
            member_map=_opt_str(f.get("member_map")),
            sync=sync if isinstance(sync, SyncProgress) else None,
            bitmap=bitmap if isinstance(bitmap, Bitmap) else None,
        )


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text is not None else None


def _device(match: re.Match[str]) -> MdDevice:
    flags = "".join(re.findall(r"\(([A-Z])\)", match["flags"]))
    role = DeviceRole.ACTIVE
    for letter in _ROLE_PRECEDENCE:
        if letter in flags:
            role = _ROLE_BY_FLAG[letter]
            break
    return MdDevice(name=match["name"], index=int(match["index"]), role=role, flags=flags)


def _assessed(array: MdArray) -> MdArray:
    health, reasons = _assess(array)
    return replace(array, health=health, reasons=reasons)


def _assess(array: MdArray) -> tuple[MdHealth, tuple[str, ...]]:
    sysfs = array.sysfs
    reasons: list[str] = []

    failed = array.failed_devices
    if failed:
        names = ", ".join(d.name for d in failed)
        reasons.append(f"failed member(s) still listed: {names} (F)")
    map_missing = array.member_map.count("_") if array.member_map is not None else None
    missing = array.missing
    if array.member_map and map_missing:
        reasons.append(f"member map [{array.member_map}] shows {map_missing} missing")
    if missing:
        reasons.append(f"[{array.expected}/{array.working}]: {missing} of {array.expected} missing")
    if missing is not None and map_missing is not None and missing != map_missing:
        reasons.append(
            f"[{array.expected}/{array.working}] and [{array.member_map}] disagree on how many "
            "members are missing"
        )
    sysfs_degraded = sysfs.degraded if sysfs is not None else None
    if sysfs_degraded:
        reasons.append(f"sysfs degraded={sysfs_degraded}")
    sync = array.sync
    if sync is not None:
        reasons.append(_describe_sync(sync))
    sysfs_action = sysfs.sync_action if sysfs is not None else None
    if sysfs_action and sysfs_action not in ("idle", "frozen") and sync is None:
        reasons.append(f"sysfs sync_action={sysfs_action}")
    state = sysfs.array_state if sysfs is not None else None

    if not array.active or state in ("inactive", "clear"):
        why = "array is inactive: not started, its data is not available"
        if array.is_container:
            why = (
                f"array is an inactive {array.metadata} metadata container (normal for "
                "containers): check the member arrays it holds"
            )
        elif state in ("inactive", "clear") and array.active:
            why = f"sysfs array_state={state}: the array is stopped"
        return MdHealth.INACTIVE, (why, *reasons)

    if state == "broken":
        return MdHealth.FAILED, ("sysfs array_state=broken: a member the level needs is gone",)
    if lost := _unsurvivable(array, missing, sysfs_degraded):
        return MdHealth.FAILED, (lost, *reasons)

    degraded = bool(failed or map_missing or missing or sysfs_degraded)
    action = sync.action if sync is not None else None
    if sysfs_action in ("recover", "resync", "reshape", "check", "repair"):
        action = SyncAction.RECOVERY if sysfs_action == "recover" else SyncAction(sysfs_action)
    if degraded:
        if action is SyncAction.RECOVERY and (sync is None or sync.running):
            return MdHealth.REBUILDING, tuple(reasons)
        return MdHealth.DEGRADED, tuple(reasons)
    if action in (SyncAction.RESYNC, SyncAction.RESHAPE, SyncAction.RECOVERY):
        return MdHealth.REBUILDING, tuple(reasons)
    if action in (SyncAction.CHECK, SyncAction.REPAIR):
        return MdHealth.CHECKING, tuple(reasons)
    return MdHealth.OK, ()


def _describe_sync(sync: SyncProgress) -> str:
    if sync.delayed:
        return f"{sync.action} delayed: waits for another array on the same disks"
    if sync.pending:
        return f"{sync.action} pending: starts on the first write (array is read-only until then)"
    text = f"{sync.action} {sync.percent}%"
    if sync.finish_minutes is not None:
        text += f", about {sync.finish_minutes} min left"
    return text


def _unsurvivable(array: MdArray, missing: int | None, sysfs_degraded: int | None) -> str | None:
    """Why the array cannot serve its data any more, or None when it still can."""
    level = array.personality
    lost = max(missing or 0, sysfs_degraded or 0)
    if level in ("raid0", "linear"):
        if array.failed_devices:
            return f"{level} has no redundancy and a member failed"
        return None
    if array.expected is None:
        return None
    if level in ("raid1", "multipath") and array.expected > 0 and lost >= array.expected:
        return f"{level}: no member is working"
    if level in ("raid4", "raid5") and lost >= 2:
        return f"{level} survives one missing member; {lost} are missing"
    if level == "raid6" and lost >= 3:
        return f"raid6 survives two missing members; {lost} are missing"
    if level == "raid10":
        return _raid10_lost(array, lost)
    return None


def _raid10_lost(array: MdArray, lost: int) -> str | None:
    copies = array.copies or 2
    slots = array.member_map
    if not slots or len(slots) < copies:
        if array.expected is not None and array.expected > 0 and lost >= array.expected:
            return "raid10: no member is working"
        return None
    size = len(slots)
    if array.layout in (None, "near") and size % copies == 0:
        starts = range(0, size, copies)
    else:
        starts = range(size)
    for start in starts:
        window = [slots[(start + k) % size] for k in range(copies)]
        if all(slot == "_" for slot in window):
            return f"raid10: every copy of one mirror set is missing (slots {start}..)"
    return None


# ---------------------------------------------------------------------------------------------
# Collecting: read /proc/mdstat and sysfs, turn the report into samples

ID = "mdstat"
DEFAULT_INTERVAL: float | None = None
SYSFS_ROOT = "/sys/block"


def collect(ctx: Context) -> list[Sample]:
    """Read ``/proc/mdstat`` (absent when the kernel has no md) and each array's sysfs folder."""
    try:
        with open(MDSTAT_PATH, encoding="utf-8", errors="replace") as fh:
            text: str | None = fh.read()
    except FileNotFoundError:
        text = None
    report = parse(text or "")
    arrays = []
    for array in report.arrays:
        values = read_sysfs(array.name)
        arrays.append(refine(array, parse_sysfs(values)) if values else array)
    return samples(replace(report, arrays=tuple(arrays)), present=text is not None)


def read_sysfs(name: str, root: str = SYSFS_ROOT) -> dict[str, str]:
    """The :data:`SYSFS_ATTRIBUTES` of ``/sys/block/<name>/md/`` that exist, as text."""
    values: dict[str, str] = {}
    for attribute in SYSFS_ATTRIBUTES:
        try:
            with open(f"{root}/{name}/md/{attribute}", encoding="utf-8") as fh:
                values[attribute] = fh.read()
        except OSError:
            continue
    return values


def samples(report: MdstatReport, *, present: bool = True) -> list[Sample]:
    """Samples of every array: health (with its reasons), member counts, sync progress.

    ``arrays``/``count`` says how many arrays exist (state ``absent`` when the kernel has no
    /proc/mdstat), so a rule can tell an mdadm pool that never assembled. Lines the parser did
    not understand become an ``unparsed`` sample that quotes them.
    """
    out = [
        Sample(ID, "arrays", "count", float(len(report.arrays)), "present" if present else "absent")
    ]
    for array in report.arrays:
        labels = {
            "level": array.personality or "",
            "state": array.state,
            "container": "1" if array.is_container else "",
        }
        out.append(
            Sample(
                ID,
                array.name,
                "health",
                1.0 if array.ok else 0.0,
                array.health.value,
                "; ".join(array.reasons),
                labels,
            )
        )
        failed = len(array.failed_devices)
        spare = len(array.spare_devices)
        active = array.working
        if active is None:
            active = len(array.devices) - failed - spare
        out += [
            Sample(ID, array.name, "disks_active", float(active), labels=labels),
            Sample(ID, array.name, "disks_failed", float(failed), labels=labels),
            Sample(ID, array.name, "disks_spare", float(spare), labels=labels),
        ]
        if array.expected is not None:
            out.append(Sample(ID, array.name, "disks_required", float(array.expected)))
        if array.blocks is not None:
            out.append(Sample(ID, array.name, "blocks", float(array.blocks)))
        sync = array.sync
        if sync is not None:
            action = sync.action.value
            out.append(
                Sample(
                    ID,
                    array.name,
                    "sync_percent",
                    sync.percent,
                    action if sync.running else f"{action} waiting",
                    labels={"action": action},
                )
            )
            if sync.done is not None:
                out.append(Sample(ID, array.name, "blocks_synced", float(sync.done)))
            if sync.finish_minutes is not None:
                out.append(Sample(ID, array.name, "sync_finish_minutes", sync.finish_minutes))
        if array.sysfs is not None and array.sysfs.mismatch_cnt is not None:
            out.append(Sample(ID, array.name, "mismatch_cnt", float(array.sysfs.mismatch_cnt)))
    if report.unparsed:
        quoted = "; ".join(f"line {u.line}: {u.text.strip()}" for u in report.unparsed[:5])
        out.append(Sample(ID, MDSTAT_PATH, "unparsed", float(len(report.unparsed)), detail=quoted))
    return out
