"""SQLite: an online backup (the ``.backup`` of the ``sqlite3`` shell), taken from the host.

The catalog names the database by its path inside the container; lares finds the bind mount
that holds it and copies the file with SQLite's online backup API in a child process
(:mod:`lares.sqlitecopy`), in memory, in one read transaction, and streams the copy (a complete
database file, ``user_version`` and all) into restic. The app's image needs no ``sqlite3``
shell, which most do not ship, and no plaintext copy touches a disk.

A complete copy is an SQLite file whose size is the page count its header gives times the page
size, followed by the child's note of each table's rows. The drill writes the copy to a file in
its temporary folder, checks it with ``PRAGMA integrity_check`` and counts the rows again.

``backup restore --into-db`` writes and checks the copy the same way beside the live file, then,
with the app's containers stopped, moves it into place (owner and mode of the file it replaces)
and removes the old file's ``-wal`` and ``-shm``, which belong to the replaced database.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import sys
from collections.abc import Sequence
from pathlib import Path

from lares.backup import hooks
from lares.backup.command import Command
from lares.catalog.model import DatabaseBackup
from lares.errors import LaresError
from lares.sqlitecopy import MAGIC, NOTE

KIND = "database"
ENGINE = "sqlite"
EXTENSION = "sqlite"
HEADER = 100  # bytes of the database header the inspector reads


def host_file(volumes: Sequence[str], path: str) -> str | None:
    """Where the container path ``path`` lies on the host, through the bind mounts in
    ``volumes`` (Compose short syntax, ``source:target[:options]``); None when no bind mount
    holds it (a named volume, or no volume at all)."""
    best: tuple[str, str] | None = None
    for volume in volumes:
        parts = volume.split(":")
        if len(parts) < 2 or not parts[0].startswith("/"):
            continue
        source, target = parts[0], parts[1].rstrip("/") or "/"
        inside = path == target or path.startswith(target.rstrip("/") + "/")
        if inside and (best is None or len(target) > len(best[1])):
            best = (source, target)
    if best is None:
        return None
    rest = posixpath.relpath(path, best[1])
    return best[0] if rest == "." else posixpath.join(best[0], rest)


def missing(db: DatabaseBackup, volumes: Sequence[str]) -> str | None:
    """Why there is nothing to copy yet (the app has not made its database), or None."""
    found = host_file(volumes, db.path or "")
    if found is not None and not os.path.exists(found):
        return f"{found} does not exist yet; the database is not backed up"
    return None


def _worker(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "lares.sqlitecopy", *args)


def dump(at: hooks.Instance) -> Command:
    """``python -m lares.sqlitecopy image <the database file on the host>``."""
    path = at.db.path or ""
    found = host_file(at.volumes, path)
    if found is None:
        raise LaresError(
            f"the SQLite database {path} of {at.container} is not on a bind mount",
            hint="lares copies SQLite databases from the host: mount the folder holding it "
            "from the app's data folder",
            code="backup-sqlite",
        )
    return Command(_worker("image", found), what=f"copy SQLite {path} of {at.container}")


class Inspector:
    """Reads the copy's header as it streams by, and the child's note of the tables."""

    def __init__(self) -> None:
        self.size = 0
        self._head = b""
        self._tables: dict[str, int] | None = None

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < HEADER:
            self._head += chunk[: HEADER - len(self._head)]
        self.size += len(chunk)

    def note(self, line: str) -> bool:
        if not line.startswith(NOTE):
            return False
        try:
            tables = json.loads(line[len(NOTE) :])
        except ValueError:
            return False
        if isinstance(tables, dict):
            self._tables = {str(k): int(v) for k, v in tables.items()}
        return True

    def expected_size(self) -> int | None:
        head = self._head
        if len(head) < HEADER or not head.startswith(MAGIC):
            return None
        page_size = int.from_bytes(head[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(head[28:32], "big")
        return page_size * pages

    def facts(self) -> hooks.DumpFacts:
        complete = self.expected_size() == self.size and self._tables is not None
        tables = tuple(
            hooks.Table(None, '"' + name.replace('"', '""') + '"', rows)
            for name, rows in (self._tables or {}).items()
        )
        return hooks.DumpFacts(complete, tables, self.size)


def inspector() -> Inspector:
    return Inspector()


def scratch(db: DatabaseBackup, image: str, name: str, workdir: Path) -> hooks.Scratch:
    """A database file in the drill's folder, written and queried by :mod:`lares.sqlitecopy`."""
    path = str(workdir / f"{name}.sqlite")

    def query(database: str | None, sql: str) -> Command:
        return Command(_worker("query", path, sql), what="query the drill database")

    return hooks.Scratch(
        start=None,
        ready=None,
        restore=Command(
            _worker("restore", path), what="write and check the database copy", stdin=True
        ),
        stop=None,
        query=query,
    )


def live_query(at: hooks.Instance, database: str | None, sql: str) -> Command:
    """``python -m lares.sqlitecopy query`` on the database file on the host, opened read-only."""
    found = dump(at).argv[-1]
    return Command(
        _worker("query", found, sql), what=f"query SQLite {at.db.path} of {at.container}"
    )


def count_sql(table: hooks.Table) -> str:
    return f"SELECT count(*) FROM {table.name}"  # noqa: S608 - a name the copy itself gave


RESTORING = ".lares-restore"


def load(at: hooks.Instance) -> hooks.Load:
    """Write the copy beside the database file on the host, then replace the file with it."""
    live = dump(at).argv[-1]
    staged = live + RESTORING

    def finish() -> None:
        try:
            st = os.stat(live)
        except FileNotFoundError:
            st = None
        if st is not None:
            os.chmod(staged, st.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.chown(staged, st.st_uid, st.st_gid)
        os.replace(staged, live)
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(live + suffix)

    def cleanup() -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)

    return hooks.Load(
        Command(_worker("restore", staged), what=f"write and check the copy of {live}", stdin=True),
        stop_database=True,
        finish=finish,
        cleanup=cleanup,
    )
