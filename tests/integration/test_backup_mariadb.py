"""MariaDB with a real server: ``lares backup run`` streams ``mariadb-dump`` into restic, the
drill restores it into a throwaway MariaDB and counts every table, the dump brings back exactly
the rows written into a fresh container, and a dump that fails halfway keeps no snapshot."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integration.backup_helpers import (
    DB_NAME,
    DB_USER,
    Lab,
    assert_no_drill_containers,
    grep_tree,
    make_lab,
    mariadb_sql,
    set_secret,
    start_mariadb,
)

# Quotes, a space, a dollar and a backslash: the password reaches mariadb-dump as MYSQL_PWD
# and the entrypoint as a file, never through a shell or SQL text lares writes.
DB_PASSWORD = "mdb 'Pa$$\\w0rd\"-5e1a9c"
ROOT_PASSWORD = "mdb-root-7b2f04d6e1c8a3"
MARKER = "plaintext-marker-6d0c2f"  # a value that must never be on disk unencrypted

ITEMS: list[tuple[int, str | None]] = [
    (1, "one"),
    (2, "two\nlines"),
    (3, "quote ' and \\ backslash"),
    (4, None),
    (5, "ünïcødé 日本語"),
    (6, "tab\there"),
    (7, MARKER),
]
MANY = 40_000  # a few MiB: mariadb-dump packs them into a few multi-row INSERTs


def _label(n: int) -> str:
    return f"row {n} of many, padded so that the rows fill a few INSERT statements ......"


def _literal(value: str | None) -> str:
    if value is None:
        return "NULL"
    for raw, escaped in (("\\", "\\\\"), ("'", "\\'"), ("\n", "\\n"), ("\t", "\\t")):
        value = value.replace(raw, escaped)
    return f"'{value}'"


SETUP_SQL = f"""
CREATE TABLE items (id int PRIMARY KEY, name text);
INSERT INTO items VALUES {", ".join(f"({i}, {_literal(n)})" for i, n in ITEMS)};
CREATE TABLE `odd name` (x int PRIMARY KEY, note varchar(20));
INSERT INTO `odd name` VALUES (1, 'a'), (2, 'b');
CREATE TABLE `we``ird` (y varchar(10));
INSERT INTO `we``ird` VALUES ('tick');
CREATE TABLE many (id int PRIMARY KEY, label varchar(100));
INSERT INTO many SELECT seq, CONCAT('row ', seq, ' of many, padded so that the rows fill a few \
INSERT statements ......') FROM seq_1_to_{MANY};
CREATE TABLE empty_t (z int);
CREATE VIEW items_named AS SELECT id, name FROM items WHERE name IS NOT NULL;
CREATE TRIGGER items_upper BEFORE INSERT ON `odd name` FOR EACH ROW SET NEW.note = UPPER(NEW.note);
"""  # noqa: S608 - the test's own rows

# A view whose table is gone: mariadb-dump fails on it, after the tables before it.
BROKEN_VIEW_SQL = b"""
CREATE TABLE gone (a int);
CREATE VIEW zz_broken AS SELECT a FROM gone;
DROP TABLE gone;
"""

TABLES = {"`empty_t`": 0, "`items`": len(ITEMS), "`many`": MANY, "`odd name`": 2, "`we``ird`": 1}
DUMP_FILE = "{app}-db.mariadb-dump.sql"


def _rows_written(lab: Lab, container: str | None = None, password: str = "") -> dict[str, Any]:
    """Every row of every table, as JSON the client does not escape, and a digest of ``many``."""
    user = DB_USER if container is None else "root"
    pw = DB_PASSWORD if container is None else password

    def query(sql: str) -> str:
        return mariadb_sql(lab, sql, container=container, user=user, password=pw).strip()

    many = query(
        "SET SESSION group_concat_max_len = 67108864;"
        "SELECT COUNT(*), SUM(id), MD5(GROUP_CONCAT(label ORDER BY id SEPARATOR '\\n')) FROM many"
    )
    return {
        "items": json.loads(
            query("SELECT JSON_ARRAYAGG(JSON_ARRAY(id, name) ORDER BY id) FROM items")
        ),
        "odd name": query("SELECT x, note FROM `odd name` ORDER BY x").splitlines(),
        "we`ird": query("SELECT y FROM `we``ird`").splitlines(),
        "empty_t": query("SELECT COUNT(*) FROM empty_t"),
        "many": many.split("\t"),
        "view": json.loads(query("SELECT JSON_ARRAYAGG(id ORDER BY id) FROM items_named")),
    }


EXPECTED_ROWS = {
    "items": [[i, n] for i, n in ITEMS],
    "odd name": ["1\ta", "2\tb"],
    "we`ird": ["tick"],
    "empty_t": "0",
    "many": [
        str(MANY),
        str(MANY * (MANY + 1) // 2),
        hashlib.md5(
            "\n".join(_label(n) for n in range(1, MANY + 1)).encode(), usedforsecurity=False
        ).hexdigest(),
    ],
    "view": [i for i, n in ITEMS if n is not None],
}


def _mariadb_lab(tmp_path: Path, app: str, docker_cleanup: Any) -> Lab:
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata", engine="mariadb")
    docker_cleanup.track(lab.db_container)
    docker_cleanup.prefix(f"lares-drill-{app}")
    set_secret(lab, f"{app}_db_password", DB_PASSWORD)
    set_secret(lab, f"{app}_db_root_password", ROOT_PASSWORD)
    start_mariadb(lab)
    (lab.config / "app.conf").write_text("setting = 1\n")
    return lab


def _no_secret_anywhere(lab: Lab, tmp_path: Path, *, skip: tuple[Path, ...] = ()) -> None:
    """No password in what lares printed, in its log, records or anything under tmp_path."""
    secrets = [lab.password(), DB_PASSWORD, ROOT_PASSWORD]
    printed = "\n".join(lab.outputs)
    assert [s[:6] for s in secrets if s in printed] == []
    assert DB_PASSWORD not in (lab.state / "logs" / "lares.log").read_text()
    hits = grep_tree(tmp_path, secrets, skip=(lab.state / "secrets", *skip))
    assert hits == []


def test_mariadb_round_trip_dump_drill_and_restore(
    docker_cleanup: Any,
    test_images: dict[str, str],
    tmp_path: Path,
    unique_name: Callable[..., str],
) -> None:
    app = unique_name()
    lab = _mariadb_lab(tmp_path, app, docker_cleanup)
    mariadb_sql(lab, "", password=DB_PASSWORD, stdin=SETUP_SQL.encode())
    assert _rows_written(lab) == EXPECTED_ROWS
    assert lab.lares("backup", "init").returncode == 0

    # the dry run names the database password by its secret id only
    dry = lab.lares("backup", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"MYSQL_PWD=<secret {app}_db_password>" in dry.stdout
    assert f"docker exec -e MYSQL_PWD {app}-db mariadb-dump --user=app" in dry.stdout

    code, report = lab.lares_json("backup", "run")
    assert code == 0, report
    items = {i["item"]: i for i in report["items"]}
    assert items["files"]["ok"] and items["db:db"]["ok"], report

    # the snapshot holds the dump under its stdin name; it went there as a stream, so no
    # plaintext of it is anywhere on disk
    [snap] = lab.snapshots("kind:database")
    filename = DUMP_FILE.format(app=app)
    assert snap["paths"] == [f"/{filename}"]
    assert {"lares", f"app:{app}", "kind:database", "db:db"} <= set(snap["tags"])
    assert grep_tree(tmp_path, [MARKER]) == []
    dump = subprocess.run(
        ["restic", "dump", "--no-lock", snap["id"], f"/{filename}"],
        env=lab.restic_env(),
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    assert dump.rstrip().splitlines()[-1].startswith(b"-- Dump completed")
    assert MARKER.encode() in dump
    inserts = dump.count(b"\nINSERT INTO `many` VALUES")
    assert 2 <= inserts < MANY // 1000, inserts  # many rows per statement, more than one statement
    good = lab.records("snapshots.json")["local"]
    [meta] = [m for short, m in good.items() if snap["id"].startswith(short)]
    assert meta["item"] == "db:db" and meta["engine"] == "mariadb"
    assert meta["sha256"] == hashlib.sha256(dump).hexdigest()
    assert meta["dump"]["complete"] is True and meta["dump"]["size"] == len(dump)
    assert {t["name"]: t["rows"] for t in meta["dump"]["tables"]} == TABLES
    assert {t["database"] for t in meta["dump"]["tables"]} == {DB_NAME}

    # the drill restores the dump into a throwaway MariaDB of the app's image and counts each
    # table; extra queries see the data
    from lares.backup import open_context
    from lares.backup.drill import Query, drill
    from lares.blueprint.load import load_file

    ctx = open_context(load_file(lab.blueprint), lab.state)
    odd = Query(DB_NAME, "SELECT x, note FROM `odd name` ORDER BY x", ("1\ta", "2\tb"))
    weird = Query(None, "SELECT y FROM `appdb`.`we``ird`", ("tick",))
    [result] = drill(ctx, queries={app: [odd, weird]})
    assert result.ok, result.to_dict()
    [database] = result.databases
    assert database.sha256_ok is True
    assert [q.got for q in database.queries] == [("1\ta", "2\tb"), ("tick",)]

    code, drilled = lab.lares_json("backup", "drill")
    assert code == 0, drilled
    recorded = json.loads((lab.state / "backup" / "drills.json").read_text())["local"][app]
    assert recorded["ok"] is True
    [db_drill] = recorded["databases"]
    assert db_drill["engine"] == "mariadb" and db_drill["ok"] is True
    assert {t["table"]: (t["expected"], t["found"]) for t in db_drill["tables"]} == {
        name: (rows, rows) for name, rows in TABLES.items()
    }
    assert {t["database"] for t in db_drill["tables"]} == {DB_NAME}
    assert_no_drill_containers(app)

    # restore: the dump file out of the repository, into a fresh server set up as the app's
    # (its user is the definer of the view and the trigger): exactly the rows written come back
    target = tmp_path / "restored"
    restored = lab.lares("backup", "restore", snap["id"][:8], "--target", str(target))
    assert restored.returncode == 0, restored.stderr
    dump_file = target / filename
    assert dump_file.read_bytes() == dump
    fresh = docker_cleanup.track(f"{app}-restore")
    start_mariadb(
        lab,
        fresh,
        env={
            "MARIADB_ROOT_PASSWORD": ROOT_PASSWORD,
            "MARIADB_USER": DB_USER,
            "MARIADB_PASSWORD": DB_PASSWORD,
            "MARIADB_DATABASE": DB_NAME,
        },
    )
    mariadb_sql(
        lab,
        "",
        container=fresh,
        user="root",
        password=ROOT_PASSWORD,
        database=None,
        stdin=dump_file.read_bytes(),
    )
    assert _rows_written(lab, fresh, ROOT_PASSWORD) == EXPECTED_ROWS
    # the trigger came back too, and fires for new rows
    mariadb_sql(
        lab,
        "INSERT INTO `odd name` VALUES (3, 'c')",
        container=fresh,
        user="root",
        password=ROOT_PASSWORD,
    )
    got = mariadb_sql(
        lab,
        "SELECT note FROM `odd name` WHERE x = 3",
        container=fresh,
        user="root",
        password=ROOT_PASSWORD,
    )
    assert got == "C\n"

    assert "mariadb-dump --user=app" in (lab.state / "logs" / "lares.log").read_text()
    _no_secret_anywhere(lab, tmp_path)


def test_mariadb_dump_failing_halfway_keeps_no_snapshot(
    docker_cleanup: Any,
    test_images: dict[str, str],
    tmp_path: Path,
    unique_name: Callable[..., str],
) -> None:
    app = unique_name()
    lab = _mariadb_lab(tmp_path, app, docker_cleanup)
    # a view whose table is gone: mariadb-dump has written the tables before it (a few MiB of
    # rows, streamed into restic already) when it fails on the view, with exit code 2
    mariadb_sql(
        lab,
        "",
        password=DB_PASSWORD,
        stdin=SETUP_SQL.encode() + BROKEN_VIEW_SQL,
    )
    assert lab.lares("backup", "init").returncode == 0

    code, report = lab.lares_json("backup", "run")
    assert code == 1, report
    items = {i["item"]: i for i in report["items"]}
    assert items["files"]["ok"]  # the files are still backed up
    db = items["db:db"]
    assert not db["ok"]
    assert f"dump mariadb in {app}-db failed with exit code 2" in db["error"]
    assert "View 'appdb.zz_broken' references invalid table(s)" in db["error"]
    assert db["error"].endswith("no snapshot was kept")
    assert lab.snapshots("kind:database") == []
    assert lab.restic("list", "locks", "--no-lock").stdout.strip() == ""
    good = lab.records("snapshots.json")["local"]
    assert {m["item"] for m in good.values()} == {"files"}
    status = lab.records("status.json")["local"][app]
    assert status["items"]["db:db"]["state"] == "failed"
    assert status["state"] == "failed"

    # a wrong password is refused by the server, and said so without the password
    set_secret(lab, f"{app}_db_password", "not-the-password-of-app-0e4d")
    code, report = lab.lares_json("backup", "run")
    assert code == 1, report
    db = next(i for i in report["items"] if i["item"] == "db:db")
    assert "Access denied for user 'app'@'localhost' (using password: YES)" in db["error"]
    assert "not-the-password" not in json.dumps(report)
    assert lab.snapshots("kind:database") == []

    # once the view is repaired, the next run makes the database's first snapshot
    set_secret(lab, f"{app}_db_password", DB_PASSWORD)
    mariadb_sql(lab, "DROP VIEW zz_broken", password=DB_PASSWORD)
    code, report = lab.lares_json("backup", "run")
    assert code == 0, report
    assert len(lab.snapshots("kind:database")) == 1
    _no_secret_anywhere(lab, tmp_path)
