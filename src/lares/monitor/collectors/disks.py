"""Space on the app data folder and the pools, and when each will be full at its current pace.

Usage comes from ``statvfs`` (as ``df`` computes it: used / (used + available)). A pool mount
point that is not mounted is reported as ``not-mounted``: writes would then fill the OS disk
underneath. The fill forecast is a robust (Theil–Sen) line through the hourly averages of used
bytes over the last :data:`FORECAST_DAYS` days of history; with less than :data:`MIN_POINTS`
hours of history, or space not growing, there is no forecast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from lares.forecast import full_in
from lares.monitor.collectors import Context
from lares.monitor.config import MountTarget
from lares.monitor.metrics import Row, gauge, labels_of
from lares.monitor.rules import Condition, Inputs, fmt_days, fmt_percent, rule
from lares.monitor.sample import Sample

ID = "disks"
DEFAULT_INTERVAL: float | None = None
FORECAST_DAYS = 7
MIN_POINTS = 12
FORECAST_EVERY = 600.0  # seconds a forecast is reused before it is computed again


@dataclass(frozen=True)
class Usage:
    size: int
    free: int
    avail: int

    @property
    def used(self) -> int:
        return self.size - self.free

    @property
    def used_percent(self) -> float:
        total = self.used + self.avail
        return 100.0 * self.used / total if total > 0 else 0.0


def collect(ctx: Context) -> list[Sample]:
    mounts = read_mounts()
    memo = ctx.memo(ID)
    out: list[Sample] = []
    for target in ctx.config.mounts:
        state, device, fstype = mount_state(target, mounts)
        usage: Usage | None = None
        if state != "missing":
            st = os.statvfs(target.path)
            usage = Usage(
                st.f_blocks * st.f_frsize, st.f_bfree * st.f_frsize, st.f_bavail * st.f_frsize
            )
        days = None
        if usage is not None and ctx.store is not None:
            cached = memo.get(target.path)
            if cached is not None and ctx.now - cached[0] < FORECAST_EVERY:
                days = cached[1]
            else:
                points = ctx.store.hourly(
                    (ID, target.path, "used_bytes"), since=ctx.now - FORECAST_DAYS * 86400
                )
                points.append((ctx.now, float(usage.used)))
                days = forecast(points, usage.avail)
                memo[target.path] = (ctx.now, days)
        out.extend(samples(target, state, usage, device=device, fstype=fstype, days_left=days))
    return out


def read_mounts(path: str = "/proc/self/mounts") -> dict[str, tuple[str, str]]:
    """Mount point → (device, filesystem type), from the kernel's mount table."""
    found: dict[str, tuple[str, str]] = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3:
                    point = parts[1].replace("\\040", " ")
                    found[point] = (parts[0], parts[2])
    except OSError:
        pass
    return found


def mount_state(target: MountTarget, mounts: Mapping[str, tuple[str, str]]) -> tuple[str, str, str]:
    """(``mounted`` | ``not-mounted`` | ``on-parent`` | ``missing``, device, fstype).

    The app data folder normally lives on the OS disk, so not being a mount point of its own is
    ``on-parent`` for it and ``not-mounted`` for a pool.
    """
    if target.path in mounts:
        device, fstype = mounts[target.path]
        return "mounted", device, fstype
    if not os.path.exists(target.path):
        return "missing", "", ""
    parent = target.path
    while parent not in mounts and parent != "/":
        parent = os.path.dirname(parent)
    device, fstype = mounts.get(parent, ("", ""))
    return ("on-parent" if target.role == "appdata" else "not-mounted"), device, fstype


