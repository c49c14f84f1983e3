"""Restored databases with real restic: a dump restored to a folder is readable by its owner only,
and ``backup restore --into-db`` loads a snapshot back into the app's running PostgreSQL, MariaDB
or SQLite database — after a confirmation, with the app's other containers stopped meanwhile and
no password anywhere."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integration.backup_helpers import (
    BUSYBOX_IMAGE,
    DB_NAME,
    DB_USER,
    Lab,
    grep_tree,
    make_lab,
    mariadb_sql,
    psql,
    set_secret,
    start_mariadb,
    start_postgres,
)

PG_PASSWORD = "pg-Into-5b7c1e9d3a"
MARIADB_PASSWORD = "mdb-Into-2f8e6a4c1b"
ROOT_PASSWORD = "mdb-Root-9c3d7e1a5f"


def _db_snapshot(lab: Lab) -> str:
    code, report = lab.lares_json("backup", "run")
    assert code == 0, report
    return next(i["snapshot"] for i in report["items"] if i["item"].startswith("db:"))


def _start_app_container(lab: Lab, docker_cleanup: Any, *volumes: str) -> None:
    """The app's own container (named as Compose would), which the load must stop and restart."""
    docker_cleanup.track(lab.app)
    argv = ["docker", "run", "-d", "--name", lab.app, "--network", "none"]
    for volume in volumes:
        argv += ["-v", volume]
    subprocess.run([*argv, BUSYBOX_IMAGE, "sleep", "3600"], check=True, capture_output=True)


