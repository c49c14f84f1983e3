"""PostgreSQL: ``pg_dumpall`` inside the database container, restored with ``psql``.

The dump is the whole cluster (roles and every database) as plain SQL, read from the
container's local socket as the catalog's database user. A password, when the catalog names
one, reaches ``docker exec`` as ``PGPASSWORD`` in its environment (``-e PGPASSWORD`` without a
value), never in argv. A complete dump ends with ``-- PostgreSQL database cluster dump
complete``; the rows of each table are the lines of its ``COPY … FROM stdin`` block.

The drill restores into a container of the same image with its own superuser, trust
authentication and no network, so no password is involved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from lares.backup.command import Command
from lares.backup.hooks import (
    DumpFacts,
    LineInspector,
    Scratch,
    Table,
    in_server,
    start_throwaway,
    stop_throwaway,
)
from lares.catalog.model import DatabaseBackup

KIND = "database"
ENGINE = "postgres"
EXTENSION = "pg_dumpall.sql"
SUPERUSER = "lares_drill"
TRAILER = b"-- PostgreSQL database cluster dump complete"
_COPY = re.compile(rb"^COPY (.+?) (?:\(.*\) )?FROM stdin;$")
_CONNECT_REUSE = re.compile(rb"dbname='((?:[^']|'')*)'")


missing = in_server


def dump(
    db: DatabaseBackup,
    container: str,
    image: str,
    password_secret: str | None,
    *,
    volumes: Sequence[str] = (),
) -> Command:
    """``docker exec <container> pg_dumpall`` as the catalog's user."""
    argv = ["docker", "exec"]
    secret_env: dict[str, str] = {}
    if password_secret:
        argv += ["-e", "PGPASSWORD"]
        secret_env["PGPASSWORD"] = password_secret
    argv += [container, "pg_dumpall", "--username", db.user or "postgres", "--no-password"]
    if db.database:
        argv += ["--database", db.database]
    return Command(tuple(argv), what=f"dump PostgreSQL in {container}", secret_env=secret_env)


class Inspector(LineInspector):
    def __init__(self) -> None:
        super().__init__()
        self.database: str | None = None
        self.copying: str | None = None
        self.rows = 0
        self.tables: list[Table] = []
        self.complete = False

    def line(self, raw: bytes) -> None:
        if self.copying is not None:
            if raw == b"\\.":
                self.tables.append(Table(self.database, self.copying, self.rows))
                self.copying = None
            else:
                self.rows += 1
            return
        if raw.startswith(b"\\connect "):
            self.database = _connect_target(raw[len(b"\\connect ") :])
        elif raw.startswith(b"COPY "):
            match = _COPY.match(raw)
            if match:
                self.copying = match.group(1).decode("utf-8", "replace")
                self.rows = 0
        elif raw.startswith(TRAILER):
            self.complete = True
        elif raw.strip() and not raw.startswith(b"--"):
            # A statement after the trailer means the trailer was not the end.
            self.complete = False

    def facts(self) -> DumpFacts:
        self.finish()
        return DumpFacts(self.complete and self.copying is None, tuple(self.tables), self.size)


def _connect_target(arg: bytes) -> str:
    match = _CONNECT_REUSE.search(arg)
    if match:
        return match.group(1).replace(b"''", b"'").decode("utf-8", "replace")
    word = arg.strip()
    if word.startswith(b'"') and word.endswith(b'"'):
        word = word[1:-1].replace(b'""', b'"')
    return word.decode("utf-8", "replace")


def inspector() -> Inspector:
    return Inspector()


def scratch(db: DatabaseBackup, image: str, name: str, workdir: Path) -> Scratch:
    """A throwaway PostgreSQL of ``image`` named ``name``, without network or password."""

    def query(database: str | None, sql: str) -> Command:
        return Command(
            (
                "docker",
                "exec",
                name,
                "psql",
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "--username",
                SUPERUSER,
                "--dbname",
                database or "postgres",
                "--command",
                sql,
            ),
            what=f"query the drill database {database or 'postgres'}",
        )

    return Scratch(
        start=start_throwaway(
            name,
            image,
            "--tmpfs",
            "/tmp",
            "--env",
            f"POSTGRES_USER={SUPERUSER}",
            "--env",
            "POSTGRES_DB=postgres",
            "--env",
            "POSTGRES_HOST_AUTH_METHOD=trust",
            what=f"start a throwaway PostgreSQL ({image})",
        ),
        # TCP on loopback answers only once the real server runs, not the init-time one.
        ready=Command(
            ("docker", "exec", name, "pg_isready", "--host", "127.0.0.1", "--username", SUPERUSER),
            what="wait for the drill database",
        ),
        restore=Command(
            (
                "docker",
                "exec",
                "--interactive",
                name,
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--username",
                SUPERUSER,
                "--dbname",
                "postgres",
            ),
            what="restore the dump into the drill database",
            stdin=True,
        ),
        stop=stop_throwaway(name),
        query=query,
    )


def count_sql(table: Table) -> str:
    return f"SELECT count(*) FROM {table.name}"  # noqa: S608 - a name the dump itself quoted
