"""``lares backup drill``: prove the newest backup of every app comes back.

For each app with a backup spec, in one repository:

* files: the newest ``kind:files`` snapshot is restored into a temporary folder and every entry
  is compared with its source — type, mode, owner, symlink target and SHA-256 of the content.
  The source is the btrfs snapshot the backup was read from when it was kept
  (``backup.snapshot_retention``): then any difference is a failure. Otherwise it is the live
  data, and an entry changed after the backup is reported as changed since, not as a failure;
* databases: the newest dump of each database is streamed out of restic (its SHA-256 must
  match the one recorded when it was made) into a throwaway database started from the app's
  own database image, and every table the dump fills is counted: the rows must be those the
  dump loaded. Extra :class:`Query` checks (SQL and the exact rows expected) can be given.

The result of each app is recorded in ``backup/drills.json`` for the monitor and dashboard.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lares import run, throwaway
from lares.backup import BackupContext, hooks
from lares.backup.command import run_command
from lares.backup.dumps import restore_dump, wait_ready
from lares.backup.hooks import Table
from lares.backup.jobs import DATABASE, FILES, db_item
from lares.backup.records import iso
from lares.backup.restic import Restic, ResticError, Snapshot
from lares.backup.runner import NoProgress, Progress
from lares.backup.selection import newest
from lares.catalog.resolve import AppView
from lares.errors import LaresError, Location, UsageError

READY_TIMEOUT = 180.0
LISTED = 20  # differences named in a report; the counts are always complete


@dataclass(frozen=True)
class Query:
    """A query the restored database must answer with exactly ``expected`` (one row a line);
    ``db`` is the database's key (:meth:`BackupSpec.key`), None: every database of the app."""

    database: str | None
    sql: str
    expected: tuple[str, ...]
    db: str | None = None


@dataclass
class FileCompare:
    source: str  # "btrfs snapshot" or "live data"
    compared: int = 0
    differ: list[str] = field(default_factory=list)
    not_restored: list[str] = field(default_factory=list)
    changed_since: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differ and not self.not_restored

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "compared": self.compared,
            "differ": len(self.differ),
            "not_restored": len(self.not_restored),
            "changed_since": len(self.changed_since),
            "examples": (self.differ + self.not_restored)[:LISTED],
            "ok": self.ok,
        }


@dataclass
class TableCheck:
    database: str | None
    table: str
    expected: int | None
    found: int | None

    @property
    def ok(self) -> bool:
        return self.found is not None and (self.expected is None or self.found == self.expected)


@dataclass
class QueryCheck:
    query: Query
    got: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.got == self.query.expected


@dataclass
class DatabaseDrill:
    item: str
    engine: str
    snapshot: str | None = None
    sha256_ok: bool | None = None  # None: no hash was recorded for this snapshot
    tables: list[TableCheck] = field(default_factory=list)
    queries: list[QueryCheck] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.sha256_ok is not False
            and all(t.ok for t in self.tables)
            and all(q.ok for q in self.queries)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "engine": self.engine,
            "snapshot": self.snapshot,
            "sha256_ok": self.sha256_ok,
            "tables": [
                {
                    "database": t.database,
                    "table": t.table,
                    "expected": t.expected,
                    "found": t.found,
                    "ok": t.ok,
                }
                for t in self.tables
            ],
            "queries": [
                {
                    "database": q.query.database,
                    "sql": q.query.sql,
                    "expected": list(q.query.expected),
                    "got": list(q.got),
                    "ok": q.ok,
                }
                for q in self.queries
            ],
            "error": self.error,
            "ok": self.ok,
        }


@dataclass
class AppDrill:
    repo: str
    app: str
    when: datetime
    files_snapshot: str | None = None
    files: FileCompare | None = None
    databases: list[DatabaseDrill] = field(default_factory=list)
    error: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and (self.files is None or self.files.ok)
            and all(d.ok for d in self.databases)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "app": self.app,
            "when": iso(self.when),
            "ok": self.ok,
            "files_snapshot": self.files_snapshot,
            "files": self.files.to_dict() if self.files else None,
            "databases": [d.to_dict() for d in self.databases],
            "error": self.error,
            "duration": round(self.duration, 3),
        }


