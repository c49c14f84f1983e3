"""Storage: each pool has enough devices for its level, data lives on a pool, app data does not."""

from __future__ import annotations

from collections.abc import Iterator

from lares.plan.capacity import BTRFS, FAULT_TOLERANCE, capacity
from lares.plan.context import PlanContext
from lares.plan.findings import Finding
from lares.units import format_size

ID = "storage"
DESCRIPTION = "pool levels and device counts, usable capacity, where data and app data live"


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


PARITY = ("raid5", "raid6")


def _drives(n: int) -> str:
    return "no failed drive" if n == 0 else f"{n} failed drive{'s' if n > 1 else ''}"


def _fatal(survived: int) -> str:
    """The failure that ends a filesystem whose metadata survives ``survived`` failed drives."""
    return "any failed drive" if survived == 0 else f"a {['second', 'third'][survived - 1]} one"


def _metadata_for(failures: int) -> str:
    """The mirrored metadata profile that survives as many failed drives as the data does."""
    return {1: "raid1", 2: "raid1c3"}.get(failures, "raid1c4")


def check(ctx: PlanContext) -> Iterator[Finding]:
    bp = ctx.blueprint
    pools = bp.storage.pools
    seen: dict[str, str] = {}
    for name, pool in pools.items():
        cap = capacity(pool)
        if len(pool.devices) < cap.min_devices:
            yield ctx.finding(
                ID,
                "error",
                f"pool {name}: {pool.engine} {pool.level} needs at least {cap.min_devices} "
                f"devices, and {len(pool.devices)} are listed",
                "storage",
                "pools",
                name,
                "devices",
                hint="add devices or choose a level that fits",
            )
        for i, device in enumerate(pool.devices):
            if device.path in seen:
                yield ctx.finding(
                    ID,
                    "error",
                    f"{device.path} is listed in pool {seen[device.path]} and pool {name}",
                    "storage",
                    "pools",
                    name,
                    "devices",
                    i,
                )
            seen[device.path] = name
        if pool.engine == "mdadm" and cap.unused > 0.1 * cap.raw:
            yield ctx.finding(
                ID,
                "info",
                f"pool {name}: mixed drive sizes leave {format_size(cap.unused, binary=False)} "
                f"unused under mdadm {pool.level}",
                "storage",
                "pools",
                name,
                hint="fine while drives are replaced over time; btrfs native raid would use it",
            )
        meta = pool.metadata
        if pool.engine == "btrfs" and meta is not None:
            if len(pool.devices) < BTRFS[meta][1]:
                yield ctx.finding(
                    ID,
                    "error",
                    f"pool {name}: btrfs metadata {meta} needs at least {BTRFS[meta][1]} "
                    f"devices, and {len(pool.devices)} are listed",
                    "storage",
                    "pools",
                    name,
                    "metadata",
                    hint="add devices or choose a metadata profile that fits",
                )
            elif FAULT_TOLERANCE[meta] < cap.tolerates:
                yield ctx.finding(
                    ID,
                    "warning",
                    f"pool {name}: metadata {meta} survives {_drives(FAULT_TOLERANCE[meta])}, "
                    f"the data ({pool.level}) {_drives(cap.tolerates)}: "
                    f"{_fatal(FAULT_TOLERANCE[meta])} loses the whole filesystem",
                    "storage",
                    "pools",
                    name,
                    "metadata",
                    hint=f"set `metadata: {_metadata_for(cap.tolerates)}`",
                )
        if pool.engine == "btrfs" and pool.level in PARITY and meta in (None, *PARITY):
            yield ctx.finding(
                ID,
                "warning",
                f"pool {name}: btrfs {pool.level} metadata is not safe against the write hole",
                "storage",
                "pools",
                name,
                hint="set `metadata: raid1c3` (raid6) or `metadata: raid1` (raid5)",
            )
    if pools and not any(_under(bp.paths.pool, p.mount) for p in pools.values()):
        yield ctx.finding(
            ID,
            "error",
            f"paths.pool ({bp.paths.pool}) is not on any storage pool",
            "paths",
            "pool",
            hint="set paths.pool to a pool's mount point, or a folder inside it",
        )
    for name, pool in pools.items():
        if _under(bp.paths.appdata, pool.mount):
            yield ctx.finding(
                ID,
                "warning",
                f"paths.appdata ({bp.paths.appdata}) is on pool {name}: databases on spinning "
                "RAID are slow, and the pool's health becomes every app's health",
                "paths",
                "appdata",
                hint="keep app data on the OS SSD, as the reference does",
            )
    appdata_root = bp.paths.appdata
    for service in ctx.system.services:
        for volume in service.volumes:
            host = volume.split(":", 1)[0]
            if not host.startswith("/") or host.startswith(("/dev/", "/var/run/", "/run/")):
                continue
            if _under(host, appdata_root) or _under(host, bp.paths.pool):
                continue
            yield ctx.finding(
                ID,
                "warning",
                f"{service.name} mounts {host}, outside app data and the pool: "
                "it will not be backed up",
                *service.path,
                hint="map it under paths.appdata or the pool",
            )
