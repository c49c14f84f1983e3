"""`lares capacity` on a real history: `lares status` records this machine's filesystems and
memory, the days before are written into the same database, and the forecast reads them back."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from integration.lares_lab import lares_process
from lares.monitor.collectors import Sample
from lares.monitor.store import Store

TESTS = Path(__file__).resolve().parents[1]


def lares(*args: str) -> subprocess.CompletedProcess[str]:
    return lares_process(*args, timeout=180)


def test_capacity_forecasts_the_app_data_folder_from_the_history(kit: Any, tmp_path: Path) -> None:
    appdata, pool = tmp_path / "appdata", tmp_path / "pool"
    appdata.mkdir()
    pool.mkdir()
    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(
        kit.text(
            catalog=f"[{TESTS / 'data' / 'catalog'}]",
            paths=f"""
            appdata: {appdata}
            pool: {pool}
            """,
        )
    )
    state = tmp_path / "state"
    done = lares("status", "-f", str(blueprint), "--state-dir", str(state), "--json")
    assert done.returncode in (0, 1), done.stderr
    now = time.time()
    with Store.open(state / "monitor") as store:
        current = store.points(("disks", str(appdata), "used_bytes"), since=now - 600)
        avail = store.points(("disks", str(appdata), "avail_bytes"), since=now - 600)
        assert current and avail, "lares status recorded no disk samples"
        used, left = current[-1][1], avail[-1][1]
        rate = left / (40 * 86400)  # full in 40 days at this pace
        for hours in range(24 * 10, 0, -1):
            store.record(
                [Sample("disks", str(appdata), "used_bytes", used - rate * hours * 3600)],
                now - hours * 3600,
            )
    done = lares("capacity", "-f", str(blueprint), "--state-dir", str(state), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["measured"] is True
    assert data["memory"]["peak_used"] is not None
    fill = next(f for f in data["fills"] if f["path"] == str(appdata))
    assert fill["role"] == "appdata"
    forecast = fill["forecast"]
    assert forecast["state"] == "growing"
    # other tests write to this filesystem meanwhile: the pace is ours within a few percent
    assert 36 < forecast["days"] < 44
    assert forecast["days_low"] <= forecast["days"] <= forecast["days_high"]
    assert data["binding"]["what"] in {str(appdata), str(pool)}
    text = lares("capacity", "-f", str(blueprint), "--state-dir", str(state))
    assert text.returncode == 0, text.stderr
    assert str(appdata) in text.stdout and "days (" in text.stdout
