"""Parse ``/proc/mdstat`` and ``/sys/block/mdX/md/*`` into the models; never raises."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from lares.monitor.parsers.health import Unparsed
from lares.monitor.parsers.mdstat.models import (
    Bitmap,
    DeviceRole,
    MdArray,
    MdDevice,
    MdstatReport,
    MdSysfs,
    SyncAction,
    SyncProgress,
)
from lares.monitor.parsers.mdstat.verdict import assessed
from lares.monitor.parsers.values import build

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
        arrays=tuple(assessed(b.build()) for b in builders),
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
    return build(MdSysfs, fields, unparsed=tuple(problems))


def refine(array: MdArray, sysfs: MdSysfs) -> MdArray:
    """Return ``array`` with ``sysfs`` attached and its health decided again.

    sysfs is the kernel's own answer and wins where it speaks: ``array_state`` ``inactive`` or
    ``clear`` makes the array inactive, ``broken`` makes it failed, ``degraded`` > 0 makes it
    degraded (or rebuilding while ``sync_action`` is ``recover``), and ``check``/``repair`` make a
    complete array checking. ``mismatch_cnt`` is kept for rules but does not change health: on
    raid1/raid10 with swap it is often non-zero and harmless.
    """
    return assessed(replace(array, sysfs=sysfs))


def _bracketed(text: str) -> tuple[list[str], str]:
    """Names in ``[...]`` tokens, and whatever else was left over (stripped)."""
    names = re.findall(r"\[([^\]\s]+)\]", text)
    rest = re.sub(r"\[[^\]\s]+\]", " ", text).strip()
    return names, rest


def _progress(match: re.Match[str]) -> SyncProgress:
    return SyncProgress(
        action=SyncAction(match["action"]),
        percent=float(match["percent"]),
        done=_int_or_none(match["done"]),
        total=_int_or_none(match["total"]),
        finish_minutes=float(match["finish"]) if match["finish"] else None,
        speed_kib_s=_int_or_none(match["speed"]),
    )


def _waiting(match: re.Match[str]) -> SyncProgress:
    return SyncProgress(
        action=SyncAction(match["action"]),
        delayed=match["flag"] == "DELAYED",
        pending=match["flag"] == "PENDING",
    )


def _bitmap(match: re.Match[str]) -> Bitmap:
    return Bitmap(
        pages_used=int(match["used"]),
        pages_total=int(match["total"]),
        size_kib=int(match["size"]),
        chunk_kib=int(match["chunk"]),
        file=match["file"],
    )


#: The lines of an array that set one of its fields (the first one of each key counts), in the
#: order they are tried: the field, the line, what the field is made of.
_FIELD_LINES: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], object]], ...] = (
    ("sync", _PROGRESS_RE, _progress),
    ("sync", _WAITING_RE, _waiting),
    ("bitmap", _BITMAP_RE, _bitmap),
)


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
        for key, pattern, make in _FIELD_LINES:
            if key not in self.fields and (match := pattern.match(line)):
                self.fields[key] = make(match)
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
        return build(MdArray, self.fields, devices=tuple(self.devices))


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
