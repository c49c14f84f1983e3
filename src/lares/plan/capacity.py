"""Usable capacity of a storage pool from its devices and level. Pure arithmetic.

mdadm arrays use the smallest member's size on every member. btrfs allocates chunks across the
devices with the most free space, so mixed sizes are used more fully; :func:`btrfs_usable`
simulates that allocator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lares.blueprint.model import Pool

#: minimum devices per level / profile
MDADM_MIN = {"raid0": 2, "raid1": 2, "raid5": 3, "raid6": 4, "raid10": 4}
# btrfs profile → (devices per chunk: 0 = all available, min devices, copies, parity stripes)
BTRFS = {
    "single": (1, 1, 1, 0),
    "raid0": (0, 2, 1, 0),
    "raid1": (2, 2, 2, 0),
    "raid1c3": (3, 3, 3, 0),
    "raid1c4": (4, 4, 4, 0),
    "raid10": (0, 4, 2, 0),
    "raid5": (0, 2, 1, 1),
    "raid6": (0, 3, 1, 2),
}
FAULT_TOLERANCE = {
    "single": 0,
    "raid0": 0,
    "raid1": 1,
    "raid1c3": 2,
    "raid1c4": 3,
    "raid10": 1,
    "raid5": 1,
    "raid6": 2,
}


@dataclass(frozen=True)
class Capacity:
    raw: int
    usable: int
    unused: int  # raw bytes the level cannot use (mixed sizes)
    tolerates: int  # drive failures survived
    min_devices: int


def mdadm_usable(level: str, sizes: Sequence[int]) -> int:
    n, smallest = len(sizes), min(sizes)
    if level == "raid0":
        return n * smallest
    if level == "raid1":
        return smallest
    if level == "raid5":
        return (n - 1) * smallest
    if level == "raid6":
        return (n - 2) * smallest
    if level == "raid10":
        # md's raid10 (near=2) keeps two copies of every chunk and works with odd counts too
        return n * smallest // 2
    raise ValueError(f"unknown mdadm level {level}")


def btrfs_usable(profile: str, sizes: Sequence[int], steps: int = 2000) -> tuple[int, int]:
    """Data bytes btrfs can store with ``profile`` on devices of ``sizes``, and raw bytes used.

    Chunks go to the devices with the most unallocated space, each chunk as wide as the profile
    allows; allocation stops when too few devices have space left.
    """
    per_chunk, min_devs, copies, parity = BTRFS[profile]
    free = [float(s) for s in sizes]
    step = max(sum(sizes) / steps, 1.0)
    usable = allocated = 0.0
    while True:
        available = sorted((i for i, f in enumerate(free) if f > 0.5), key=lambda i: -free[i])
        width = len(available) if per_chunk == 0 else per_chunk
        if profile == "raid10":
            width -= width % 2
        if len(available) < max(min_devs, width) or width < min_devs:
            break
        chosen = available[:width]
        stripe = min(step, min(free[i] for i in chosen))
        for i in chosen:
            free[i] -= stripe
        allocated += stripe * width
        if parity:
            usable += stripe * (width - parity)
        elif profile in ("raid0",):
            usable += stripe * width
        elif profile == "raid10":
            usable += stripe * width / 2
        else:
            usable += stripe * width / copies
    return int(usable), int(allocated)


def capacity(pool: Pool) -> Capacity:
    sizes = [d.size for d in pool.devices]
    raw = sum(sizes)
    if pool.engine == "mdadm":
        minimum = MDADM_MIN[pool.level]
        usable = mdadm_usable(pool.level, sizes) if len(sizes) >= minimum else 0
        tolerance = {"raid0": 0, "raid1": len(sizes) - 1, "raid5": 1, "raid6": 2, "raid10": 1}[
            pool.level
        ]
        unused = sum(s - min(sizes) for s in sizes)
    else:
        minimum = BTRFS[pool.level][1]
        usable, allocated = btrfs_usable(pool.level, sizes) if len(sizes) >= minimum else (0, 0)
        tolerance = FAULT_TOLERANCE[pool.level]
        unused = max(raw - allocated, 0)
    return Capacity(raw, usable, unused, tolerance, minimum)
