"""Read what `lares capacity` needs from the watcher's history: the adapter for
:mod:`lares.plan.headroom`, which does the arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

from lares.monitor.config import MountTarget
from lares.monitor.store import Store
from lares.plan.headroom import WINDOW_DAYS, Measured, MountHistory


def _last(store: Store, key: tuple[str, str, str], since: float) -> float | None:
    points = store.points(key, since=since)
    return points[-1][1] if points else None


def measured(
    store: Store, mounts: Sequence[MountTarget], *, now: float, days: int = WINDOW_DAYS
) -> Measured:
    """Host and container memory and each watched filesystem's fill, over the last ``days``."""
    since = now - days * 86400
    total = _last(store, ("host", "memory", "total_bytes"), since)
    peak = None
    if total is not None:
        available = store.points(("host", "memory", "available_bytes"), since=since)
        if available:
            peak = total - min(v for _, v in available)
    containers = [
        v
        for name in store.subjects("docker", "memory_bytes")
        if (v := _last(store, ("docker", name, "memory_bytes"), now - 3600)) is not None
    ]
    histories = []
    for target in mounts:
        used = _last(store, ("disks", target.path, "used_bytes"), since)
        avail = _last(store, ("disks", target.path, "avail_bytes"), since)
        if used is None or avail is None:
            continue
        size = _last(store, ("disks", target.path, "size_bytes"), since) or used + avail
        points = tuple(store.hourly(("disks", target.path, "used_bytes"), since=since))
        histories.append(
            MountHistory(target.path, target.role, target.pool, size, used, avail, points)
        )
    return Measured(
        memory_total=total,
        memory_peak_used=peak,
        containers_memory=sum(containers) if containers else None,
        mounts=tuple(histories),
    )


def docker_disk(df: dict[str, object]) -> dict[str, float]:
    """Bytes Docker holds on its disk, by kind, from the engine's ``/system/df`` answer."""

    def total(key: str, size: str) -> float:
        items = df.get(key) or []
        out = 0.0
        for item in items if isinstance(items, list) else []:
            value = item.get(size) if isinstance(item, dict) else None
            if isinstance(value, dict):  # volumes: UsageData.Size, -1 when not computed
                value = value.get("Size")
            if isinstance(value, int | float) and value > 0:
                out += float(value)
        return out

    return {
        "images": total("Images", "Size"),
        "containers": total("Containers", "SizeRw"),
        "volumes": total("Volumes", "UsageData"),
        "build_cache": total("BuildCache", "Size"),
    }
