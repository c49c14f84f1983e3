"""What a backup run would do and what it did, as values: per repository and app, the snapshot,
dump and backup commands (``lares backup run --dry-run`` prints them; :mod:`lares.backup.runner`
runs them), the progress a run reports as it goes and its report. Nothing here runs a command:
:func:`plan_run` reads the blueprint, the schedules and the filesystem the data is on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from lares.backup import BackupContext, hooks
from lares.backup.command import Command
from lares.backup.hooks import DatabaseHook, SnapshotHook
from lares.backup.records import iso
from lares.backup.restic import Status, Summary, backup_command, copy_command
from lares.blueprint.model import Blueprint
from lares.catalog.model import PLACEHOLDER_RE, DatabaseBackup
from lares.catalog.resolve import AppView, secret_id
from lares.errors import LaresError
from lares.oncalendar import Calendar
from lares.oncalendar import parse as parse_calendar

FILES = "files"
DATABASE = "database"


def db_item(container: str) -> str:
    return f"db:{container}"


def tags(host: str, app: str, kind: str, db: str | None = None) -> list[str]:
    """The tags of a snapshot: who (host), what (app), which part (kind, database)."""
    out = ["lares", f"host:{host}", f"app:{app}", f"kind:{kind}"]
    if db is not None:
        out.append(f"db:{db}")
    return out


def host_path(bp: Blueprint, app: str, text: str) -> str:
    """A catalog backup path with ``{appdata}``, ``{pool}`` and ``{folder:NAME}`` filled."""

    def one(match: Any) -> str:
        kind, arg = match.group(1), match.group(2)
        if kind == "appdata":
            return f"{bp.paths.appdata}/{app}"
        if kind == "pool":
            return bp.paths.pool
        if kind == "folder" and arg in bp.paths.folders:
            return bp.paths.folder(arg)
        raise LaresError(
            f"app {app}: the backup path {text!r} uses {match.group(0)}, "
            "which names no host folder",
            hint="backup paths may use {appdata}, {pool} and {folder:NAME} of paths.folders",
            code="backup-path",
        )

    return PLACEHOLDER_RE.sub(one, text)


def moved_data(app: AppView, paths: list[str]) -> list[str]:
    """The host folders the blueprint mounts in place of a catalog volume whose data
    ``paths`` back up: that data lives there now, and is backed up there."""
    from lares.catalog.mounts import source_of
    from lares.hostpaths import under

    out: list[str] = []
    for service in app.services:
        for old, new in service.moved:
            was, now = source_of(old), source_of(new)
            covered = any(under(was, p) for p in paths)
            if covered and now.startswith("/") and not any(under(now, p) for p in [*paths, *out]):
                out.append(now)
    return out


# ── the plan ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SnapshotStep:
    subvolume: Path
    path: Path  # where the read-only snapshot is read from (the same every run)
    create: Command
    delete: Command
    keep: Command | None  # rename to keep it, when the blueprint keeps snapshots
    keep_as: Path | None
    hook: SnapshotHook = field(compare=False, repr=False)


@dataclass(frozen=True)
class DumpStep:
    key: str  # the database's name in tags and file names (BackupSpec.key)
    db: DatabaseBackup
    container: str
    dump: Command
    backup: Command
    filename: str
    hook: DatabaseHook = field(compare=False, repr=False)

    @property
    def item(self) -> str:
        return db_item(self.key)


@dataclass(frozen=True)
class FilesStep:
    backup: Command
    sources: dict[str, str]  # path as backed up → where its content can be compared later
    live: dict[str, str]  # path as backed up → the live path
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppJob:
    repo: str
    app: str
    snapshots: tuple[SnapshotStep, ...]
    dumps: tuple[DumpStep, ...]
    files: FilesStep | None
    warnings: tuple[str, ...]
    errors: tuple[str, ...] = ()  # what makes the files part impossible (no data path exists)

    def commands(self) -> list[Command]:
        out: list[Command] = [s.create for s in self.snapshots]
        for d in self.dumps:
            out += [d.dump, d.backup]
        if self.files is not None:
            out.append(self.files.backup)
        for s in self.snapshots:
            out.append(s.keep or s.delete)
        return out


@dataclass(frozen=True)
class CopyJob:
    repo: str
    source: str
    command: Command  # snapshot ids are chosen when it runs

    def commands(self) -> list[Command]:
        return [self.command]


@dataclass(frozen=True)
class Skipped:
    repo: str
    app: str | None
    why: str


@dataclass(frozen=True)
class RunPlan:
    jobs: tuple[AppJob | CopyJob, ...]
    skipped: tuple[Skipped, ...]
    now: datetime

    def commands(self) -> list[Command]:
        return [c for job in self.jobs for c in job.commands()]

    def repositories(self) -> list[str]:
        """Every repository the plan opens: those it writes, and the sources of its copies."""
        names: list[str] = []
        for job in self.jobs:
            names.append(job.repo)
            if isinstance(job, CopyJob):
                names.append(job.source)
        return list(dict.fromkeys(names))

    def to_dict(self) -> dict[str, Any]:
        return {
            "jobs": [
                {
                    "repo": job.repo,
                    "app": getattr(job, "app", None),
                    "copy_from": getattr(job, "source", None),
                    "warnings": list(getattr(job, "warnings", ())),
                    "commands": [c.shown() for c in job.commands()],
                }
                for job in self.jobs
            ],
            "skipped": [{"repo": s.repo, "app": s.app, "why": s.why} for s in self.skipped],
        }


def plan_run(
    ctx: BackupContext, *, repo: str | None = None, due: bool = False, now: datetime | None = None
) -> RunPlan:
    """What ``lares backup run`` would do (reads the filesystem layout, changes nothing)."""
    now = now or ctx.now()
    bp = ctx.blueprint
    jobs: list[AppJob | CopyJob] = []
    skipped: list[Skipped] = []
    for name in ctx.repo_names(repo):
        spec = bp.backup.repositories[name]
        calendar = _calendar(ctx, name)
        if spec.copy_from is not None:
            if due and not calendar.due(ctx.records.last_copy(name), now):
                skipped.append(
                    Skipped(name, None, f"not due (next {calendar.next(now):%Y-%m-%d %H:%M})")
                )
                continue
            command = copy_command(
                ctx.repo(name), ctx.repo(spec.copy_from), ctx.features, ["<newest good snapshots>"]
            )
            jobs.append(CopyJob(name, spec.copy_from, command))
            continue
        for app in ctx.apps():
            if due and not calendar.due(ctx.records.last_success(name, app.id), now):
                skipped.append(
                    Skipped(name, app.id, f"not due (next {calendar.next(now):%Y-%m-%d %H:%M})")
                )
                continue
            jobs.append(_app_job(ctx, name, app, now))
    if not ctx.apps():
        skipped.append(Skipped("*", None, "no enabled app has a backup spec"))
    return RunPlan(tuple(jobs), tuple(skipped), now)


def _calendar(ctx: BackupContext, repo: str) -> Calendar:
    text = ctx.blueprint.backup.repositories[repo].schedule
    try:
        return parse_calendar(text)
    except ValueError as exc:
        raise LaresError(
            str(exc),
            location=ctx.location("backup", "repositories", repo, "schedule"),
            code="schedule",
        ) from None


def _app_job(ctx: BackupContext, repo_name: str, app: AppView, now: datetime) -> AppJob:
    bp = ctx.blueprint
    spec = app.app.backup
    assert spec is not None
    repo = ctx.repo(repo_name)
    warnings: list[str] = []
    errors: list[str] = []

    # databases
    dumps: list[DumpStep] = []
    for db in spec.databases:
        hook = hooks.database(db.engine)
        service = next(s for s in app.services if s.key == db.container)
        # A database kept in a file (SQLite) that the app has not made yet is skipped like a
        # data path that does not exist; the drill notices a database that never arrives.
        reason = hook.missing(db, service.volumes)
        if reason:
            warnings.append(reason)
            continue
        password = secret_id(app.id, db.password_secret) if db.password_secret else None
        key = spec.key(db)
        filename = f"{app.id}-{key}.{hook.EXTENSION}"
        dumps.append(
            DumpStep(
                key=key,
                db=db,
                container=service.name,
                dump=hook.dump(
                    hooks.Instance(db, service.name, service.image, password, service.volumes)
                ),
                backup=backup_command(
                    repo,
                    host=ctx.host,
                    tags=tags(ctx.host, app.id, DATABASE, key),
                    stdin_filename=filename,
                ),
                filename=filename,
                hook=hook,
            )
        )

    # files, frozen first where the filesystem can
    live_paths = [host_path(bp, app.id, p) for p in spec.paths]
    live_paths += moved_data(app, live_paths)
    existing = [p for p in live_paths if Path(p).exists()]
    for p in live_paths:
        if p not in existing:
            warnings.append(f"{p} does not exist; it is not backed up")
    snapshots: dict[Path, SnapshotStep] = {}
    mapping: dict[str, str] = {}  # live path → path as backed up
    kept_mapping: dict[str, str] = {}  # live path → where the kept snapshot will have it
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    retention = bp.backup.snapshot_retention
    for live in existing:
        fstype, _ = hooks.filesystem_of(Path(live).resolve())
        snap_hook = hooks.snapshot(fstype) if bp.backup.snapshots is not None else None
        if snap_hook is None:
            why = "snapshots are off (backup.snapshots)" if bp.backup.snapshots is None else fstype
            warnings.append(f"{live} is backed up live ({why}: no snapshot to freeze it)")
            mapping[live] = live
            continue
        subvolume = snap_hook.subvolume_root(Path(live))
        if subvolume not in snapshots:
            dest = snap_hook.stable_path(subvolume, app.id)
            keep_as = dest.parent / stamp if retention > 0 else None
            snapshots[subvolume] = SnapshotStep(
                subvolume=subvolume,
                path=dest,
                create=snap_hook.create(subvolume, dest),
                delete=snap_hook.delete(dest),
                keep=snap_hook.keep(dest, keep_as) if keep_as else None,
                keep_as=keep_as,
                hook=snap_hook,
            )
        step = snapshots[subvolume]
        relative = Path(live).resolve().relative_to(subvolume)
        mapping[live] = str(step.path / relative)
        if step.keep_as is not None:
            kept_mapping[live] = str(step.keep_as / relative)

    files: FilesStep | None = None
    if mapping:
        excludes = [_map_prefix(host_path(bp, app.id, e), mapping) for e in spec.exclude]
        for step in snapshots.values():
            excludes += step.hook.excludes(step.path)
        files = FilesStep(
            backup=backup_command(
                repo,
                list(mapping.values()),
                host=ctx.host,
                tags=tags(ctx.host, app.id, FILES),
                excludes=excludes,
            ),
            sources={mapping[live]: kept_mapping.get(live, live) for live in mapping},
            live={mapping[live]: live for live in mapping},
            excludes=tuple(excludes),
        )
    elif spec.paths:
        errors.append("none of the app's data paths exists")
    return AppJob(
        repo_name,
        app.id,
        tuple(snapshots.values()),
        tuple(dumps),
        files,
        tuple(warnings),
        tuple(errors),
    )


def _map_prefix(pattern: str, mapping: dict[str, str]) -> str:
    for live in sorted(mapping, key=len, reverse=True):
        if pattern == live or pattern.startswith(live.rstrip("/") + "/"):
            return mapping[live] + pattern[len(live) :]
    return pattern


# ── what a run reports ────────────────────────────────────────────────────────────────────


class Progress(Protocol):
    def begin(self, label: str) -> None: ...

    def status(self, label: str, status: Status) -> None: ...

    def end(self, label: str, ok: bool) -> None: ...


class NoProgress:
    def begin(self, label: str) -> None:
        pass

    def status(self, label: str, status: Status) -> None:
        pass

    def end(self, label: str, ok: bool) -> None:
        pass


@dataclass
class ItemResult:
    repo: str
    app: str | None
    item: str
    ok: bool
    error: str | None = None
    snapshot: str | None = None
    summary: Summary | None = None
    duration: float = 0.0
    warnings: list[str] = field(default_factory=list)
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "app": self.app,
            "item": self.item,
            "ok": self.ok,
            "error": self.error,
            "hint": self.hint,
            "snapshot": self.snapshot,
            "duration": round(self.duration, 3),
            "summary": self.summary.to_dict() if self.summary else None,
            "warnings": self.warnings,
        }


@dataclass
class RunReport:
    run_id: str
    started: datetime
    finished: datetime | None = None
    items: list[ItemResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    state: list[ItemResult] = field(default_factory=list)  # lares's own, one per repository

    @property
    def ok(self) -> bool:
        return all(i.ok for i in [*self.items, *self.state])

    @property
    def failed(self) -> list[ItemResult]:
        return [i for i in [*self.items, *self.state] if not i.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "ok": self.ok,
            "started": iso(self.started),
            "finished": iso(self.finished) if self.finished else None,
            "items": [i.to_dict() for i in self.items],
            "state": [i.to_dict() for i in self.state],
            "skipped": [{"repo": s.repo, "app": s.app, "why": s.why} for s in self.skipped],
            "notes": self.notes,
            "notified": self.notified,
        }
