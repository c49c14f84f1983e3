"""Disk health from smartmontools, read hourly without waking a sleeping drive.

:func:`collect` runs ``smartctl --scan -j``, then ``smartctl --json -a -n standby`` per device
through :mod:`lares.run` (the exit status is a bitmask, not a failure), parses each with
:mod:`lares.monitor.parsers.smart` and :func:`samples` turns each report into samples.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lares.monitor.metrics import Row, gauge
from lares.monitor.parsers.smart import (
    CRITICAL_ATTRIBUTES,
    SmartReport,
    command,
    parse,
    parse_scan,
    scan_command,
)
from lares.monitor.rules import Condition, Inputs, rule
from lares.monitor.sample import Sample, health_sample, readings, unparsed_samples
from lares.text import counted

if TYPE_CHECKING:
    from lares.monitor.collectors import Context

ID = "smart"
DEFAULT_INTERVAL: float | None = 3600.0
# Counters whose rise means a drive is losing sectors; baselined at first sight.
SMART_GROWTH = {
    "attr_5": "reallocated sectors (5)",
    "attr_197": "pending sectors (197)",
    "attr_198": "offline uncorrectable sectors (198)",
    "nvme_media_errors": "NVMe media errors",
}
#: The fields of the NVMe health log read as samples ``nvme_<field>`` and exported as
#: ``smartctl_device_<field>``, with the exporter's help text.
NVME_READINGS = {
    "media_errors": "Media errors counter.",
    "percentage_used": "Device write percentage used.",
    "critical_warning": "Critical warning counter.",
    "available_spare": "Normalized available spare.",
}
#: A drive's growth counters get their baseline the first time they are seen.
BASELINE_AT_FIRST_SIGHT = True


def baselined(metric: str) -> bool:
    """Whether ``metric`` is a counter whose rise over its baseline alerts (``lares ack smart``)."""
    return metric in SMART_GROWTH


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
        health_sample(ID, name, report.health, report.reasons, labels),
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
        values = ((f"nvme_{field}", getattr(nvme, field)) for field in NVME_READINGS)
        out += readings(ID, name, values, labels)
    scsi = report.scsi
    if scsi is not None:
        if scsi.grown_defects is not None:
            out.append(
                Sample(ID, name, "scsi_grown_defects", float(scsi.grown_defects), labels=labels)
            )
        out.append(
            Sample(ID, name, "scsi_uncorrected", float(scsi.uncorrected_total), labels=labels)
        )
    out += unparsed_samples(ID, name, report.unparsed)
    return out


# ---------------------------------------------------------------------------------------------
# Rules: a drive's own verdict, growing sector counts, temperature


def _drive(sample: Sample) -> str:
    model = sample.labels.get("model")
    return f"{sample.subject} ({model})" if model else sample.subject


@rule("smart", "smart-growth", "smart-unavailable", "drive-temp")
def smart(x: Inputs) -> Iterator[Condition]:
    lim = x.limits
    available = x.get("smart", "smartctl", "available")
    if available is not None and not available.value and x.config.drives:
        yield Condition(
            "smart-unavailable",
            "smart-unavailable",
            "warning",
            "smartctl",
            f"smartctl is not installed: the health of {counted(len(x.config.drives), 'drive')} "
            "is not watched",
            "smart",
            hint="install smartmontools",
        )
    for sample in x.each("smart", "health"):
        if sample.state not in ("failing", "warning"):
            continue
        yield Condition(
            f"smart:{sample.subject}",
            "smart",
            "critical" if sample.state == "failing" else "warning",
            sample.subject,
            f"{_drive(sample)}: SMART {sample.state}: {sample.detail}",
            "smart",
            hint=f"smartctl -a {sample.subject}; plan a replacement and check the backups"
            if sample.state == "failing"
            else None,
        )
    grown: dict[str, list[str]] = defaultdict(list)
    for metric, name in SMART_GROWTH.items():
        for sample, base in x.above_baseline(x.each("smart", metric)):
            grown[sample.subject].append(f"{name} {base:g} → {sample.value:g}")
    for device, changes in grown.items():
        yield Condition(
            f"smart-growth:{device}",
            "smart-growth",
            "critical",
            device,
            f"{device}: {', '.join(changes)}: the drive is losing sectors",
            "smart",
            hint="check the backups, plan a replacement; `lares ack smart` accepts the new counts",
        )
    for sample, temp, severity, limit in x.over_limits(
        "smart", "temperature_celsius", lim.drive_temp_warn, lim.drive_temp_crit
    ):
        yield Condition(
            f"drive-temp:{sample.subject}",
            "drive-temp",
            severity,
            sample.subject,
            f"{_drive(sample)} is at {temp:g} °C ({severity} at {limit:g} °C)",
            "smart",
            hint="check the fans and the airflow around the drives",
        )


RULES = (smart,)


# ---------------------------------------------------------------------------------------------
# Prometheus


def prometheus(s: Sample) -> Row | None:
    """The exporter-compatible series of a sample (see :mod:`lares.monitor.metrics`), or None."""
    device = {"device": s.subject}
    assert s.value is not None
    if s.metric == "temperature_celsius":
        return Row(
            "smartctl_device_temperature",
            "gauge",
            "Device temperature celsius.",
            {**device, "temperature_type": "current"},
            s.value,
        )
    if s.metric.startswith("attr_"):
        return Row(
            "smartctl_device_attribute",
            "gauge",
            "Device SMART attribute value.",
            {
                **device,
                "attribute_id": s.metric.removeprefix("attr_"),
                "attribute_name": s.labels.get("attribute", ""),
                "attribute_value_type": "raw",
            },
            s.value,
        )
    if s.metric == "power_on_hours":
        return Row(
            "smartctl_device_power_on_seconds",
            "counter",
            "Device power on seconds.",
            device,
            s.value * 3600,
        )
    names = {
        "passed": ("smartctl_device_smart_status", "General smart status."),
        "exit_status": ("smartctl_device_smartctl_exit_status", "Exit status of smartctl."),
        **{
            f"nvme_{field}": (f"smartctl_device_{field}", text)
            for field, text in NVME_READINGS.items()
        },
    }
    return gauge(s, names, device)
