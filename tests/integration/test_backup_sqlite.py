"""SQLite with real restic: the database of a container whose image has no ``sqlite3`` is copied
online from the host while a writer keeps writing, streamed into restic, drilled and restored —
one consistent moment, ``user_version`` and WAL content included, no copy left on disk."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integration.backup_helpers import BUSYBOX_IMAGE, grep_tree, make_lab, tree_listing

APP_YAML = """\
id: {app}
name: SQLite test app
description: an app keeping its state in SQLite
category: tools
containers:
  {app}:
    image: lares-test/busybox
    version: "1"
    command: [sleep, "3600"]
    user: "1000:1000"
    volumes: ["{{appdata}}/db:/var/lib/app", "{{appdata}}/files:/files"]
    memory: {{reservation: 16MiB, limit: 64MiB}}
    exceptions:
      no_healthcheck: a test container that only sleeps
backup:
  databases:
    - {{container: {app}, engine: sqlite, path: /var/lib/app/state.db}}
    - {{container: {app}, engine: sqlite, path: /var/lib/app/cache/jobs.db}}
  paths: ["{{appdata}}/files"]
"""


def _writer(path: Path, stop: threading.Event, written: list[int]) -> None:
    """Insert into two tables in one transaction each time, until ``stop``."""
    db = sqlite3.connect(path, timeout=30)
    n = 0
    while not stop.is_set():
        with db:
            db.execute("INSERT INTO orders (n) VALUES (?)", (n,))
            db.execute("INSERT INTO order_lines (n, what) VALUES (?, ?)", (n, "x" * 200))
        n += 1
    written.append(n)
    db.close()


def test_sqlite_online_copy_round_trip(
    tmp_path: Path, docker_cleanup: Any, unique_name: Callable[..., str]
) -> None:
    app = unique_name()
    appdata = tmp_path / "appdata"
    lab = make_lab(tmp_path, app, appdata=appdata, with_db=False)
    (tmp_path / "catalog" / f"{app}.yaml").write_text(APP_YAML.format(app=app))
    (appdata / app / "files").mkdir(parents=True)
    (appdata / app / "files" / "note.txt").write_text("a file beside the database\n")
    dbdir = appdata / app / "db"
    dbdir.mkdir()
    os.chown(dbdir, 1000, 1000)
    path = dbdir / "state.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA user_version = 42")
    db.execute("CREATE TABLE orders (n INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE order_lines (n INTEGER, what TEXT)")
    db.execute('CREATE TABLE "odd ""name" (x)')
    db.execute("""INSERT INTO "odd ""name" VALUES ('kept')""")
    db.commit()
    (dbdir / "cache").mkdir()
    jobs = sqlite3.connect(dbdir / "cache" / "jobs.db")
    jobs.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY)")
    jobs.executemany("INSERT INTO jobs (id) VALUES (?)", [(i,) for i in range(7)])
    jobs.commit()
    jobs.close()
    for f in [*dbdir.iterdir(), *(dbdir / "cache").iterdir()]:
        os.chown(f, 1000, 1000)
    # the app's container runs as 1000 and its image has no sqlite3
    docker_cleanup.track(app)
    subprocess.run(
        ["docker", "run", "-d", "--name", app, "--network", "none", "--user", "1000:1000",
         "-v", f"{dbdir}:/var/lib/app", BUSYBOX_IMAGE, "sleep", "3600"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    no_shell = subprocess.run(["docker", "exec", app, "which", "sqlite3"], capture_output=True)
    assert no_shell.returncode != 0

    assert lab.lares("backup", "init").returncode == 0
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_writer, args=(path, stop, written), daemon=True)
    writer.start()
    try:
        code, report = lab.lares_json("backup", "run")
    finally:
        stop.set()
        writer.join(timeout=30)
    assert code == 0, report
    items = {i["item"]: i for i in report["items"]}
    # two databases in one container: each its own item, tag and file name
    assert {k: i["ok"] for k, i in items.items()} == {
        f"db:{app}-state": True,
        f"db:{app}-jobs": True,
        "files": True,
    }, report

    # nothing but the database and SQLite's own side files, all still the app's
    assert sorted(p.name for p in dbdir.iterdir()) == [
        "cache",
        "state.db",
        "state.db-shm",
        "state.db-wal",
    ]
    assert {p.stat().st_uid for p in dbdir.iterdir()} == {1000}
    db.close()

    snapshot = items[f"db:{app}-state"]["snapshot"]
    tagged = {s["id"][:8]: s["tags"] for s in lab.snapshots("kind:database")}
    assert f"db:{app}-state" in tagged[snapshot] and f"db:{app}-jobs" not in tagged[snapshot]
    good = lab.records("snapshots.json")["local"][snapshot]
    assert good["engine"] == "sqlite" and good["dump"]["complete"]
    counted = {t["name"]: t["rows"] for t in good["dump"]["tables"]}
    # one moment: every order has its line, even with the writer running throughout
    assert counted['"orders"'] == counted['"order_lines"'] > 0
    assert counted['"odd ""name"'] == 1
    assert written and written[0] >= counted['"orders"']

    # the drill writes the copy to a file, checks its integrity, counts every table again and
    # asks the blueprint's queries
    original = lab.blueprint.read_text()
    ask = 'SELECT x FROM "odd ""name"'

    def drill_queries(expect: str) -> None:
        text = original.replace(
            "backup:\n",
            "backup:\n  drill:\n    queries:\n      "
            f"{app}: [{{db: {app}-state, sql: '{ask}', expect: [{expect}]}}]\n",
        )
        lab.blueprint.write_text(text)

    drill_queries("kept")
    code, drilled = lab.lares_json("backup", "drill")
    assert code == 0, drilled
    [result] = drilled["apps"]
    assert result["ok"], result
    database, jobs_db = result["databases"]
    assert [t["table"] for t in jobs_db["tables"]] == ['"jobs"']
    assert (jobs_db["tables"][0]["expected"], jobs_db["tables"][0]["found"]) == (7, 7)
    tables = {t["table"]: (t["expected"], t["found"]) for t in database["tables"]}
    assert tables['"orders"'] == (counted['"orders"'],) * 2
    assert tables['"odd ""name"'] == (1, 1)
    assert [(q["got"], q["ok"]) for q in database["queries"]] == [(["kept"], True)]
    drill_queries("lost")
    failed = lab.lares("backup", "drill")
    assert failed.returncode == 1
    assert f"{app} · db:{app}-state: {ask} gave kept, expected lost" in failed.stderr

    # restored, it is a database file as of that moment, user_version and all
    target = tmp_path / "restored"
    restored = lab.lares("backup", "restore", snapshot, "--target", str(target))
    assert restored.returncode == 0, restored.stderr
    [copy] = [p for p in target.rglob("*.sqlite")]
    back = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    assert back.execute("PRAGMA user_version").fetchone() == (42,)
    assert back.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert back.execute("SELECT count(*) FROM orders").fetchone() == (counted['"orders"'],)
    back.close()
    listing = tree_listing(appdata / app / "files")
    assert listing == {"note.txt": ("file", 0o644, b"a file beside the database\n")}

    # the copy never touched a disk: no SQLite file anywhere but the app's, the restore and
    # the repository (where restic keeps it encrypted)
    header = b"SQLite format 3\x00"
    stray = grep_tree(tmp_path, [header.decode()], skip=(dbdir, target, lab.repo))
    assert stray == []
