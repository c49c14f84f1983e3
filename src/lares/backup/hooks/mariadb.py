"""MariaDB and MySQL: ``mariadb-dump`` (``mysqldump`` on MySQL images) inside the container.

One consistent dump (``--single-transaction``) of the catalog's database, or of all databases
when none is named, with routines, events and triggers. A password, when the catalog names one,
reaches ``docker exec`` as ``MYSQL_PWD`` in its environment, never in argv. A complete dump
ends with ``-- Dump completed``.

The rows of a table are the tuples of its ``INSERT INTO `t` VALUES`` statements: an extended
INSERT packs many rows per statement, one row a line in current ``mariadb-dump`` (Debian 12's
10.11.18 for one), all on one line in older ones and in ``mysqldump``. Outside string literals
a dump's values hold no parentheses, so each ``(`` there starts a row. A table whose data the
dump shows in another form (or not at all: MERGE and FEDERATED tables keep their rows
elsewhere) has no row count, and the drill only checks that it can be counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lares.backup import hooks
from lares.backup.command import Command
from lares.catalog.model import DatabaseBackup

KIND = "database"
ENGINE = "mariadb"
EXTENSION = "mariadb-dump.sql"
TRAILER = b"-- Dump completed"
PASSWORD_VAR = "MYSQL_PWD"  # noqa: S105 - the variable the client reads its password from
_NAME = rb"`((?:[^`]|``)+)`"
_USE = re.compile(rb"^USE " + _NAME + rb";")
_CREATE = re.compile(rb"^CREATE TABLE " + _NAME)
# The lines that open a table's data: its comment, its lock, its DISABLE KEYS.
_DATA = re.compile(rb"^(?:-- Dumping data for table |LOCK TABLES |/\*!40000 ALTER TABLE )" + _NAME)
# An INSERT with or without its column list (--complete-insert); rows may follow on the line.
_INSERT = re.compile(rb"^INSERT INTO " + _NAME + rb"(?: \([^()]*\))? VALUES ?")
# A string literal as the client library escapes it (backslash escapes, or doubled quotes),
# written so that a long one is matched in linear time.
_LITERAL = re.compile(rb"'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'")


def _is_mysql(image: str) -> bool:
    return image.rsplit("/", 1)[-1].startswith(("mysql", "percona"))


def _client(image: str) -> str:
    return "mysql" if _is_mysql(image) else "mariadb"


missing = hooks.in_server


def dump(at: hooks.Instance) -> Command:
    """``docker exec <container> mariadb-dump`` (or ``mysqldump``) as the catalog's user."""
    tool = "mysqldump" if _is_mysql(at.image) else "mariadb-dump"
    argv = [
        tool,
        f"--user={at.db.user}",
        "--single-transaction",
        "--routines",
        "--events",
        "--triggers",
    ]
    argv += ["--databases", at.db.database] if at.db.database else ["--all-databases"]
    return hooks.exec_in(at, PASSWORD_VAR, *argv, what=f"dump {ENGINE} in {at.container}")


@dataclass
class _Rows:
    """The rows the dump loads into one table so far; ``None`` until its data starts."""

    database: str | None
    name: str
    rows: int | None = None
    readable: bool = True


def _tuples(values: bytes) -> tuple[int, bool] | None:
    """(rows, whether the statement ends here) in a piece of an INSERT's VALUES, or None when
    the piece is not in a form this reads."""
    bare = _LITERAL.sub(b"", values)
    if b"'" in bare or bare.count(b"(") != bare.count(b")"):
        return None
    return bare.count(b"("), bare.rstrip().endswith(b";")