def drill_repo(ctx: BackupContext, repo: str | None) -> str:
    """The repository a drill reads: the one asked for, the blueprint's, or the first source."""
    if repo is not None:
        return ctx.repo_names(repo)[0]
    configured = ctx.blueprint.backup.drill.repository
    if configured is not None:
        return configured
    names = ctx.repo_names()
    return next(
        (n for n in names if ctx.blueprint.backup.repositories[n].copy_from is None), names[0]
    )


def drill(
    ctx: BackupContext,
    *,
    repo: str | None = None,
    apps: Sequence[str] = (),
    queries: Mapping[str, Sequence[Query]] | None = None,
    workdir: Path | None = None,
    progress: Progress | None = None,
    swept: Callable[[str], None] = lambda _: None,
) -> list[AppDrill]:
    """Drill every app with a backup spec (or those in ``apps``); record and return the results.

    ``queries`` maps an app id to extra checks for its databases (default: the blueprint's
    ``backup.drill.queries``). ``workdir`` is where restores go (default: the system temporary
    folder); everything restored is removed afterwards. First, what killed drills left (their
    databases and folders, :mod:`lares.throwaway`) is removed, each told to ``swept``. Raises
    :class:`UsageError` when ``workdir`` is not a folder lares can write, before anything is
    restored.
    """
    if workdir is not None:
        check_workdir(workdir)
    for item in throwaway.sweep(ctx.state, [workdir] if workdir else []):
        swept(f"removed {item}, left by a drill that did not finish")
    if workdir is not None:
        throwaway.remember_workdir(ctx.state, workdir)
    if queries is None:
        queries = {
            app: [Query(q.database, q.sql, tuple(q.expect), q.db) for q in listed]
            for app, listed in ctx.blueprint.backup.drill.queries.items()
        }
    name = drill_repo(ctx, repo)
    restic = ctx.restic(name)
    progress = progress or NoProgress()
    views = [a for a in ctx.apps() if not apps or a.id in apps]
    if apps and len(views) != len(set(apps)):
        unknown = sorted(set(apps) - {a.id for a in views})
        raise UsageError(f"no enabled app with a backup spec named {', '.join(unknown)}")
    snapshots = restic.snapshots(host=ctx.host, tags=["lares"])
    results: list[AppDrill] = []
    for app in views:
        label = f"{name} · {app.id} · drill"
        progress.begin(label)
        started = time.monotonic()
        result = AppDrill(name, app.id, datetime.now(UTC))
        base = throwaway.make_folder(workdir, app.id)
        try:
            _drill_app(ctx, restic, app, snapshots, result, base, queries.get(app.id, ()))
        except LaresError as exc:
            result.error = exc.message
        finally:
            shutil.rmtree(base, ignore_errors=True)
        result.duration = time.monotonic() - started
        progress.end(label, result.ok)
        ctx.records.drill_done(name, app.id, result.to_dict())
        results.append(result)
    return results


def _drill_app(
    ctx: BackupContext,
    restic: Restic,
    app: AppView,
    snapshots: Sequence[Snapshot],
    result: AppDrill,
    base: Path,
    queries: Sequence[Query],
) -> None:
    spec = app.app.backup
    assert spec is not None
    if spec.paths:
        snap = newest(snapshots, app.id, FILES)
        if snap is None:
            result.error = f"no files snapshot of {app.id} in {restic.repo.name}"
        else:
            result.files_snapshot = snap.short_id
            result.files = _drill_files(ctx, restic, snap, base / "files")
    for db in spec.databases:
        key = spec.key(db)
        check = DatabaseDrill(db_item(key), db.engine)
        result.databases.append(check)
        snap = newest(snapshots, app.id, DATABASE, key)
        if snap is None:
            check.error = f"no snapshot of database {key} in {restic.repo.name}"
            continue
        check.snapshot = snap.short_id
        service = next(s for s in app.services if s.key == db.container)
        try:
            asked = [q for q in queries if q.db in (None, key)]
            _drill_database(ctx, restic, snap, db, service.image, app.id, check, base, asked)
        except LaresError as exc:
            check.error = exc.message


