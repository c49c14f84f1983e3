"""The btrfs parsers on every recorded sample, the health helper, and random input."""

from __future__ import annotations

import filecmp
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lares.monitor.parsers import btrfs
from lares.monitor.parsers.btrfs import Health, ScrubState

HERE = Path(__file__).resolve()
SAMPLES = HERE.parents[2] / "data" / "samples"
SHARED = HERE.parents[3] / ".." / "shared" / "samples"

Report = (
    btrfs.DeviceStatsReport | btrfs.ScrubReport | btrfs.FilesystemUsage | btrfs.DeviceUsageReport
)
PARSERS: dict[str, Callable[[str], Report]] = {
    "btrfs-device-stats.txt": btrfs.parse_device_stats,
    "btrfs-device-stats-corruption.txt": btrfs.parse_device_stats,
    "btrfs-sysfs-error_stats.txt": btrfs.parse_error_stats,
    "btrfs-scrub-status-running.txt": btrfs.parse_scrub_status,
    "btrfs-scrub-status-finished-clean.txt": btrfs.parse_scrub_status,
    "btrfs-scrub-status-finished-errors.txt": btrfs.parse_scrub_status,
    "btrfs-scrub-status-raw-R.txt": btrfs.parse_scrub_status,
    "btrfs-scrub-status-legacy-progs4.txt": btrfs.parse_scrub_status,
    "btrfs-filesystem-usage-b.txt": btrfs.parse_filesystem_usage,
    "btrfs-filesystem-usage-b-raid1.txt": btrfs.parse_filesystem_usage,
    "btrfs-filesystem-usage-human-tabs.txt": btrfs.parse_filesystem_usage,
    "btrfs-filesystem-usage-human-nonroot.txt": btrfs.parse_filesystem_usage,
    "btrfs-device-usage-b-raid1.txt": btrfs.parse_device_usage,
}
GiB = 1024**3


def sample(name: str) -> str:
    assert name in PARSERS, f"{name} is not listed in PARSERS"
    return (SAMPLES / name).read_text()


def test_every_btrfs_sample_is_covered() -> None:
    assert {p.name for p in SAMPLES.glob("btrfs-*")} == set(PARSERS)


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared/ checkout beside the repo")
def test_copies_match_shared_samples() -> None:
    for name in [*PARSERS, "SOURCES.md"]:
        assert filecmp.cmp(SAMPLES / name, SHARED / name, shallow=False), name


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_sample_parses_without_leftovers(name: str) -> None:
    report = PARSERS[name](sample(name))
    assert report.unparsed == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4096", 4096),
        ("0.00B", 0),
        ("292.00KiB", 299008),
        ("1.00GiB", GiB),
        ("2GB", 2 * 1000**3),
        ("16.00EiB", 16 * 1024**6),
        ("12 MiB", None),
        ("lots", None),
        ("", None),
    ],
)
def test_parse_size(text: str, expected: int | None) -> None:
    assert btrfs.parse_size(text) == expected


# -- device stats -----------------------------------------------------------------------------


def test_device_stats_aligned_doc_example() -> None:
    report = btrfs.parse_device_stats(sample("btrfs-device-stats.txt"))
    (sda3,) = report.devices
    assert sda3 == btrfs.DeviceErrors(device="/dev/sda3")
    assert sda3.errors_total() == 0
    assert report.health is Health.OK
    assert report.reasons == ()


def test_device_stats_single_spaced_with_corruption() -> None:
    report = btrfs.parse_device_stats(sample("btrfs-device-stats-corruption.txt"))
    assert [d.device for d in report.devices] == ["/dev/sda", "/dev/sdb", "/dev/sdd", "/dev/sdc"]
    sda = report.get("/dev/sda")
    assert sda is not None
    assert (sda.write, sda.read, sda.flush, sda.corruption, sda.generation) == (0, 0, 0, 2, 0)
    assert sda.errors_total() == 2
    assert sda.nonzero() == (("corruption_errs", 2),)
    sdb = report.get("/dev/sdb")
    assert sdb is not None and sdb.errors_total() == 0
    assert report.errors_total() == 4
    assert report.health is Health.WARNING
    assert report.reasons == ("/dev/sda: corruption_errs 2", "/dev/sdc: corruption_errs 2")


