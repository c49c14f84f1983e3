"""Usable capacity of mdadm arrays and btrfs profiles, on equal and mixed drive sizes.

Every expectation is worked out by hand in the comment beside it: mdadm uses the smallest member
on every member; btrfs fills the devices with the most free space first, each chunk as wide as
the profile allows, until too few devices have space left.
"""

from __future__ import annotations

import pytest

from lares.blueprint.model import Device, Pool
from lares.plan.capacity import FAULT_TOLERANCE, btrfs_usable, capacity, mdadm_usable
from lares.units import format_size

TB = 10**12
REFERENCE = [12, 14, 14, 12]


def _pool(engine: str, level: str, sizes: list[float]) -> Pool:
    devices = [Device(path=f"/dev/sd{chr(97 + i)}", size=int(s * TB)) for i, s in enumerate(sizes)]
    return Pool(engine=engine, level=level, mount="/mnt/pool", devices=tuple(devices))


@pytest.mark.parametrize(
    ("level", "sizes", "usable_tb"),
    [
        ("raid0", [4, 4], 8),  # 2 × 4
        ("raid0", [4, 8], 8),  # 2 × the smallest, 4
        ("raid1", [4, 4], 4),  # one copy's worth
        ("raid1", [4, 8], 4),  # the smallest member
        ("raid1", [4, 4, 4], 4),  # three-way mirror, still one copy
        ("raid5", [4, 4, 4], 8),  # (3 - 1) × 4
        ("raid5", REFERENCE, 36),  # (4 - 1) × 12: the reference pool
        ("raid6", [4, 4, 4, 4], 8),  # (4 - 2) × 4
        ("raid6", REFERENCE, 24),  # (4 - 2) × 12
        ("raid10", [4, 4, 4, 4], 8),  # 4 × 4 / 2
        ("raid10", REFERENCE, 24),  # 4 × 12 / 2
        ("raid10", [4, 4, 4, 4, 4], 10),  # md raid10 near=2 on an odd count: 5 × 4 / 2
    ],
)
def test_mdadm_usable(level: str, sizes: list[int], usable_tb: int) -> None:
    assert mdadm_usable(level, [s * TB for s in sizes]) == usable_tb * TB
    assert capacity(_pool("mdadm", level, sizes)).usable == usable_tb * TB


def test_mdadm_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown mdadm level raid7"):
        mdadm_usable("raid7", [TB, TB])


@pytest.mark.parametrize(
    ("profile", "sizes", "usable_tb"),
    [
        ("single", [4, 4], 8),  # every byte, once
        ("single", [1, 4], 5),
        ("raid0", [4, 4], 8),  # striped over both
        ("raid0", [1, 4], 2),  # 1 TB striped over both, then one device is too few
        ("raid1", [4, 4], 4),
        ("raid1", REFERENCE, 26),  # 52 / 2: the largest (14) fits beside the rest (38)
        ("raid1", [1, 4], 1),  # each copy on another device: only 1 TB pairs up
        ("raid1", [4, 4, 8], 8),  # 16 / 2: the 8 TB drive mirrors onto both 4 TB drives
        ("raid1c3", [4, 4, 4], 4),  # three copies
        ("raid1c3", REFERENCE, 52 / 3),  # 17.33: 14 ≤ 52 / 3, so all raw space is used
        ("raid1c4", [4, 4, 4, 4], 4),
        ("raid10", [4, 4, 4, 4], 8),  # 16 / 2
        ("raid10", REFERENCE, 24),  # chunks need 4 devices: 4 × 12 / 2, 2 × 2 TB left over
        ("raid10", [4, 4, 4, 4, 4], 10),  # 4-wide chunks rotate over 5 drives: 20 / 2
        ("raid5", [4, 4, 4], 8),  # (3 - 1) × 4
        ("raid5", REFERENCE, 38),  # 3 × 12 over four drives, then 1 × 2 over the two 14s
        ("raid5", [1, 4, 4], 5),  # 2 × 1 over three drives, then 1 × 3 over the two 4s
        ("raid6", [4, 4, 4, 4], 8),  # (4 - 2) × 4
        ("raid6", REFERENCE, 24),  # 2 × 12; the two 2 TB leftovers are too few for raid6
    ],
)
def test_btrfs_usable(profile: str, sizes: list[int], usable_tb: float) -> None:
    usable, allocated = btrfs_usable(profile, [s * TB for s in sizes])
    assert usable == pytest.approx(usable_tb * TB, rel=0.002)
    assert allocated <= sum(sizes) * TB
    cap = capacity(_pool("btrfs", profile, sizes))
    assert cap.usable == usable
    assert cap.unused == pytest.approx(sum(sizes) * TB - allocated, abs=1)


def test_reference_pool_is_36_tb_or_32_7_tib() -> None:
    cap = capacity(_pool("mdadm", "raid5", REFERENCE))
    assert (cap.raw, cap.usable, cap.unused) == (52 * TB, 36 * TB, 4 * TB)
    assert (cap.tolerates, cap.min_devices) == (1, 3)
    assert format_size(cap.usable, binary=False) == "36.0 TB"
    assert format_size(cap.usable) == "32.7 TiB"


def test_same_drives_under_btrfs_raid1_and_raid5() -> None:
    raid1 = capacity(_pool("btrfs", "raid1", REFERENCE))
    raid5 = capacity(_pool("btrfs", "raid5", REFERENCE))
    assert format_size(raid1.usable, binary=False) == "26.0 TB"
    assert format_size(raid5.usable, binary=False) == "38.0 TB"
    assert raid1.unused == pytest.approx(0, abs=TB // 1000)
    assert (raid1.tolerates, raid5.tolerates) == (1, 1)


@pytest.mark.parametrize(
    ("engine", "level", "count", "minimum"),
    [
        ("mdadm", "raid0", 1, 2),
        ("mdadm", "raid1", 1, 2),
        ("mdadm", "raid5", 2, 3),
        ("mdadm", "raid6", 3, 4),
        ("mdadm", "raid10", 3, 4),
        ("btrfs", "raid1", 1, 2),
        ("btrfs", "raid1c3", 2, 3),
        ("btrfs", "raid1c4", 3, 4),
        ("btrfs", "raid10", 3, 4),
        ("btrfs", "raid6", 2, 3),
    ],
)
def test_too_few_devices_give_nothing(engine: str, level: str, count: int, minimum: int) -> None:
    cap = capacity(_pool(engine, level, [4] * count))
    assert (cap.usable, cap.min_devices) == (0, minimum)
    assert cap.raw == count * 4 * TB


@pytest.mark.parametrize(
    ("engine", "level", "count", "tolerates"),
    [
        ("mdadm", "raid0", 2, 0),
        ("mdadm", "raid1", 3, 2),
        ("mdadm", "raid5", 4, 1),
        ("mdadm", "raid6", 4, 2),
        ("mdadm", "raid10", 4, 1),
        *[("btrfs", p, 4, t) for p, t in FAULT_TOLERANCE.items()],
    ],
)
def test_fault_tolerance(engine: str, level: str, count: int, tolerates: int) -> None:
    assert capacity(_pool(engine, level, [4] * count)).tolerates == tolerates


def test_mdadm_unused_is_what_mixed_sizes_waste() -> None:
    assert capacity(_pool("mdadm", "raid5", [4, 8, 4])).unused == 4 * TB
    assert capacity(_pool("mdadm", "raid1", [4, 4])).unused == 0
