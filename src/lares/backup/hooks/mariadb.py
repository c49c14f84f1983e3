"""MariaDB and MySQL: ``mariadb-dump`` (``mysqldump`` on MySQL images) inside the container.

One consistent dump (``--single-transaction``) of the catalog's database, or of all databases
when none is named, with routines, events and triggers. A password, when the catalog names one,
reaches ``docker exec`` as ``MYSQL_PWD`` in its environment, never in argv. A complete dump
ends with ``-- Dump completed``. Extended INSERTs pack many rows per statement, so the drill
checks that every table exists and can be counted, not an exact row count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from lares.backup.command import Command
from lares.backup.hooks import DumpFacts, LineInspector, Scratch, Table, start_throwaway
from lares.catalog.model import DatabaseBackup

KIND = "database"
ENGINE = "mariadb"
EXTENSION = "mariadb-dump.sql"
TRAILER = b"-- Dump completed"
_USE = re.compile(rb"^USE `((?:[^`]|``)+)`;")
_CREATE = re.compile(rb"^CREATE TABLE `((?:[^`]|``)+)`")


def _is_mysql(image: str) -> bool:
    return image.rsplit("/", 1)[-1].startswith(("mysql", "percona"))


def _client(image: str) -> str:
    return "mysql" if _is_mysql(image) else "mariadb"


def dump(
    db: DatabaseBackup,
    container: str,
    image: str,
    password_secret: str | None,
    *,
    volumes: Sequence[str] = (),
) -> Command:
    """``docker exec <container> mariadb-dump`` (or ``mysqldump``) as the catalog's user."""
    tool = "mysqldump" if _is_mysql(image) else "mariadb-dump"
    argv = ["docker", "exec"]
    secret_env: dict[str, str] = {}
    if password_secret:
        argv += ["-e", "MYSQL_PWD"]
        secret_env["MYSQL_PWD"] = password_secret
    argv += [
        container,
        tool,
        f"--user={db.user}",
        "--single-transaction",
        "--routines",
        "--events",
        "--triggers",
    ]
    argv += ["--databases", db.database] if db.database else ["--all-databases"]
    return Command(tuple(argv), what=f"dump {ENGINE} in {container}", secret_env=secret_env)


class Inspector(LineInspector):
    def __init__(self) -> None:
        super().__init__()
        self.database: str | None = None
        self.tables: list[Table] = []
        self.complete = False

    def line(self, raw: bytes) -> None:
        if raw.startswith(b"USE "):
            match = _USE.match(raw)
            if match:
                self.database = match.group(1).replace(b"``", b"`").decode("utf-8", "replace")
        elif raw.startswith(b"CREATE TABLE"):
            match = _CREATE.match(raw)
            if match:
                name = match.group(1).decode("utf-8", "replace")
                self.tables.append(Table(self.database, f"`{name}`", None))
        elif raw.startswith(TRAILER):
            self.complete = True
        elif raw.strip() and not raw.startswith(b"--"):
            self.complete = False

    def facts(self) -> DumpFacts:
        self.finish()
        return DumpFacts(self.complete, tuple(self.tables), self.size)


def inspector() -> Inspector:
    return Inspector()


def scratch(db: DatabaseBackup, image: str, name: str, workdir: Path) -> Scratch:
    """A throwaway MariaDB/MySQL of ``image``, without network, root without a password."""
    client = _client(image)

    def query(database: str | None, sql: str) -> Command:
        argv = ["docker", "exec", name, client, "--user=root", "--batch", "--skip-column-names"]
        if database:
            argv.append(f"--database={database}")
        return Command((*argv, "--execute", sql), what="query the drill database")

    return Scratch(
        start=start_throwaway(
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
        stop=Command(
            ("docker", "rm", "--force", "--volumes", name), what="remove the drill database"
        ),
        query=query,
    )


def count_sql(table: Table) -> str:
    prefix = f"`{table.database.replace('`', '``')}`." if table.database else ""
    return f"SELECT count(*) FROM {prefix}{table.name}"  # noqa: S608 - a name the dump itself quoted
