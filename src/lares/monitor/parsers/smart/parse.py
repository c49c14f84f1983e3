"""Parse ``smartctl --json -a`` and ``smartctl --scan -j``, and the argv that produce them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from lares.monitor.parsers.smart.models import (
    NVME_SELF_TEST_FAILED,
    POWER_ON_HOURS_ATTRIBUTE,
    STANDBY_RE,
    TEMPERATURE_ATTRIBUTES,
    Attribute,
    ExitFlag,
    NvmeLog,
    ScanDevice,
    ScsiCounters,
    SelfTestFailure,
    SmartReport,
)
from lares.monitor.parsers.smart.verdict import assess
from lares.monitor.parsers.values import as_int, as_str, build


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
        if as_str(entry.get("name")):
            found.append(build(ScanDevice, entry))
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
    code = as_int(smartctl.get("exit_status"))
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
        device=as_str(device.get("name")),
        device_type=as_str(device.get("type")),
        protocol=as_str(device.get("protocol")),
        model=as_str(data.get("model_name")) or _model_from_parts(data),
        serial=as_str(data.get("serial_number")),
        firmware=as_str(data.get("firmware_version")) or as_str(data.get("revision")),
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
        temperature_limit=as_int(temperature.get("drive_trip"))
        or as_int(temperature.get("op_limit_max")),
        power_on_hours=_power_on_hours(data, attributes, nvme),
        attributes=attributes,
        nvme=nvme,
        scsi=scsi,
        error_log_count=_error_log_count(data.get("ata_smart_error_log")),
        self_test_failures=_self_test_failures(data, unparsed),
        messages=messages,
        standby=any(STANDBY_RE.search(m) for m in messages),
        unparsed=tuple(unparsed),
    )
    health, reasons = assess(report)
    return replace(report, health=health, reasons=reasons)


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
        text = as_str(entry.get("string")) if isinstance(entry, dict) else None
        if text is None:
            unparsed.append(f"smartctl.messages: entry without a string: {entry!r:.80}")
        else:
            found.append(text)
    return tuple(found)


def _model_from_parts(data: Mapping[str, object]) -> str | None:
    parts = [p for p in (as_str(data.get("vendor")), as_str(data.get("product"))) if p]
    return " ".join(parts) or None


def _capacity(data: Mapping[str, object]) -> int | None:
    user = data.get("user_capacity")
    if isinstance(user, dict) and (count := as_int(user.get("bytes"))) is not None:
        return count
    return as_int(data.get("nvme_total_capacity"))


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
        if not isinstance(entry, dict) or as_int(entry.get("id")) is None:
            unparsed.append(f"{where}: not an attribute with an integer id")
            continue
        raw_field = entry.get("raw")
        raw: dict[str, object] = raw_field if isinstance(raw_field, dict) else {}
        raw_value = as_int(raw.get("value"))
        raw_string = as_str(raw.get("string"))
        count = _first_int(raw_string)
        flags = entry.get("flags")
        when_failed = as_str(entry.get("when_failed")) or ""
        found.append(
            Attribute(
                id=as_int(entry.get("id")) or 0,
                name=as_str(entry.get("name")) or "",
                value=as_int(entry.get("value")),
                worst=as_int(entry.get("worst")),
                threshold=as_int(entry.get("thresh")),
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
    return build(NvmeLog, value)


def _scsi(data: Mapping[str, object], unparsed: list[str]) -> ScsiCounters | None:
    defects = as_int(data.get("scsi_grown_defect_list"))
    log = data.get("scsi_error_counter_log")
    if defects is None and log is None:
        return None
    counters = _dict(log, "scsi_error_counter_log", unparsed)

    def uncorrected(direction: str) -> int | None:
        entry = counters.get(direction)
        return as_int(entry.get("total_uncorrected_errors")) if isinstance(entry, dict) else None

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
    current = as_int(temperature.get("current"))
    if current is not None:
        return current
    for attribute_id in TEMPERATURE_ATTRIBUTES:
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
    if isinstance(power_on, dict) and (hours := as_int(power_on.get("hours"))) is not None:
        return hours
    for attribute in attributes:
        if attribute.id == POWER_ON_HOURS_ATTRIBUTE:
            return attribute.raw
    return nvme.power_on_hours if nvme is not None else None


def _error_log_count(value: object) -> int | None:
    if not isinstance(value, dict):
        return None
    for key in ("extended", "summary"):
        section = value.get(key)
        if isinstance(section, dict) and (count := as_int(section.get("count"))) is not None:
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
                    failures.append(_failure(entry, "type", status, "lifetime_hours"))
            break  # the extended log, when present, already holds the standard one
    nvme = data.get("nvme_self_test_log")
    table = nvme.get("table") if isinstance(nvme, dict) else None
    if isinstance(table, list):
        for entry in table:
            if not isinstance(entry, dict):
                continue
            result = entry.get("self_test_result")
            code = as_int(result.get("value")) if isinstance(result, dict) else None
            if code in NVME_SELF_TEST_FAILED and isinstance(result, dict):
                failures.append(_failure(entry, "self_test_code", result, "power_on_hours"))
    return tuple(failures)


def _failure(
    entry: dict[str, object], kind: str, status: dict[str, object], hours: str
) -> SelfTestFailure:
    """A failed entry of a self-test log: its test named under ``kind``, its result ``status``
    and its power-on hours under ``hours``."""
    test = entry.get(kind)
    return SelfTestFailure(
        kind=(as_str(test.get("string")) if isinstance(test, dict) else None) or "",
        status=as_str(status.get("string")) or "",
        lifetime_hours=as_int(entry.get(hours)),
        lba=as_int(entry.get("lba")),
    )
