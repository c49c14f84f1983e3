"""Linux software RAID: read ``/proc/mdstat`` and each array's ``/sys/block/mdX/md/*``.

:func:`collect` reads them, parses them with :mod:`lares.monitor.parsers.mdstat` and
:func:`samples` turns the report into samples: health (with its reasons), member counts, sync
progress, and the lines that were not understood.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from lares.monitor.metrics import Row, gauge
from lares.monitor.parsers.mdstat import MdstatReport, parse, parse_sysfs, refine
from lares.monitor.rules import Condition, Inputs, rule
from lares.monitor.sample import Sample, health_sample, readings, unparsed_samples

if TYPE_CHECKING:
    from lares.monitor.collectors import Context

ID = "mdstat"
DEFAULT_INTERVAL: float | None = None
MDSTAT_PATH = "/proc/mdstat"
SYSFS_ROOT = "/sys/block"
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
        out.append(health_sample(ID, array.name, array.health, array.reasons, labels))
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
        out += readings(
            ID, array.name, (("disks_required", array.expected), ("blocks", array.blocks))
        )
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
            out += readings(
                ID,
                array.name,
                (("blocks_synced", sync.done), ("sync_finish_minutes", sync.finish_minutes)),
            )
        if array.sysfs is not None and array.sysfs.mismatch_cnt is not None:
            out.append(Sample(ID, array.name, "mismatch_cnt", float(array.sysfs.mismatch_cnt)))
    out += unparsed_samples(ID, MDSTAT_PATH, report.unparsed)
    return out


# ---------------------------------------------------------------------------------------------
# Rules: an array that lost redundancy, or an mdadm pool with no array


@rule("raid", "raid-missing")
def raid(x: Inputs) -> Iterator[Condition]:
    count = x.get("mdstat", "arrays", "count")
    md_pools = [p for p in x.config.pools if p.engine == "mdadm"]
    if count is not None and not count.value and md_pools:
        for pool in md_pools:
            yield Condition(
                f"raid-missing:{pool.name}",
                "raid-missing",
                "critical",
                pool.name,
                f"pool {pool.name} is mdadm {pool.level}, and the kernel has no md array"
                + (" (no /proc/mdstat)" if count.state == "absent" else ""),
                "mdstat",
                hint="mdadm --assemble --scan; check /etc/mdadm/mdadm.conf",
            )
    for sample in x.each("mdstat", "health"):
        health = sample.state
        if health in ("ok", "checking") or sample.labels.get("container"):
            continue
        severity = "warning" if health == "rebuilding" else "critical"
        level = sample.labels.get("level")
        name = f"{sample.subject} ({level})" if level else sample.subject
        yield Condition(
            f"raid:{sample.subject}",
            "raid",
            severity,
            sample.subject,
            f"{name} is {health}: {sample.detail}".rstrip(": "),
            "mdstat",
            hint=None
            if health == "rebuilding"
            else f"cat /proc/mdstat; mdadm --detail /dev/{sample.subject}",
        )


RULES = (raid,)


# ---------------------------------------------------------------------------------------------
# Prometheus


def prometheus(s: Sample) -> Row | None:
    """The exporter-compatible series of a sample (see :mod:`lares.monitor.metrics`), or None."""
    device = {"device": s.subject}
    assert s.value is not None
    states = {"disks_active": "active", "disks_failed": "failed", "disks_spare": "spare"}
    if s.metric in states:
        return Row(
            "node_md_disks",
            "gauge",
            "Number of active/failed/spare disks of device.",
            {**device, "state": states[s.metric]},
            s.value,
        )
    if s.metric == "health":
        return Row(
            "node_md_state",
            "gauge",
            "Indicates the state of md-device (lares health word).",
            {**device, "state": s.state or ""},
            1.0,
        )
    names = {
        "disks_required": ("node_md_disks_required", "Total number of disks of device."),
        "blocks": ("node_md_blocks", "Total number of blocks on device."),
        "blocks_synced": ("node_md_blocks_synced", "Number of blocks synced on device."),
    }
    return gauge(s, names, device)
