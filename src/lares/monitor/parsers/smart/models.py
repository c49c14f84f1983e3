"""The models of smartmontools' output: a drive's report, its attributes and logs, exit bits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntFlag

from lares.monitor.parsers.health import Health

# The ATA attributes Scrutiny treats as failure predictors (after Backblaze's studies).
CRITICAL_ATTRIBUTES: Mapping[int, str] = {
    5: "Reallocated_Sector_Ct",
    10: "Spin_Retry_Count",
    184: "End-to-End_Error",
    187: "Reported_Uncorrect",
    188: "Command_Timeout",
    196: "Reallocated_Event_Count",
    197: "Current_Pending_Sector",
    198: "Offline_Uncorrectable",
    201: "Soft_Read_Error_Rate",
}
# A raw count above zero on these is a warning. 201 is left out: its raw value is a vendor-specific
# rate, often large on healthy drives.
WARN_WHEN_NONZERO = (5, 10, 184, 187, 188, 196, 197, 198)
TEMPERATURE_ATTRIBUTES = (194, 190)
POWER_ON_HOURS_ATTRIBUTE = 9
# NVMe critical_warning bit 1 is "temperature above or below threshold": a warning, not a failure.
NVME_TEMPERATURE_BIT = 0x02
NVME_WARNING_BITS = {
    0x01: "available spare below threshold",
    0x02: "temperature outside its thresholds",
    0x04: "reliability degraded by media or internal errors",
    0x08: "media placed in read-only mode",
    0x10: "volatile memory backup device failed",
    0x20: "persistent memory region became read-only",
}
# NVMe self-test results that mean the test found a fault (5 fatal, 6 unknown segment, 7 segment).
NVME_SELF_TEST_FAILED = (5, 6, 7)

STANDBY_RE = re.compile(r"Device is in (?P<mode>.+?) mode", re.IGNORECASE)


class ExitFlag(IntFlag):
    """The bits of smartctl's exit status (``man smartctl``, EXIT STATUS)."""

    NONE = 0
    COMMAND_LINE = 1  # bit 0: the command line did not parse
    DEVICE_OPEN_FAILED = 2  # bit 1: could not open, or a low-power mode with -n
    COMMAND_FAILED = 4  # bit 2: a SMART or ATA command failed, or a checksum error
    DISK_FAILING = 8  # bit 3: SMART status says DISK FAILING
    PREFAIL_AT_THRESHOLD = 16  # bit 4: a pre-fail attribute is at or below its threshold
    PAST_AT_THRESHOLD = 32  # bit 5: an attribute was at or below its threshold in the past
    ERROR_LOG = 64  # bit 6: the device error log has errors
    SELF_TEST_LOG = 128  # bit 7: the self-test log has errors


@dataclass(frozen=True, slots=True)
class Attribute:
    """One ATA SMART attribute.

    ``raw`` is the count a person reads: the first integer of ``raw.string`` (which smartctl has
    already decoded, so ``"2725 (151 234 0)"`` gives 2725), else ``raw.value``. ``when_failed`` is
    ``""``, ``"now"`` or ``"past"``.
    """

    id: int
    name: str
    value: int | None
    worst: int | None
    threshold: int | None
    raw: int | None
    raw_value: int | None
    raw_string: str | None
    prefailure: bool
    when_failed: str = ""


@dataclass(frozen=True, slots=True)
class NvmeLog:
    """The NVMe SMART/health information log; None where the JSON lacks a field."""

    critical_warning: int | None = None
    media_errors: int | None = None
    percentage_used: int | None = None
    available_spare: int | None = None
    available_spare_threshold: int | None = None
    num_err_log_entries: int | None = None
    unsafe_shutdowns: int | None = None
    temperature: int | None = None
    power_on_hours: int | None = None

    @property
    def critical_warnings(self) -> tuple[str, ...]:
        """The ``critical_warning`` bits that are set, in words."""
        bits = self.critical_warning or 0
        return tuple(text for bit, text in NVME_WARNING_BITS.items() if bits & bit)


@dataclass(frozen=True, slots=True)
class ScsiCounters:
    """SCSI/SAS counters: the grown defect list and uncorrected errors per direction."""

    grown_defects: int | None = None
    uncorrected_read: int | None = None
    uncorrected_write: int | None = None
    uncorrected_verify: int | None = None

    @property
    def uncorrected_total(self) -> int:
        counts = (self.uncorrected_read, self.uncorrected_write, self.uncorrected_verify)
        return sum(c for c in counts if c)


@dataclass(frozen=True, slots=True)
class SelfTestFailure:
    """A self-test log entry that did not pass.

    ATA ``lifetime_hours`` is a 16-bit counter in the log: it wraps at 65536 hours, so compare it
    with ``power_on_hours % 65536``, not with ``power_on_hours``.
    """

    kind: str
    status: str
    lifetime_hours: int | None = None
    lba: int | None = None


@dataclass(frozen=True, slots=True)
class SmartReport:
    """What one ``smartctl --json -a`` run says about one device, with a health verdict."""

    device: str | None = None
    device_type: str | None = None
    protocol: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    capacity_bytes: int | None = None
    smartctl_version: str | None = None
    exit_status: int | None = None
    exit_flags: ExitFlag = ExitFlag.NONE
    passed: bool | None = None
    temperature: int | None = None
    temperature_limit: int | None = None
    power_on_hours: int | None = None
    attributes: tuple[Attribute, ...] = ()
    nvme: NvmeLog | None = None
    scsi: ScsiCounters | None = None
    error_log_count: int | None = None
    self_test_failures: tuple[SelfTestFailure, ...] = ()
    messages: tuple[str, ...] = ()
    standby: bool = False
    health: Health = Health.UNKNOWN
    reasons: tuple[str, ...] = ()
    unparsed: tuple[str, ...] = ()

    def attribute(self, attribute_id: int) -> Attribute | None:
        """The ATA attribute with this id, or None."""
        return next((a for a in self.attributes if a.id == attribute_id), None)

    @property
    def critical(self) -> dict[int, int]:
        """Raw counts of the failure-predictor attributes the disk reports, by attribute id."""
        return {
            a.id: a.raw
            for a in self.attributes
            if a.id in CRITICAL_ATTRIBUTES and a.raw is not None
        }

    @property
    def failed_attributes(self) -> tuple[Attribute, ...]:
        """Attributes whose ``when_failed`` is not empty (``now`` or ``past``)."""
        return tuple(a for a in self.attributes if a.when_failed)


@dataclass(frozen=True, slots=True)
class ScanDevice:
    """One device from ``smartctl --scan -j``; pass ``type`` back with ``-d``."""

    name: str
    info_name: str | None = None
    type: str | None = None
    protocol: str | None = None
