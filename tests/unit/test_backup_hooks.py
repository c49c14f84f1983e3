"""Backup hooks: found by the registry, each returns the commands it would run, and each reads
its engine's dumps (recorded from the real tools) without storing them."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path

import pytest

from lares import sqlitecopy
from lares.backup import hooks
from lares.backup.hooks import (
    DatabaseHook,
    Instance,
    SnapshotHook,
    Table,
    btrfs,
    filesystem_of,
    mariadb,
    postgres,
    sqlite,
)
from lares.catalog.model import DatabaseBackup
from lares.errors import LaresError

DUMPS = Path(__file__).resolve().parents[1] / "data" / "samples" / "dumps"

DATABASE_API = (
    "KIND",
    "ENGINE",
    "EXTENSION",
    "dump",
    "missing",
    "inspector",
    "scratch",
    "count_sql",
)
SNAPSHOT_API = (
    "KIND",
    "FILESYSTEM",
    "subvolume_root",
    "stable_path",
    "create",
    "delete",
    "keep",
    "kept",
    "excludes",
)


def test_every_hook_is_found_and_complete() -> None:
    found = hooks.discover()
    assert set(found) == {"btrfs", "mariadb", "postgres", "sqlite"}
    for name, module in found.items():
        kind = getattr(module, "KIND", None)
        api = DATABASE_API if kind == "database" else SNAPSHOT_API
        assert kind in ("database", "snapshot"), name
        missing = [attr for attr in api if not hasattr(module, attr)]
        assert missing == [], f"{name} lacks {missing}"
        if kind == "database":
            assert name == module.ENGINE  # module name = hook id, so it greps
    engines = [getattr(m, "ENGINE", None) for m in found.values() if m.KIND == "database"]
    assert len(engines) == len(set(engines))


def test_registry_lookup() -> None:
    hook: DatabaseHook = hooks.database("postgres")
    assert hook.EXTENSION == "pg_dumpall.sql"
    with pytest.raises(LaresError, match="no backup hook for database engine 'oracle'"):
        hooks.database("oracle")
    snap: SnapshotHook | None = hooks.snapshot("btrfs")
    assert snap is not None and snap.FILESYSTEM == "btrfs"
    assert hooks.snapshot("ext4") is None


# ── dump commands: argv with no secret value, the password by secret id ───────────────────


def test_postgres_dump_command() -> None:
    db = DatabaseBackup(container="db", engine="postgres", user="nextcloud", database="nextcloud")
    cmd = postgres.dump(
        Instance(db, "nextcloud-db", "postgres:16.10-alpine", "nextcloud_db_password")
    )
    assert cmd.argv == (
        "docker",
        "exec",
        "-e",
        "PGPASSWORD",
        "nextcloud-db",
        "pg_dumpall",
        "--username",
        "nextcloud",
        "--no-password",
        "--database",
        "nextcloud",
    )
    assert dict(cmd.secret_env) == {"PGPASSWORD": "nextcloud_db_password"}
    assert cmd.env == {}
    assert "PGPASSWORD=<secret nextcloud_db_password>" in cmd.shown()
    bare = postgres.dump(Instance(db, "nextcloud-db", "postgres:16", None))
    assert "-e" not in bare.argv and not bare.secret_env


def test_mariadb_dump_command_picks_the_tool_of_the_image() -> None:
    db = DatabaseBackup(container="db", engine="mariadb", user="photo", database="photoprism")
    maria = mariadb.dump(Instance(db, "photoprism-db", "mariadb:11.4", "photoprism_db_password"))
    assert maria.argv[:6] == ("docker", "exec", "-e", "MYSQL_PWD", "photoprism-db", "mariadb-dump")
    assert maria.argv[-2:] == ("--databases", "photoprism")
    assert "--single-transaction" in maria.argv
    mysql = mariadb.dump(
        Instance(db.model_copy(update={"database": None}), "x-db", "mysql:8.4", None)
    )
    assert mysql.argv[3] == "mysqldump"
    assert mysql.argv[-1] == "--all-databases"


def test_sqlite_copy_runs_on_the_host_file_behind_the_bind_mount() -> None:
    db = DatabaseBackup(container="kuma", engine="sqlite", path="/app/data/kuma.db")
    volumes = ("/srv/appdata/kuma:/app/data:rw", "/srv/appdata/kuma/x:/app/data/x")
    cmd = sqlite.dump(Instance(db, "uptime-kuma", "louislam/uptime-kuma:1", None, volumes))
    assert cmd.argv == (
        sys.executable,
        "-m",
        "lares.sqlitecopy",
        "image",
        "/srv/appdata/kuma/kuma.db",
    )
    with pytest.raises(LaresError, match=r"/app/data/kuma\.db of uptime-kuma is not on a bind"):
        sqlite.dump(Instance(db, "uptime-kuma", "img:1", None, ("kuma-data:/app/data",)))


def test_a_live_query_asks_the_running_database_with_the_password_by_secret_id() -> None:
    pg = DatabaseBackup(container="db", engine="postgres", user="nextcloud", database="nextcloud")
    cmd = postgres.live_query(
        Instance(pg, "nextcloud-db", "postgres:16", "nc_db_password"), None, "SELECT 1"
    )
    assert cmd.argv[:5] == ("docker", "exec", "-e", "PGPASSWORD", "nextcloud-db")
    assert cmd.argv[-6:] == (
        "--username",
        "nextcloud",
        "--dbname",
        "nextcloud",
        "--command",
        "SELECT 1",
    )
    assert "-At" in cmd.argv and dict(cmd.secret_env) == {"PGPASSWORD": "nc_db_password"}
    other = postgres.live_query(Instance(pg, "nextcloud-db", "postgres:16"), "other", "SELECT 2")
    assert other.secret_env == {} and other.argv[-3] == "other"
    maria = DatabaseBackup(container="db", engine="mariadb", user="pp", database="photoprism")
    cmd = mariadb.live_query(Instance(maria, "pp-db", "mariadb:11.4", "pp_pw"), None, "SELECT 1")
    assert cmd.argv[:6] == ("docker", "exec", "-e", "MYSQL_PWD", "pp-db", "mariadb")
    assert cmd.argv[6:] == (
        "--user=pp",
        "--batch",
        "--skip-column-names",
        "--database=photoprism",
        "--execute",
        "SELECT 1",
    )
    kuma = DatabaseBackup(container="kuma", engine="sqlite", path="/app/data/kuma.db")
    at = Instance(kuma, "kuma", "img:1", None, ("/srv/kuma:/app/data",))
    cmd = sqlite.live_query(at, None, "SELECT 1")
    assert cmd.argv[-3:] == ("query", "/srv/kuma/kuma.db", "SELECT 1")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/config/db/bazarr.db", "/srv/a/db/bazarr.db"),
        ("/config", "/srv/a"),
        ("/configx/db", None),
        ("/data/x.db", "/srv/d/x.db"),  # the longest target wins
    ],
)
def test_sqlite_host_file(path: str, expected: str | None) -> None:
    volumes: tuple[str, ...] = ("/srv/a:/config", "/srv/root:/", "/srv/d:/data/")
    if path == "/configx/db":
        volumes = ("/srv/a:/config",)
    assert sqlite.host_file(volumes, path) == expected


# ── inspectors on real dumps, fed in awkward chunks ───────────────────────────────────────


def feed(inspector: hooks.Inspector, data: bytes, size: int) -> hooks.DumpFacts:
    for i in range(0, len(data), size):
        inspector.feed(data[i : i + size])
    return inspector.facts()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_postgres_inspector_counts_copy_rows(chunk: int) -> None:
    data = (DUMPS / "pg_dumpall-15.sql").read_bytes()
    facts = feed(postgres.inspector(), data, chunk)
    assert facts.complete
    assert facts.size == len(data)
    assert set(facts.tables) == {
        Table("appdb", 'public."Odd Name"', 2),
        Table("appdb", "public.empty_t", 0),
        Table("appdb", "public.items", 3),
        Table("other", "public.notes", 2),
    }


def test_postgres_inspector_spots_a_cut_dump() -> None:
    data = (DUMPS / "pg_dumpall-15.sql").read_bytes()
    cut = (
        data[: data.index(b"COPY public.items")]
        + b"COPY public.items (id, name) FROM stdin;\n1\tone\n"
    )
    assert not feed(postgres.inspector(), cut, 100).complete
    no_trailer = data.replace(b"-- PostgreSQL database cluster dump complete", b"--")
    assert not feed(postgres.inspector(), no_trailer, 100).complete
    trailing_statement = data + b"DROP TABLE items;\n"
    assert not feed(postgres.inspector(), trailing_statement, 100).complete


def sqlite_copy(tmp_path: Path) -> tuple[bytes, str]:
    """A copy taken by lares.sqlitecopy of a WAL database whose last writes sit in the WAL."""
    path = tmp_path / "app.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute('CREATE TABLE "odd ""table" (x)')
    db.execute("CREATE TABLE empty_t (x)")
    db.executemany("INSERT INTO items (name) VALUES (?)", [("x" * 100,)] * 500)
    db.execute('INSERT INTO "odd ""table" VALUES (1)')
    db.commit()
    out, err = io.BytesIO(), io.StringIO()
    sqlitecopy.image(str(path), out, err)
    db.close()
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_sqlite_inspector_checks_the_copy_and_takes_the_table_note(
    tmp_path: Path, chunk: int
) -> None:
    data, note = sqlite_copy(tmp_path)
    inspector = sqlite.inspector()
    assert inspector.note(note.strip()) and not inspector.note("some warning")
    facts = feed(inspector, data, chunk)
    assert facts.complete and facts.size == len(data)
    assert {t.name: t.rows for t in facts.tables} == {
        '"items"': 500,
        '"odd ""table"': 1,
        '"empty_t"': 0,
    }
    cut = sqlite.inspector()
    cut.note(note.strip())
    assert not feed(cut, data[:-4096], chunk).complete
    no_note = sqlite.inspector()
    assert not feed(no_note, data, chunk).complete
    not_sqlite = sqlite.inspector()
    not_sqlite.note(note.strip())
    assert not feed(not_sqlite, b"x" * len(data), chunk).complete


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_mariadb_inspector_counts_the_rows_of_extended_inserts(chunk: int) -> None:
    # MariaDB 10.11's mariadb-dump: one row a line, `many` split over two INSERT statements
    data = (DUMPS / "mariadb-dump-10.11.sql").read_bytes()
    assert data.count(b"INSERT INTO `many` VALUES\n") == 2
    facts = feed(mariadb.inspector(), data, chunk)
    assert facts.complete
    assert facts.size == len(data)
    assert set(facts.tables) == {
        Table("appdb", "`empty_t`", 0),
        Table("appdb", "`items`", 3),
        Table("appdb", "`many`", 300),
        Table("appdb", "`odd name`", 2),
        Table("appdb", "`we``ird`", 1),  # quoted as SQL needs it
        Table("other", "`notes`", 2),
    }
    assert mariadb.count_sql(Table("appdb", "`we``ird`", 1)) == (
        "SELECT count(*) FROM `appdb`.`we``ird`"
    )


# The form of mysqldump and of older mariadb-dump: all the rows of a statement on one line.
ONE_LINE_DUMP = b"""-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: photoprism
-- ------------------------------------------------------

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `photoprism` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;

