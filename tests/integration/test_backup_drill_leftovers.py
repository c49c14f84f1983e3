"""A drill killed outright (SIGKILL) leaves its throwaway PostgreSQL running and its folder full:
the next drill removes them first and then passes, and so does `lares status` (or the watcher),
saying what it removed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integration.backup_helpers import make_lab, psql, set_secret, start_postgres
from integration.lares_lab import lares_argv

DB_PASSWORD = "pg-Drill-7e2c9a4b1d"


def _drill_containers(app: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", f"name=lares-drill-{app}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def test_a_killed_drill_is_reported_then_swept(
    docker_cleanup: Any,
    test_images: dict[str, str],
    tmp_path: Path,
    unique_name: Callable[..., str],
) -> None:
    app = unique_name()
    docker_cleanup.track(f"{app}-db")
    docker_cleanup.prefix(f"lares-drill-{app}")
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata")
    set_secret(lab, f"{app}_db_password", DB_PASSWORD)
    start_postgres(lab, DB_PASSWORD)
    psql(
        lab,
        "CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS pad "
        "FROM generate_series(1, 300000) g;",
    )
    (lab.data / "file.bin").write_bytes(os.urandom(4 * 1024 * 1024))
    assert lab.lares("backup", "init").returncode == 0
    code, report = lab.lares_json("backup", "run")
    assert code == 0, report

    work = tmp_path / "work"
    work.mkdir()
    argv = lares_argv(lab.blueprint, lab.state, "backup", "drill", "--workdir", str(work))

    def kill_a_drill() -> tuple[list[str], list[Path]]:
        drill = subprocess.Popen(
            argv,
            env=lab.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while not _drill_containers(app):
            assert drill.poll() is None, "the drill ended before its database started"
            assert time.monotonic() < deadline, "no drill database started"
            time.sleep(0.05)
        os.kill(drill.pid, signal.SIGKILL)
        drill.wait()
        left = _drill_containers(app)
        folders = list(work.glob(f"lares-drill-{app}-*"))
        assert len(left) == 1 and len(folders) == 1, (left, folders)
        return left, folders

    left, folders = kill_a_drill()
    swept = lab.lares("backup", "drill", "--workdir", str(work))
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert (
        f"removed drill database container {left[0]}, left by a drill that did not finish"
    ) in swept.stderr
    assert f"removed drill folder {folders[0]}" in swept.stderr
    again = lab.lares("backup", "drill", "--workdir", str(work))
    assert again.returncode == 0, again.stderr
    assert "removed drill" not in again.stderr  # nothing left to sweep the second time
    assert _drill_containers(app) == []
    assert list(work.iterdir()) == []

    # killed again: `lares status` does not wait for the next drill
    left, folders = kill_a_drill()
    code, status = lab.lares_json("status")
    assert not [p for p in status["problems"] if p["rule"] == "drill-leftover"]
    found = [n for n in status["notes"] if n["rule"] == "drill-leftover"]
    assert len(found) == 1, status["notes"]
    assert found[0]["message"].startswith("removed 2 things left by a restore drill")
    assert f"drill database container {left[0]}" in found[0]["message"]
    assert f"drill folder {folders[0]}" in found[0]["message"]
    assert _drill_containers(app) == []
    assert list(work.iterdir()) == []
    code, status = lab.lares_json("status")
    assert not [c for c in status["problems"] + status["notes"] if c["rule"] == "drill-leftover"]
