"""The /proc/mdstat parser on every recorded sample, the sysfs refinement, and random input."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lares.monitor.parsers import mdstat
from lares.monitor.parsers.mdstat import DeviceRole, MdHealth, SyncAction

HERE = Path(__file__).resolve()
SAMPLES = HERE.parents[2] / "data" / "samples"
SHARED = HERE.parents[3] / ".." / "shared" / "samples"

# Every mdstat sample, with (health, [n/m] as a pair, map) per array, in print order.
EXPECTED: dict[str, dict[str, tuple[MdHealth, tuple[int, int] | None, str | None]]] = {
    "mdstat-clean-raid5.txt": {"md_d0": (MdHealth.OK, (5, 5), "UUUUU")},
    "mdstat-clean-raid5-8disk.txt": {"md1": (MdHealth.OK, (8, 8), "UUUUUUUU")},
    "mdstat-raid1-and-raid5-clean.txt": {
        "md1": (MdHealth.OK, (2, 2), "UU"),
        "md2": (MdHealth.OK, (2, 2), "UU"),
        "md3": (MdHealth.OK, (10, 10), "UUUUUUUUUU"),
        "md0": (MdHealth.OK, (2, 2), "UU"),
    },
    "mdstat-degraded-raid5.txt": {"md0": (MdHealth.DEGRADED, (4, 3), "UUU_")},
    "mdstat-degraded-raid5-failed-member.txt": {"md0": (MdHealth.DEGRADED, (4, 3), "UUU_")},
    "mdstat-raid5-recovery.txt": {"md127": (MdHealth.REBUILDING, (6, 5), "UUUUU_")},
    "mdstat-degraded-raid1-failed-member.txt": {"md1": (MdHealth.DEGRADED, (6, 4), "_UUUU_")},
    "mdstat-raid10-check-raid1.txt": {
        "md2": (MdHealth.CHECKING, (12, 12), "UUUUUUUUUUUU"),
        "md1": (MdHealth.OK, (2, 2), "UU"),
        "md0": (MdHealth.OK, (2, 2), "UU"),
    },
    "mdstat-inactive-raid5.txt": {"md0": (MdHealth.INACTIVE, (4, 4), "UUUU")},
    "mdstat-inactive-spares.txt": {
        "md0": (MdHealth.OK, (2, 2), "UU"),
        "md1": (MdHealth.OK, (2, 2), "UU"),
        "md2": (MdHealth.INACTIVE, None, None),
    },
    "mdstat-raid4-reshape.txt": {"md127": (MdHealth.DEGRADED, (4, 3), "UU__")},
    "mdstat-raid0-nvme.txt": {
        "md129": (MdHealth.OK, (2, 2), "UU"),
        "md128": (MdHealth.OK, (2, 2), "UU"),
        "md125": (MdHealth.OK, None, None),
        "md126": (MdHealth.OK, None, None),
    },
    "mdstat-empty.txt": {},
    "mdstat-node-exporter-fixture.txt": {
        "md3": (MdHealth.OK, (8, 8), "UUUUUUUU"),
        "md127": (MdHealth.OK, (2, 2), "UU"),
        "md0": (MdHealth.OK, (2, 2), "UU"),
        "md4": (MdHealth.INACTIVE, (2, 2), "UU"),
        "md6": (MdHealth.REBUILDING, (2, 1), "U_"),
        "md8": (MdHealth.REBUILDING, (2, 2), "UU"),
        "md7": (MdHealth.DEGRADED, (4, 3), "U_UU"),
        "md9": (MdHealth.REBUILDING, (4, 4), "UUUU"),
        "md10": (MdHealth.OK, None, None),
        "md11": (MdHealth.REBUILDING, (2, 2), "UU"),
        "md12": (MdHealth.OK, None, None),
        "md219": (MdHealth.INACTIVE, None, None),
    },
    "mdstat-procfs-fixture-mixed.txt": {
        "md3": (MdHealth.OK, (8, 8), "UUUUUUUU"),
        "md127": (MdHealth.OK, (2, 2), "UU"),
        "md0": (MdHealth.OK, (2, 2), "UU"),
        "md4": (MdHealth.INACTIVE, (2, 2), "UU"),
        "md6": (MdHealth.REBUILDING, (2, 1), "U_"),
        "md8": (MdHealth.REBUILDING, (2, 2), "UU"),
        "md201": (MdHealth.CHECKING, (2, 2), "UU"),
        "md7": (MdHealth.DEGRADED, (4, 3), "U_UU"),
        "md9": (MdHealth.DEGRADED, (4, 4), "UUUU"),
        "md10": (MdHealth.OK, None, None),
        "md11": (MdHealth.DEGRADED, (2, 2), "UU"),
        "md12": (MdHealth.OK, None, None),
        "md126": (MdHealth.OK, None, None),
        "md219": (MdHealth.INACTIVE, None, None),
        "md00": (MdHealth.OK, None, None),
        "md120": (MdHealth.OK, None, None),
        "md101": (MdHealth.OK, None, None),
        "md42": (MdHealth.DEGRADED, (3, 2), "UU_"),
    },
}


def sample(name: str) -> str:
    assert name in EXPECTED, f"{name} is not listed in EXPECTED"
    return (SAMPLES / name).read_text()


def test_every_mdstat_sample_is_covered() -> None:
    on_disk = {p.name for p in SAMPLES.glob("mdstat-*")}
    assert on_disk == set(EXPECTED)


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared/ checkout beside the repo")
def test_copies_match_shared_samples() -> None:
    for name in EXPECTED:
        assert filecmp.cmp(SAMPLES / name, SHARED / name, shallow=False), name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_arrays_health_and_status(name: str) -> None:
    report = mdstat.parse(sample(name))
    assert report.unparsed == ()
    got = {a.name: (a.health, _counts(a), a.member_map) for a in report.arrays}
    assert got == EXPECTED[name]
    assert [a.name for a in report.arrays] == list(EXPECTED[name])
    for array in report.arrays:
        assert (array.health is MdHealth.OK) == (array.reasons == ())


def _counts(array: mdstat.MdArray) -> tuple[int, int] | None:
    if array.expected is None or array.working is None:
        return None
    return (array.expected, array.working)


def test_clean_raid5_geometry_and_bitmap() -> None:
    report = mdstat.parse(sample("mdstat-clean-raid5.txt"))
    assert report.personalities == ("raid1", "raid6", "raid5", "raid4")
    assert report.unused_devices == ()
    md = report.arrays[0]
    assert (md.name, md.state, md.personality) == ("md_d0", "active", "raid5")
    assert md.blocks == 1250241792
    assert md.metadata == "1.2"
    assert (md.chunk_kib, md.algorithm) == (64, 2)
    assert [(d.name, d.index) for d in md.devices] == [
        ("sde1", 0),
        ("sdf1", 4),
        ("sdb1", 5),
        ("sdd1", 2),
        ("sdc1", 1),
    ]
    assert all(d.role is DeviceRole.ACTIVE for d in md.devices)
    assert md.bitmap == mdstat.Bitmap(pages_used=0, pages_total=10, size_kib=0, chunk_kib=16384)
    assert md.line == 2
    assert report.ok


def test_8disk_raid5_has_no_unused_line() -> None:
    report = mdstat.parse(sample("mdstat-clean-raid5-8disk.txt"))
    md1 = report.arrays[0]
    assert md1.blocks == 95705752576
    assert len(md1.devices) == 8
    assert md1.bitmap is not None and (md1.bitmap.pages_used, md1.bitmap.pages_total) == (2, 102)
    assert "multipath" in report.personalities


def test_old_superblock_prints_no_super_token() -> None:
    report = mdstat.parse(sample("mdstat-raid1-and-raid5-clean.txt"))
    md3 = report.get("md3")
    assert md3 is not None
    assert md3.metadata is None
    assert md3.chunk_kib == 1024
    assert len(md3.devices) == 10


def test_degraded_raid5_missing_member_is_simply_absent() -> None:
    md0 = mdstat.parse(sample("mdstat-degraded-raid5.txt")).arrays[0]
    assert md0.failed_devices == ()
    assert md0.missing == 1
    assert md0.reasons == ("member map [UUU_] shows 1 missing", "[4/3]: 1 of 4 missing")


def test_degraded_raid5_failed_member_still_listed() -> None:
    md0 = mdstat.parse(sample("mdstat-degraded-raid5-failed-member.txt")).arrays[0]
    (failed,) = md0.failed_devices
    assert (failed.name, failed.index, failed.role, failed.flags) == (
        "sde",
        4,
        DeviceRole.FAILED,
        "F",
    )
    assert md0.reasons[0] == "failed member(s) still listed: sde (F)"
    assert md0.health is MdHealth.DEGRADED


def test_raid5_recovery_progress() -> None:
    md = mdstat.parse(sample("mdstat-raid5-recovery.txt")).arrays[0]
    assert md.sync == mdstat.SyncProgress(
        action=SyncAction.RECOVERY,
        percent=12.6,
        done=37043392,
        total=292945152,
        finish_minutes=127.5,
        speed_kib_s=33440,
    )
    assert md.health is MdHealth.REBUILDING
    assert "recovery 12.6%, about 127.5 min left" in md.reasons


def test_raid1_two_missing_with_failed_member_is_degraded_not_failed() -> None:
    md1 = mdstat.parse(sample("mdstat-degraded-raid1-failed-member.txt")).arrays[0]
    assert md1.missing == 2
    assert [d.name for d in md1.failed_devices] == ["sde1"]
    assert md1.health is MdHealth.DEGRADED


def test_raid10_check_in_progress() -> None:
    report = mdstat.parse(sample("mdstat-raid10-check-raid1.txt"))
    md2 = report.arrays[0]
    assert (md2.personality, md2.chunk_kib, md2.copies, md2.layout) == ("raid10", 512, 2, "near")
    assert md2.sync is not None
    assert (md2.sync.action, md2.sync.percent, md2.sync.finish_minutes) == (
        SyncAction.CHECK,
        94.3,
        101.6,
    )
    assert md2.sync.speed_kib_s == 103517
    assert md2.bitmap is not None and md2.bitmap.size_kib == 140
    assert md2.health is MdHealth.CHECKING
    assert not report.ok


def test_inactive_array_is_never_ok_even_with_full_map() -> None:
    md0 = mdstat.parse(sample("mdstat-inactive-raid5.txt")).arrays[0]
    assert (md0.state, md0.expected, md0.working, md0.member_map) == ("inactive", 4, 4, "UUUU")
    assert md0.personality == "raid5"
    assert md0.health is MdHealth.INACTIVE
    assert md0.reasons == ("array is inactive: not started, its data is not available",)
    assert len(md0.devices) == 3


def test_inactive_array_of_spares_has_no_personality() -> None:
    md2 = mdstat.parse(sample("mdstat-inactive-spares.txt")).get("md2")
    assert md2 is not None
    assert md2.personality is None
    assert md2.blocks == 5860553984
    assert [d.role for d in md2.devices] == [DeviceRole.SPARE] * 4
    assert len(md2.spare_devices) == 4
    assert md2.health is MdHealth.INACTIVE


def test_raid4_reshape_map_disagrees_with_counts() -> None:
    md = mdstat.parse(sample("mdstat-raid4-reshape.txt")).arrays[0]
    assert md.personality == "raid4"
    assert md.sync is not None
    assert (md.sync.action, md.sync.percent, md.sync.done, md.sync.total) == (
        SyncAction.RESHAPE,
        2.1,
        115168,
        5237760,
    )
    assert md.health is MdHealth.DEGRADED
    assert "[4/3] and [UU__] disagree on how many members are missing" in md.reasons


def test_raid0_has_no_map_and_is_ok() -> None:
    report = mdstat.parse(sample("mdstat-raid0-nvme.txt"))
    md126 = report.get("md126")
    assert md126 is not None
    assert (md126.personality, md126.chunk_kib, md126.member_map) == ("raid0", 3072, None)
    assert [d.name for d in md126.devices] == ["nvme0n1", "nvme1n1"]
    assert report.ok


def test_empty_mdstat() -> None:
    report = mdstat.parse(sample("mdstat-empty.txt"))
    assert report == mdstat.MdstatReport()
    assert report.ok


def test_node_exporter_fixture_tabs_delayed_pending_and_container() -> None:
    report = mdstat.parse(sample("mdstat-node-exporter-fixture.txt"))
    md8 = report.get("md8")
    assert md8 is not None and md8.sync is not None
    assert (md8.blocks, md8.sync.action, md8.sync.percent) == (195310144, SyncAction.RESYNC, 8.5)
    md9 = report.get("md9")
    assert md9 is not None and md9.sync is not None
    assert (md9.sync.delayed, md9.sync.pending, md9.sync.percent) == (True, False, None)
    md11 = report.get("md11")
    assert md11 is not None and md11.sync is not None
    assert md11.auto_read_only and not md11.read_only
    assert md11.sync.pending
    md219 = report.get("md219")
    assert md219 is not None
    assert md219.metadata == "external:imsm"
    assert md219.is_container
    assert "metadata container" in md219.reasons[0]


def test_procfs_fixture_markers_linear_readonly_and_external_member() -> None:
    report = mdstat.parse(sample("mdstat-procfs-fixture-mixed.txt"))
    md3 = report.get("md3")
    assert md3 is not None
    assert [d.name for d in md3.spare_devices] == ["sdd1", "sdd2"]
    md9 = report.get("md9")
    assert md9 is not None
    assert [d.name for d in md9.failed_devices] == ["sde", "sdf"]
    assert md9.reasons[0] == "failed member(s) still listed: sde, sdf (F)"
    md120 = report.get("md120")
    assert md120 is not None
    assert (md120.personality, md120.rounding_kib, md120.metadata) == ("linear", 0, "1.2")
    md101 = report.get("md101")
    assert md101 is not None and md101.read_only
    md126 = report.get("md126")
    assert md126 is not None
    assert md126.metadata == "external:/md127/0"
    assert not md126.is_container
    md4 = report.get("md4")
    assert md4 is not None
    assert [(d.name, d.role) for d in md4.devices] == [
        ("sda3", DeviceRole.FAILED),
        ("sdb3", DeviceRole.SPARE),
    ]
    md42 = report.get("md42")
    assert md42 is not None and md42.sync is not None
    assert (md42.sync.action, md42.sync.finish_minutes, md42.sync.speed_kib_s) == (
        SyncAction.RESHAPE,
        1868.1,
        7640,
    )


# -- flags the samples do not show ------------------------------------------------------------


def test_write_mostly_journal_replacement_and_combined_flags() -> None:
    text = (
        "Personalities : [raid1] [raid5]\n"
        "md5 : active raid5 sda1[0](W) sdb1[1](J) sdc1[3](R) sdd1[2](W)(F)\n"
        "      100 blocks super 1.2 level 5, 64k chunk, algorithm 2 [3/3] [UUU]\n"
    )
    md5 = mdstat.parse(text).arrays[0]
    assert [d.role for d in md5.devices] == [
        DeviceRole.WRITE_MOSTLY,
        DeviceRole.JOURNAL,
        DeviceRole.REPLACEMENT,
        DeviceRole.FAILED,
    ]
    assert md5.devices[3].write_mostly and md5.devices[3].failed


@pytest.mark.parametrize(
    ("personality", "status", "health"),
    [
        ("raid5", "[4/2] [UU__]", MdHealth.FAILED),
        ("raid6", "[5/2] [UU___]", MdHealth.FAILED),
        ("raid6", "[5/3] [UUU__]", MdHealth.DEGRADED),
        ("raid1", "[2/0] [__]", MdHealth.FAILED),
        ("raid10 512K chunks 2 near-copies", "[4/2] [U_U_]", MdHealth.DEGRADED),
        ("raid10 512K chunks 2 near-copies", "[4/2] [__UU]", MdHealth.FAILED),
    ],
)
def test_failed_when_more_members_are_missing_than_the_level_survives(
    personality: str, status: str, health: MdHealth
) -> None:
    level, _, geometry = personality.partition(" ")
    text = f"md9 : active {level} sda[0]\n      100 blocks super 1.2 {geometry} {status}\n"
    assert mdstat.parse(text).arrays[0].health is health


def test_raid0_with_failed_member_is_failed() -> None:
    text = "md0 : active raid0 sda[0] sdb[1](F)\n      100 blocks super 1.2 512k chunks\n"
    md0 = mdstat.parse(text).arrays[0]
    assert md0.health is MdHealth.FAILED
    assert md0.reasons[0] == "raid0 has no redundancy and a member failed"


def test_unknown_lines_and_tokens_are_reported_with_line_numbers() -> None:
    text = (
        "Personalities : [raid1] junk\n"
        "md0 : active raid1 sda[0] ??? sdb[1]\n"
        "      100 blocks [2/2] [UU] mystery 7\n"
        "strange line\n"
    )
    report = mdstat.parse(text)
    assert report.unparsed == (
        mdstat.Unparsed(1, "junk"),
        mdstat.Unparsed(2, "???"),
        mdstat.Unparsed(3, "mystery 7"),
        mdstat.Unparsed(4, "strange line"),
    )
    assert report.arrays[0].health is MdHealth.OK


# -- sysfs ------------------------------------------------------------------------------------


def test_parse_sysfs_values() -> None:
    sysfs = mdstat.parse_sysfs(
        {
            "array_state": "clean\n",
            "degraded": "1\n",
            "sync_action": "recover\n",
            "mismatch_cnt": "0\n",
            "sync_completed": "37043392 / 292945152\n",
            "bogus": "x",
            "raid_disks": "six",
        }
    )
    assert sysfs.array_state == "clean"
    assert sysfs.degraded == 1
    assert sysfs.sync_action == "recover"
    assert sysfs.mismatch_cnt == 0
    assert sysfs.sync_completed == (37043392, 292945152)
    assert sysfs.raid_disks is None
    assert sysfs.unparsed == ("bogus='x'", "raid_disks='six'")


def test_refine_with_sysfs_degraded_count() -> None:
    clean = mdstat.parse(sample("mdstat-clean-raid5.txt")).arrays[0]
    refined = mdstat.refine(clean, mdstat.parse_sysfs({"degraded": "1", "sync_action": "idle"}))
    assert refined.health is MdHealth.DEGRADED
    assert refined.reasons == ("sysfs degraded=1",)
    assert refined.sysfs is not None and refined.sysfs.degraded == 1
    assert clean.health is MdHealth.OK


def test_refine_with_sysfs_inactive_broken_and_check() -> None:
    clean = mdstat.parse(sample("mdstat-clean-raid5.txt")).arrays[0]
    stopped = mdstat.refine(clean, mdstat.parse_sysfs({"array_state": "inactive"}))
    assert stopped.health is MdHealth.INACTIVE
    broken = mdstat.refine(clean, mdstat.parse_sysfs({"array_state": "broken"}))
    assert broken.health is MdHealth.FAILED
    checking = mdstat.refine(clean, mdstat.parse_sysfs({"sync_action": "check"}))
    assert checking.health is MdHealth.CHECKING
    repairing = mdstat.refine(clean, mdstat.parse_sysfs({"sync_action": "repair"}))
    assert repairing.health is MdHealth.CHECKING
    mismatched = mdstat.refine(clean, mdstat.parse_sysfs({"mismatch_cnt": "128"}))
    assert mismatched.health is MdHealth.OK
    assert mismatched.sysfs is not None and mismatched.sysfs.mismatch_cnt == 128


def test_refine_degraded_array_with_recover_is_rebuilding() -> None:
    md0 = mdstat.parse(sample("mdstat-degraded-raid5.txt")).arrays[0]
    refined = mdstat.refine(md0, mdstat.parse_sysfs({"degraded": "1", "sync_action": "recover"}))
    assert refined.health is MdHealth.REBUILDING


# -- random input -----------------------------------------------------------------------------

_LINE_CHARS = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))
_GARBAGE = st.text(_LINE_CHARS, max_size=40).map(lambda s: "#" + s)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_random_text_never_raises(text: str) -> None:
    report = mdstat.parse(text)
    lines = text.splitlines()
    for item in report.unparsed:
        assert 1 <= item.line <= len(lines)
        assert item.text.strip()
        assert all(word in lines[item.line - 1] for word in item.text.split())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=100), _GARBAGE), max_size=8))
def test_garbage_lines_land_in_unparsed_and_change_nothing(
    inserts: list[tuple[int, str]],
) -> None:
    clean = sample("mdstat-procfs-fixture-mixed.txt").splitlines()
    lines = list(clean)
    for position, garbage in inserts:
        lines.insert(position % (len(lines) + 1), garbage)
    report = mdstat.parse("\n".join(lines))
    expected = mdstat.parse("\n".join(clean))
    assert sorted(u.text for u in report.unparsed) == sorted(g.rstrip() for _, g in inserts)
    assert [(a.name, a.health, a.sync, a.devices) for a in report.arrays] == [
        (a.name, a.health, a.sync, a.devices) for a in expected.arrays
    ]
