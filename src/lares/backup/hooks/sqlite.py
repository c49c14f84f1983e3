"""SQLite: an online ``.dump`` by the ``sqlite3`` shell inside the app's container.

The ``.backup`` command needs a seekable file to write to, and lares keeps no plaintext dump
on disk, so the dump is the SQL text of ``.dump``: it runs in one read transaction, so it is as
consistent as ``.backup``, and it streams. A complete dump ends with ``COMMIT;``; each row is one
``INSERT INTO`` line. The drill restores it with the host's ``sqlite3`` into a file in the
drill's temporary folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from lares.backup.command import Command
from lares.backup.hooks import DumpFacts, LineInspector, Scratch, Table
from lares.catalog.model import DatabaseBackup

KIND = "database"
ENGINE = "sqlite"
EXTENSION = "sqlite.sql"
_CREATE = re.compile(
    rb'^CREATE TABLE (?:IF NOT EXISTS )?("(?:[^"]|"")+"|\'(?:[^\']|\'\')+\'|[^\s(]+)'
)
_INSERT = re.compile(rb'^INSERT INTO ("(?:[^"]|"")+"|\'(?:[^\']|\'\')+\'|[^\s(]+)')


def dump(db: DatabaseBackup, container: str, image: str, password_secret: str | None) -> Command:
    """``docker exec <container> sqlite3 <file> .dump``."""
    return Command(
        ("docker", "exec", container, "sqlite3", "-batch", db.path or "", ".dump"),
        what=f"dump SQLite {db.path} in {container}",
    )


def _name(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if text[:1] in ("'", '"'):
        quote = text[0]
        text = text[1:-1].replace(quote * 2, quote)
    return '"' + text.replace('"', '""') + '"'


class Inspector(LineInspector):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, int] = {}
        self.complete = False

    def line(self, raw: bytes) -> None:
        if raw.startswith(b"INSERT INTO "):
            match = _INSERT.match(raw)
            if match:
                name = _name(match.group(1))
                self.rows[name] = self.rows.get(name, 0) + 1
        elif raw.startswith(b"CREATE TABLE "):
            match = _CREATE.match(raw)
            if match:
                self.rows.setdefault(_name(match.group(1)), 0)
        if raw.strip():
            self.complete = raw.strip() == b"COMMIT;"

    def facts(self) -> DumpFacts:
        self.finish()
        tables = tuple(
            Table(None, name, rows)
            for name, rows in self.rows.items()
            if name != '"sqlite_sequence"'
        )
        return DumpFacts(self.complete, tables, self.size)


def inspector() -> Inspector:
    return Inspector()


def scratch(db: DatabaseBackup, image: str, name: str, workdir: Path) -> Scratch:
    """A database file in the drill's folder, filled and queried by the host's sqlite3."""
    path = str(workdir / f"{name}.sqlite")

    def query(database: str | None, sql: str) -> Command:
        return Command(
            ("sqlite3", "-batch", "-noheader", path, sql), what="query the drill database"
        )

    return Scratch(
        start=None,
        ready=None,
        restore=Command(
            ("sqlite3", "-batch", "-bail", path), what="restore the dump into a file", stdin=True
        ),
        stop=None,
        query=query,
    )


def count_sql(table: Table) -> str:
    return f"SELECT count(*) FROM {table.name}"  # noqa: S608 - a name the dump itself quoted