def test_device_stats_table_form_and_unknown_counter() -> None:
    table = (
        "Id Path      Write errors Read errors Flush errors Corruption errors Generation errors\n"
        "-- --------- ------------ ----------- ------------ ----------------- -----------------\n"
        " 1 /dev/sda3            0           3            0                 0                 1\n"
    )
    (row,) = btrfs.parse_device_stats(table).devices
    assert (row.devid, row.device, row.read, row.generation, row.errors_total()) == (
        1,
        "/dev/sda3",
        3,
        1,
        4,
    )
    future = btrfs.parse_device_stats("[/dev/sdb].zone_errs 5\n[/dev/sdb].write_io_errs 0\n")
    (sdb,) = future.devices
    assert sdb.other == (("zone_errs", 5),)
    assert sdb.errors_total() == 5
    assert future.health is Health.WARNING


def test_sysfs_error_stats() -> None:
    report = btrfs.parse_error_stats(sample("btrfs-sysfs-error_stats.txt"), "/dev/sdb", devid=1)
    assert report.devices == (btrfs.DeviceErrors(device="/dev/sdb", devid=1),)
    assert report.health is Health.OK
    bad = btrfs.parse_error_stats("write_errs 0\nread_errs 7\nnonsense\n")
    assert bad.devices[0].read == 7
    assert bad.unparsed == (btrfs.Unparsed(3, "nonsense"),)
    assert bad.health is Health.WARNING


# -- scrub status -----------------------------------------------------------------------------


def test_scrub_running_new_format() -> None:
    (scrub,) = btrfs.parse_scrub_status(sample("btrfs-scrub-status-running.txt")).scrubs
    assert scrub.uuid == "76fac721-2294-4f89-a1af-620cde7a1980"
    assert scrub.state is ScrubState.RUNNING
    assert scrub.started == datetime(2023, 4, 10, 12, 34, 56)
    assert (scrub.duration, scrub.time_left, scrub.eta) == (5, 5, "Wed Apr 10 12:35:01 2023")
    assert scrub.total_to_scrub == round(28.32 * GiB)
    assert scrub.bytes_scrubbed == round(13.76 * GiB)
    assert scrub.percent == 48.59
    assert scrub.rate == round(2.75 * GiB)
    assert scrub.errors == btrfs.ScrubErrors()
    assert scrub.health is Health.OK


def test_scrub_finished_clean() -> None:
    report = btrfs.parse_scrub_status(sample("btrfs-scrub-status-finished-clean.txt"))
    (scrub,) = report.scrubs
    assert scrub.state is ScrubState.FINISHED
    assert scrub.started == datetime(2025, 7, 15, 10, 1, 38)
    assert scrub.duration == 2 * 3600 + 58 * 60 + 46
    assert scrub.total_to_scrub == round(2.19 * 1024**4)
    assert scrub.rate == round(183.26 * 1024**2)
    assert scrub.errors.found == 0
    assert (report.health, report.reasons) == (Health.OK, ())


def test_scrub_finished_with_uncorrectable_csum_error_is_failing() -> None:
    report = btrfs.parse_scrub_status(sample("btrfs-scrub-status-finished-errors.txt"))
    (scrub,) = report.scrubs
    assert scrub.errors == btrfs.ScrubErrors(csum=1, corrected=0, uncorrectable=1, unverified=0)
    assert (scrub.duration, scrub.total_to_scrub, scrub.rate) == (0, 292 * 1024, 0)
    assert report.health is Health.FAILING
    assert report.reasons == (
        "7afde3c2-8b19-47cc-bf0a-c11a45b2e0bd: scrub found 1 uncorrectable",
        "7afde3c2-8b19-47cc-bf0a-c11a45b2e0bd: scrub errors csum=1",
    )


