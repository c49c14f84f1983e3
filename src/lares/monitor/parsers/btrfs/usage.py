"""``btrfs filesystem usage`` and ``btrfs device usage``: allocation, profiles, missing devices."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lares.monitor.parsers.btrfs.common import (
    Assessed,
    Assessment,
    is_raw,
    lines,
    parse_size,
    verdict,
)
from lares.monitor.parsers.health import Health, Report, Unparsed
from lares.monitor.parsers.values import build


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
class FilesystemUsage(Report, Assessed):
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

    def profile(self, kind: str) -> tuple[ProfileUsage, ...]:
        """The blocks of one kind (``Data``); more than one means mixed profiles."""
        return tuple(p for p in self.profiles if p.kind.lower() == kind.lower())

    @property
    def assessment(self) -> Assessment:
        """``degraded`` when a device is missing, ``warning`` when profiles are mixed."""
        found: list[tuple[Health, str]] = []
        if self.device_missing:
            found.append((Health.DEGRADED, f"device missing: {self.device_missing} bytes"))
        missing = sorted(
            {
                amount.device
                for amount in (*self.unallocated, *(d for p in self.profiles for d in p.devices))
                if _missing_device(amount.device)
            }
        )
        if missing and not self.device_missing:
            found.append((Health.DEGRADED, f"device missing: {', '.join(missing)}"))
        kinds = [p.kind for p in self.profiles]
        mixed = sorted({k for k in kinds if kinds.count(k) > 1})
        if self.multiple_profiles:
            found.append(
                (Health.WARNING, "multiple profiles in use: finish the balance or convert")
            )
        elif mixed:
            found.append((Health.WARNING, f"multiple profiles for {', '.join(mixed)}"))
        if self.device_size is None:
            return verdict(found, Health.UNKNOWN, "no Overall block was read")
        return verdict(found, Health.OK)


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
            profiles.append(build(ProfileUsage, profile_header, devices=tuple(profile_devices)))
        profile_header, profile_devices = None, []

    for number, line in lines(text):
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
                raw_bytes = raw_bytes and is_raw(match["size"]) and is_raw(match["used"])
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
                    raw_bytes = raw_bytes and is_raw(match["value"])
                continue
        if section in ("profile", "unallocated") and (match := _DEVICE_AMOUNT_RE.match(line)):
            amount = parse_size(match["amount"])
            if amount is not None:
                raw_bytes = raw_bytes and is_raw(match["amount"])
                entry = DeviceAmount(match["device"], amount)
                (profile_devices if section == "profile" else unallocated).append(entry)
                continue
        unparsed.append(Unparsed(number, line))
    close_profile()

    return build(
        FilesystemUsage,
        values,
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
class DeviceUsageReport(Report, Assessed):
    """Every device block of ``btrfs device usage``, in order."""

    devices: tuple[DeviceUsage, ...] = ()

    @property
    def assessment(self) -> Assessment:
        found = [
            (Health.DEGRADED, f"device missing: devid {d.devid}")
            for d in self.devices
            if _missing_device(d.device)
        ]
        if not self.devices:
            return verdict(found, Health.UNKNOWN, "no device blocks were read")
        return verdict(found, Health.OK)


_DEVICE_HEADER_RE = re.compile(r"^(?P<device>\S.*?),\s+ID:\s+(?P<devid>\d+)\s*$")
_DEVICE_LINE_RE = re.compile(r"^\s+(?P<key>[^:]+):\s+(?P<value>\S+)\s*$")


def parse_device_usage(text: str) -> DeviceUsageReport:
    """Parse ``btrfs device usage [-b] <path>``; never raises."""
    devices: list[DeviceUsage] = []
    unparsed: list[Unparsed] = []
    current: DeviceUsage | None = None
    for number, line in lines(text):
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
