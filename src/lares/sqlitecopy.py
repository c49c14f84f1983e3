"""SQLite's online backup API as a small child process: ``python -m lares.sqlitecopy``.

``image PATH``
    Copy the database at ``PATH`` with the online backup API (what the ``sqlite3`` shell's
    ``.backup`` does) into memory, in one step: one read transaction, so the copy is the
    database as of one moment, even while the app writes (WAL or rollback journal). Then write
    the copy, a complete database file, to stdout, and one line to stderr::

        lares-sqlite-tables {"table": rows, ...}

    The source is opened read-only (``mode=ro``). A WAL database whose app is stopped gets
    the ``-wal`` and ``-shm`` files any reader makes; those are handed to the database file's
    owner, with its mode, so the app can open them again. Memory: about twice the database's
    size. Nothing is written to disk. A WAL database never makes the copy wait; a rollback
    journal one does while a writer holds its lock, and a lock held for :data:`LOCKED_FOR`
    ends the copy with an error rather than hanging the backup.
``restore PATH``
    Write stdin to the new file ``PATH`` (0600; it must not exist), then check it with
    ``PRAGMA integrity_check``.
``query PATH SQL``
    Run ``SQL`` on ``PATH`` (read-only) and print each row as the ``sqlite3`` shell's list mode
    does: values joined by ``|``, NULL as nothing.

Runs on the host against the file the app's container bind-mounts, so the app's image needs
no ``sqlite3`` (most do not ship it). Standard library only: a child starts in milliseconds.
Exit codes: 0 done, 1 a database error (message on stderr), 2 usage.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO
from urllib.parse import quote

if TYPE_CHECKING:  # the backup hook imports this module for its constants; sqlite3 waits
    import sqlite3

NOTE = "lares-sqlite-tables "
LOCKED_FOR = 900.0  # seconds the copy waits for a writer's lock (WAL readers never wait)
BUSY_WAIT = 5.0  # seconds one try waits for a lock before the copy looks at the clock
MAGIC = b"SQLite format 3\x00"


def _read_only(path: str) -> sqlite3.Connection:
    import sqlite3

    if not Path(path).is_file():
        raise sqlite3.OperationalError(f"no database file at {path}")
    return sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=BUSY_WAIT)


def _tables(db: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
    return {n: db.execute(f"SELECT count(*) FROM {q}").fetchone()[0] for n, q in quoted.items()}  # noqa: S608


def _give_back(path: str, before: set[str]) -> None:
    """Hand the side files a reader made beside ``path`` to the database's owner."""
    st = os.stat(path)
    for suffix in ("-wal", "-shm"):
        side = path + suffix
        if side in before or not os.path.exists(side):
            continue
        try:
            os.chown(side, st.st_uid, st.st_gid)
            os.chmod(side, st.st_mode & 0o666)
        except OSError:
            pass  # not ours to change (lares runs as someone else): the owner made them


def image(path: str, out: BinaryIO, err: TextIO) -> None:
    import sqlite3

    before = {path + s for s in ("-wal", "-shm") if os.path.exists(path + s)}
    src = _read_only(path)
    try:
        page_size = src.execute("PRAGMA page_size").fetchone()[0]
        copy = sqlite3.connect(":memory:")
        # An in-memory target must have the source's page size, or the copy is refused.
        copy.execute(f"PRAGMA page_size = {int(page_size)}")
        deadline = time.monotonic() + LOCKED_FOR

        def waited(status: int, remaining: int, total: int) -> None:
            # Called after every try; a writer holding its lock this long is not letting go.
            if time.monotonic() > deadline:
                raise sqlite3.OperationalError(
                    f"the database stayed locked for {LOCKED_FOR / 60:g} minutes"
                )

        src.backup(copy, progress=waited)  # pages=-1: all in one step, one read transaction
    finally:
        src.close()
        _give_back(path, before)
    tables = _tables(copy)
    if not hasattr(copy, "serialize"):  # Python 3.11+ with SQLite 3.36+
        raise sqlite3.NotSupportedError(
            f"this Python's SQLite ({sqlite3.sqlite_version}) cannot serialize a database; "
            "SQLite 3.36 or newer is needed"
        )
    data = copy.serialize()
    copy.close()
    out.write(data)
    out.flush()
    err.write(NOTE + json.dumps(tables, separators=(",", ":")) + "\n")
    err.flush()


def restore(path: str, data: BinaryIO) -> None:
    import sqlite3

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        while chunk := data.read(1 << 20):
            f.write(chunk)
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise sqlite3.DatabaseError(f"{path} is not an SQLite database")
    db = _read_only(path)
    try:
        problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
    finally:
        db.close()
    if problems != ["ok"]:
        raise sqlite3.DatabaseError("integrity check failed: " + "; ".join(problems[:5]))


def query(path: str, sql: str, out: TextIO) -> None:
    db = _read_only(path)
    try:
        for row in db.execute(sql):
            out.write("|".join("" if v is None else str(v) for v in row) + "\n")
    finally:
        db.close()


def main(argv: Sequence[str]) -> int:
    import sqlite3

    usage = "usage: python -m lares.sqlitecopy image PATH | restore PATH | query PATH SQL"
    try:
        match list(argv):
            case ["image", path]:
                image(path, sys.stdout.buffer, sys.stderr)
            case ["restore", path]:
                restore(path, sys.stdin.buffer)
            case ["query", path, sql]:
                query(path, sql, sys.stdout)
            case _:
                print(usage, file=sys.stderr)
                return 2
    except (sqlite3.Error, OSError) as exc:
        print(f"sqlite: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
