"""Round trip with real restic, btrfs on a loop device and PostgreSQL in a container: back up,
change, back up, restore — byte-identical — and the database comes back in a fresh container."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integration.backup_helpers import (
    DB_NAME,
    Lab,
    assert_no_drill_containers,
    grep_tree,
    make_lab,
    make_tree,
    psql,
    set_secret,
    start_postgres,
    tree_listing,
)

DB_PASSWORD = "pg-Pass-8d1e0c7f2a9b"


def _items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["item"]: i for i in report["items"]}


def _files_path(lab: Lab, snapshot: str, suffix: str) -> str:
    code, listing = lab.lares_json("backup", "list")
    assert code == 0, listing
    snap = next(s for s in listing["repositories"][0]["snapshots"] if s["id"] == snapshot)
    return next(p for p in snap["paths"] if p.endswith(suffix))


def test_round_trip_files_and_database(
    loop_btrfs: Any,
    docker_cleanup: Any,
    test_images: dict[str, str],
    tmp_path: Path,
    unique_name: Callable[..., str],
) -> None:
    pool = loop_btrfs(1, size_mb=512, profile="single")
    assert pool.mountpoint is not None
    subprocess.run(
        ["btrfs", "subvolume", "create", str(pool.mountpoint / "appdata")],
        check=True,
        capture_output=True,
    )
    app = unique_name()
    docker_cleanup.track(f"{app}-db")
    docker_cleanup.prefix(f"lares-drill-{app}")
    lab = make_lab(tmp_path, app, appdata=pool.mountpoint / "appdata", retention=1)
    set_secret(lab, f"{app}_db_password", DB_PASSWORD)
    start_postgres(lab, DB_PASSWORD)
    psql(
        lab,
        "CREATE TABLE items (id int PRIMARY KEY, name text);"
        "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');",
    )
    make_tree(lab.data)
    (lab.config / "app.conf").write_text("setting = 1\n")

    # init creates the repository and its password (0600, never shown)
    init = lab.lares("backup", "init")
    assert init.returncode == 0, init.stderr
    secret_file = lab.state / "secrets" / "restic_local"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    assert len(lab.password()) >= 32
    assert (lab.repo / "config").is_file()

    # the dry run names the database password by its secret id only
    dry = lab.lares("backup", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"PGPASSWORD=<secret {app}_db_password>" in dry.stdout
    assert "pg_dumpall --username app" in dry.stdout

    code, first = lab.lares_json("backup", "run")
    assert code == 0, first
    items = _items(first)
    assert items["files"]["ok"] and items["db:db"]["ok"], first
    assert items["files"]["summary"]["files_new"] > 130
    assert not (pool.mountpoint / "appdata" / ".lares-snapshots" / app / "current").exists()

    # change files (content, new, removed, mode, symlink) and rows, then back up again
    (lab.data / "small" / "f010.txt").write_bytes(b"changed content\n")
    (lab.data / "odd" / "brand new").write_text("new file\n")
    (lab.data / "small" / "f011.txt").unlink()
    (lab.data / "run.sh").chmod(0o700)
    (lab.data / "rel-link").unlink()
    os.symlink("small/f003.txt", lab.data / "rel-link")
    psql(lab, "INSERT INTO items VALUES (4, 'four');")
    code, second = lab.lares_json("backup", "run")
    assert code == 0, second
    files = _items(second)["files"]
    # the stable snapshot path keeps restic's change detection working
    assert files["summary"]["files_unmodified"] > 120, files
    assert files["summary"]["files_new"] == 1
    assert files["summary"]["files_changed"] >= 1

    # restore the newest files snapshot: byte-identical with the data it was taken from
    target = tmp_path / "restored"
    restored = lab.lares("backup", "restore", files["snapshot"], "--target", str(target))
    assert restored.returncode == 0, restored.stderr
    data_path = _files_path(lab, files["snapshot"], "/data")
    assert "/.lares-snapshots/" in data_path
    got = tree_listing(target / data_path.lstrip("/"))
    want = tree_listing(lab.data, skip=("cache",))
    assert got == want
    assert "cache" not in got
    hard = target / data_path.lstrip("/")
    assert os.stat(hard / "hardlink-to-f001").st_ino == os.stat(hard / "small" / "f001.txt").st_ino
    kept = sorted((pool.mountpoint / "appdata" / ".lares-snapshots" / app).iterdir())
    assert len(kept) == 1  # snapshot_retention: 1
    assert tree_listing(kept[0] / app / "data", skip=("cache",)) == want

    # restores never write outside the target
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    refused = lab.lares("backup", "restore", files["snapshot"], "--target", str(busy))
    assert refused.returncode == 2
    assert "is not empty" in refused.stderr
    climbing = lab.lares(
        "backup",
        "restore",
        files["snapshot"],
        "--target",
        str(tmp_path / "t2"),
        "--path",
        "/../../etc",
    )
    assert climbing.returncode == 2
    assert "contains '..'" in climbing.stderr
    assert not (tmp_path / "t2").exists()

    # the drill restores the dump into a fresh container of the app's own image
    from lares.backup import open_context
    from lares.backup.drill import Query, drill
    from lares.blueprint.load import load_file

    ctx = open_context(load_file(lab.blueprint), lab.state)
    rows = Query(DB_NAME, "SELECT name FROM items ORDER BY id", ("one", "two", "three", "four"))
    [result] = drill(ctx, queries={app: [rows]})
    assert result.ok, result.to_dict()
    assert result.files is not None and result.files.source == "btrfs snapshot"
    assert result.files.compared > 140
    [database] = result.databases
    assert database.sha256_ok is True
    assert [q.got for q in database.queries] == [("one", "two", "three", "four")]
    items_table = next(t for t in database.tables if t.table == "public.items")
    assert (items_table.database, items_table.expected, items_table.found) == (DB_NAME, 4, 4)

    code, drilled = lab.lares_json("backup", "drill")
    assert code == 0, drilled
    assert drilled["apps"][0]["ok"]
    recorded = json.loads((lab.state / "backup" / "drills.json").read_text())
    assert recorded["local"][app]["ok"] is True
    assert_no_drill_containers(app)

    # the repository is sound, and the monitor's record says when each app last succeeded
    assert lab.restic("check").returncode == 0
    status = json.loads((lab.state / "backup" / "status.json").read_text())
    assert status["local"][app]["state"] == "ok"
    assert status["local"][app]["last_success"]

    # no secret value anywhere lares wrote or printed: outputs, its log, records, cache
    assert "pg_dumpall --username app" in (lab.state / "logs" / "lares.log").read_text()
    secrets = [lab.password(), DB_PASSWORD]
    out_file = tmp_path / "outputs.txt"
    out_file.write_text("\n".join(lab.outputs))
    hits = grep_tree(lab.state, secrets, skip=(lab.state / "secrets",))
    hits += grep_tree(tmp_path, secrets, skip=(lab.state / "secrets", target))
    assert hits == []
    shutil.rmtree(target)