def samples(
    target: MountTarget,
    state: str,
    usage: Usage | None,
    *,
    device: str = "",
    fstype: str = "",
    days_left: float | None = None,
) -> list[Sample]:
    labels = {"role": target.role, "pool": target.pool or "", "device": device, "fstype": fstype}
    path = target.path
    out = [Sample(ID, path, "mounted", 1.0 if state != "missing" else 0.0, state, labels=labels)]
    if usage is None:
        return out
    out += [
        Sample(ID, path, "size_bytes", float(usage.size), labels=labels),
        Sample(ID, path, "free_bytes", float(usage.free), labels=labels),
        Sample(ID, path, "avail_bytes", float(usage.avail), labels=labels),
        Sample(ID, path, "used_bytes", float(usage.used), labels=labels),
        Sample(ID, path, "used_percent", round(usage.used_percent, 2), labels=labels),
    ]
    if days_left is not None:
        out.append(Sample(ID, path, "days_until_full", round(days_left, 2), labels=labels))
    return out


def forecast(points: Sequence[tuple[float, float]], avail: float) -> float | None:
    """Days until ``avail`` bytes are used up, at the Theil–Sen pace of ``points``.

    ``points`` are (unix time, used bytes). None with fewer than :data:`MIN_POINTS` points, a
    span under six hours, or usage that does not grow. The robust fit keeps one large file that
    came and went from raising an alert (see :mod:`lares.forecast`).
    """
    if len(points) < MIN_POINTS:
        return None
    return full_in(points, avail).days


# ---------------------------------------------------------------------------------------------
# Rules: a pool not mounted, too full, or filling up


@rule("disk-mount", "disk-usage", "disk-forecast")
def disks(x: Inputs) -> Iterator[Condition]:
    lim = x.limits
    for sample in x.each("disks", "mounted"):
        path, state = sample.subject, sample.state
        pool = sample.labels.get("pool") or ""
        role = sample.labels.get("role")
        if state == "not-mounted":
            yield Condition(
                f"disk-mount:{path}",
                "disk-mount",
                "critical",
                path,
                f"pool {pool + ' ' if pool else ''}is not mounted at {path}: "
                "files written there land on the disk underneath",
                "disks",
                hint=f"mount it (mount {path}) and check its fstab entry or mount unit",
            )
        elif state == "missing":
            yield Condition(
                f"disk-mount:{path}",
                "disk-mount",
                "critical" if role == "pool" else "warning",
                path,
                f"{path} does not exist",
                "disks",
                hint="mount the pool, or correct its mount in the blueprint"
                if role == "pool"
                else "create it, or correct paths.appdata in the blueprint",
            )
    for sample, used, severity, limit in x.over_limits(
        "disks", "used_percent", lim.disk_warn, lim.disk_crit
    ):
        avail = x.value("disks", sample.subject, "avail_bytes")
        free = f", {avail / 1024**3:.1f} GiB left" if avail is not None else ""
        yield Condition(
            f"disk-usage:{sample.subject}",
            "disk-usage",
            severity,
            sample.subject,
            f"{sample.subject} is {fmt_percent(used)} full ({severity} at {limit:g}%){free}",
            "disks",
            hint="delete or move data, or grow the filesystem",
        )
    for sample in x.each("disks", "days_until_full"):
        days = sample.value
        if days is None or days >= lim.forecast_days:
            continue
        yield Condition(
            f"disk-forecast:{sample.subject}",
            "disk-forecast",
            "warning",
            sample.subject,
            f"at the pace of the last days {sample.subject} is full in about {fmt_days(days)}",
            "disks",
        )


RULES = (disks,)


# ---------------------------------------------------------------------------------------------
# Prometheus


def prometheus(s: Sample) -> Row | None:
    """The exporter-compatible series of a sample (see :mod:`lares.monitor.metrics`), or None."""
    labels = labels_of(s, "device", "fstype", subject="mountpoint")
    names = {
        "size_bytes": ("node_filesystem_size_bytes", "Filesystem size in bytes."),
        "avail_bytes": (
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
        ),
        "free_bytes": ("node_filesystem_free_bytes", "Filesystem free space in bytes."),
    }
    return gauge(s, names, labels)