USE `photoprism`;
DROP TABLE IF EXISTS `photos`;
CREATE TABLE `photos` (
  `id` int(11) NOT NULL,
  `title` text,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
LOCK TABLES `photos` WRITE;
INSERT INTO `photos` VALUES (1,'a),(b'),(2,'it\\'s (2)'),(3,NULL),(4,'back\\\\slash');
INSERT INTO `photos` (`id`, `title`) VALUES (5,_binary 'x'),(6,0x00ff);
UNLOCK TABLES;
CREATE TABLE `odd``name` (
  `x` int(11)
) ENGINE=InnoDB;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;

-- Dump completed on 2026-03-10  3:00:01
"""


def test_mariadb_inspector_reads_rows_all_on_one_line() -> None:
    facts = feed(mariadb.inspector(), ONE_LINE_DUMP, 11)
    assert facts.complete
    assert [(t.database, t.name, t.rows) for t in facts.tables] == [
        ("photoprism", "`photos`", 6),
        ("photoprism", "`odd``name`", None),  # no data in the dump: rows unknown
    ]
    assert mariadb.count_sql(facts.tables[0]) == "SELECT count(*) FROM `photoprism`.`photos`"


def test_mariadb_inspector_spots_a_cut_dump() -> None:
    data = (DUMPS / "mariadb-dump-10.11.sql").read_bytes()
    # cut in the middle of an INSERT, after some of its rows
    cut = data[: data.index(b"(150,'row 150 of many')")]
    assert not feed(mariadb.inspector(), cut, 100).complete
    no_trailer = data.replace(b"-- Dump completed", b"--")
    assert not feed(mariadb.inspector(), no_trailer, 100).complete
    trailing_statement = data + b"DROP TABLE items;\n"
    assert not feed(mariadb.inspector(), trailing_statement, 100).complete


@pytest.mark.parametrize(
    "statement",
    [
        b"INSERT IGNORE INTO `t` VALUES (1),(2);",  # rows that may not all load
        b"REPLACE INTO `t` VALUES (1),(2);",
        b"INSERT INTO `t` VALUES (1,'unterminated),(2);",
        b"INSERT INTO `t` VALUES\n(1),\n(2),\n/* the statement stops before its end */",
    ],
)
def test_mariadb_inspector_does_not_guess_rows_it_cannot_read(statement: bytes) -> None:
    dump = (
        b"USE `db`;\nCREATE TABLE `t` (`x` int);\n-- Dumping data for table `t`\n"
        + statement
        + b"\nCREATE TABLE `u` (`y` int);\nINSERT INTO `u` VALUES\n(1);\n-- Dump completed\n"
    )
    facts = feed(mariadb.inspector(), dump, 5)
    assert facts.complete
    assert [(t.name, t.rows) for t in facts.tables] == [("`t`", None), ("`u`", 1)]


# ── the drill's throwaway databases ───────────────────────────────────────────────────────


def test_postgres_scratch_has_no_network_and_no_password(tmp_path: Path) -> None:
    db = DatabaseBackup(container="db", engine="postgres", user="app", database="appdb")
    scratch = postgres.scratch(db, "postgres:16.10-alpine", "lares-drill-app-db-1a2b3c", tmp_path)
    assert scratch.start is not None and scratch.ready is not None and scratch.stop is not None
    start = scratch.start.argv
    assert start[:6] == (
        "docker",
        "run",
        "--detach",
        "--name",
        "lares-drill-app-db-1a2b3c",
        "--network",
    )
    assert "none" in start and start[-1] == "postgres:16.10-alpine"
    assert "POSTGRES_HOST_AUTH_METHOD=trust" in start
    assert "--host" in scratch.ready.argv and "127.0.0.1" in scratch.ready.argv
    assert scratch.restore.stdin and "--interactive" in scratch.restore.argv
    query = scratch.query("appdb", "SELECT 1")
    assert query.argv[-4:] == ("--dbname", "appdb", "--command", "SELECT 1")
    assert scratch.stop.argv == (
        "docker",
        "rm",
        "--force",
        "--volumes",
        "lares-drill-app-db-1a2b3c",
    )
    assert postgres.count_sql(Table("appdb", 'public."Odd Name"', 2)) == (
        'SELECT count(*) FROM public."Odd Name"'
    )


def test_sqlite_scratch_is_a_file_in_the_drill_folder(tmp_path: Path) -> None:
    db = DatabaseBackup(container="kuma", engine="sqlite", path="/app/data/kuma.db")
    scratch = sqlite.scratch(db, "img:1", "drill", tmp_path)
    assert scratch.start is None and scratch.stop is None
    target = str(tmp_path / "drill.sqlite")
    assert scratch.restore.argv == (sys.executable, "-m", "lares.sqlitecopy", "restore", target)
    assert scratch.query(None, "SELECT 1").argv[-3:] == ("query", target, "SELECT 1")


# ── btrfs ─────────────────────────────────────────────────────────────────────────────────


def test_btrfs_commands_use_a_stable_path() -> None:
    sub = Path("/media/pool/appdata")
    dest = btrfs.stable_path(sub, "nextcloud")
    assert dest == Path("/media/pool/appdata/.lares-snapshots/nextcloud/current")
    assert btrfs.create(sub, dest).argv == (
        "btrfs",
        "subvolume",
        "snapshot",
        "-r",
        str(sub),
        str(dest),
    )
    assert btrfs.delete(dest).argv == ("btrfs", "subvolume", "delete", str(dest))
    kept = dest.parent / "20260310T030000Z"
    assert btrfs.keep(dest, kept).argv == ("mv", "-T", "--", str(dest), str(kept))
    assert btrfs.excludes(dest) == [f"{dest}/.lares-snapshots"]


def test_btrfs_kept_snapshots_are_listed_oldest_first(tmp_path: Path) -> None:
    folder = tmp_path / ".lares-snapshots" / "app"
    for name in ("20260311T030000Z", "current", "20260310T030000Z"):
        (folder / name).mkdir(parents=True)
    assert [p.name for p in btrfs.kept(tmp_path, "app")] == ["20260310T030000Z", "20260311T030000Z"]
    assert btrfs.kept(tmp_path, "other") == []


def test_filesystem_of_reads_the_mount_table() -> None:
    mounts = (
        "/dev/vda / ext4 rw,relatime 0 0\n"
        "/dev/loop3 /media/main\\040pool btrfs rw,relatime,space_cache=v2 0 0\n"
        "/dev/loop3 /media/main\\040pool/appdata btrfs rw,subvol=/appdata 0 0\n"
        "tmpfs /media/mainpoolx tmpfs rw 0 0\n"
    )
    assert filesystem_of(Path("/media/main pool/photos/x.jpg"), mounts) == (
        "btrfs",
        "/media/main pool",
    )
    assert filesystem_of(Path("/media/main pool/appdata/app"), mounts) == (
        "btrfs",
        "/media/main pool/appdata",
    )
    assert filesystem_of(Path("/media/mainpoolx/a"), mounts) == ("tmpfs", "/media/mainpoolx")
    assert filesystem_of(Path("/srv/data"), mounts) == ("ext4", "/")


def test_subvolume_root_refuses_a_plain_folder(tmp_path: Path) -> None:
    # the test machine's temporary folder is not btrfs: no folder has inode 256 at its top
    if filesystem_of(tmp_path)[0] == "btrfs":
        pytest.skip("the temporary folder is on btrfs here")
    with pytest.raises(ValueError, match="is not on a btrfs subvolume"):
        btrfs.subvolume_root(tmp_path)