class Inspector(hooks.LineInspector):
    def __init__(self) -> None:
        super().__init__()
        self.database: str | None = None
        self.tables: dict[tuple[str | None, str], _Rows] = {}
        self.inserting: _Rows | None = None  # the table of an INSERT that goes on
        self.complete = False

    def _table(self, quoted: bytes) -> _Rows:
        name = quoted.decode("utf-8", "replace")
        key = (self.database, name)
        if key not in self.tables:  # data without its CREATE TABLE: count it all the same
            self.tables[key] = _Rows(self.database, name)
        return self.tables[key]

    def _add(self, table: _Rows, values: bytes) -> None:
        found = _tuples(values)
        if found is None:
            table.readable = False
            self.inserting = None
            return
        rows, ended = found
        table.rows = (table.rows or 0) + rows
        self.inserting = None if ended else table

    def line(self, raw: bytes) -> None:
        if self.inserting is not None:
            if raw.startswith(b"("):
                self._add(self.inserting, raw)
                return
            self.inserting.readable = False  # the statement stopped before its ';'
            self.inserting = None
        if raw.startswith(b"USE "):
            match = _USE.match(raw)
            if match:
                self.database = match.group(1).replace(b"``", b"`").decode("utf-8", "replace")
        elif raw.startswith(b"CREATE TABLE"):
            match = _CREATE.match(raw)
            if match:
                self._table(match.group(1))
        elif raw.startswith(b"INSERT ") or raw.startswith(b"REPLACE "):
            match = _INSERT.match(raw)
            if match:
                self._add(self._table(match.group(1)), raw[match.end() :])
            else:  # INSERT IGNORE, REPLACE, INSERT DELAYED: rows that may not all load
                named = re.search(_NAME, raw)
                if named:
                    self._table(named.group(1)).readable = False
        elif raw.startswith(TRAILER):
            self.complete = True
            return
        else:
            match = _DATA.match(raw)
            if match:
                table = self._table(match.group(1))
                table.rows = table.rows or 0
        if raw.strip() and not raw.startswith(b"--"):
            self.complete = False

    def facts(self) -> hooks.DumpFacts:
        self.finish()
        tables = tuple(
            hooks.Table(t.database, f"`{t.name}`", t.rows if t.readable else None)
            for t in self.tables.values()
        )
        return hooks.DumpFacts(self.complete and self.inserting is None, tables, self.size)


def inspector() -> Inspector:
    return Inspector()


def scratch(db: DatabaseBackup, image: str, name: str, workdir: Path) -> hooks.Scratch:
    """A throwaway MariaDB/MySQL of ``image``, without network, root without a password."""
    client = _client(image)

    def query(database: str | None, sql: str) -> Command:
        argv = ["docker", "exec", name, client, "--user=root", "--batch", "--skip-column-names"]
        if database:
            argv.append(f"--database={database}")
        return Command((*argv, "--execute", sql), what="query the drill database")

    return hooks.Scratch(
        start=hooks.start_throwaway(
            name,
            image,
            "--env",
            "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1",
            "--env",
            "MYSQL_ALLOW_EMPTY_PASSWORD=yes",
            what=f"start a throwaway {ENGINE} ({image})",
        ),
        # TCP answers only once the real server runs (the init-time one skips networking).
        ready=Command(
            (
                "docker",
                "exec",
                name,
                f"{client}-admin" if client == "mariadb" else "mysqladmin",
                "--user=root",
                "--host=127.0.0.1",
                "--protocol=tcp",
                "ping",
            ),
            what="wait for the drill database",
        ),
        restore=Command(
            ("docker", "exec", "--interactive", name, client, "--user=root"),
            what="restore the dump into the drill database",
            stdin=True,
        ),
        stop=hooks.stop_throwaway(name),
        query=query,
    )


def live_query(at: hooks.Instance, database: str | None, sql: str) -> Command:
    """``docker exec <container> mariadb --batch`` as the catalog's user."""
    argv = [_client(at.image), f"--user={at.db.user}", "--batch", "--skip-column-names"]
    if database or at.db.database:
        argv.append(f"--database={database or at.db.database}")
    argv += ["--execute", sql]
    return hooks.exec_in(at, PASSWORD_VAR, *argv, what=f"query {ENGINE} in {at.container}")


def count_sql(table: hooks.Table) -> str:
    prefix = f"`{table.database.replace('`', '``')}`." if table.database else ""
    return f"SELECT count(*) FROM {prefix}{table.name}"  # noqa: S608 - a name the dump itself quoted


def load(at: hooks.Instance) -> hooks.Load:
    """``docker exec -i <container> mariadb`` as the catalog's user: the dump drops and
    recreates each table it holds (``DROP TABLE IF EXISTS``), so it loads into the running
    server as it is."""
    container, client = at.container, _client(at.image)
    return hooks.Load(
        hooks.exec_in(
            at,
            PASSWORD_VAR,
            client,
            f"--user={at.db.user}",
            what=f"load the dump into {ENGINE} in {container}",
            stdin=True,
        ),
        ready=_ping(container, client),
    )


def _ping(container: str, client: str) -> Command:
    """Succeeds once the real server answers on TCP (the init-time one skips networking); an
    answer refusing the login counts."""
    admin = f"{client}-admin" if client == "mariadb" else "mysqladmin"
    argv = ("docker", "exec", container, admin, "--host=127.0.0.1", "--protocol=tcp", "ping")
    return Command(argv, what=f"wait for {container}")
