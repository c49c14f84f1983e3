"""btrfs scrub results and chunk allocation of every btrfs pool, read hourly.

Runs ``btrfs scrub status <mount>``, ``btrfs filesystem usage -b <mount>`` and ``btrfs device
usage -b <mount>`` (all need root)
and reads them with the parsers of :mod:`lares.monitor.parsers.btrfs`. The error counters of
the same pools are the ``btrfs`` collector's job, at the base interval: they move when data is
read, a scrub result only when a scrub ran.
"""

from __future__ import annotations

from collections.abc import Iterator

from lares.monitor.collectors import Context
from lares.monitor.collectors.btrfs import mounted_pools
from lares.monitor.parsers.btrfs import (
    DeviceUsageReport,
    FilesystemUsage,
    ScrubReport,
    ScrubState,
    assess,
    parse_device_usage,
    parse_filesystem_usage,
    parse_scrub_status,
)
from lares.monitor.rules import Condition, Inputs, fmt_days, rule
from lares.monitor.sample import Sample, health_sample, readings, unparsed_samples

ID = "scrub"
DEFAULT_INTERVAL: float | None = 3600.0


def collect(ctx: Context) -> list[Sample]:
    out: list[Sample] = []
    for mount in mounted_pools(ctx.config):
        status = _btrfs(60, f"the scrub status of {mount}", "scrub", "status", mount)
        usage = _btrfs(120, f"the allocation of {mount}", "filesystem", "usage", "-b", mount)
        devices = _btrfs(
            120, f"the per-device allocation of {mount}", "device", "usage", "-b", mount
        )
        out += scrub_samples(mount, parse_scrub_status(status), now=ctx.now)
        out += usage_samples(mount, parse_filesystem_usage(usage), parse_device_usage(devices))
    return out


def _btrfs(timeout: float, what: str, *args: str) -> str:
    """The output of ``btrfs ARGS`` (run as root: scrub status and usage need it)."""
    from lares import run

    return run.run(
        ["btrfs", *args],
        timeout=timeout,
        what=f"read {what}",
        hint="lares reads btrfs scrub status and usage as root; run the watcher as root",
    ).stdout


def scrub_samples(mount: str, report: ScrubReport, *, now: float) -> list[Sample]:
    """The last scrub of a filesystem: state, health with reasons, when it ended, its errors.

    ``scrub_age_seconds`` counts from the end of the last scrub (its start plus its duration);
    it is absent when no scrub ever ran, which ``scrub_state`` ``no stats`` says.
    """
    labels = {"mount": mount}
    assessment = report.assessment
    out = [
        health_sample(
            ID, mount, assessment.health, assessment.reasons, labels, metric="scrub_health"
        )
    ]
    last = report.scrubs[-1] if report.scrubs else None
    if last is not None:
        out.append(
            Sample(
                ID,
                mount,
                "scrub_running",
                1.0 if last.state is ScrubState.RUNNING else 0.0,
                last.state.value,
                labels=labels,
            )
        )
        if last.percent is not None:
            out.append(Sample(ID, mount, "scrub_percent", last.percent, labels=labels))
        if last.started is not None and last.state is not ScrubState.RUNNING:
            ended = last.started.timestamp() + (last.duration or 0)
            out.append(Sample(ID, mount, "scrub_last_seconds", ended, labels=labels))
            out.append(Sample(ID, mount, "scrub_age_seconds", max(now - ended, 0.0), labels=labels))
        errors = last.errors
        out += [
            Sample(ID, mount, "scrub_errors_found", float(errors.found), labels=labels),
            Sample(
                ID, mount, "scrub_errors_corrected", float(errors.corrected or 0), labels=labels
            ),
            Sample(
                ID,
                mount,
                "scrub_errors_uncorrectable",
                float(errors.uncorrectable or 0),
                labels=labels,
            ),
        ]
    out += unparsed_samples(ID, mount, report.unparsed)
    return out


def usage_samples(
    mount: str, usage: FilesystemUsage, devices: DeviceUsageReport | None = None
) -> list[Sample]:
    """Allocation of a filesystem in bytes, per device when ``devices`` is given, and one health
    word for both readings (a missing device, mixed profiles)."""
    labels = {"mount": mount}
    verdict = assess(usage=usage, device_usage=devices)
    out = [health_sample(ID, mount, verdict.health, verdict.reasons, labels, metric="usage_health")]
    out += readings(
        ID,
        mount,
        (
            ("alloc_size_bytes", usage.device_size),
            ("alloc_allocated_bytes", usage.device_allocated),
            ("alloc_unallocated_bytes", usage.device_unallocated),
            ("alloc_missing_bytes", usage.device_missing),
            ("alloc_used_bytes", usage.used),
            ("alloc_free_bytes", usage.free_estimated),
        ),
        labels,
    )
    unparsed = list(usage.unparsed)
    for device in devices.devices if devices is not None else ():
        subject = f"{mount}:{device.device}"
        named = {**labels, "device": device.device, "devid": str(device.devid or "")}
        out += readings(
            ID,
            subject,
            (
                ("device_size_bytes", device.size),
                ("device_allocated_bytes", device.allocated),
                ("device_unallocated_bytes", device.unallocated),
            ),
            named,
        )
    if devices is not None:
        unparsed += devices.unparsed
    out += unparsed_samples(ID, mount, unparsed, metric="unparsed_usage")
    return out


# ---------------------------------------------------------------------------------------------
# Rules: scrub errors and age, mixed allocation profiles


@rule("btrfs-scrub", "btrfs-usage")
def scrub(x: Inputs) -> Iterator[Condition]:
    max_age = x.limits.scrub_max_age_days * 86400
    for sample in x.each("scrub", "scrub_health"):
        mount = sample.subject
        running = x.get("scrub", mount, "scrub_running")
        age = x.value("scrub", mount, "scrub_age_seconds")
        never = running is not None and running.state == "no stats"
        hint: str | None = None
        if sample.state == "failing":
            severity = "critical"
            message = f"the last scrub of {mount} found errors it could not repair: {sample.detail}"
            hint = "restore the damaged files from a backup (see dmesg for their paths)"
        elif sample.state == "warning":
            severity, message = "warning", f"the last scrub of {mount}: {sample.detail}"
        elif never or (age is not None and age > max_age):
            when = (
                "has never been scrubbed"
                if never
                else f"was last scrubbed {fmt_days((age or 0) / 86400)} ago"
            )
            severity, message = "warning", f"{mount} {when}"
            hint = f"btrfs scrub start {mount} (lares schedules a monthly scrub)"
        else:
            continue
        yield Condition(
            f"btrfs-scrub:{mount}", "btrfs-scrub", severity, mount, message, "scrub", hint=hint
        )
    for sample in x.each("scrub", "usage_health"):
        if sample.state in ("warning", "degraded"):
            yield Condition(
                f"btrfs-usage:{sample.subject}",
                "btrfs-usage",
                "critical" if sample.state == "degraded" else "warning",
                sample.subject,
                f"{sample.subject}: {sample.detail}",
                "scrub",
            )


RULES = (scrub,)
