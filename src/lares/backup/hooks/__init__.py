"""Backup hooks: one module per engine, found by scanning this package.

A *database* hook (``KIND = "database"``: postgres, mariadb, sqlite) says how to dump a
database inside its container, how to recognise a complete dump, and how to restore one into a
throwaway database for the drill. A *snapshot* hook (``KIND = "snapshot"``: btrfs) says how to
freeze a filesystem before its files are read. Hooks only *return* the commands they would
run (:class:`~lares.backup.command.Command`); the runner runs them, so ``--dry-run`` is one
switch in one place. The module name is the hook id: ``hooks/postgres.py`` serves
``engine: postgres`` in the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol, cast

from lares import throwaway
from lares.backup.command import Command
from lares.catalog.model import DatabaseBackup
from lares.errors import LaresError


@dataclass(frozen=True)
class Instance:
    """The database a hook dumps or loads: its catalog entry, the container that serves it (by
    name and image), the secret id of its password (None: no password) and the container's
    volumes (where a database kept in a file is on the host)."""

    db: DatabaseBackup
    container: str
    image: str
    password_secret: str | None = None
    volumes: Sequence[str] = ()


@dataclass(frozen=True)
class Table:
    """A table a dump creates, with the rows it loads into it (None: not countable)."""

    database: str | None
    name: str  # as the dump spells it, quoted as the engine needs
    rows: int | None

    def key(self) -> str:
        return f"{self.database}:{self.name}" if self.database else self.name


@dataclass(frozen=True)
class DumpFacts:
    """What reading a dump stream showed: whether it ended as a complete dump does, its tables."""

    complete: bool
    tables: tuple[Table, ...] = ()
    size: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "complete": self.complete,
            "size": self.size,
            "tables": [
                {"database": t.database, "name": t.name, "rows": t.rows} for t in self.tables
            ],
        }


class Inspector(Protocol):
    """Reads a dump as it streams by (never storing it) and reports :class:`DumpFacts`."""

    def feed(self, chunk: bytes) -> None: ...

    def note(self, line: str) -> bool:
        """Take a line the dump command wrote to stderr; True when it was meant for lares."""
        ...

    def facts(self) -> DumpFacts: ...


class LineInspector:
    """Base for text dumps: calls :meth:`line` once per line, across chunk boundaries."""

    def __init__(self) -> None:
        self._rest = b""
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        data = self._rest + chunk
        lines = data.split(b"\n")
        self._rest = lines.pop()
        for raw in lines:
            self.line(raw)

    def finish(self) -> None:
        if self._rest:
            self.line(self._rest)
            self._rest = b""

    def note(self, line: str) -> bool:
        return False

    def line(self, raw: bytes) -> None:
        raise NotImplementedError

    def facts(self) -> DumpFacts:
        raise NotImplementedError


@dataclass(frozen=True)
class Scratch:
    """A throwaway database to restore a dump into: start it, wait, restore, query, remove."""

    start: Command | None
    ready: Command | None
    restore: Command  # reads the dump on stdin
    stop: Command | None
    query: Callable[[str | None, str], Command] = field(compare=False)  # (database, sql)


@dataclass(frozen=True)
class Load:
    """How a restored dump goes back into the app's own database (``backup restore --into-db``).

    ``restore`` reads the dump on stdin. ``rewrite``, when set, is given each line of the dump
    (without its newline) and returns what to send instead, so a dump made for an empty server
    loads into the running one. ``stop_database``: the database container itself is stopped
    meanwhile (a file the app keeps open); otherwise only the app's other containers are.
    ``finish`` runs after a successful restore (moving a restored file into place). ``ready``
    succeeds once the server takes connections (a container just started for a recovery).
    """

    restore: Command
    rewrite: Callable[[bytes], bytes] | None = field(default=None, compare=False)
    stop_database: bool = False
    finish: Callable[[], None] | None = field(default=None, compare=False)
    cleanup: Callable[[], None] | None = field(default=None, compare=False)
    ready: Command | None = None


def in_server(db: DatabaseBackup, volumes: Sequence[str]) -> str | None:
    """``missing`` of a database kept by a server (PostgreSQL, MariaDB): never. The server has
    the database, or its dump fails and says why."""
    return None


def exec_in(at: Instance, var: str, *args: str, what: str, stdin: bool = False) -> Command:
    """``docker exec`` of ``args`` in the database's container (``--interactive`` when the
    command reads ``stdin``), handing the client its password in the environment variable
    ``var`` when the catalog names one: ``-e var`` in argv, the secret id in the command's
    secret environment, never the value."""
    argv = ["docker", "exec", *(["--interactive"] if stdin else [])]
    secret_env: dict[str, str] = {}
    if at.password_secret:
        argv += ["-e", var]
        secret_env[var] = at.password_secret
    return Command((*argv, at.container, *args), what=what, secret_env=secret_env, stdin=stdin)


def start_throwaway(name: str, image: str, *options: str, what: str) -> Command:
    """`docker run` of a drill database: detached, on no network at all, and labelled with the
    drill's process, so a killed drill's database is found and removed (:mod:`lares.throwaway`)."""
    argv = ("docker", "run", "--detach", "--name", name, "--network", "none")
    owner = f"{throwaway.OWNER_LABEL}={throwaway.owner()}"
    labels = ("--label", f"{throwaway.LABEL}=1", "--label", owner)
    return Command((*argv, *labels, *options, image), what=what)


def stop_throwaway(name: str) -> Command:
    """Remove a drill database started by :func:`start_throwaway`, with its volumes."""
    return Command(("docker", "rm", "--force", "--volumes", name), what="remove the drill database")


class DatabaseHook(Protocol):
    KIND: str  # "database"
    ENGINE: str
    EXTENSION: str

    def dump(self, at: Instance) -> Command: ...

    def missing(self, db: DatabaseBackup, volumes: Sequence[str]) -> str | None:
        """Why there is nothing to dump yet (a database file the app has not made), or None."""
        ...

    def inspector(self) -> Inspector: ...

    def scratch(self, db: DatabaseBackup, image: str, name: str, workdir: Path) -> Scratch: ...

    def count_sql(self, table: Table) -> str: ...

    def live_query(self, at: Instance, database: str | None, sql: str) -> Command:
        """A read-only ``sql`` against the app's own running database (the update's check),
        printing one row a line as the drill's query does."""
        ...

    def load(self, at: Instance) -> Load: ...


