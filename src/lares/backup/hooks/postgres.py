"""PostgreSQL: ``pg_dumpall`` inside the database container, restored with ``psql``.

The dump is the whole cluster (roles and every database) as plain SQL, read from the
container's local socket as the catalog's database user. A password, when the catalog names
one, reaches ``docker exec`` as ``PGPASSWORD`` in its environment (``-e PGPASSWORD`` without a
value), never in argv. A complete dump ends with ``-- PostgreSQL database cluster dump
complete``; the rows of each table are the lines of its ``COPY … FROM stdin`` block.

The drill restores into a container of the same image with its own superuser, trust
authentication and no network, so no password is involved.

``backup restore --into-db`` loads a dump back into the app's running server with ``psql`` as
the catalog's user, through :func:`rewrite`: each database the dump creates is dropped first
(``WITH (FORCE)``, the app's other containers being stopped), a role that exists already is
kept, and the password of the role lares logs in as stays the one in lares's secrets rather
than the dump's older hash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from lares.backup import hooks
from lares.backup.command import Command
from lares.catalog.model import DatabaseBackup

KIND = "database"
ENGINE = "postgres"
EXTENSION = "pg_dumpall.sql"
SUPERUSER = "lares_drill"
TRAILER = b"-- PostgreSQL database cluster dump complete"
PASSWORD_VAR = "PGPASSWORD"  # noqa: S105 - the variable the client reads its password from
_COPY = re.compile(rb"^COPY (.+?) (?:\(.*\) )?FROM stdin;$")
_CONNECT_REUSE = re.compile(rb"dbname='((?:[^']|'')*)'")
_IDENT = rb'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_CREATE_ROLE = re.compile(rb"^CREATE ROLE (" + _IDENT + rb");$")
_CREATE_DATABASE = re.compile(rb"^CREATE DATABASE (" + _IDENT + rb")[ ;]")
_PASSWORD = re.compile(rb" PASSWORD '(?:[^']|'')*'")


missing = hooks.in_server


def dump(at: hooks.Instance) -> Command:
    """``docker exec <container> pg_dumpall`` as the catalog's user."""
    argv = ["pg_dumpall", "--username", at.db.user or "postgres", "--no-password"]
    if at.db.database:
        argv += ["--database", at.db.database]
    return hooks.exec_in(at, PASSWORD_VAR, *argv, what=f"dump PostgreSQL in {at.container}")


class Inspector(hooks.LineInspector):
    def __init__(self) -> None:
        super().__init__()
        self.database: str | None = None
        self.copying: str | None = None
        self.rows = 0
        self.tables: list[hooks.Table] = []
        self.complete = False

    def line(self, raw: bytes) -> None:
        if self.copying is not None:
            if raw == b"\\.":
                self.tables.append(hooks.Table(self.database, self.copying, self.rows))
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

    def facts(self) -> hooks.DumpFacts:
        self.finish()
        return hooks.DumpFacts(
            self.complete and self.copying is None, tuple(self.tables), self.size
        )


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


def scratch(db: DatabaseBackup, image: str, name: str, workdir: Path) -> hooks.Scratch:
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

    return hooks.Scratch(
        start=hooks.start_throwaway(
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
        stop=hooks.stop_throwaway(name),
        query=query,
    )


def live_query(at: hooks.Instance, database: str | None, sql: str) -> Command:
    """``docker exec <container> psql -At`` as the catalog's user."""
    argv = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "--no-password"]
    argv += ["--username", at.db.user or "postgres"]
    argv += ["--dbname", database or at.db.database or "postgres", "--command", sql]
    return hooks.exec_in(at, PASSWORD_VAR, *argv, what=f"query PostgreSQL in {at.container}")


def count_sql(table: hooks.Table) -> str:
    return f"SELECT count(*) FROM {table.name}"  # noqa: S608 - a name the dump itself quoted


def _ident(name: str) -> bytes:
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name.encode()
    return b'"' + name.replace('"', '""').encode() + b'"'


def rewrite(user: str) -> Callable[[bytes], bytes]:
    """The line rewrite that loads a ``pg_dumpall`` dump into a server that has its roles and
    databases already (see the module docstring); ``user`` is the role lares logs in as."""
    alter_user = b"ALTER ROLE " + _ident(user) + b" "
    copying = False  # inside a COPY block: rows of data, never rewritten

    def line(raw: bytes) -> bytes:
        nonlocal copying
        if copying:
            copying = raw != b"\\."
            return raw
        if raw.startswith(b"COPY ") and _COPY.match(raw):
            copying = True
            return raw
        if raw.startswith(b"CREATE ROLE ") and (match := _CREATE_ROLE.match(raw)):
            return (
                b"DO $lares$BEGIN CREATE ROLE " + match.group(1) + b"; "
                b"EXCEPTION WHEN duplicate_object THEN NULL; END$lares$;"
            )
        if raw.startswith(alter_user):
            return _PASSWORD.sub(b"", raw)
        if raw.startswith(b"CREATE DATABASE ") and (match := _CREATE_DATABASE.match(raw)):
            return b"DROP DATABASE IF EXISTS " + match.group(1) + b" WITH (FORCE);\n" + raw
        return raw

    return line


def load(at: hooks.Instance) -> hooks.Load:
    """``docker exec -i <container> psql`` as the catalog's user, stopping at the first error."""
    user, container = at.db.user or "postgres", at.container
    argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-password"]
    argv += ["--username", user, "--dbname", "postgres"]
    return hooks.Load(
        hooks.exec_in(
            at,
            PASSWORD_VAR,
            *argv,
            what=f"load the dump into PostgreSQL in {container}",
            stdin=True,
        ),
        rewrite=rewrite(user),
        ready=Command(
            ("docker", "exec", container, "pg_isready", "--host", "127.0.0.1", "--username", user),
            what=f"wait for {container}",
        ),
    )
