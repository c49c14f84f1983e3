"""Every recorded sample, through its collector's sample layer and the rules, to the alerts a
person would get (the parser tests check the parsing; these check what it means)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from lares.monitor.collectors import btrfs, mdstat, scrub, smart
from lares.monitor.config import PoolTarget, WatchConfig
from lares.monitor.parsers import btrfs as btrfs_parsers
from lares.monitor.parsers import mdstat as mdstat_parsers
from lares.monitor.parsers import smart as smart_parsers
from lares.monitor.rules import evaluate

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
CONFIG = WatchConfig(host="test", drives=("/dev/sda",))
NOW = datetime(2026, 1, 1).timestamp()

# file → {alert key: severity}; an absent key means no alert at all.
MDSTAT = {
    "mdstat-clean-raid5.txt": {},
    "mdstat-clean-raid5-8disk.txt": {},
    "mdstat-raid1-and-raid5-clean.txt": {},
    "mdstat-degraded-raid5.txt": {"raid:md0": "critical"},
    "mdstat-degraded-raid5-failed-member.txt": {"raid:md0": "critical"},
    "mdstat-raid5-recovery.txt": {"raid:md127": "warning"},
    "mdstat-degraded-raid1-failed-member.txt": {"raid:md1": "critical"},
    "mdstat-raid10-check-raid1.txt": {},  # a check on a complete array is not a problem
    "mdstat-inactive-raid5.txt": {"raid:md0": "critical"},  # despite [4/4] [UUUU]
    "mdstat-inactive-spares.txt": {"raid:md2": "critical"},
    "mdstat-raid4-reshape.txt": {"raid:md127": "critical"},
    "mdstat-raid0-nvme.txt": {},
    "mdstat-empty.txt": {},
    "mdstat-node-exporter-fixture.txt": {
        # md219 is an inactive IMSM container: normal, no alert
        "raid:md4": "critical",
        "raid:md7": "critical",
        "raid:md6": "warning",
        "raid:md8": "warning",
        "raid:md9": "warning",  # resync=DELAYED
        "raid:md11": "warning",  # resync=PENDING
    },
    "mdstat-procfs-fixture-mixed.txt": {
        "raid:md4": "critical",
        "raid:md7": "critical",
        "raid:md9": "critical",
        "raid:md11": "critical",
        "raid:md42": "critical",
        "raid:md6": "warning",
        "raid:md8": "warning",
    },
}
SMART = {
    "smartctl-ata.json": {},
    "smartctl-ata-full-ssd.json": {},
    "smartctl-nvme.json": {},
    "smartctl-ata-failing.json": {"smart:/dev/sda": "critical"},
    "smartctl-ata-packed-raw.json": {"smart:/dev/sda": "warning"},  # 196 raw 2111
    "smartctl-nvme-media-errors.json": {"smart:/dev/sda": "warning"},  # passing, 7 media errors
    "smartctl-scsi.json": {"smart:/dev/sda": "warning"},  # 56 grown defects
}
DEVICE_STATS = {
    "btrfs-device-stats.txt": {},
    "btrfs-device-stats-corruption.txt": {"btrfs-errors:/pool": "critical"},
}
USAGE = [
    "btrfs-filesystem-usage-b.txt",
    "btrfs-filesystem-usage-b-raid1.txt",
    "btrfs-filesystem-usage-human-nonroot.txt",
    "btrfs-filesystem-usage-human-tabs.txt",
]


def alerts(samples: list, config: WatchConfig = CONFIG, now: float = NOW) -> dict[str, str]:
    return {c.key: c.severity for c in evaluate(samples, config, now=now)}


def test_every_sample_file_is_covered() -> None:
    covered = {*MDSTAT, *SMART, *DEVICE_STATS, *USAGE, "smartctl-scan.json"}
    covered |= {p.name for p in SAMPLES.glob("btrfs-scrub-status-*.txt")}
    covered |= {"btrfs-sysfs-error_stats.txt", "btrfs-device-usage-b-raid1.txt", "SOURCES.md"}
    files = {p.name for p in SAMPLES.iterdir() if p.is_file()}
    assert files - covered == set()


@pytest.mark.parametrize("name", sorted(MDSTAT))
def test_mdstat_samples(name: str) -> None:
    report = mdstat_parsers.parse((SAMPLES / name).read_text())
    samples = mdstat.samples(report)
    assert alerts(samples) == MDSTAT[name]
    count = next(s for s in samples if s.metric == "count")
    assert count.value == len(report.arrays)
    # what the parser did not understand is reported, never dropped
    unparsed = [s for s in samples if s.metric == "unparsed"]
    assert (unparsed[0].value if unparsed else 0) == len(report.unparsed)


def test_mdstat_health_sample_carries_the_reasons() -> None:
    samples = mdstat.samples(
        mdstat_parsers.parse((SAMPLES / "mdstat-inactive-raid5.txt").read_text())
    )
    health = next(s for s in samples if s.metric == "health")
    assert (health.subject, health.state, health.value) == ("md0", "inactive", 0.0)
    assert "not started" in health.detail


def test_mdadm_pool_without_any_array_is_critical() -> None:
    config = WatchConfig(
        host="t", pools=(PoolTarget("tank", "mdadm", "raid5", "btrfs", "/tank", ("/dev/sda",)),)
    )
    empty = mdstat.samples(mdstat_parsers.parse((SAMPLES / "mdstat-empty.txt").read_text()))
    assert alerts(empty, config) == {"raid-missing:tank": "critical"}
    absent = mdstat.samples(mdstat_parsers.parse(""), present=False)
    found = evaluate(absent, config, now=NOW)
    assert [c.key for c in found] == ["raid-missing:tank"]
    assert "no /proc/mdstat" in found[0].message


def test_mdstat_unparsed_lines_become_an_info_note() -> None:
    text = (
        "Personalities : [raid1]\nmd0 : active raid1 sdb1[1] sda1[0]\n"
        "      100 blocks [2/2] [UU]\nwhat is this\n"
    )
    samples = mdstat.samples(mdstat_parsers.parse(text))
    found = evaluate(samples, CONFIG, now=NOW)
    assert [(c.rule, c.severity) for c in found] == [("unparsed", "info")]
    assert "what is this" in found[0].message


@pytest.mark.parametrize("name", sorted(SMART))
def test_smart_samples(name: str) -> None:
    report = smart_parsers.parse((SAMPLES / name).read_text())
    samples = smart.samples(report, device="/dev/sda")
    assert alerts(samples) == SMART[name]
    health = next(s for s in samples if s.metric == "health")
    assert health.state == report.health.value


def test_smart_failing_drive_names_model_and_reasons() -> None:
    report = smart_parsers.parse((SAMPLES / "smartctl-ata-failing.json").read_text())
    found = evaluate(smart.samples(report, device="/dev/sdb"), CONFIG, now=NOW)
    assert found[0].message.startswith("/dev/sdb (Hitachi HDS721050DLE630): SMART failing:")
    assert "FAILED" in found[0].message


def test_smart_counters_are_exported_as_samples() -> None:
    report = smart_parsers.parse((SAMPLES / "smartctl-nvme-media-errors.json").read_text())
    values = {s.metric: s.value for s in smart.samples(report, device="/dev/nvme0")}
    assert values["nvme_media_errors"] == 7
    packed = smart_parsers.parse((SAMPLES / "smartctl-ata-packed-raw.json").read_text())
    values = {s.metric: s.value for s in smart.samples(packed, device="/dev/sdc")}
    assert values["temperature_celsius"] == 29  # "29 (0 18 0 0 0)", not the packed raw value
    assert values["power_on_hours"] == 2725


def test_smart_scan_sample() -> None:
    devices = smart_parsers.parse_scan((SAMPLES / "smartctl-scan.json").read_text())
    assert [d.name for d in devices][:2] == ["/dev/sda", "/dev/sdb"]
    assert {d.type for d in devices} == {"scsi"}


@pytest.mark.parametrize("name", sorted(DEVICE_STATS))
def test_btrfs_device_stats_samples(name: str) -> None:
    samples = btrfs.samples("/pool", btrfs_parsers.parse_device_stats((SAMPLES / name).read_text()))
    assert alerts(samples) == DEVICE_STATS[name]


def test_btrfs_corruption_alert_lists_each_device() -> None:
    text = (SAMPLES / "btrfs-device-stats-corruption.txt").read_text()
    found = evaluate(
        btrfs.samples("/pool", btrfs_parsers.parse_device_stats(text)), CONFIG, now=NOW
    )
    assert "/dev/sda corruption 0 → 2" in found[0].message
    assert "/dev/sdc corruption 0 → 2" in found[0].message


def test_btrfs_sysfs_error_stats_sample() -> None:
    report = btrfs_parsers.parse_error_stats(
        (SAMPLES / "btrfs-sysfs-error_stats.txt").read_text(), "/dev/sdb", 2
    )
    samples = btrfs.samples("/pool", report, missing={2: False})
    assert alerts(samples) == {}
    errors = {s.metric for s in samples if s.metric.startswith("errors_")}
    assert errors == {
        "errors_write",
        "errors_read",
        "errors_flush",
        "errors_corruption",
        "errors_generation",
    }
    assert {s.labels["devid"] for s in samples if s.metric == "errors_read"} == {"2"}


def test_btrfs_missing_device_is_critical() -> None:
    report = btrfs_parsers.parse_error_stats("write_errs 0\nread_errs 0\n", "devid 3", 3)
    samples = btrfs.samples("/pool", report, missing={3: True})
    assert alerts(samples) == {"btrfs-missing:/pool": "critical"}


def _scrub(name: str, now: float) -> dict[str, str]:
    report = btrfs_parsers.parse_scrub_status((SAMPLES / name).read_text())
    return alerts(scrub.scrub_samples("/pool", report, now=now), now=now)


def test_btrfs_scrub_samples() -> None:
    clean = btrfs_parsers.parse_scrub_status(
        (SAMPLES / "btrfs-scrub-status-finished-clean.txt").read_text()
    )
    started = clean.scrubs[-1].started
    assert started is not None
    soon = started.timestamp() + 86400
    assert _scrub("btrfs-scrub-status-finished-clean.txt", soon) == {}
    assert _scrub("btrfs-scrub-status-finished-clean.txt", soon + 40 * 86400) == {
        "btrfs-scrub:/pool": "warning"
    }
    assert _scrub("btrfs-scrub-status-running.txt", NOW) == {}
    for name in ("btrfs-scrub-status-finished-errors.txt", "btrfs-scrub-status-raw-R.txt"):
        assert _scrub(name, NOW) == {"btrfs-scrub:/pool": "critical"}  # 1 uncorrectable
    # three outputs in one file; the last says "no stats available"
    assert _scrub("btrfs-scrub-status-legacy-progs4.txt", NOW) == {"btrfs-scrub:/pool": "warning"}


@pytest.mark.parametrize("name", USAGE)
def test_btrfs_usage_samples(name: str) -> None:
    samples = scrub.usage_samples(
        "/pool", btrfs_parsers.parse_filesystem_usage((SAMPLES / name).read_text())
    )
    assert alerts(samples) == {}
    values = {s.metric: s.value for s in samples}
    assert values["alloc_size_bytes"] and values["alloc_size_bytes"] > 0
    health = next(s for s in samples if s.metric == "usage_health")
    assert health.state == "ok"


def test_btrfs_device_usage_sample() -> None:
    text = (SAMPLES / "btrfs-device-usage-b-raid1.txt").read_text()
    usage = btrfs_parsers.parse_filesystem_usage(
        (SAMPLES / "btrfs-filesystem-usage-b-raid1.txt").read_text()
    )
    samples = scrub.usage_samples("/pool", usage, btrfs_parsers.parse_device_usage(text))
    assert alerts(samples) == {}
    sizes = [s for s in samples if s.metric == "device_size_bytes"]
    assert len(sizes) == 2 and all(s.value and s.value > 0 for s in sizes)


def test_btrfs_mixed_profiles_warn() -> None:
    text = (SAMPLES / "btrfs-filesystem-usage-b.txt").read_text()
    mixed = text + "Data,RAID1: Size:1073741824, Used:0\n   /dev/sda\t1073741824\n"
    samples = scrub.usage_samples("/pool", btrfs_parsers.parse_filesystem_usage(mixed))
    assert alerts(samples) == {"btrfs-usage:/pool": "warning"}
