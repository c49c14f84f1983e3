"""The commands as a person runs them: lares watch (a real process), status, silence, alerts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from integration.lares_lab import LARES, free_port, lares_process

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture
def blueprint(kit: Any, tmp_path: Path) -> Path:
    (tmp_path / "appdata").mkdir()
    (tmp_path / "pool").mkdir()
    path = tmp_path / "lares.yaml"
    path.write_text(
        kit.text(
            catalog=f"[{TESTS / 'data' / 'catalog'}]",
            paths=f"""
            appdata: {tmp_path / "appdata"}
            pool: {tmp_path / "pool"}
            """,
            storage="""
            os_disk: {path: /dev/nvme0n1, size: 500GB}
            """,
            monitor="""
            interval: 2s
            """,
        )
    )
    return path


def lares(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return lares_process(*args, timeout=timeout)


def test_watch_runs_serves_metrics_and_stops_cleanly(blueprint: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    port = free_port()
    proc = subprocess.Popen(
        [
            *LARES,
            "watch",
            "-f",
            str(blueprint),
            "--state-dir",
            str(state),
            "--metrics-port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
                if "node_load1" in text:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.3)
        assert "node_load1 " in text
        assert 'lares_collector_up{collector="host"} 1.0' in text
        assert "node_filesystem_avail_bytes{device=" in text and str(tmp_path / "appdata") in text
        # the CLI replaced itself with the lean loop: same pid, no pydantic in memory
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"lares.monitor.watch" in cmdline
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "pydantic_core" not in maps
        assert oct(os.stat(state / "monitor" / "watch.json").st_mode & 0o777) == "0o600"

        second = lares("watch", "-f", str(blueprint), "--state-dir", str(state))
        assert second.returncode == 1
        assert "another lares watch (pid" in second.stderr

        # history accumulates while it runs
        time.sleep(2.5)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 0, stderr
        assert "stopped" in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    from lares.monitor.store import Store

    with Store.open(state / "monitor") as store:
        loads = store.points(("host", "load", "load1"), since=0)
    assert len(loads) >= 2


def test_watch_once_status_silence_and_alerts(blueprint: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    base = ["-f", str(blueprint), "--state-dir", str(state)]

    once = lares("watch", "--once", "--json", *base)
    assert once.returncode == 0, once.stderr
    cycle = json.loads(once.stdout)
    assert set(cycle["collectors"]) >= {"host", "disks", "docker", "smart"}
    assert cycle["collectors"]["host"]["ok"] is True
    # the pool folder exists but nothing is mounted there: the first sample of that alert
    pending = [e for e in cycle["events"] if e["key"] == f"disk-mount:{tmp_path / 'pool'}"]
    assert pending == [
        {"kind": "pending", "key": f"disk-mount:{tmp_path / 'pool'}", "notify": False}
    ]

    status = lares("status", "--json", *base)
    assert status.returncode == 1  # something is wrong: the pool is not mounted
    report = json.loads(status.stdout)
    keys = {p["key"]: p["severity"] for p in report["problems"]}
    assert keys[f"disk-mount:{tmp_path / 'pool'}"] == "critical"
    assert report["collectors"]["host"]["ok"] is True
    assert f"disk-mount:{tmp_path / 'pool'}" in [a["key"] for a in report["alerts"]]
    text = lares("status", *base)
    assert f"pool is not mounted at {tmp_path / 'pool'}" in text.stdout
    assert "Host" in text.stdout and "Storage" in text.stdout

    unknown = lares("silence", "sonar", "--for", "2h", *base)
    assert unknown.returncode == 2
    assert "error [usage] there is nothing called 'sonar' to silence" in unknown.stderr
    assert "hint: name a deployed app" in unknown.stderr
    bad = lares("silence", "disk-mount", "--for", "soon", *base)
    assert bad.returncode == 2 and "is not a duration" in bad.stderr
    made = lares("silence", "disk-mount", "--for", "2h", "--reason", "new disk", *base)
    assert made.returncode == 0, made.stderr
    assert "disk-mount is silenced until" in made.stdout
    listed = json.loads(lares("silence", "--json", *base).stdout)
    assert [(s["target"], s["reason"]) for s in listed] == [("disk-mount", "new disk")]
    assert 7190 < listed[0]["until"] - time.time() <= 7200

    again = json.loads(lares("watch", "--once", "--json", *base).stdout)
    firing = [e for e in again["events"] if e["key"] == f"disk-mount:{tmp_path / 'pool'}"]
    assert firing == [{"kind": "firing", "key": f"disk-mount:{tmp_path / 'pool'}", "notify": False}]

    alerts = json.loads(lares("alerts", "list", "--json", "--state-dir", str(state)).stdout)
    current = {a["key"]: a for a in alerts["alerts"]}
    assert current[f"disk-mount:{tmp_path / 'pool'}"]["state"] == "firing"
    assert current[f"disk-mount:{tmp_path / 'pool'}"]["silenced"] is True

    cleared = lares("silence", "disk-mount", "--clear", *base)
    assert cleared.returncode == 0 and "no longer silenced" in cleared.stdout

    ack = lares("ack", "raid", *base)
    assert ack.returncode == 2 and "cannot acknowledge 'raid'" in ack.stderr
