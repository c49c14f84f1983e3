"""The SQLite copy child: a consistent file out, a checked file back in, queries as the shell
prints them, and nothing left owned by the wrong user beside the app's database."""

from __future__ import annotations

import io
import os
import sqlite3
from pathlib import Path

import pytest

from lares import sqlitecopy


def _wal_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA user_version = 9")
    db.execute("CREATE TABLE t (a, b)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(1, "x"), (2, None)])
    db.commit()
    return db


def test_the_copy_holds_what_sits_in_the_wal_and_restores_checked(tmp_path: Path) -> None:
    db = _wal_db(tmp_path / "app.db")  # open: the rows are in app.db-wal, not app.db
    out, err = io.BytesIO(), io.StringIO()
    sqlitecopy.image(str(tmp_path / "app.db"), out, err)
    db.close()
    assert err.getvalue() == 'lares-sqlite-tables {"t":2}\n'
    target = tmp_path / "back.db"
    sqlitecopy.restore(str(target), io.BytesIO(out.getvalue()))
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    rows = io.StringIO()
    sqlitecopy.query(str(target), "SELECT a, b FROM t ORDER BY a", rows)
    assert rows.getvalue() == "1|x\n2|\n"
    version = io.StringIO()
    sqlitecopy.query(str(target), "PRAGMA user_version", version)
    assert version.getvalue() == "9\n"


def test_restore_refuses_an_existing_file_and_what_is_not_sqlite(tmp_path: Path) -> None:
    existing = tmp_path / "there.db"
    existing.write_text("mine")
    with pytest.raises(FileExistsError):
        sqlitecopy.restore(str(existing), io.BytesIO(b""))
    assert existing.read_text() == "mine"
    with pytest.raises(sqlite3.DatabaseError, match="is not an SQLite database"):
        sqlitecopy.restore(str(tmp_path / "junk.db"), io.BytesIO(b"x" * 4096))


def test_side_files_a_reader_makes_go_to_the_databases_owner(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    _wal_db(path).close()  # the last connection closes: no -wal or -shm any more
    assert sorted(os.listdir(tmp_path)) == ["app.db"]
    os.chown(path, 1000, 1000)
    path.chmod(0o640)
    sqlitecopy.image(str(path), io.BytesIO(), io.StringIO())
    for name in ("app.db-wal", "app.db-shm"):
        st = os.stat(tmp_path / name)
        assert (st.st_uid, st.st_gid, oct(st.st_mode & 0o777)) == (1000, 1000, "0o640")


def test_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sqlitecopy.main(["image"]) == 2
    assert "usage:" in capsys.readouterr().err
    assert sqlitecopy.main(["image", str(tmp_path / "missing.db")]) == 1
    assert capsys.readouterr().err == f"sqlite: no database file at {tmp_path}/missing.db\n"


def test_a_writer_that_never_lets_go_ends_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlitecopy, "LOCKED_FOR", 0.5)
    monkeypatch.setattr(sqlitecopy, "BUSY_WAIT", 0.1)
    path = tmp_path / "journal.db"
    writer = sqlite3.connect(path, isolation_level=None)  # a rollback journal, not WAL
    writer.execute("CREATE TABLE t (x)")
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="stayed locked"):
        sqlitecopy.image(str(path), io.BytesIO(), io.StringIO())
    writer.execute("COMMIT")
    out = io.BytesIO()
    sqlitecopy.image(str(path), out, io.StringIO())  # once it lets go, the copy goes through
    assert out.getvalue().startswith(sqlitecopy.MAGIC)


def test_an_empty_database_file_copies_as_a_database_without_tables(tmp_path: Path) -> None:
    from lares.backup.hooks import sqlite as hook

    (tmp_path / "new.db").write_bytes(b"")  # what an app's first open leaves before a table
    out, err = io.BytesIO(), io.StringIO()
    sqlitecopy.image(str(tmp_path / "new.db"), out, err)
    assert out.getvalue().startswith(sqlitecopy.MAGIC)
    assert err.getvalue() == "lares-sqlite-tables {}\n"
    inspector = hook.inspector()
    assert inspector.note(err.getvalue().strip())
    inspector.feed(out.getvalue())
    assert inspector.facts().complete and inspector.facts().tables == ()
    sqlitecopy.restore(str(tmp_path / "back.db"), io.BytesIO(out.getvalue()))
