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
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from lares import run
from lares.backup import BackupContext
from lares.backup.command import environment, run_command
from lares.backup.jobs import (
    DATABASE,
    FILES,
    AppJob,
    CopyJob,
    DumpStep,
    FilesStep,
    ItemResult,
    RunPlan,
    RunReport,
    SnapshotStep,
    tags,
)
from lares.backup.jobs import NoProgress as NoProgress  # re-exported: values live in jobs
from lares.backup.jobs import Progress as Progress
from lares.backup.jobs import db_item as db_item
from lares.backup.jobs import host_path as host_path
from lares.backup.jobs import plan_run as plan_run
from lares.backup.records import iso
from lares.backup.restic import DISK_FULL, LOCKED, Restic, ResticError, Source, Status, guard
from lares.errors import LaresError
from lares.notify import Message, send, targets
from lares.text import counted

log = logging.getLogger("lares.backup")

#: How often a run measures each repository's size (restic stats) for cost and capacity.
MEASURE_EVERY = timedelta(hours=20)


# ── running it ────────────────────────────────────────────────────────────────────────────


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
            run_command(step.delete)
        step.path.parent.mkdir(parents=True, exist_ok=True)
        run_command(step.create)

    def _release(self, step: SnapshotStep) -> None:
        if step.keep is None or step.keep_as is None:
            run_command(step.delete)
            return
        run_command(step.keep)
        retention = self.ctx.blueprint.backup.snapshot_retention
        app = step.path.parent.name
        kept = step.hook.kept(step.subvolume, app)
        for old in kept[: max(0, len(kept) - retention)]:
            run_command(step.hook.delete(old))

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
        env, secret_values = environment(step.dump, self.ctx.store.read)
        started = datetime.now(UTC)
        digest = hashlib.sha256()
        inspector = step.hook.inspector()

        def tap(chunk: bytes) -> bytes:
            digest.update(chunk)
            inspector.feed(chunk)
            return chunk

        def verdict(made: run.Result) -> str | None:
            if made.returncode != 0:
                tail = run.tail(made.stderr, 5)
                return f"{step.dump.what} failed with exit code {made.returncode}" + (
                    f": {tail}" if tail else ""
                )
            if not inspector.facts().complete:
                return (
                    f"{step.dump.what} ended without the end-of-dump marker: the dump is cut short"
                )
            return None

        source = Source(
            guard(step.dump.argv),
            env=env,
            secrets=secret_values,
            tap=tap,
            note=inspector.note,
            verdict=verdict,
        )
        result = restic.backup(step.backup, feed=source, on_status=self._on_status(label))
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