# ── files ─────────────────────────────────────────────────────────────────────────────────


def _drill_files(ctx: BackupContext, restic: Restic, snap: Snapshot, target: Path) -> FileCompare:
    meta = ctx.records.good_meta(restic.repo.name, snap.id) or {}
    sources: dict[str, str] = dict(meta.get("sources") or {})
    live: dict[str, str] = dict(meta.get("live") or {})
    excludes: list[str] = list(meta.get("excludes") or [])
    restic.restore(snap.id, target)
    # the kept btrfs snapshot, when every path has one, is exactly what was backed up
    strict = bool(snap.paths) and all(
        p in sources and sources[p] != live.get(p) and Path(sources[p]).exists() for p in snap.paths
    )
    compare = FileCompare("btrfs snapshot" if strict else "live data")
    for backed_up in snap.paths:
        source = Path(sources[backed_up]) if strict else Path(live.get(backed_up, backed_up))
        restored = target / backed_up.lstrip("/")
        if not source.exists():
            compare.not_restored.append(f"{backed_up}: its source {source} no longer exists")
            continue
        _compare_tree(
            restored, source, backed_up, compare, strict=strict, since=snap.time, excludes=excludes
        )
    return compare


def _excluded(path: str, patterns: Sequence[str]) -> bool:
    parts = path.split("/")
    for pattern in patterns:
        rooted = pattern if pattern.startswith("/") else "*/" + pattern
        for end in range(len(parts), 0, -1):
            if fnmatch.fnmatchcase("/".join(parts[:end]), rooted):
                return True
    return False


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _describe(st: os.stat_result) -> str:
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if stat.S_ISDIR(st.st_mode):
        return "folder"
    if stat.S_ISREG(st.st_mode):
        return "file"
    return "special file"


def _entry_differs(
    restored: Path, source: Path, r: os.stat_result, s: os.stat_result
) -> str | None:
    if _describe(r) != _describe(s):
        return f"restored as a {_describe(r)}, source is a {_describe(s)}"
    if stat.S_ISLNK(r.st_mode):
        if os.readlink(restored) != os.readlink(source):
            return "symlink target differs"
        return None
    if stat.S_IMODE(r.st_mode) != stat.S_IMODE(s.st_mode):
        return f"mode {stat.S_IMODE(r.st_mode):o} ≠ {stat.S_IMODE(s.st_mode):o}"
    if (r.st_uid, r.st_gid) != (s.st_uid, s.st_gid):
        return "owner differs"
    if stat.S_ISREG(r.st_mode) and (r.st_size != s.st_size or _digest(restored) != _digest(source)):
        return "content differs"
    return None


def _compare_tree(
    restored: Path,
    source: Path,
    shown: str,
    out: FileCompare,
    *,
    strict: bool,
    since: datetime,
    excludes: Sequence[str],
) -> None:
    """Compare ``restored`` with ``source`` entry by entry (``shown`` is the snapshot path)."""
    since_ts = since.timestamp()
    stack: list[tuple[Path, Path, str]] = [(restored, source, shown)]
    while stack:
        r_path, s_path, name = stack.pop()
        try:
            r_stat = os.lstat(r_path)
        except FileNotFoundError:
            out.not_restored.append(f"{name}: not restored")
            continue
        try:
            s_stat = os.lstat(s_path)
        except FileNotFoundError:
            if not strict:
                out.changed_since.append(f"{name}: removed since the backup")
            else:
                out.differ.append(f"{name}: missing from the source")
            continue
        out.compared += 1
        problem = _entry_differs(r_path, s_path, r_stat, s_stat)
        if problem is not None:
            if not strict and max(s_stat.st_mtime, s_stat.st_ctime) > since_ts:
                out.changed_since.append(f"{name}: {problem} (changed since the backup)")
            else:
                out.differ.append(f"{name}: {problem}")
            continue
        if not stat.S_ISDIR(r_stat.st_mode):
            continue
        r_names = set(os.listdir(r_path))
        s_names = {n for n in os.listdir(s_path) if not _excluded(f"{name}/{n}", excludes)}
        for child in sorted(s_names - r_names):
            child_stat = os.lstat(s_path / child)
            if not strict and max(child_stat.st_mtime, child_stat.st_ctime) > since_ts:
                out.changed_since.append(f"{name}/{child}: added since the backup")
            else:
                out.not_restored.append(f"{name}/{child}: in the source, not in the backup")
        for child in sorted(r_names - s_names):
            if not _excluded(f"{name}/{child}", excludes):
                stack.append((r_path / child, s_path / child, f"{name}/{child}"))
        for child in sorted(r_names & s_names):
            stack.append((r_path / child, s_path / child, f"{name}/{child}"))


