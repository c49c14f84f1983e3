"""btrfs: the error counters and missing devices of every btrfs pool.

:func:`collect` reads them from sysfs (kernel 5.14+), else from ``btrfs device stats``, parses
them with :mod:`lares.monitor.parsers.btrfs` and :func:`samples` turns them into samples. The
hourly ``scrub`` collector (:mod:`lares.monitor.collectors.scrub`) reads scrub status and
allocation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from lares.monitor.metrics import Row
from lares.monitor.parsers.btrfs import (
    DeviceErrors,
    DeviceStatsReport,
    Unparsed,
    parse_device_stats,
    parse_error_stats,
)
from lares.monitor.parsers.health import Health
from lares.monitor.rules import Condition, Inputs, rule
from lares.monitor.sample import Sample, health_sample, unparsed_samples
from lares.text import counted

if TYPE_CHECKING:
    from lares.monitor.collectors import Context
    from lares.monitor.config import WatchConfig
    from lares.run import Result

ID = "btrfs"
DEFAULT_INTERVAL: float | None = None
SYSFS_ROOT = "/sys/fs/btrfs"
NAMES_EVERY = 3600.0  # seconds before the devid → device name map is read again
_MISSING_NAMES = ("missing", "<missing disk>")


def baselined(metric: str) -> bool:
    """Whether ``metric`` is an error counter whose rise alerts (``lares ack btrfs``); its
    baseline is zero until acknowledged, since the kernel counts from the last reset."""
    return metric.startswith("errors_")


def mounted_pools(config: WatchConfig) -> dict[str, str]:
    """The blueprint's btrfs pools that are mounted as btrfs: mount point → device, in
    blueprint order. A pool that is not mounted is left out (the disks collector reports it)."""
    from lares.monitor.collectors.disks import read_mounts

    mounts = read_mounts()
    pools = [p.mount for p in config.pools if p.filesystem == "btrfs"]
    return {m: mounts[m][0] for m in pools if m in mounts and mounts[m][1] == "btrfs"}


def collect(ctx: Context) -> list[Sample]:
    """Read each btrfs pool's counters from sysfs (kernel 5.14+), else ``btrfs device stats``.

    sysfs needs no process and no root, but names devices only by devid: the names come from one
    ``btrfs device stats -T`` now and then. A pool that is not mounted gives no samples here (the
    disks collector reports it).
    """
    memo = ctx.memo(ID)
    out: list[Sample] = []
    for mount, device in mounted_pools(ctx.config).items():
        uuid = sysfs_uuid(device)
        devinfo = read_devinfo(uuid) if uuid else {}
        if devinfo:
            names = memo.get(mount)
            if names is None or ctx.now - names[0] > NAMES_EVERY:
                names = (ctx.now, _device_names(mount))
                memo[mount] = names
            found: list[DeviceErrors] = []
            lost: list[Unparsed] = []
            for devid, (text, _) in sorted(devinfo.items()):
                report = parse_error_stats(text, names[1].get(devid, f"devid {devid}"), devid)
                found.extend(report.devices)
                lost.extend(report.unparsed)
            stats = DeviceStatsReport(devices=tuple(found), unparsed=tuple(lost))
            missing = {devid: gone for devid, (_, gone) in devinfo.items()}
        else:
            stats = parse_device_stats(_stats_command(mount).stdout)
            missing = {
                d.devid if d.devid is not None else i: d.device in _MISSING_NAMES
                for i, d in enumerate(stats.devices)
            }
        out.extend(samples(mount, stats, missing=missing, uuid=uuid or ""))
    return out


def sysfs_uuid(device: str, root: str = SYSFS_ROOT) -> str | None:
    """The filesystem UUID whose ``devices/`` folder lists ``device`` (a /dev path), or None."""
    import os

    name = os.path.basename(os.path.realpath(device))
    try:
        entries = os.listdir(root)
    except OSError:
        return None
    for entry in entries:
        if os.path.exists(f"{root}/{entry}/devices/{name}"):
            return entry
    return None


def read_devinfo(uuid: str, root: str = SYSFS_ROOT) -> dict[int, tuple[str, bool]]:
    """devid → (``error_stats`` text, missing) from sysfs; empty when the kernel lacks them."""
    import os

    found: dict[int, tuple[str, bool]] = {}
    folder = f"{root}/{uuid}/devinfo"
    try:
        devids = [int(d) for d in os.listdir(folder) if d.isdigit()]
    except OSError:
        return found
    for devid in devids:
        try:
            with open(f"{folder}/{devid}/error_stats", encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            return {}
        try:
            with open(f"{folder}/{devid}/missing", encoding="utf-8") as fh:
                gone = fh.read().strip() == "1"
        except OSError:
            gone = False
        found[devid] = (text, gone)
    return found


def _stats_command(mount: str) -> Result:
    from lares import run

    return run.run(
        ["btrfs", "device", "stats", "-T", mount],
        timeout=60,
        what=f"read the btrfs device counters of {mount}",
        hint="lares reads btrfs counters as root; run the watcher as root",
    )


def _device_names(mount: str) -> dict[int, str]:
    from lares import run
    from lares.errors import LaresError

    try:
        result = run.run(["btrfs", "device", "stats", "-T", mount], timeout=60, check=False)
    except LaresError:
        return {}
    return {
        d.devid: d.device for d in parse_device_stats(result.stdout).devices if d.devid is not None
    }


def samples(
    mount: str,
    stats: DeviceStatsReport,
    *,
    missing: Mapping[int, bool] | None = None,
    uuid: str = "",
) -> list[Sample]:
    """Samples of one filesystem: per device each error counter and ``missing``; per filesystem
    the device count, the missing count and a health word.

    Counters are kept as the kernel counts them (since the last ``btrfs device stats -z``); the
    rules compare them with the acknowledged baseline, so health here only reflects missing
    devices and counters above zero.
    """
    missing = missing or {}
    out: list[Sample] = []
    gone = 0
    for index, device in enumerate(stats.devices):
        devid = device.devid if device.devid is not None else index
        subject = f"{mount}:{device.device}"
        labels = {"mount": mount, "device": device.device, "devid": str(devid), "uuid": uuid}
        for name, value in device.counters():
            out.append(Sample(ID, subject, f"errors_{name}", float(value), labels=labels))
        is_missing = bool(missing.get(devid)) or device.device in _MISSING_NAMES
        gone += is_missing
        out.append(Sample(ID, subject, "missing", 1.0 if is_missing else 0.0, labels=labels))
    assessment = stats.assessment
    health = assessment.health
    reasons = list(assessment.reasons)
    if gone:
        health = Health.DEGRADED
        reasons.insert(0, f"{counted(gone, 'device')} missing")
    labels = {"mount": mount, "uuid": uuid}
    out += [
        Sample(ID, mount, "devices", float(len(stats.devices)), labels=labels),
        Sample(ID, mount, "missing_devices", float(gone), labels=labels),
        health_sample(ID, mount, health, reasons, labels),
    ]
    out += unparsed_samples(ID, mount, stats.unparsed)
    return out


# ---------------------------------------------------------------------------------------------
# Rules: error counters above their baseline, missing devices


@rule("btrfs-errors", "btrfs-missing")
def btrfs(x: Inputs) -> Iterator[Condition]:
    rising: dict[str, list[str]] = defaultdict(list)
    counters = [s for s in x.collector("btrfs") if s.metric.startswith("errors_")]
    for sample, base in x.above_baseline(counters, unset=0.0):
        mount = sample.labels.get("mount") or sample.subject
        device = sample.labels.get("device") or sample.subject
        counter = sample.metric.removeprefix("errors_")
        rising[mount].append(f"{device} {counter} {base:g} → {sample.value:g}")
    for mount, changes in rising.items():
        yield Condition(
            f"btrfs-errors:{mount}",
            "btrfs-errors",
            "critical",
            mount,
            f"btrfs error counters rose on {mount}: {', '.join(changes)}",
            "btrfs",
            hint=f"btrfs scrub start -B {mount} repairs from the good copy where there is one; "
            "then `lares ack btrfs` takes the counters as the new baseline",
        )
    for sample in x.each("btrfs", "missing_devices"):
        if sample.value:
            yield Condition(
                f"btrfs-missing:{sample.subject}",
                "btrfs-missing",
                "critical",
                sample.subject,
                f"{counted(sample.value, 'device')} of {sample.subject} "
                f"{'is' if sample.value == 1 else 'are'} missing",
                "btrfs",
                hint=f"btrfs filesystem show {sample.subject}; replace the device "
                "(btrfs replace) before another fails",
            )


RULES = (btrfs,)


# ---------------------------------------------------------------------------------------------
# Prometheus


def prometheus(s: Sample) -> Row | None:
    """The exporter-compatible series of a sample (see :mod:`lares.monitor.metrics`), or None."""
    if s.metric.startswith("errors_") and s.value is not None:
        return Row(
            "node_btrfs_device_errors_total",
            "counter",
            "Errors reported for the device.",
            {
                "device": s.labels.get("device", ""),
                "mountpoint": s.labels.get("mount", ""),
                "type": s.metric.removeprefix("errors_"),
                "uuid": s.labels.get("uuid", ""),
            },
            s.value,
        )
    return None
