"""Disk health from smartmontools: parse ``smartctl --json -a`` and ``smartctl --scan -j``.

:func:`command` says what to run for one device and :func:`parse` reads its JSON (ATA, NVMe and
SCSI) into a :class:`SmartReport`: identity, the decoded exit status, the overall self-assessment,
temperature, power-on hours, the ATA attributes that predict failure, NVMe and SCSI error counters,
failed self-tests, and a :class:`SmartHealth` verdict with its reasons.

smartctl's exit status is a bitmask (:class:`ExitFlag`), not a pass/fail code: a healthy disk
with an old entry in its error log exits 64. The runner must not treat a non-zero exit as a failed
command; it passes the JSON (and, if the JSON lacks it, the exit code) to :func:`parse`. With
``-n standby`` a sleeping disk is not woken: smartctl exits 2 and prints only a message, which
:func:`parse` reports as health ``unknown`` with ``standby`` set.

Health rules (every rule that matches adds a reason; the worst level wins):

* ``failing``: the disk's own verdict is FAILED (``smart_status.passed`` false, exit bit 3),
  a pre-failure attribute is at or below its threshold now (exit bit 4, ``when_failed: now``),
  NVMe ``critical_warning`` has a bit other than temperature set, or NVMe available spare is below
  its threshold.
* ``warning``: a failure-predictor counter is above zero (5, 10, 184, 187, 188, 196, 197, 198),
  an attribute failed in the past or an old-age attribute fails now, the error log has entries,
  a self-test failed, NVMe ``media_errors`` > 0 or ``percentage_used`` >= 100 or a temperature
  warning, SCSI grown defects or uncorrected errors > 0.
* ``unknown``: no health data at all (standby, device open failed, not JSON ...).
* ``ok``: health data is present and none of the above matched.

As a collector (``ID = "smart"``, hourly), :func:`collect` runs :func:`scan_command`, then
:func:`command` per device through :mod:`lares.run` without treating the exit bitmask as a
failure, and :func:`samples` turns each report into samples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import IntFlag, StrEnum
from typing import TYPE_CHECKING

from lares.monitor.collectors import Sample
from lares.text import counted

if TYPE_CHECKING:
    from lares.monitor.collectors import Context

__all__ = [
    "CRITICAL_ATTRIBUTES",
    "Attribute",
    "ExitFlag",
    "NvmeLog",
    "ScanDevice",
    "ScsiCounters",
    "SelfTestFailure",
    "SmartHealth",
    "SmartReport",
    "command",
    "decode_exit_status",
    "parse",
    "parse_scan",
    "scan_command",
]

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
_WARN_WHEN_NONZERO = (5, 10, 184, 187, 188, 196, 197, 198)
_TEMPERATURE_ATTRIBUTES = (194, 190)
_POWER_ON_HOURS_ATTRIBUTE = 9
# NVMe critical_warning bit 1 is "temperature above or below threshold": a warning, not a failure.
_NVME_TEMPERATURE_BIT = 0x02
_NVME_WARNING_BITS = {
    0x01: "available spare below threshold",
    0x02: "temperature outside its thresholds",
    0x04: "reliability degraded by media or internal errors",
    0x08: "media placed in read-only mode",
    0x10: "volatile memory backup device failed",
    0x20: "persistent memory region became read-only",
}
# NVMe self-test results that mean the test found a fault (5 fatal, 6 unknown segment, 7 segment).
_NVME_SELF_TEST_FAILED = (5, 6, 7)


class SmartHealth(StrEnum):
    """What an alert rule needs to know about one disk."""

    OK = "ok"
    WARNING = "warning"
    FAILING = "failing"
    UNKNOWN = "unknown"


_RANK = {SmartHealth.OK: 0, SmartHealth.UNKNOWN: 1, SmartHealth.WARNING: 2, SmartHealth.FAILING: 3}


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
        return tuple(text for bit, text in _NVME_WARNING_BITS.items() if bits & bit)


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
    health: SmartHealth = SmartHealth.UNKNOWN
    reasons: tuple[str, ...] = ()
    unparsed: tuple[str, ...] = ()

    def attribute(self, attribute_id: int) -> Attribute | None:
        """The ATA attribute with this id, or None."""
        for attribute in self.attributes:
            if attribute.id == attribute_id:
                return attribute
        return None

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


def command(device: str, *, device_type: str | None = None) -> tuple[str, ...]:
    """The argv that reads one device without waking it from standby.

    smartctl exits with a bitmask (see :class:`ExitFlag`); run it without treating a non-zero exit
    as failure and hand the output to :func:`parse`. ``device_type`` (``sat``, ``nvme``, as
    :func:`parse_scan` found it) adds ``-d TYPE``, which USB bridges need.
    """
    if device_type:
        return ("smartctl", "--json", "-a", "-n", "standby", "-d", device_type, device)
    return ("smartctl", "--json", "-a", "-n", "standby", device)


def scan_command() -> tuple[str, ...]:
    """The argv that lists the devices smartctl can see, as JSON for :func:`parse_scan`."""
    return ("smartctl", "--scan", "-j")


def decode_exit_status(code: int) -> ExitFlag:
    """The named bits of a smartctl exit status; bits above 7 are dropped."""
    return ExitFlag(code & 0xFF)


def parse_scan(doc: Mapping[str, object] | str) -> list[ScanDevice]:
    """The devices of ``smartctl --scan -j`` output; entries without a name are skipped."""
    data = _load(doc, [])
    devices = data.get("devices") if data is not None else None
    found: list[ScanDevice] = []
    if not isinstance(devices, list):
        return found
    for entry in devices:
        if not isinstance(entry, dict):
            continue
        name = _str(entry.get("name"))
        if name:
            found.append(
                ScanDevice(
                    name=name,
                    info_name=_str(entry.get("info_name")),
                    type=_str(entry.get("type")),
                    protocol=_str(entry.get("protocol")),
                )
            )
    return found


def parse(doc: Mapping[str, object] | str, *, exit_status: int | None = None) -> SmartReport:
    """Read one ``smartctl --json -a`` document (text or already decoded); never raises.

    ``exit_status`` is the process exit code, used only when the JSON has no
    ``smartctl.exit_status``. Fields of the wrong type, and text that is not a JSON object, are
    reported in ``unparsed``.
    """
    unparsed: list[str] = []
    data = _load(doc, unparsed)
    if data is None:
        flags = decode_exit_status(exit_status) if exit_status is not None else ExitFlag.NONE
        return SmartReport(
            exit_status=exit_status,
            exit_flags=flags,
            reasons=("smartctl printed no JSON object",),
            unparsed=tuple(unparsed),
        )

    smartctl = _dict(data.get("smartctl"), "smartctl", unparsed)
    device = _dict(data.get("device"), "device", unparsed)
    code = _int(smartctl.get("exit_status"))
    if code is None:
        code = exit_status
    messages = _messages(smartctl.get("messages"), unparsed)
    version = smartctl.get("version")
    attributes = _attributes(data.get("ata_smart_attributes"), unparsed)
    nvme = _nvme(data.get("nvme_smart_health_information_log"), unparsed)
    scsi = _scsi(data, unparsed)
    smart_status = _dict(data.get("smart_status"), "smart_status", unparsed)
    passed = smart_status.get("passed")
    temperature = _dict(data.get("temperature"), "temperature", unparsed)

    report = SmartReport(
        device=_str(device.get("name")),
        device_type=_str(device.get("type")),
        protocol=_str(device.get("protocol")),
        model=_str(data.get("model_name")) or _model_from_parts(data),
        serial=_str(data.get("serial_number")),
        firmware=_str(data.get("firmware_version")) or _str(data.get("revision")),
        capacity_bytes=_capacity(data),
        smartctl_version=(
            ".".join(str(p) for p in version if isinstance(p, int))
            if isinstance(version, list)
            else None
        ),
        exit_status=code,
        exit_flags=decode_exit_status(code) if code is not None else ExitFlag.NONE,
        passed=passed if isinstance(passed, bool) else None,
        temperature=_temperature(temperature, attributes, nvme),
        temperature_limit=_int(temperature.get("drive_trip"))
        or _int(temperature.get("op_limit_max")),
        power_on_hours=_power_on_hours(data, attributes, nvme),
        attributes=attributes,
        nvme=nvme,
        scsi=scsi,
        error_log_count=_error_log_count(data.get("ata_smart_error_log")),
        self_test_failures=_self_test_failures(data, unparsed),
        messages=messages,
        standby=any(_STANDBY_RE.search(m) for m in messages),
        unparsed=tuple(unparsed),
    )
    health, reasons = _assess(report)
    return replace(report, health=health, reasons=reasons)


_STANDBY_RE = re.compile(r"Device is in (?P<mode>.+?) mode", re.IGNORECASE)
_FIRST_INT_RE = re.compile(r"^\s*(?:0x(?P<hex>[0-9a-fA-F]+)|(?P<dec>-?\d+))")


def _load(doc: Mapping[str, object] | str, unparsed: list[str]) -> dict[str, object] | None:
    if isinstance(doc, str):
        try:
            loaded: object = json.loads(doc)
        except ValueError as exc:
            unparsed.append(f"not JSON: {exc}")
            return None
    else:
        loaded = doc
    if isinstance(loaded, Mapping):
        return {str(k): v for k, v in loaded.items()}
    unparsed.append(f"not a JSON object: {type(loaded).__name__}")
    return None


def _dict(value: object, where: str, unparsed: list[str]) -> dict[str, object]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    unparsed.append(f"{where}: expected an object, got {type(value).__name__}")
    return {}


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _first_int(text: str | None) -> int | None:
    if not text:
        return None
    match = _FIRST_INT_RE.match(text)
    if match is None:
        return None
    if match["hex"] is not None:
        return int(match["hex"], 16)
    return int(match["dec"])


def _messages(value: object, unparsed: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        unparsed.append("smartctl.messages: expected a list")
        return ()
    found: list[str] = []
    for entry in value:
        text = _str(entry.get("string")) if isinstance(entry, dict) else None
        if text is None:
            unparsed.append(f"smartctl.messages: entry without a string: {entry!r:.80}")
        else:
            found.append(text)
    return tuple(found)


def _model_from_parts(data: Mapping[str, object]) -> str | None:
    parts = [p for p in (_str(data.get("vendor")), _str(data.get("product"))) if p]
    return " ".join(parts) or None


def _capacity(data: Mapping[str, object]) -> int | None:
    user = data.get("user_capacity")
    if isinstance(user, dict) and (count := _int(user.get("bytes"))) is not None:
        return count
    return _int(data.get("nvme_total_capacity"))


def _attributes(value: object, unparsed: list[str]) -> tuple[Attribute, ...]:
    if value is None:
        return ()
    table = value.get("table") if isinstance(value, dict) else None
    if not isinstance(table, list):
        unparsed.append("ata_smart_attributes: no table list")
        return ()
    found: list[Attribute] = []
    for position, entry in enumerate(table):
        where = f"ata_smart_attributes.table[{position}]"
        if not isinstance(entry, dict) or _int(entry.get("id")) is None:
            unparsed.append(f"{where}: not an attribute with an integer id")
            continue
        raw_field = entry.get("raw")
        raw: dict[str, object] = raw_field if isinstance(raw_field, dict) else {}
        raw_value = _int(raw.get("value"))
        raw_string = _str(raw.get("string"))
        count = _first_int(raw_string)
        flags = entry.get("flags")
        when_failed = _str(entry.get("when_failed")) or ""
        found.append(
            Attribute(
                id=_int(entry.get("id")) or 0,
                name=_str(entry.get("name")) or "",
                value=_int(entry.get("value")),
                worst=_int(entry.get("worst")),
                threshold=_int(entry.get("thresh")),
                raw=count if count is not None else raw_value,
                raw_value=raw_value,
                raw_string=raw_string,
                prefailure=isinstance(flags, dict) and flags.get("prefailure") is True,
                when_failed=when_failed.strip(),
            )
        )
    return tuple(found)


def _nvme(value: object, unparsed: list[str]) -> NvmeLog | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        unparsed.append("nvme_smart_health_information_log: expected an object")
        return None
    return NvmeLog(
        critical_warning=_int(value.get("critical_warning")),
        media_errors=_int(value.get("media_errors")),
        percentage_used=_int(value.get("percentage_used")),
        available_spare=_int(value.get("available_spare")),
        available_spare_threshold=_int(value.get("available_spare_threshold")),
        num_err_log_entries=_int(value.get("num_err_log_entries")),
        unsafe_shutdowns=_int(value.get("unsafe_shutdowns")),
        temperature=_int(value.get("temperature")),
        power_on_hours=_int(value.get("power_on_hours")),
    )


def _scsi(data: Mapping[str, object], unparsed: list[str]) -> ScsiCounters | None:
    defects = _int(data.get("scsi_grown_defect_list"))
    log = data.get("scsi_error_counter_log")
    if defects is None and log is None:
        return None
    counters = _dict(log, "scsi_error_counter_log", unparsed)

    def uncorrected(direction: str) -> int | None:
        entry = counters.get(direction)
        return _int(entry.get("total_uncorrected_errors")) if isinstance(entry, dict) else None

    return ScsiCounters(
        grown_defects=defects,
        uncorrected_read=uncorrected("read"),
        uncorrected_write=uncorrected("write"),
        uncorrected_verify=uncorrected("verify"),
    )


def _attribute_reading(attribute: Attribute) -> int | None:
    """Temperature-style reading: the first number smartctl printed, else the low raw byte."""
    if attribute.raw_string is not None and (value := _first_int(attribute.raw_string)) is not None:
        return value
    if attribute.raw_value is not None:
        return attribute.raw_value & 0xFF
    return None


def _temperature(
    temperature: Mapping[str, object], attributes: Sequence[Attribute], nvme: NvmeLog | None
) -> int | None:
    current = _int(temperature.get("current"))
    if current is not None:
        return current
    for attribute_id in _TEMPERATURE_ATTRIBUTES:
        for attribute in attributes:
            if (
                attribute.id == attribute_id
                and (value := _attribute_reading(attribute)) is not None
            ):
                return value
    return nvme.temperature if nvme is not None else None


def _power_on_hours(
    data: Mapping[str, object], attributes: Sequence[Attribute], nvme: NvmeLog | None
) -> int | None:
    power_on = data.get("power_on_time")
    if isinstance(power_on, dict) and (hours := _int(power_on.get("hours"))) is not None:
        return hours
    for attribute in attributes:
        if attribute.id == _POWER_ON_HOURS_ATTRIBUTE:
            return attribute.raw
    return nvme.power_on_hours if nvme is not None else None


def _error_log_count(value: object) -> int | None:
    if not isinstance(value, dict):
        return None
    for key in ("extended", "summary"):
        section = value.get(key)
        if isinstance(section, dict) and (count := _int(section.get("count"))) is not None:
            return count
    return None


def _self_test_failures(
    data: Mapping[str, object], unparsed: list[str]
) -> tuple[SelfTestFailure, ...]:
    failures: list[SelfTestFailure] = []
    ata = data.get("ata_smart_self_test_log")
    if isinstance(ata, dict):
        for key in ("extended", "standard"):
            section = ata.get(key)
            table = section.get("table") if isinstance(section, dict) else None
            if not isinstance(table, list):
                continue
            for entry in table:
                if not isinstance(entry, dict):
                    unparsed.append(f"ata_smart_self_test_log.{key}.table: entry is not an object")
                    continue
                status = entry.get("status")
                if isinstance(status, dict) and status.get("passed") is False:
                    kind = entry.get("type")
                    failures.append(
                        SelfTestFailure(
                            kind=(_str(kind.get("string")) if isinstance(kind, dict) else None)
                            or "",
                            status=_str(status.get("string")) or "",
                            lifetime_hours=_int(entry.get("lifetime_hours")),
                            lba=_int(entry.get("lba")),
                        )
                    )
            break  # the extended log, when present, already holds the standard one
    nvme = data.get("nvme_self_test_log")
    table = nvme.get("table") if isinstance(nvme, dict) else None
    if isinstance(table, list):
        for entry in table:
            if not isinstance(entry, dict):
                continue
            result = entry.get("self_test_result")
            code = _int(result.get("value")) if isinstance(result, dict) else None
            if code in _NVME_SELF_TEST_FAILED and isinstance(result, dict):
                kind = entry.get("self_test_code")
                failures.append(
                    SelfTestFailure(
                        kind=(_str(kind.get("string")) if isinstance(kind, dict) else None) or "",
                        status=_str(result.get("string")) or "",
                        lifetime_hours=_int(entry.get("power_on_hours")),
                        lba=_int(entry.get("lba")),
                    )
                )
    return tuple(failures)


def _assess(report: SmartReport) -> tuple[SmartHealth, tuple[str, ...]]:
    found: list[tuple[SmartHealth, str]] = []

    def add(level: SmartHealth, reason: str) -> None:
        found.append((level, reason))

    flags = report.exit_flags
    has_data = bool(report.passed is not None or report.attributes or report.nvme or report.scsi)
    if report.standby:
        modes = [m for m in report.messages if _STANDBY_RE.search(m)]
        return SmartHealth.UNKNOWN, (f"standby: not woken to read SMART ({modes[0]})",)
    if not has_data:
        reasons = [f"no SMART data ({m})" for m in report.messages] or ["no SMART data"]
        for flag in (ExitFlag.COMMAND_LINE, ExitFlag.DEVICE_OPEN_FAILED, ExitFlag.COMMAND_FAILED):
            if flag in flags:
                reasons.append(f"smartctl exit bit {flag.bit_length() - 1}: {flag.name}")
        return SmartHealth.UNKNOWN, tuple(reasons)

    if report.passed is False:
        add(SmartHealth.FAILING, "SMART overall-health self-assessment: FAILED")
    if ExitFlag.DISK_FAILING in flags and report.passed is not False:
        add(SmartHealth.FAILING, "smartctl exit bit 3: SMART status says DISK FAILING")
    if ExitFlag.PREFAIL_AT_THRESHOLD in flags:
        add(SmartHealth.FAILING, "smartctl exit bit 4: a pre-fail attribute is at its threshold")
    if ExitFlag.PAST_AT_THRESHOLD in flags:
        add(SmartHealth.WARNING, "smartctl exit bit 5: an attribute was at its threshold before")
    if ExitFlag.ERROR_LOG in flags and not report.error_log_count:
        add(SmartHealth.WARNING, "smartctl exit bit 6: the error log has errors")
    if ExitFlag.SELF_TEST_LOG in flags and not report.self_test_failures:
        add(SmartHealth.WARNING, "smartctl exit bit 7: the self-test log has errors")

    for attribute in report.attributes:
        label = f"{attribute.name or 'attribute'} ({attribute.id})"
        if attribute.when_failed == "now":
            level = SmartHealth.FAILING if attribute.prefailure else SmartHealth.WARNING
            add(level, f"{label} failing now: value {attribute.value} <= {attribute.threshold}")
        elif attribute.when_failed:
            add(SmartHealth.WARNING, f"{label} failed in the past ({attribute.when_failed})")
        if attribute.id in _WARN_WHEN_NONZERO and attribute.raw:
            add(SmartHealth.WARNING, f"{label} raw {attribute.raw} > 0")
    if report.error_log_count:
        add(SmartHealth.WARNING, f"ATA error log holds {counted(report.error_log_count, 'error')}")
    for failure in report.self_test_failures:
        at = f" at {failure.lifetime_hours} h" if failure.lifetime_hours is not None else ""
        add(SmartHealth.WARNING, f"self-test failed{at}: {failure.kind}: {failure.status}")

    nvme = report.nvme
    if nvme is not None:
        bits = nvme.critical_warning or 0
        if bits & ~_NVME_TEMPERATURE_BIT:
            add(SmartHealth.FAILING, "NVMe critical warning: " + "; ".join(nvme.critical_warnings))
        elif bits:
            add(SmartHealth.WARNING, "NVMe critical warning: " + "; ".join(nvme.critical_warnings))
        spare, floor = nvme.available_spare, nvme.available_spare_threshold
        if spare is not None and floor is not None and spare < floor:
            add(SmartHealth.FAILING, f"NVMe available spare {spare}% below threshold {floor}%")
        if nvme.media_errors:
            add(SmartHealth.WARNING, f"NVMe media errors: {nvme.media_errors}")
        if nvme.percentage_used is not None and nvme.percentage_used >= 100:
            add(SmartHealth.WARNING, f"NVMe endurance used: {nvme.percentage_used}%")

    scsi = report.scsi
    if scsi is not None:
        if scsi.grown_defects:
            add(SmartHealth.WARNING, f"SCSI grown defect list: {scsi.grown_defects}")
        if scsi.uncorrected_total:
            add(SmartHealth.WARNING, f"SCSI uncorrected errors: {scsi.uncorrected_total}")

    if not found:
        return SmartHealth.OK, ()
    worst = max((level for level, _ in found), key=_RANK.__getitem__)
    return worst, tuple(reason for _, reason in found)


# ---------------------------------------------------------------------------------------------
# Collecting: scan, then read each drive without waking it

ID = "smart"
DEFAULT_INTERVAL: float | None = 3600.0


def collect(ctx: Context) -> list[Sample]:
    """Run :func:`scan_command`, then :func:`command` per device (a non-zero exit is data).

    Without smartctl there is one ``smartctl``/``available`` sample at 0, which the rules turn
    into a warning when the blueprint names drives.
    """
    from lares import run

    if run.which("smartctl") is None:
        return [Sample(ID, "smartctl", "available", 0.0, "missing", "smartctl is not installed")]
    scan = run.run(scan_command(), check=False, timeout=60, what="list the drives smartctl sees")
    out = [Sample(ID, "smartctl", "available", 1.0, "present")]
    for device in parse_scan(scan.stdout or "{}"):
        result = run.run(
            command(device.name, device_type=device.type),
            check=False,
            timeout=120,
            what=f"read the SMART data of {device.name}",
        )
        out += samples(parse(result.stdout, exit_status=result.returncode), device=device.name)
    return out


def samples(report: SmartReport, *, device: str | None = None) -> list[Sample]:
    """Samples of one drive: health (with its reasons), temperature, the failure predictors.

    ``attr_<id>`` carries the raw count of each ATA failure predictor the drive reports;
    ``nvme_media_errors`` and friends come from the NVMe health log. A drive in standby gives
    health ``unknown`` and ``standby`` 1, and nothing else, since it was not woken.
    """
    name = device or report.device or "unknown"
    labels = {
        "model": report.model or "",
        "serial": report.serial or "",
        "protocol": report.protocol or "",
    }
    out = [
        Sample(
            ID,
            name,
            "health",
            1.0 if report.health is SmartHealth.OK else 0.0,
            report.health.value,
            "; ".join(report.reasons),
            labels,
        ),
        Sample(ID, name, "standby", 1.0 if report.standby else 0.0, labels=labels),
    ]
    if report.exit_status is not None:
        out.append(Sample(ID, name, "exit_status", float(report.exit_status), labels=labels))
    if report.passed is not None:
        out.append(Sample(ID, name, "passed", 1.0 if report.passed else 0.0, labels=labels))
    if report.temperature is not None:
        extra = dict(labels)
        if report.temperature_limit is not None:
            extra["limit"] = str(report.temperature_limit)
        out.append(Sample(ID, name, "temperature_celsius", float(report.temperature), labels=extra))
    if report.power_on_hours is not None:
        out.append(Sample(ID, name, "power_on_hours", float(report.power_on_hours), labels=labels))
    for attribute_id, raw in sorted(report.critical.items()):
        named = {**labels, "attribute": CRITICAL_ATTRIBUTES[attribute_id]}
        out.append(Sample(ID, name, f"attr_{attribute_id}", float(raw), labels=named))
    nvme = report.nvme
    if nvme is not None:
        for metric, value in (
            ("nvme_media_errors", nvme.media_errors),
            ("nvme_percentage_used", nvme.percentage_used),
            ("nvme_critical_warning", nvme.critical_warning),
            ("nvme_available_spare", nvme.available_spare),
        ):
            if value is not None:
                out.append(Sample(ID, name, metric, float(value), labels=labels))
    scsi = report.scsi
    if scsi is not None:
        if scsi.grown_defects is not None:
            out.append(
                Sample(ID, name, "scsi_grown_defects", float(scsi.grown_defects), labels=labels)
            )
        out.append(
            Sample(ID, name, "scsi_uncorrected", float(scsi.uncorrected_total), labels=labels)
        )
    if report.unparsed:
        quoted = "; ".join(report.unparsed[:5])
        out.append(Sample(ID, name, "unparsed", float(len(report.unparsed)), detail=quoted))
    return out
