"""The history database: samples, rollups, retention, alert state, baselines, silences."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lares.monitor.collectors import Sample
from lares.monitor.store import BUCKET, RAW_DAYS, Store

DAY = 86400
T0 = 1_800_000_000 // BUCKET * BUCKET


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "monitor") as opened:
        yield opened


def used(value: float) -> Sample:
    return Sample("disks", "/tank", "used_bytes", value)


def test_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    with Store.open(tmp_path / "monitor") as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stat.S_IMODE(os.stat(tmp_path / "monitor").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "monitor" / "history.sqlite").st_mode) == 0o600


def test_record_keeps_numbers_only(store: Store) -> None:
    kept = store.record([used(5), Sample("docker", "web", "state", None, "missing")], T0)
    assert kept == 1
    assert store.points(("disks", "/tank", "used_bytes"), since=0) == [(T0, 5.0)]
    assert store.points(("disks", "/nope", "used_bytes"), since=0) == []


def test_value_since(store: Store) -> None:
    for i in range(6):
        store.record([used(i * 10)], T0 + i * 1200)  # every 20 minutes
    key = ("disks", "/tank", "used_bytes")
    assert store.value_since(key, T0 + 1000) == 10.0
    assert store.value_since(key, T0 + 7000) is None
    assert store.value_since(("disks", "/nope", "used_bytes"), 0) is None


def test_hourly_averages_within_each_hour(store: Store) -> None:
    start = T0 // 3600 * 3600
    for minute, value in ((0, 1), (30, 3), (60, 10), (90, 20)):
        store.record([used(value)], start + minute * 60)
    assert store.hourly(("disks", "/tank", "used_bytes"), since=0) == [
        (start, 2.0),
        (start + 3600, 15.0),
    ]


def test_maintain_rolls_raw_values_up_and_drops_old_history(store: Store) -> None:
    now = T0 + 10 * DAY
    old = now - (RAW_DAYS + 1) * DAY // BUCKET * BUCKET
    old = old // BUCKET * BUCKET
    for offset, value in ((0, 1.0), (60, 3.0), (120, 5.0)):  # one 5-minute bucket
        store.record([used(value)], old + offset)
    store.record([used(7.0)], now - 60)  # recent: stays raw
    store.record([used(9.0)], now - 100 * DAY)  # older than the history kept
    store.maintain(now=now, history_days=90)
    counts = store.counts()
    assert counts["samples"] == 1
    rows = store.db.execute("SELECT ts, avg, min, max, n FROM rollups ORDER BY ts").fetchall()
    assert rows == [(old, 3.0, 1.0, 5.0, 3)]
    assert store.points(("disks", "/tank", "used_bytes"), since=0) == [(old, 3.0), (now - 60, 7.0)]


def test_maintain_merges_into_an_existing_bucket(store: Store) -> None:
    now = T0 + 10 * DAY
    bucket = (now - (RAW_DAYS + 1) * DAY) // BUCKET * BUCKET
    store.record([used(2.0)], bucket)
    store.maintain(now=now)
    store.record([used(4.0)], bucket + 30)
    store.maintain(now=now)
    rows = store.db.execute("SELECT avg, n FROM rollups").fetchall()
    assert rows == [(3.0, 2)]


def test_alert_state_and_log(store: Store) -> None:
    store.save_alerts(
        {"a": {"key": "a", "state": "firing"}}, [(T0, "a", "firing", "warning", "m", 1)]
    )
    store.save_alerts({"b": {"key": "b"}}, [(T0 + 1, "a", "resolved", "warning", "m", 1)])
    assert list(store.load_alerts()) == ["b"]
    assert [(r["kind"], r["notified"]) for r in store.alert_log()] == [
        ("firing", 1),
        ("resolved", 1),
    ]


def test_baselines(store: Store) -> None:
    store.set_baselines({"btrfs:/t:/dev/a:errors_read": 3}, acknowledged=True, now=T0)
    store.set_baselines({"btrfs:/t:/dev/a:errors_read": 5}, acknowledged=True, now=T0 + 1)
    assert store.baselines() == {"btrfs:/t:/dev/a:errors_read": 5.0}


def test_silences_expire(store: Store) -> None:
    store.silence("sonarr", T0 + 7200, "upgrade")
    assert [(s.target, s.reason) for s in store.silences(now=T0)] == [("sonarr", "upgrade")]
    assert store.silences(now=T0 + 7201) == []
    assert store.unsilence("sonarr") is True
    assert store.unsilence("sonarr") is False


def test_two_connections_share_the_database(tmp_path: Path) -> None:
    with Store.open(tmp_path) as writer, Store.open(tmp_path) as reader:
        writer.record([used(1)], T0)
        assert reader.points(("disks", "/tank", "used_bytes"), since=0) == [(T0, 1.0)]
