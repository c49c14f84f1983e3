"""Backups that fail must say so, keep nothing that looks good, and tell someone."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integration.backup_helpers import (
    grep_tree,
    make_lab,
    receiver,
    set_secret,
    start_fake_dump_container,
)

HALF_A_DUMP = """#!/bin/sh
# prints the start of a real-looking dump, a few MiB of rows, then fails like a dying server
echo "-- PostgreSQL database cluster dump"
echo "CREATE TABLE public.items (id integer, name text);"
echo "COPY public.items (id, name) FROM stdin;"
i=0
while [ $i -lt 40000 ]; do
  echo "$i	row number $i with some padding to make the dump a few megabytes long ........"
  i=$((i + 1))
done
echo "pg_dumpall: error: query failed: server closed the connection unexpectedly" >&2
exit 1
"""

NO_MARKER = """#!/bin/sh
# exits 0, but the dump stops before PostgreSQL's end-of-dump marker
echo "CREATE TABLE public.items (id integer, name text);"
echo "COPY public.items (id, name) FROM stdin;"
echo "1	one"
exit 0
"""


def test_full_repository_disk_fails_clearly_and_notifies(
    loop_btrfs: Any, tmp_path: Path, unique_name: Callable[..., str]
) -> None:
    small = loop_btrfs(1, size_mb=120, profile="single")
    assert small.mountpoint is not None
    app = unique_name()
    with receiver() as inbox:
        # the Apprise URL lives in the secrets folder; it carries a token, like real ones do
        url = f"json://127.0.0.1:{inbox.port}/hook-tok3n-d0n0tl34k"
        lab = make_lab(
            tmp_path,
            app,
            appdata=tmp_path / "appdata",
            repo=small.mountpoint / "repo",
            notify_secret="alert-url",
            with_db=False,
        )
        set_secret(lab, "alert-url", url)
        (lab.data / "big.bin").write_bytes(random.Random(3).randbytes(200 * 1024 * 1024))
        assert lab.lares("backup", "init").returncode == 0

        proc = lab.lares("backup", "run")
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert "no space left on the device of repository local" in proc.stderr
        assert "hint: free space on " in proc.stderr and "lares backup prune" in proc.stderr
        # the data is on ext4 here: a live backup, said so
        assert "is backed up live (ext4: no snapshot to freeze it)" in proc.stderr

        assert len(inbox.bodies) == 1
        message = inbox.bodies[0]
        assert message["title"] == "lares: backup failed on lt-host"
        assert f"local · {app} · files: no space left on the device" in message["message"]
        assert message["type"] == "failure"

    status = lab.records("status.json")
    assert status["local"][app]["state"] == "failed"
    assert "no space left" in status["local"][app]["error"]
    assert "last_success" not in status["local"][app]
    assert lab.records("failures.json")[-1]["app"] == app
    assert lab.records("snapshots.json") in (None, {})
    assert lab.records("run.json")["state"] == "failed"

    leaks = grep_tree(tmp_path, [url, lab.password()], skip=(lab.state / "secrets",))
    assert leaks == []
    assert url not in "".join(lab.outputs)


def test_wrong_password_names_the_repository(
    tmp_path: Path, unique_name: Callable[..., str]
) -> None:
    app = unique_name()
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata", with_db=False)
    (lab.data / "a.txt").write_text("a\n")
    assert lab.lares("backup", "init").returncode == 0
    set_secret(lab, "restic_local", "not-the-password-of-this-repository")

    proc = lab.lares("backup", "run")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"wrong password for repository local ({lab.repo})" in proc.stderr
    assert "secret restic_local" in proc.stderr

    listing = lab.lares("backup", "list")
    assert listing.returncode == 1
    assert f"✗ wrong password for repository local ({lab.repo})\n" in listing.stderr
    assert lab.records("status.json")["local"][app]["state"] == "failed"


def test_a_dump_that_fails_halfway_keeps_no_snapshot(
    docker_cleanup: Any,
    test_images: dict[str, str],
    tmp_path: Path,
    unique_name: Callable[..., str],
) -> None:
    app = unique_name()
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata")
    docker_cleanup.track(lab.db_container)
    set_secret(lab, f"{app}_db_password", "unused-but-present-1234")
    start_fake_dump_container(lab, HALF_A_DUMP)
    (lab.config / "app.conf").write_text("x = 1\n")
    assert lab.lares("backup", "init").returncode == 0

    code, report = lab.lares_json("backup", "run")
    assert code == 1
    items = {i["item"]: i for i in report["items"]}
    assert items["files"]["ok"]  # the files are still backed up
    db = items["db:db"]
    assert not db["ok"]
    assert "failed with exit code 1" in db["error"]
    assert "server closed the connection unexpectedly" in db["error"]
    assert db["error"].endswith("no snapshot was kept")
    assert lab.snapshots("kind:database") == []
    assert lab.restic("list", "locks", "--no-lock").stdout.strip() == ""
    good = lab.records("snapshots.json")["local"]
    assert {m["item"] for m in good.values()} == {"files"}

    # a dump that exits 0 without PostgreSQL's end-of-dump marker is cut short, too
    subprocess.run(
        ["docker", "exec", "-i", lab.db_container, "sh", "-c", "cat > /usr/local/bin/pg_dumpall"],
        input=NO_MARKER,
        text=True,
        check=True,
        timeout=60,
    )
    code, report = lab.lares_json("backup", "run")
    assert code == 1
    db = next(i for i in report["items"] if i["item"] == "db:db")
    assert "ended without the end-of-dump marker" in db["error"]
    assert lab.snapshots("kind:database") == []
    status = json.loads((lab.state / "backup" / "status.json").read_text())
    assert status["local"][app]["items"]["db:db"]["state"] == "failed"