def test_scrub_raw_counters() -> None:
    (scrub,) = btrfs.parse_scrub_status(sample("btrfs-scrub-status-raw-R.txt")).scrubs
    assert scrub.state is ScrubState.FINISHED
    assert scrub.raw_counter("data_extents_scrubbed") == 1
    assert scrub.raw_counter("tree_bytes_scrubbed") == 294912
    assert scrub.raw_counter("last_physical") == 213254144
    assert scrub.raw_counter("missing") is None
    assert len(scrub.raw) == 15
    assert scrub.errors == btrfs.ScrubErrors(
        read=0, super=0, verify=0, csum=1, malloc=0, corrected=0, uncorrectable=1, unverified=0
    )
    assert scrub.health is Health.FAILING


def test_scrub_legacy_progs4_running_finished_and_no_stats() -> None:
    report = btrfs.parse_scrub_status(sample("btrfs-scrub-status-legacy-progs4.txt"))
    running, finished, never = report.scrubs
    assert running.uuid == "253728d8-e806-437d-acc1-1456aaf79e91"
    assert running.state is ScrubState.RUNNING
    assert running.started == datetime(2022, 9, 30, 22, 54, 23)
    assert running.duration == 5
    assert running.bytes_scrubbed == round(19.38 * 1024**2)
    assert running.errors.total == 0
    assert running.health is Health.OK
    assert (finished.uuid, finished.state, finished.duration) == (
        "8c21cca7-46d5-4c44-a461-33eef703669a",
        ScrubState.FINISHED,
        0,
    )
    assert finished.bytes_scrubbed == 256 * 1024
    assert never.state is ScrubState.NO_STATS
    assert never.started is None
    assert never.health is Health.UNKNOWN
    assert [s.line for s in report.scrubs] == [1, 4, 7]
    assert report.health is Health.UNKNOWN


def test_scrub_legacy_with_errors_and_aborted() -> None:
    text = (
        "scrub status for 0e1f\n"
        "\tscrub started at Sat Apr  1 23:24:01 2023 and was aborted after 00:09:03\n"
        "\ttotal bytes scrubbed: 146.79GiB with 3 errors\n"
        "\terror details: read=1 csum=2\n"
        "\tcorrected errors: 3, uncorrectable errors: 0, unverified errors: 0\n"
    )
    (scrub,) = btrfs.parse_scrub_status(text).scrubs
    assert scrub.state is ScrubState.ABORTED
    assert scrub.started == datetime(2023, 4, 1, 23, 24, 1)
    assert scrub.duration == 543
    assert scrub.errors == btrfs.ScrubErrors(
        read=1, csum=2, corrected=3, uncorrectable=0, unverified=0, total=3
    )
    assert scrub.health is Health.WARNING
    assert scrub.reasons == (
        "0e1f: scrub errors read=1 csum=2",
        "0e1f: scrub corrected 3",
        "0e1f: last scrub aborted",
    )


def test_scrub_per_device_blocks_inherit_uuid() -> None:
    text = (
        "UUID:             85069ce9-be06-4c92-b8c1-8a0f685e43c6\n"
        "scrub device /dev/sda (id 1) status\n"
        "Scrub resumed:    Sat May  9 02:52:12 2020\n"
        "Status:           running\n"
        "Duration:         7:02:55\n"
        "Rate:             151.47MiB/s (limit 200.00MiB/s)\n"
        "Error summary:    read=2 super=1\n"
        "  Corrected:      3\n"
        "  Uncorrectable:  0\n"
        "  Unverified:     0\n"
        "scrub device /dev/sdb (id 2) status\n"
        "Status:           interrupted\n"
        "Error summary:    no errors found\n"
    )
    report = btrfs.parse_scrub_status(text)
    sda, sdb = report.scrubs
    assert (sda.uuid, sda.device, sda.devid, sda.resumed) == (
        "85069ce9-be06-4c92-b8c1-8a0f685e43c6",
        "/dev/sda",
        1,
        True,
    )
    assert sda.duration == 7 * 3600 + 2 * 60 + 55
    assert sda.rate_limit == 200 * 1024**2
    assert (sda.errors.read, sda.errors.super, sda.errors.corrected) == (2, 1, 3)
    assert sda.health is Health.WARNING
    assert (sdb.devid, sdb.state, sdb.health) == (2, ScrubState.INTERRUPTED, Health.WARNING)
    assert report.unparsed == ()


