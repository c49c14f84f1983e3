"""The models of Linux software RAID: arrays, members, sync progress, sysfs attributes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from lares.monitor.parsers.health import Report


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
class MdstatReport(Report):
    """Everything read from one ``/proc/mdstat``."""

    personalities: tuple[str, ...] = ()
    arrays: tuple[MdArray, ...] = ()
    unused_devices: tuple[str, ...] = ()

    def get(self, name: str) -> MdArray | None:
        """The array called ``name`` (``md0``), or None."""
        return next((array for array in self.arrays if array.name == name), None)

    @property
    def ok(self) -> bool:
        return all(array.ok for array in self.arrays)