class SnapshotHook(Protocol):
    KIND: str  # "snapshot"
    FILESYSTEM: str

    def subvolume_root(self, path: Path) -> Path: ...

    def stable_path(self, subvolume: Path, app: str) -> Path: ...

    def create(self, source: Path, dest: Path) -> Command: ...

    def delete(self, path: Path) -> Command: ...

    def keep(self, path: Path, as_path: Path) -> Command: ...

    def kept(self, subvolume: Path, app: str) -> list[Path]: ...

    def excludes(self, path: Path) -> list[str]: ...


@cache
def discover() -> dict[str, object]:
    """Every hook module by id (its module name)."""
    from lares import plugins

    return dict(plugins.modules(__name__))


def database(engine: str) -> DatabaseHook:
    """The hook for a database ``engine``; raises LaresError naming the known ones."""
    for module in discover().values():
        if (
            getattr(module, "KIND", None) == "database"
            and getattr(module, "ENGINE", None) == engine
        ):
            return cast(DatabaseHook, module)
    known = sorted(
        str(getattr(m, "ENGINE", ""))
        for m in discover().values()
        if getattr(m, "KIND", None) == "database"
    )
    raise LaresError(
        f"no backup hook for database engine {engine!r}",
        hint="known engines: " + ", ".join(known),
        code="backup-hook",
    )


def snapshot(filesystem: str) -> SnapshotHook | None:
    """The snapshot hook for ``filesystem`` (e.g. "btrfs"), or None when there is none."""
    for module in discover().values():
        if (
            getattr(module, "KIND", None) == "snapshot"
            and getattr(module, "FILESYSTEM", None) == filesystem
        ):
            return cast(SnapshotHook, module)
    return None


def filesystem_of(path: Path, mounts: str | None = None) -> tuple[str, str]:
    """(filesystem type, mount point) of the mount holding ``path``, from /proc/self/mounts."""
    if mounts is None:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8")
    target = str(path)
    best = ("", "")
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape(fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[1]):
            best = (fields[2], point)
    return best


def _unescape(text: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(code, char)
    return text