# -- space usage ------------------------------------------------------------------------------


def test_filesystem_usage_bytes_single_and_dup() -> None:
    usage = btrfs.parse_filesystem_usage(sample("btrfs-filesystem-usage-b.txt"))
    assert usage.raw_bytes
    assert usage.device_size == 1288490188800
    assert usage.device_allocated == 1285297274880
    assert usage.device_unallocated == 3192913920
    assert usage.device_missing == 0
    assert usage.used == 1218484604928
    assert (usage.free_estimated, usage.free_estimated_min) == (66433708032, 64837251072)
    assert (usage.data_ratio, usage.metadata_ratio) == (1.0, 2.0)
    assert (usage.global_reserve, usage.global_reserve_used) == (536870912, 0)
    assert usage.multiple_profiles is None
    assert usage.device_slack is None
    assert [(p.kind, p.profile, p.size, p.used) for p in usage.profiles] == [
        ("Data", "single", 1276640231424, 1213399437312),
        ("Metadata", "DUP", 4294967296, 2542436352),
        ("System", "DUP", 33554432, 147456),
    ]
    assert usage.profile("metadata")[0].devices == (btrfs.DeviceAmount("/dev/sdb", 8589934592),)
    assert usage.unallocated == (btrfs.DeviceAmount("/dev/sdb", 3192913920),)
    assert usage.health is Health.OK


def test_filesystem_usage_bytes_raid1_with_tabs() -> None:
    usage = btrfs.parse_filesystem_usage(sample("btrfs-filesystem-usage-b-raid1.txt"))
    assert usage.device_size == 21474836480
    assert usage.data_ratio == 2.0
    assert [p.profile for p in usage.profiles] == ["RAID1", "RAID1", "RAID1"]
    data = usage.profile("Data")[0]
    assert (data.size, data.used, data.line) == (1073741824, 524288, 12)
    assert [d.device for d in data.devices] == ["/dev/sdb", "/dev/sdc"]
    assert usage.profile("System")[0].devices[1] == btrfs.DeviceAmount("/dev/sdc", 8388608)
    assert sum(d.bytes for d in usage.unallocated) == usage.device_unallocated
    assert usage.health is Health.OK


def test_filesystem_usage_human_with_percent_and_multiple_profiles_line() -> None:
    usage = btrfs.parse_filesystem_usage(sample("btrfs-filesystem-usage-human-tabs.txt"))
    assert not usage.raw_bytes
    assert usage.device_size == 300 * GiB
    assert usage.free_statfs == round(157.54 * GiB)
    assert usage.multiple_profiles is False
    assert usage.global_reserve == 512 * 1024**2
    assert [(p.kind, p.profile, p.percent) for p in usage.profiles] == [
        ("Data", "single", 98.83),
        ("Metadata", "single", 89.43),
        ("System", "single", 0.39),
    ]
    assert usage.profile("Metadata")[0].size == round(95.01 * GiB)
    assert usage.unallocated == (btrfs.DeviceAmount("/dev/loop3", round(156.98 * GiB)),)
    assert usage.health is Health.OK


def test_filesystem_usage_non_root_warning_and_colonless_key() -> None:
    usage = btrfs.parse_filesystem_usage(sample("btrfs-filesystem-usage-human-nonroot.txt"))
    assert usage.warnings == (
        "WARNING: cannot read detailed chunk info, RAID5/6 numbers will be incorrect, run as root",
    )
    assert usage.device_slack == GiB
    assert usage.free_statfs == round(692.57 * GiB)
    assert usage.device_missing == 0
    assert usage.multiple_profiles is False
    assert usage.profiles == ()
    assert usage.health is Health.OK


