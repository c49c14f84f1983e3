"""`lares capacity`: the Theil–Sen fill forecast on synthetic histories (known slope, noise,
spikes, flat and empty), the headroom report, reading it from a real history database, and the
watcher's alert on "full in" with the threshold from the blueprint.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conftest import LaresRunner
from lares.blueprint.load import load_reference
from lares.blueprint.model import Thresholds
from lares.forecast import full_in, theil_sen
from lares.monitor.capacity import docker_disk, measured
from lares.monitor.collectors import Sample
from lares.monitor.config import MountTarget, WatchConfig
from lares.monitor.rules import evaluate
from lares.monitor.store import Store
from lares.plan import make_context
from lares.plan.checks.memory import budget
from lares.plan.headroom import Measured, MountHistory, capacity

HOUR, DAY, GB = 3600.0, 86400.0, 1e9


def history(
    per_day: float, days: int, noise: float = 0.0, seed: int = 1
) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(t * HOUR, 5e12 + per_day * t / 24 + rng.gauss(0, noise)) for t in range(days * 24)]


def test_known_slope_gives_full_in_exactly() -> None:
    f = full_in(history(10 * GB, 14), avail=1000 * GB)
    assert f.state == "growing"
    assert f.days == pytest.approx(100.0)
    assert f.days_low == pytest.approx(100.0) and f.days_high == pytest.approx(100.0)


@pytest.mark.parametrize("seed", range(5))
def test_noisy_history_recovers_the_slope_with_a_range_around_it(seed: int) -> None:
    f = full_in(history(10 * GB, 30, noise=20 * GB, seed=seed), avail=1000 * GB)
    assert f.trend is not None
    assert f.trend.per_day == pytest.approx(10 * GB, rel=0.15)
    assert f.trend.low <= 10 * GB * 1.15 and f.trend.high >= 10 * GB * 0.85
    assert f.days_low is not None and f.days is not None
    assert f.days_low <= f.days <= (f.days_high or float("inf"))


def test_a_spike_moves_the_robust_line_little() -> None:
    points = history(1 * GB, 14)
    points[200] = (
        points[200][0],
        points[200][1] + 3000 * GB,
    )  # a large file, deleted an hour later
    points[201] = (points[201][0], points[201][1] + 3000 * GB)
    trend = theil_sen(points)
    assert trend is not None and trend.per_day == pytest.approx(1 * GB, rel=0.05)


@pytest.mark.parametrize(
    ("points", "state"),
    [
        ([], "too-little"),
        ([(0.0, 5.0)], "too-little"),
        ([(0.0, 5.0), (0.0, 6.0), (0.0, 7.0)], "too-little"),  # one instant: no slope
        ([(i * 60.0, float(i)) for i in range(50)], "too-little"),  # under six hours
        ([(i * HOUR, 7e12) for i in range(100)], "no-growth"),
        ([(i * HOUR, 7e12 - i * 1e6) for i in range(100)], "no-growth"),
    ],
)
def test_empty_short_flat_or_shrinking_history_says_so(
    points: list[tuple[float, float]], state: str
) -> None:
    f = full_in(points, avail=1e12)
    assert f.state == state
    assert f.days is None


def test_long_histories_are_thinned_and_stay_exact() -> None:
    f = full_in(history(2 * GB, 90), avail=200 * GB)  # 2160 hourly points
    assert f.trend is not None and f.trend.points == 300
    assert f.days == pytest.approx(100.0)


def _budget():  # type: ignore[no-untyped-def]
    return budget(make_context(load_reference()))


def test_the_pool_that_fills_first_binds() -> None:
    pool = MountHistory(
        "/media/mainpool", "pool", "mainpool", 36e12, 3e12, 33e12, tuple(history(50 * GB, 10))
    )
    appdata = MountHistory(
        "/DATA/AppData", "appdata", None, 120e9, 40e9, 80e9, tuple(history(1 * GB, 10))
    )
    c = capacity(_budget(), Measured(mounts=(pool, appdata), containers_memory=8 * 1024**3))
    assert c.binding is not None
    assert c.binding.what == "/DATA/AppData" and c.binding.days == pytest.approx(80.0)
    assert "OS disk" in c.binding.buy
    assert c.memory.measured_headroom == c.memory.available - 8 * 1024**3


def test_memory_over_its_budget_binds_now() -> None:
    b = _budget()
    c = capacity(b, Measured(containers_memory=float(b.available + 1)))
    assert c.binding is not None and (c.binding.what, c.binding.days) == ("memory", 0.0)


def test_without_history_the_report_is_the_budget_alone() -> None:
    b = _budget()
    c = capacity(b)
    assert not c.measured and c.fills == () and c.binding is None
    assert c.memory.budget_headroom == b.available - b.reservations


def test_measured_reads_the_watchers_history(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    target = MountTarget("/media/mainpool", "pool", "mainpool")
    with Store.open(tmp_path) as store:
        for h in range(72, -1, -1):
            ts = now - h * HOUR
            used = 3e12 + (72 - h) * (10 * GB / 24)
            store.record(
                [
                    Sample("disks", target.path, "used_bytes", used),
                    Sample("disks", target.path, "avail_bytes", 33e12 - used),
                    Sample("disks", target.path, "size_bytes", 36e12),
                    Sample("host", "memory", "total_bytes", 32 * GB),
                    Sample("host", "memory", "available_bytes", 20 * GB - (h % 5) * GB),
                    Sample("docker", "nextcloud", "memory_bytes", 1 * GB),
                    Sample("docker", "immich", "memory_bytes", 2 * GB),
                ],
                ts,
            )
        m = measured(store, [target, MountTarget("/nowhere", "appdata")], now=now)
    assert m.memory_total == 32 * GB
    assert m.memory_peak_used == pytest.approx(16 * GB)
    assert m.containers_memory == pytest.approx(3 * GB)
    assert [h.path for h in m.mounts] == ["/media/mainpool"]
    f = capacity(_budget(), m).fills[0]
    assert f.forecast.trend is not None
    assert f.forecast.trend.per_day == pytest.approx(10 * GB, rel=0.01)


def test_docker_disk_sums_the_engines_answer() -> None:
    df = {
        "Images": [{"Size": 100}, {"Size": 50}],
        "Containers": [{"SizeRw": 7}, {}],
        "Volumes": [{"UsageData": {"Size": 30}}, {"UsageData": {"Size": -1}}],
        "BuildCache": None,
    }
    assert docker_disk(df) == {"images": 150, "containers": 7, "volumes": 30, "build_cache": 0}


def test_capacity_command_without_history(run_lares: LaresRunner) -> None:
    done = run_lares("capacity", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    b = _budget()
    assert data["memory"]["available"] == b.available
    assert data["memory"]["budget_headroom"] == b.available - b.reservations
    assert data["measured"] is False and data["fills"] == []
    assert data["pools"] == {"mainpool": 36 * 10**12}  # RAID5 on 12, 14, 14, 12 TB: 3 × 12 TB
    text = run_lares("capacity")
    assert "measured: no history yet (run `lares watch`)" in text.stdout


def test_full_in_threshold_comes_from_the_blueprint() -> None:
    assert Thresholds().forecast_days == 7
    samples = [Sample("disks", "/tank", "days_until_full", 20.0, labels={"role": "pool"})]
    default = WatchConfig(host="nas", thresholds=Thresholds().model_dump())
    assert [c.rule for c in evaluate(samples, default, now=0.0)] == []
    custom = {**Thresholds().model_dump(), "forecast_days": 30.0}
    found = evaluate(samples, WatchConfig(host="nas", thresholds=custom), now=0.0)
    assert [(c.key, c.severity) for c in found] == [("disk-forecast:/tank", "warning")]


def test_repository_growth_per_month_from_measured_sizes() -> None:
    sizes = tuple((d * DAY, 1e12 + d * 2 * GB) for d in range(30))  # 2 GB a day
    c = capacity(_budget(), Measured(repositories={"offsite": sizes, "usb": ()}))
    assert [g.repository for g in c.growth] == ["offsite"]
    assert c.growth[0].per_month == pytest.approx(2 * GB * 365 / 12)
    assert c.growth[0].size == sizes[-1][1]
