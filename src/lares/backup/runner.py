"""``lares backup run``: plan what to back up, then do it, record it and report it.

:func:`plan_run` is a value: per repository and app, the snapshot, dump and backup commands that
would run (``--dry-run`` prints them and stops). :func:`execute` runs a plan:

1. consistency: on btrfs, a read-only snapshot of each subvolume holding the app's data, at a
   stable path (see :mod:`lares.backup.hooks.btrfs`); elsewhere a live backup, with a warning;
2. databases: each dump runs in its container and is pumped by lares into ``restic backup
   --stdin``. lares reads the whole dump, hashes it and checks it ended like a complete dump
   (its exit code and completion marker) *before* closing restic's input: a failed dump makes
   lares interrupt restic while its input is still open, so restic — which saves a snapshot
   only at end of input — saves none. No plaintext dump touches a disk;
3. files: the app's data paths (from the snapshot), tagged ``lares``, ``host:H``, ``app:A``,
   ``kind:files`` (databases ``kind:database`` and ``db:CONTAINER``): nothing per run, so
   retention and restic's parent detection work;
4. the snapshot is released (deleted, or kept per ``backup.snapshot_retention``);
5. copy repositories get the newest good snapshot of each app and item via ``restic copy``.

Each item's outcome is recorded (:mod:`lares.backup.records`) as it finishes; a snapshot is
*good* only once it is recorded. A run killed mid-way is found by the next one, which marks it
interrupted, removes its stale locks and forgets database snapshots it cannot vouch for.
Failures are sent through Apprise (:mod:`lares.notify`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol, cast

from lares import run
from lares.backup import BackupContext, hooks
from lares.backup.command import Command
from lares.backup.hooks import DatabaseHook, SnapshotHook
from lares.backup.records import iso
from lares.backup.restic import (
    DISK_FULL,
    LOCKED,
    Restic,
    ResticError,
    Status,
    Summary,
    backup_command,
    close_pipes,
    copy_command,
    drain,
    guard,
    stop,
    write_all,
)
from lares.blueprint.model import Blueprint
from lares.catalog.model import PLACEHOLDER_RE, DatabaseBackup
from lares.catalog.resolve import AppView, secret_id
from lares.errors import LaresError
from lares.notify import Message, send, targets
from lares.oncalendar import Calendar
from lares.oncalendar import parse as parse_calendar
from lares.text import counted

log = logging.getLogger("lares.backup")

FILES = "files"
DATABASE = "database"
CHUNK = 1 << 20
#: How often a run measures each repository's size (restic stats) for cost and capacity.
MEASURE_EVERY = timedelta(hours=20)


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
                dump=hook.dump(db, service.name, service.image, password, volumes=service.volumes),
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


# ── running it ────────────────────────────────────────────────────────────────────────────


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


def _redactor(ctx: BackupContext) -> run.Redactor:
    return run.Redactor(ctx.secret_values())


class _Runner:
    def __init__(self, ctx: BackupContext, plan: RunPlan, progress: Progress) -> None:
        self.ctx = ctx
        self.plan = plan
        self.progress = progress
        self.records = ctx.records
        self.report = RunReport(
            uuid.uuid4().hex[:12], datetime.now(UTC), skipped=list(plan.skipped)
        )
        self.redact = _redactor(ctx)
        self.full: set[str] = set()  # repositories that ran out of space in this run

    # -- the whole run ---------------------------------------------------------------------

    def execute(self) -> RunReport:
        repos = sorted({job.repo for job in self.plan.jobs})
        interrupted = self.records.recover(datetime.now(UTC))
        self.records.begin_run(self.report.run_id, repos, self.report.started)
        try:
            for repo in self.ctx.repo_names():
                jobs = [j for j in self.plan.jobs if j.repo == repo]
                if jobs:
                    self._repo(repo, jobs, interrupted)
        finally:
            self.report.finished = datetime.now(UTC)
            self.records.end_run(self.report.ok, self.report.finished)
        return self.report

    def _repo(
        self, repo: str, jobs: Sequence[AppJob | CopyJob], interrupted: dict[str, Any] | None
    ) -> None:
        restic = self.ctx.restic(repo)
        if interrupted is not None and repo in (interrupted.get("repos") or ()):
            self._recover(restic, interrupted)
        elif restic.repo.local_path is not None:
            self._remove_stale_locks(restic)
        before = len(self.report.failed)
        first = len(self.report.items)
        for job in jobs:
            if isinstance(job, CopyJob):
                self._copy(job)
            else:
                self._app(job, restic)
        self._state(restic)
        if len(self.report.failed) > before:
            # a restic that died mid-way (killed, disk full) leaves its lock behind
            self._remove_stale_locks(restic)
        else:
            self._measure(repo, restic)
        if repo in self.full:
            kept = [f"{i.app} · {i.item}" for i in self.report.items[first:] if i.ok]
            self.report.notes.append(
                f"{repo} is full: "
                + (
                    f"of this run it kept {', '.join(kept)}; the rest was not backed up"
                    if kept
                    else "nothing from this run was kept in it"
                )
            )

    def _measure(self, repo: str, restic: Restic) -> None:
        """Record what the repository stores now, for `lares cost` and `lares capacity`, at
        most once every :data:`MEASURE_EVERY` (a measurement opens the repository again, which
        costs as much as a small incremental run; a daily figure is all a growth rate needs).

        A failure only costs the measurement: the run's own work is done.
        """
        sizes = self.records.sizes(repo)
        if sizes and datetime.now(UTC) - sizes[-1][0] < MEASURE_EVERY:
            return
        try:
            self.records.size_done(repo, restic.size(), datetime.now(UTC))
        except LaresError as exc:
            log.warning("could not measure repository %s: %s", repo, self.redact(exc.message))

    def _remove_stale_locks(self, restic: Restic) -> None:
        try:
            removed, _ = restic.remove_stale_locks()
        except ResticError as exc:
            self.report.notes.append(f"{restic.repo.name}: could not check locks: {exc.message}")
            return
        for lock, why in removed:
            self.report.notes.append(f"{restic.repo.name}: removed stale {lock.describe()}: {why}")

    def _recover(self, restic: Restic, interrupted: dict[str, Any]) -> None:
        """Clean up after a killed run: stale locks, and database snapshots nobody vouched for."""
        name = restic.repo.name
        self.report.notes.append(
            f"{name}: the run {interrupted.get('id')} started {interrupted.get('started')} "
            "was interrupted"
        )
        self._remove_stale_locks(restic)
        started = datetime.fromisoformat(str(interrupted["started"]))
        try:
            snapshots = restic.snapshots(host=self.ctx.host, tags=["lares", f"kind:{DATABASE}"])
        except ResticError as exc:
            self.report.notes.append(f"{name}: could not list snapshots: {exc.message}")
            return
        orphans = [
            s.id
            for s in snapshots
            if s.time >= started and self.records.good_meta(name, s.id) is None
        ]
        if orphans:
            restic.forget_ids(orphans)
            self.report.notes.append(
                f"{name}: forgot {counted(len(orphans), 'database snapshot')} the interrupted run "
                "could not vouch for"
            )

    # -- lares's own state -----------------------------------------------------------------

    def _state(self, restic: Restic) -> None:
        """Keep lares's state (blueprint, secrets, revisions, records) as its own snapshot in
        this repository, after its apps, so a new machine can start from the repository alone
        (see :mod:`lares.recover.snapshot`)."""
        from lares.recover.snapshot import KIND, backup_state

        label = f"{restic.repo.name} · lares · {KIND}"
        self.progress.begin(label)
        started = time.monotonic()
        outcome = backup_state(self.ctx, restic)
        self.progress.end(label, outcome.ok)
        self.report.state.append(
            ItemResult(
                restic.repo.name,
                None,
                KIND,
                ok=outcome.ok,
                error=self.redact(outcome.error) if outcome.error else None,
                snapshot=outcome.snapshot,
                summary=outcome.summary,
                duration=time.monotonic() - started,
                warnings=list(outcome.warnings),
                hint=None if outcome.ok else "the apps' snapshots are kept; run it again",
            )
        )

    # -- one app ---------------------------------------------------------------------------

    def _app(self, job: AppJob, restic: Restic) -> None:
        results: list[ItemResult] = []
        created: list[SnapshotStep] = []
        snapshot_error: str | None = None
        try:
            for step in job.snapshots:
                try:
                    self._freeze(step)
                    created.append(step)
                except LaresError as exc:
                    snapshot_error = f"could not snapshot {step.subvolume}: {exc.message}"
            for dump in job.dumps:
                results.append(self._item(job, dump.item, partial(self._dump, job, dump, restic)))
            if job.files is not None or job.errors:
                files = job.files
                if snapshot_error or job.errors or files is None:
                    error = snapshot_error or "; ".join(job.errors)
                    results.append(self._failed(job, FILES, error))
                else:
                    results.append(self._item(job, FILES, lambda: self._files(job, files, restic)))
        finally:
            for step in created:
                try:
                    self._release(step)
                except LaresError as exc:
                    self.report.notes.append(f"could not release {step.path}: {exc.message}")
        for result in results:
            if result.item == FILES:
                result.warnings = list(job.warnings)
        ok = all(r.ok for r in results)
        errors = "; ".join(f"{r.item}: {r.error}" for r in results if not r.ok)
        self.records.app_done(
            job.repo, job.app, ok=ok, when=datetime.now(UTC), error=errors or None
        )
        self.report.items.extend(results)

    def _failed(self, job: AppJob, item: str, error: str) -> ItemResult:
        self.records.item_done(
            job.repo, job.app, item, ok=False, when=datetime.now(UTC), error=error
        )
        return ItemResult(job.repo, job.app, item, ok=False, error=error)

    def _item(self, job: AppJob, item: str, work: Callable[[], ItemResult]) -> ItemResult:
        """Run one item, record it, and retry it once when the repository was locked by a
        process that is gone."""
        label = f"{job.repo} · {job.app} · {item}"
        self.records.item_started(job.repo, job.app, item, datetime.now(UTC))
        self.progress.begin(label)
        started = time.monotonic()
        try:
            try:
                result = work()
            except ResticError as exc:
                if exc.kind != LOCKED:
                    raise
                removed, _ = self.ctx.restic(job.repo).remove_stale_locks()
                if not removed:
                    raise
                result = work()
        except LaresError as exc:
            if isinstance(exc, ResticError) and exc.kind == DISK_FULL:
                self.full.add(job.repo)
            result = ItemResult(
                job.repo, job.app, item, ok=False, error=self.redact(exc.message), hint=exc.hint
            )
        result.duration = time.monotonic() - started
        self.progress.end(label, result.ok)
        stats = result.summary.to_dict() if result.summary else None
        self.records.item_done(
            job.repo,
            job.app,
            item,
            ok=result.ok,
            when=datetime.now(UTC),
            error=result.error,
            snapshot=result.snapshot,
            stats=stats,
        )
        return result

    def _on_status(self, label: str) -> Callable[[Status], None]:
        return lambda status: self.progress.status(label, status)

    # -- snapshots -------------------------------------------------------------------------

    def _freeze(self, step: SnapshotStep) -> None:
        if step.path.exists():  # left by an interrupted run
            self._run(step.delete)
        step.path.parent.mkdir(parents=True, exist_ok=True)
        self._run(step.create)

    def _release(self, step: SnapshotStep) -> None:
        if step.keep is None or step.keep_as is None:
            self._run(step.delete)
            return
        self._run(step.keep)
        retention = self.ctx.blueprint.backup.snapshot_retention
        app = step.path.parent.name
        kept = step.hook.kept(step.subvolume, app)
        for old in kept[: max(0, len(kept) - retention)]:
            self._run(step.hook.delete(old))

    def _run(self, cmd: Command) -> run.Result:
        return run.run(cmd.argv, env=cmd.env or None, what=cmd.what, timeout=600)

    # -- files -----------------------------------------------------------------------------

    def _files(self, job: AppJob, files: FilesStep, restic: Restic) -> ItemResult:
        label = f"{job.repo} · {job.app} · {FILES}"
        result = restic.backup(files.backup, on_status=self._on_status(label))
        summary = result.summary
        assert summary is not None
        self.records.add_good(
            job.repo,
            summary.snapshot_id,
            {
                "app": job.app,
                "item": FILES,
                "kind": FILES,
                "time": iso(datetime.now(UTC)),
                "run": self.report.run_id,
                "sources": files.sources,
                "live": files.live,
                "excludes": list(files.excludes),
            },
        )
        return ItemResult(
            job.repo, job.app, FILES, ok=True, snapshot=summary.snapshot_id, summary=summary
        )

    # -- databases -------------------------------------------------------------------------

    def _dump(self, job: AppJob, step: DumpStep, restic: Restic) -> ItemResult:
        label = f"{job.repo} · {job.app} · {step.item}"
        env = dict(step.dump.env)
        secret_values: list[str] = []
        for var, sid in step.dump.secret_env.items():
            env[var] = self.ctx.store.read(sid)
            secret_values.append(env[var])
        started = datetime.now(UTC)
        digest = hashlib.sha256()
        inspector = step.hook.inspector()
        dump_err: deque[str] = deque(maxlen=40)
        process = run.spawn(guard(step.dump.argv), env=env, secrets=secret_values)
        drainer = threading.Thread(
            target=drain, args=(process.stderr, dump_err, inspector.note), daemon=True
        )
        drainer.start()

        def feed(fd: int) -> str | None:
            stdout = cast(io.BufferedReader, process.stdout)
            try:
                while chunk := stdout.read1(CHUNK):
                    digest.update(chunk)
                    inspector.feed(chunk)
                    write_all(fd, chunk)
            except BrokenPipeError:
                stop(process, grace=5)
                return "restic stopped reading the dump"
            code = process.wait()
            drainer.join(timeout=10)
            if code != 0:
                tail = run.Redactor(secret_values)(run.tail("\n".join(dump_err), 5))
                return f"{step.dump.what} failed with exit code {code}" + (
                    f": {tail}" if tail else ""
                )
            if not inspector.facts().complete:
                return (
                    f"{step.dump.what} ended without the end-of-dump marker: the dump is cut short"
                )
            return None

        try:
            result = restic.backup(step.backup, feed=feed, on_status=self._on_status(label))
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            drainer.join(timeout=10)
            close_pipes(process)
        if result.aborted is not None:
            removed = self._forget_since(restic, job, step, started)
            note = " and its snapshot was removed" if removed else "; no snapshot was kept"
            return ItemResult(
                job.repo,
                job.app,
                step.item,
                ok=False,
                error=self.redact(result.aborted) + note,
                hint="see the database container's log; the previous good snapshot stays",
            )
        summary = result.summary
        assert summary is not None
        facts = inspector.facts()
        self.records.add_good(
            job.repo,
            summary.snapshot_id,
            {
                "app": job.app,
                "item": step.item,
                "kind": DATABASE,
                "engine": step.db.engine,
                "container": step.db.container,
                "filename": step.filename,
                "time": iso(datetime.now(UTC)),
                "run": self.report.run_id,
                "sha256": digest.hexdigest(),
                "dump": facts.to_dict(),
            },
        )
        return ItemResult(
            job.repo, job.app, step.item, ok=True, snapshot=summary.snapshot_id, summary=summary
        )

    def _forget_since(self, restic: Restic, job: AppJob, step: DumpStep, since: datetime) -> bool:
        """Belt and braces after an aborted dump: forget any snapshot of this database that
        appeared since ``since`` and is not recorded good. Returns whether one was found."""
        try:
            found = restic.snapshots(
                host=self.ctx.host, tags=tags(self.ctx.host, job.app, DATABASE, step.key)
            )
        except ResticError:
            return False
        stray = [
            s.id
            for s in found
            if s.time >= since and self.records.good_meta(job.repo, s.id) is None
        ]
        restic.forget_ids(stray)
        return bool(stray)

    # -- copies ----------------------------------------------------------------------------

    def _copy(self, job: CopyJob) -> None:
        label = f"{job.repo} · copy from {job.source}"
        self.progress.begin(label)
        started = time.monotonic()
        when = datetime.now(UTC)
        try:
            copied = self._copy_newest(job)
            ok, error, hint = True, None, None
        except LaresError as exc:
            copied, ok, error, hint = [], False, self.redact(exc.message), exc.hint
        self.progress.end(label, ok)
        self.records.copy_done(job.repo, ok=ok, when=when, error=error)
        if not ok:
            self.report.items.append(
                ItemResult(
                    job.repo,
                    None,
                    "copy",
                    ok=False,
                    error=error,
                    hint=hint,
                    duration=time.monotonic() - started,
                )
            )
            return
        for app, item, snapshot_id in copied:
            self.records.item_done(job.repo, app, item, ok=True, when=when, snapshot=snapshot_id)
            self.records.app_done(job.repo, app, ok=True, when=when, error=None)
            self.report.items.append(
                ItemResult(
                    job.repo,
                    app,
                    item,
                    ok=True,
                    snapshot=snapshot_id[:8],
                    duration=time.monotonic() - started,
                )
            )

    def _copy_newest(self, job: CopyJob) -> list[tuple[str, str, str]]:
        src = self.ctx.restic(job.source)
        dst = self.ctx.restic(job.repo)
        newest: dict[tuple[str, str], str] = {}
        for snap in src.snapshots(host=self.ctx.host, tags=["lares"]):
            meta = self.records.good_meta(job.source, snap.id)
            if meta is not None:
                newest[(meta["app"], meta["item"])] = snap.id  # sorted by time: last wins
        if not newest:
            return []
        dst.copy(src.repo, sorted(newest.values()))
        copied: list[tuple[str, str, str]] = []
        wanted = {sid: key for key, sid in newest.items()}
        for snap in dst.snapshots(host=self.ctx.host, tags=["lares"]):
            if snap.original in wanted:
                meta = self.records.good_meta(job.source, snap.original) or {}
                self.records.add_good(
                    job.repo,
                    snap.id,
                    {**meta, "copied_from": job.source, "original": snap.original},
                )
                app, item = wanted[snap.original]
                copied.append((app, item, snap.id))
        return copied


def execute(ctx: BackupContext, plan: RunPlan, progress: Progress | None = None) -> RunReport:
    """Run ``plan`` (under the backup lock), record every outcome and notify failures.

    Every backend secret the plan needs must be set: a missing one raises before anything runs.
    """
    ctx.require_secrets(plan.repositories())
    with ctx.records.lock():
        report = _Runner(ctx, plan, progress or NoProgress()).execute()
    if report.failed:
        report.notified = notify_failures(ctx, report)
    return report


def notify_failures(ctx: BackupContext, report: RunReport) -> list[str]:
    """Send one message listing every failed item; return what happened per target."""
    lines = [f"{i.repo} · {i.app or '-'} · {i.item}: {i.error}" for i in report.failed]
    delivery = send(
        targets(ctx.blueprint.monitor.notify),
        ctx.store,
        Message(f"lares: backup failed on {ctx.host}", "\n".join(lines), "failure"),
    )
    return [f"sent to {s}" for s in delivery.sent] + [f"not sent: {f}" for f in delivery.failed]