def test_filesystem_usage_missing_device_and_mixed_profiles() -> None:
    text = sample("btrfs-filesystem-usage-human-tabs.txt").replace(
        "Device missing:\t\t     0.00B", "Device missing:\t\t   10.00GiB"
    )
    usage = btrfs.parse_filesystem_usage(text)
    assert usage.device_missing == 10 * GiB
    assert usage.health is Health.DEGRADED
    mixed = btrfs.parse_filesystem_usage(
        sample("btrfs-filesystem-usage-b.txt")
        + "\nData,RAID1: Size:1073741824, Used:0\n   /dev/sdb\t1073741824\n"
    )
    assert mixed.health is Health.WARNING
    assert mixed.reasons == ("multiple profiles for Data",)


def test_device_usage_raid1() -> None:
    report = btrfs.parse_device_usage(sample("btrfs-device-usage-b-raid1.txt"))
    sdb, sdc = report.devices
    assert (sdb.device, sdb.devid, sdb.size, sdb.unallocated) == (
        "/dev/sdb",
        1,
        10737418240,
        8581545984,
    )
    assert sdb.allocations == (
        ("Data", "RAID1", 1073741824),
        ("Metadata", "RAID1", 1073741824),
        ("System", "RAID1", 8388608),
    )
    assert sdb.allocated + (sdb.unallocated or 0) == sdb.size
    assert (sdc.device, sdc.devid, sdc.line) == ("/dev/sdc", 2, 8)
    assert report.health is Health.OK


# -- one verdict ------------------------------------------------------------------------------


def test_assess_combines_readings_worst_first() -> None:
    stats = btrfs.parse_device_stats(sample("btrfs-device-stats-corruption.txt"))
    scrub = btrfs.parse_scrub_status(sample("btrfs-scrub-status-finished-errors.txt"))
    usage = btrfs.parse_filesystem_usage(sample("btrfs-filesystem-usage-b.txt"))
    verdict = btrfs.assess(stats=stats, scrub=scrub, usage=usage)
    assert verdict.health is Health.FAILING
    assert verdict.reasons[0] == "/dev/sda: corruption_errs 2"
    assert len(verdict.reasons) == 4
    clean = btrfs.assess(
        stats=btrfs.parse_device_stats(sample("btrfs-device-stats.txt")),
        scrub=btrfs.parse_scrub_status(sample("btrfs-scrub-status-finished-clean.txt")),
        usage=usage,
        device_usage=btrfs.parse_device_usage(sample("btrfs-device-usage-b-raid1.txt")),
    )
    assert clean == btrfs.Assessment(Health.OK)
    assert btrfs.assess().health is Health.UNKNOWN


# -- random input -----------------------------------------------------------------------------

_LINE_CHARS = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))
_GARBAGE = st.text(_LINE_CHARS, max_size=40).map(lambda s: "#" + s)
_TEXT_PARSERS = sorted({f.__name__: f for f in PARSERS.values()}.items())


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_random_text_never_raises(text: str) -> None:
    lines = text.splitlines()
    for _, parse in _TEXT_PARSERS:
        report = parse(text)
        for item in report.unparsed:
            assert 1 <= item.line <= len(lines)
            assert item.text == lines[item.line - 1].rstrip()


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(sorted(PARSERS)),
    st.lists(st.tuples(st.integers(min_value=0, max_value=60), _GARBAGE), max_size=6),
)
def test_garbage_lines_land_in_unparsed_and_change_nothing(
    name: str, inserts: list[tuple[int, str]]
) -> None:
    clean = sample(name).splitlines()
    lines = list(clean)
    for position, garbage in inserts:
        lines.insert(position % (len(lines) + 1), garbage)
    parse = PARSERS[name]
    report = parse("\n".join(lines))
    expected = parse("\n".join(clean))
    assert sorted(u.text for u in report.unparsed) == sorted(g.rstrip() for _, g in inserts)
    assert report.health == expected.health
    assert report.reasons == expected.reasons