def _started_at(name: str) -> str:
    return subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_postgres_dump_restored_private_and_loaded_back(
    docker_cleanup: Any,
    test_images: dict[str, str],
    tmp_path: Path,
    unique_name: Callable[..., str],
) -> None:
    app = unique_name()
    docker_cleanup.track(f"{app}-db")
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata")
    set_secret(lab, f"{app}_db_password", PG_PASSWORD)
    start_postgres(lab, PG_PASSWORD)
    _start_app_container(lab, docker_cleanup)
    psql(
        lab,
        "CREATE TABLE items (id int PRIMARY KEY, name text);"
        "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');",
    )
    assert lab.lares("backup", "init").returncode == 0
    snapshot = _db_snapshot(lab)

    # restored to a folder: 0700, the dump 0600
    target = tmp_path / "restored"
    done = lab.lares("backup", "restore", snapshot, "--target", str(target))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    dumps = [p for p in target.rglob("*") if p.is_file()]
    assert [p.name for p in dumps] == [f"{app}-db.pg_dumpall.sql"]
    assert stat.S_IMODE(dumps[0].stat().st_mode) == 0o600
    assert "COPY public.items" in dumps[0].read_text()

    # the database moves on: rows changed, a table dropped, another one added
    psql(lab, "DELETE FROM items WHERE id = 1; UPDATE items SET name = 'TWO' WHERE id = 2;")
    psql(lab, "CREATE TABLE later (x int); INSERT INTO later VALUES (9);")
    app_before = _started_at(app)

    # it asks first; no is no
    refused = lab.lares("backup", "restore", snapshot, "--into-db", input="n\n")
    assert refused.returncode == 1
    assert f"This replaces the postgres database db of {app} (container {app}-db)" in (
        refused.stdout
    )
    assert "cancelled; nothing was changed" in refused.stderr
    assert psql(lab, "SELECT count(*) FROM items").strip() == "2"

    loaded = lab.lares("backup", "restore", snapshot, "--into-db", input="y\n")
    assert loaded.returncode == 0, loaded.stderr
    assert f"loaded snapshot {snapshot} into {app}-db" in loaded.stdout
    assert f"stopped {app}" in loaded.stdout and f"started {app}" in loaded.stdout
    rows = psql(lab, "SELECT id, name FROM items ORDER BY id").split()
    assert rows == ["1|one", "2|two", "3|three"]
    assert psql(lab, "SELECT to_regclass('public.later') IS NULL").strip() == "t"
    # the app's container was stopped meanwhile and runs again
    after = _started_at(app)
    assert after.startswith("true") and after != app_before
    # the password lares holds still logs in, over TCP as the app does
    login = subprocess.run(
        ["docker", "exec", "-e", "PGPASSWORD", f"{app}-db", "psql", "-h", "127.0.0.1", "-U",
         DB_USER, "-d", DB_NAME, "-At", "-c", "SELECT count(*) FROM items"],
        env={**os.environ, "PGPASSWORD": PG_PASSWORD}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert login.returncode == 0 and login.stdout.strip() == "3", login.stderr

    # latest needs the app; --json without --yes is refused
    assert lab.lares("backup", "restore", "latest", "--into-db", "--yes").returncode == 2
    code, report = lab.lares_json("backup", "restore", "latest", "--into-db", "--app", app, "--yes")
    assert code == 0 and report["database"] == "db" and report["sha256_ok"] is True, report
    # no password in anything lares printed, nor in a file outside the secrets
    assert PG_PASSWORD not in "".join(lab.outputs)
    assert grep_tree(tmp_path, [PG_PASSWORD], skip=(lab.state / "secrets", target)) == []


def test_mariadb_loaded_back_into_the_running_server(
    docker_cleanup: Any,
    test_images: dict[str, str],
    tmp_path: Path,
    unique_name: Callable[..., str],
) -> None:
    app = unique_name()
    docker_cleanup.track(f"{app}-db")
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata", engine="mariadb")
    set_secret(lab, f"{app}_db_password", MARIADB_PASSWORD)
    set_secret(lab, f"{app}_db_root_password", ROOT_PASSWORD)
    start_mariadb(lab)
    sql = "CREATE TABLE items (id int PRIMARY KEY, name text);"
    sql += "INSERT INTO items VALUES (1, 'a'), (2, 'b');"
    mariadb_sql(lab, sql, password=MARIADB_PASSWORD)
    assert lab.lares("backup", "init").returncode == 0
    snapshot = _db_snapshot(lab)
    mariadb_sql(
        lab, "DELETE FROM items; INSERT INTO items VALUES (7, 'new');", password=MARIADB_PASSWORD
    )

    loaded = lab.lares("backup", "restore", snapshot, "--into-db", "--yes")
    assert loaded.returncode == 0, loaded.stderr
    rows = mariadb_sql(lab, "SELECT id, name FROM items ORDER BY id", password=MARIADB_PASSWORD)
    assert rows.split("\n")[:2] == ["1\ta", "2\tb"] and "new" not in rows
    assert MARIADB_PASSWORD not in "".join(lab.outputs)


SQLITE_APP = """\
id: {app}
name: SQLite test app
description: an app keeping its state in SQLite
category: tools
containers:
  {app}:
    image: lares-test/busybox
    version: "1"
    command: [sleep, "3600"]
    volumes: ["{{appdata}}/db:/var/lib/app"]
    memory: {{reservation: 16MiB, limit: 64MiB}}
    exceptions:
      no_healthcheck: a test container that only sleeps
backup:
  databases:
    - {{container: {app}, engine: sqlite, path: /var/lib/app/state.db}}
"""


def test_sqlite_file_replaced_with_the_app_stopped(
    docker_cleanup: Any, tmp_path: Path, unique_name: Callable[..., str]
) -> None:
    app = unique_name()
    appdata = tmp_path / "appdata"
    lab = make_lab(tmp_path, app, appdata=appdata, with_db=False)
    (tmp_path / "catalog" / f"{app}.yaml").write_text(SQLITE_APP.format(app=app))
    dbdir = appdata / app / "db"
    dbdir.mkdir(parents=True)
    path = dbdir / "state.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE notes (n INTEGER)")
        db.executemany("INSERT INTO notes VALUES (?)", [(i,) for i in range(5)])
    os.chown(path, 1000, 1000)
    path.chmod(0o640)
    _start_app_container(lab, docker_cleanup, f"{dbdir}:/var/lib/app")
    assert lab.lares("backup", "init").returncode == 0
    snapshot = _db_snapshot(lab)
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM notes WHERE n < 3")
    before = _started_at(app)

    loaded = lab.lares("backup", "restore", snapshot, "--into-db", "--yes")
    assert loaded.returncode == 0, loaded.stderr
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM notes").fetchone() == (5,)
    st = path.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (1000, 0o640)
    assert not list(dbdir.glob("*.lares-restore"))
    assert not (dbdir / "state.db-wal").exists() or (dbdir / "state.db-wal").stat().st_size == 0
    after = _started_at(app)
    assert after.startswith("true") and after != before
