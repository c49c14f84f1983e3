"""SIGKILL in the middle of a backup — of lares, or of restic — leaves a sound repository, no
snapshot that passes for good, and a stale lock that the next run removes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from integration.backup_helpers import (
    Lab,
    make_lab,
    set_secret,
    start_fake_dump_container,
)
from integration.lares_lab import lares_argv

SLOW_DUMP = r"""#!/bin/sh
# a dump that takes a minute, unless /tmp/fast exists
echo "CREATE TABLE public.items (id integer, name text);"
if [ -e /tmp/fast ]; then
  echo "COPY public.items (id, name) FROM stdin;"
  printf '1\tone\n'
  printf '%s\n' '\.'
  echo "-- PostgreSQL database cluster dump complete"
  exit 0
fi
i=0
while [ $i -lt 600 ]; do
  echo "-- still dumping $i"
  i=$((i + 1))
  sleep 0.1
done
exit 1
"""


def _start(lab: Lab, out: Path) -> subprocess.Popen[bytes]:
    with open(out, "wb") as sink:
        return subprocess.Popen(
            lares_argv(lab.blueprint, lab.state, "backup", "run", "--json"),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=lab.env(),
        )


def _wait_for_restic(parent: int, *, stdin: bool, timeout: float = 60) -> psutil.Process:
    """The restic that ``parent`` started (a ``--stdin`` one or not), once it holds a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            children = psutil.Process(parent).children(recursive=True)
        except psutil.NoSuchProcess as exc:
            raise AssertionError("lares ended before restic started") from exc
        for child in children:
            try:
                cmd = child.cmdline()
            except psutil.NoSuchProcess:
                continue
            if cmd[:2] == ["restic", "backup"] and ("--stdin" in cmd) == stdin:
                return child
        time.sleep(0.05)
    raise AssertionError("restic did not start")


def _wait_for_lock(lab: Lab, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not any((lab.repo / "locks").glob("*")):
        assert time.monotonic() < deadline, "restic took no lock"
        time.sleep(0.05)


def test_sigkill_of_lares_mid_dump(
    docker_cleanup: Any,
    test_images: dict[str, str],
    tmp_path: Path,
    unique_name: Callable[..., str],
) -> None:
    app = unique_name()
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata")
    docker_cleanup.track(lab.db_container)
    set_secret(lab, f"{app}_db_password", "unused-but-present-1234")
    start_fake_dump_container(lab, SLOW_DUMP)
    (lab.config / "app.conf").write_text("x = 1\n")
    assert lab.lares("backup", "init").returncode == 0

    proc = _start(lab, tmp_path / "killed.out")
    restic = _wait_for_restic(proc.pid, stdin=True)
    helpers = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    _wait_for_lock(lab)
    time.sleep(1.0)  # well into the dump
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_run = lab.records("run.json")
    assert killed_run["state"] == "running"

    # restic dies with lares, so the half dump never reaches the end of its input
    psutil.wait_procs([psutil.Process(p) for p in helpers if psutil.pid_exists(p)], timeout=10)
    assert not psutil.pid_exists(restic.pid)
    assert lab.snapshots("kind:database") == []
    assert len(lab.restic("list", "locks", "--no-lock").stdout.split()) == 1  # stale

    subprocess.run(["docker", "exec", lab.db_container, "touch", "/tmp/fast"], check=True)
    code, report = lab.lares_json("backup", "run")
    assert code == 0, report
    notes = "\n".join(report["notes"])
    assert f"the run {killed_run['id']} started" in notes and "was interrupted" in notes
    assert "removed stale lock" in notes and "no longer runs on" in notes
    assert lab.restic("list", "locks", "--no-lock").stdout.strip() == ""
    assert lab.restic("check").returncode == 0

    good = lab.records("snapshots.json")["local"]
    assert {m["run"] for m in good.values()} == {report["run"]}
    assert len(lab.snapshots("kind:database")) == 1
    code, listing = lab.lares_json("backup", "list")
    assert code == 0
    assert all(s["good"] for s in listing["repositories"][0]["snapshots"])
    run = lab.records("run.json")
    assert (run["id"], run["state"]) == (report["run"], "ok")


def test_sigkill_of_restic_mid_backup(tmp_path: Path, unique_name: Callable[..., str]) -> None:
    app = unique_name()
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata", with_db=False)
    rng = random.Random(11)
    for i in range(4):
        (lab.data / f"part{i}.bin").write_bytes(rng.randbytes(100 * 1024 * 1024))
    assert lab.lares("backup", "init").returncode == 0

    proc = _start(lab, tmp_path / "failed.out")
    restic = _wait_for_restic(proc.pid, stdin=False)
    _wait_for_lock(lab)
    time.sleep(0.5)
    restic.kill()
    assert proc.wait(timeout=120) == 1
    output = (tmp_path / "failed.out").read_text()
    assert "Traceback" not in output
    import json

    report = json.loads(output)
    [files] = report["items"]
    assert not files["ok"]
    assert "restic could not back up" in files["error"]
    notes = "\n".join(report["notes"])
    assert f"PID {restic.pid} no longer runs on" in notes
    assert lab.restic("list", "locks", "--no-lock").stdout.strip() == ""
    assert lab.restic("check").returncode == 0
    assert lab.snapshots() == []
    assert lab.records("snapshots.json") in (None, {})
    assert lab.records("status.json")["local"][app]["state"] == "failed"

    code, second = lab.lares_json("backup", "run")
    assert code == 0, second
    [snapshot] = lab.snapshots()
    good = lab.records("snapshots.json")["local"]
    assert list(good) == [snapshot["short_id"]]
    assert good[snapshot["short_id"]]["run"] == second["run"]
