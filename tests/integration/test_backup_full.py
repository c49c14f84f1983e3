"""A repository whose disk fills up, with real restic on a small btrfs loop device: the error
names the filesystem and how full it is, each failed item is blamed on the repository (not the
database container), the run says what it kept only when it kept something, and `lares backup
prune` shows what applying the retention frees, then frees it."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integration.backup_helpers import make_lab, psql, set_secret, start_postgres
from lares.text import counted

DB_PASSWORD = "pg-Full-3c8e1a7f5d"
MiB = 1024 * 1024


def _write(path: Path, mib: int, seed: int) -> None:
    path.write_bytes(random.Random(seed).randbytes(mib * MiB))


def _items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["item"]: i for i in report["items"]}


def _fill(mount: Path) -> Path:
    """Write a file on ``mount`` until the filesystem has no room left."""
    filler = mount / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(os.urandom(MiB))
                f.flush()
        except OSError:
            pass
    return filler


def test_full_repository_is_blamed_explained_and_pruned(
    loop_btrfs: Any,
    docker_cleanup: Any,
    test_images: dict[str, str],
    tmp_path: Path,
    unique_name: Callable[..., str],
) -> None:
    small = loop_btrfs(1, size_mb=128, profile="single")
    assert small.mountpoint is not None
    mount = small.mountpoint
    app = unique_name()
    docker_cleanup.track(f"{app}-db")
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata", repo=mount / "repo")
    set_secret(lab, f"{app}_db_password", DB_PASSWORD)
    start_postgres(lab, DB_PASSWORD)
    psql(lab, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000);")
    assert lab.lares("backup", "init").returncode == 0

    # two good runs of different data: the older one is what the retention would let go
    _write(lab.data / "big.bin", 30, seed=1)
    code, report = lab.lares_json("backup", "run")
    assert code == 0, report
    _write(lab.data / "big.bin", 30, seed=2)
    code, report = lab.lares_json("backup", "run")
    assert code == 0, report

    # the files no longer fit; the database, dumped first, did: the run says what it kept
    _write(lab.data / "big.bin", 90, seed=3)
    code, report = lab.lares_json("backup", "run")
    assert code == 1
    items = _items(report)
    assert items["db:db"]["ok"] is True, report
    files = items["files"]
    assert files["ok"] is False
    full = re.compile(
        r"no space left on the device of repository local \(.*\) while trying to [^:]+: "
        + re.escape(str(mount))
        + r" \(btrfs\) is \d+% full, [0-9.]+ [KMG]?i?B free of [0-9.]+ [KMG]?iB"
    )
    assert full.search(files["error"]), files["error"]
    assert "lares backup prune --repo local" in files["hint"]
    assert (
        f"local is full: of this run it kept {app} · db:db; the rest was not backed up"
        in (report["notes"])
    )

    # a full disk under the dump: the database item is blamed on the repository
    (lab.data / "big.bin").unlink()
    filler = _fill(mount)
    proc = lab.lares("backup", "run")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"local · {app} · db:db: no space left on the device of repository local" in (
        proc.stderr
    )
    assert "database container" not in proc.stderr
    assert "local is full: nothing from this run was kept in it" in proc.stdout

    # the way out: prune says what the retention frees; with room to write its index, it frees it
    filler.unlink()
    subprocess.run(["sync"], check=True)
    code, preview = lab.lares_json("backup", "prune", "--dry-run")
    assert code == 0, preview
    row = preview["repositories"][0]
    assert row["removes"] >= 2 and row["frees"] > 25 * MiB, row
    assert row["disk"].startswith(f"{mount} (btrfs) is ")
    # retention covers lares's own state snapshots too
    listed = len(lab.snapshots(state=True))
    assert listed == row["kept"] + row["removes"]  # the dry run removed nothing

    refused = lab.lares("backup", "prune", input="n\n")
    assert refused.returncode == 0 and len(lab.snapshots(state=True)) == listed
    before = shutil.disk_usage(mount).free
    done = lab.lares("backup", "prune", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"local: removed {counted(row['removes'], 'snapshot')}, freed about" in done.stdout
    assert len(lab.snapshots(state=True)) == row["kept"]
    subprocess.run(["btrfs", "filesystem", "sync", str(mount)], check=True, capture_output=True)
    assert shutil.disk_usage(mount).free - before > 20 * MiB
    assert lab.restic("check").returncode == 0

    # retention that keeps everything: pruning frees nothing, and says so
    again = lab.lares("backup", "prune", "--dry-run")
    assert again.returncode == 0
    assert "the retention keeps every snapshot, so pruning frees nothing" in again.stderr