# ── databases ─────────────────────────────────────────────────────────────────────────────


def _drill_database(
    ctx: BackupContext,
    restic: Restic,
    snap: Snapshot,
    db: Any,
    image: str,
    app: str,
    check: DatabaseDrill,
    base: Path,
    queries: Sequence[Query],
) -> None:
    hook = hooks.database(db.engine)
    name = f"lares-drill-{app}-{db.container}-{uuid.uuid4().hex[:6]}"
    scratch = hook.scratch(db, image, name, base)
    meta = ctx.records.good_meta(restic.repo.name, snap.id) or {}
    filename = snap.paths[0] if snap.paths else f"/{meta.get('filename', '')}"
    try:
        if scratch.start is not None:
            run_command(scratch.start, timeout=300)
        if scratch.ready is not None:
            wait_ready(scratch.ready, seconds=READY_TIMEOUT, error=_not_ready)
        restored = restore_dump(restic, snap, filename, scratch.restore, hook)
        facts = restored.facts
        recorded = meta.get("sha256")
        check.sha256_ok = None if recorded is None else recorded == restored.sha256
        # A text dump names its tables as it streams by; a file copy (SQLite) does not, so
        # its tables are those recorded when it was taken.
        for table in facts.tables or _recorded_tables(meta):
            result = run_command(scratch.query(table.database, hook.count_sql(table)), check=False)
            found = (
                int(result.stdout.strip())
                if result.ok and result.stdout.strip().isdigit()
                else None
            )
            check.tables.append(TableCheck(table.database, table.name, table.rows, found))
        for query in queries:
            result = run_command(scratch.query(query.database, query.sql), check=False)
            got = (
                tuple(result.stdout.splitlines())
                if result.ok
                else (f"error: {run.tail(result.stderr, 3)}",)
            )
            check.queries.append(QueryCheck(query, got))
    finally:
        if scratch.stop is not None:
            run_command(scratch.stop, check=False, timeout=120)


def _recorded_tables(meta: dict[str, Any]) -> tuple[Table, ...]:
    tables = (meta.get("dump") or {}).get("tables") or []
    return tuple(Table(t.get("database"), str(t["name"]), t.get("rows")) for t in tables)


def _not_ready() -> LaresError:
    return LaresError(
        f"the drill database did not become ready within {READY_TIMEOUT:g} s",
        hint="check that the app's database image starts on this machine",
        code="drill",
    )


__all__ = ["AppDrill", "DatabaseDrill", "FileCompare", "Query", "ResticError", "drill"]


def check_workdir(workdir: Path) -> None:
    """Refuse a drill folder that is missing, not a folder or not writable.

    A missing folder is not created: a path such as ``/mnt/scratch`` whose disk is not mounted
    would otherwise fill the root filesystem with the restore.
    """
    where = Location(path="--workdir")
    if not workdir.exists():
        raise UsageError(
            f"the drill folder {workdir} does not exist",
            location=where,
            hint=f"create it (mkdir -m 0700 {workdir}) or mount its disk, or leave --workdir "
            "out to use the temp folder",
        )
    if not workdir.is_dir():
        raise UsageError(f"{workdir} is not a folder", location=where, hint="name a folder")
    if not os.access(workdir, os.W_OK | os.X_OK):
        raise UsageError(
            f"lares cannot write in the drill folder {workdir}",
            location=where,
            hint="name a folder this user may write, or run as its owner",
        )
