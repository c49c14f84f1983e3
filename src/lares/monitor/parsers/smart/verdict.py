"""The health of one drive: every rule that matches adds a reason, the worst level wins."""

from __future__ import annotations

from lares.monitor.parsers.health import Health, worst
from lares.monitor.parsers.smart.models import (
    NVME_TEMPERATURE_BIT,
    STANDBY_RE,
    WARN_WHEN_NONZERO,
    ExitFlag,
    SmartReport,
)
from lares.text import counted


def assess(report: SmartReport) -> tuple[Health, tuple[str, ...]]:
    found: list[tuple[Health, str]] = []

    def add(level: Health, reason: str) -> None:
        found.append((level, reason))

    flags = report.exit_flags
    has_data = bool(report.passed is not None or report.attributes or report.nvme or report.scsi)
    if report.standby:
        modes = [m for m in report.messages if STANDBY_RE.search(m)]
        return Health.UNKNOWN, (f"standby: not woken to read SMART ({modes[0]})",)
    if not has_data:
        reasons = [f"no SMART data ({m})" for m in report.messages] or ["no SMART data"]
        for flag in (ExitFlag.COMMAND_LINE, ExitFlag.DEVICE_OPEN_FAILED, ExitFlag.COMMAND_FAILED):
            if flag in flags:
                reasons.append(f"smartctl exit bit {flag.bit_length() - 1}: {flag.name}")
        return Health.UNKNOWN, tuple(reasons)

    if report.passed is False:
        add(Health.FAILING, "SMART overall-health self-assessment: FAILED")
    if ExitFlag.DISK_FAILING in flags and report.passed is not False:
        add(Health.FAILING, "smartctl exit bit 3: SMART status says DISK FAILING")
    if ExitFlag.PREFAIL_AT_THRESHOLD in flags:
        add(Health.FAILING, "smartctl exit bit 4: a pre-fail attribute is at its threshold")
    if ExitFlag.PAST_AT_THRESHOLD in flags:
        add(Health.WARNING, "smartctl exit bit 5: an attribute was at its threshold before")
    if ExitFlag.ERROR_LOG in flags and not report.error_log_count:
        add(Health.WARNING, "smartctl exit bit 6: the error log has errors")
    if ExitFlag.SELF_TEST_LOG in flags and not report.self_test_failures:
        add(Health.WARNING, "smartctl exit bit 7: the self-test log has errors")

    for attribute in report.attributes:
        label = f"{attribute.name or 'attribute'} ({attribute.id})"
        if attribute.when_failed == "now":
            level = Health.FAILING if attribute.prefailure else Health.WARNING
            add(level, f"{label} failing now: value {attribute.value} <= {attribute.threshold}")
        elif attribute.when_failed:
            add(Health.WARNING, f"{label} failed in the past ({attribute.when_failed})")
        if attribute.id in WARN_WHEN_NONZERO and attribute.raw:
            add(Health.WARNING, f"{label} raw {attribute.raw} > 0")
    if report.error_log_count:
        add(Health.WARNING, f"ATA error log holds {counted(report.error_log_count, 'error')}")
    for failure in report.self_test_failures:
        at = f" at {failure.lifetime_hours} h" if failure.lifetime_hours is not None else ""
        add(Health.WARNING, f"self-test failed{at}: {failure.kind}: {failure.status}")

    nvme = report.nvme
    if nvme is not None:
        bits = nvme.critical_warning or 0
        if bits & ~NVME_TEMPERATURE_BIT:
            add(Health.FAILING, "NVMe critical warning: " + "; ".join(nvme.critical_warnings))
        elif bits:
            add(Health.WARNING, "NVMe critical warning: " + "; ".join(nvme.critical_warnings))
        spare, floor = nvme.available_spare, nvme.available_spare_threshold
        if spare is not None and floor is not None and spare < floor:
            add(Health.FAILING, f"NVMe available spare {spare}% below threshold {floor}%")
        if nvme.media_errors:
            add(Health.WARNING, f"NVMe media errors: {nvme.media_errors}")
        if nvme.percentage_used is not None and nvme.percentage_used >= 100:
            add(Health.WARNING, f"NVMe endurance used: {nvme.percentage_used}%")

    scsi = report.scsi
    if scsi is not None:
        if scsi.grown_defects:
            add(Health.WARNING, f"SCSI grown defect list: {scsi.grown_defects}")
        if scsi.uncorrected_total:
            add(Health.WARNING, f"SCSI uncorrected errors: {scsi.uncorrected_total}")

    return worst(found, Health.OK)
