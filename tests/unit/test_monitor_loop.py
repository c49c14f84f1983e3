"""The watch loop's schedule: per-collector intervals, wake-ups, a clean stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from lares.monitor.collectors import Context, Sample
from lares.monitor.config import WatchConfig
from lares.monitor.watch import MIN_EVENT_GAP, Cycle, WatchBusy, Watcher


class Counter:
    DEFAULT_INTERVAL: float | None = None

    def __init__(self, cid: str) -> None:
        self.ID = cid
        self.times: list[float] = []

    def collect(self, ctx: Context) -> list[Sample]:
        self.times.append(time.monotonic())
        return [Sample(self.ID, "x", "n", float(len(self.times)))]


def test_each_collector_runs_on_its_own_interval_and_stops_cleanly(tmp_path: Path) -> None:
    fast, slow = Counter("fast"), Counter("slow")
    config = WatchConfig(host="h", state_dir=str(tmp_path), intervals={"fast": 0.2, "slow": 0.7})
    watcher = Watcher(config, collectors={"fast": fast, "slow": slow})
    cycles: list[Cycle] = []
    thread = threading.Thread(target=watcher.run, kwargs={"on_cycle": cycles.append})
    thread.start()
    time.sleep(1.5)
    watcher.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert 6 <= len(fast.times) <= 9
    assert 2 <= len(slow.times) <= 3
    gaps = [b - a for a, b in zip(fast.times, fast.times[1:], strict=False)]
    assert min(gaps) >= 0.19  # never early: the loop sleeps, it does not spin
    assert all(c.runs for c in cycles)  # no empty cycles
    # the store was closed and the lock released: a new watcher may start
    Watcher(config, collectors={}).run(once=True)


def test_wake_runs_a_collector_early_but_not_too_often(tmp_path: Path) -> None:
    events = Counter("docker")
    config = WatchConfig(host="h", state_dir=str(tmp_path), intervals={"docker": 60})
    watcher = Watcher(config, collectors={"docker": events})
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not events.times and time.monotonic() < deadline:
            time.sleep(0.05)
        first = events.times[0]
        watcher.wake("docker")
        watcher.wake("docker")  # a burst of events is one run
        time.sleep(MIN_EVENT_GAP + 1.0)
        assert len(events.times) == 2
        assert events.times[1] - first >= MIN_EVENT_GAP
    finally:
        watcher.stop()
        thread.join(timeout=5)


def test_one_watcher_per_state_directory(tmp_path: Path) -> None:
    config = WatchConfig(host="h", state_dir=str(tmp_path), intervals={"slow": 60})
    watcher = Watcher(config, collectors={"slow": Counter("slow")})
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        time.sleep(0.3)
        with pytest.raises(WatchBusy, match="another lares watch"):
            Watcher(config, collectors={}).run(once=True)
    finally:
        watcher.stop()
        thread.join(timeout=5)
