"""What ``lares backup …`` does, as functions that return data (the CLI renders it; the web
dashboard calls the same functions).

Each action takes a :class:`~lares.backup.BackupContext` and typed options and returns a
dataclass with ``to_dict()`` (what ``--json`` prints). The actions over repositories (init,
forget, prune, check, unlock, list) run one block per repository through :func:`each_repo`: a
repository that fails is reported with what went wrong and what to do, and the next one still
runs. :func:`run` and :func:`drill` take a ``progress`` callback (one line of text at a time, or
a :class:`~lares.backup.runner.Progress`) so a caller in a background thread can follow them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lares.errors import LaresError

if TYPE_CHECKING:
    from lares.backup import BackupContext
    from lares.backup.drill import AppDrill
    from lares.backup.intodb import Loaded, Target
    from lares.backup.jobs import RunPlan
    from lares.backup.restic import Keep, Status
    from lares.backup.runner import Progress, RunReport

#: A row of a repository action: plain data, as ``--json`` prints it.
Row = dict[str, Any]


@dataclass(frozen=True)
class Repositories:
    """The outcome of an action over repositories: one row per repository, in order."""

    rows: list[Row]
    disk_after: dict[str, str] = field(default_factory=dict)  # a repository's disk, after pruning

    @property
    def ok(self) -> bool:
        return not any("error" in row for row in self.rows)

    def failed(self) -> list[Row]:
        return [row for row in self.rows if "error" in row]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "repositories": self.rows}


def _failed(row: Row, exc: LaresError) -> None:
    row.update(ok=False, error=exc.message, hint=exc.hint)


def each_repo(
    names: Iterable[str],
    work: Callable[[str, Row], None],
    *,
    failed: Callable[[Row, LaresError], None] = _failed,
) -> Repositories:
    """Run ``work(name, row)`` for each repository; it fills ``row`` (which starts as
    ``{"repo": name}``). A LaresError of one repository goes into its row (``failed``) and the
    next one still runs."""
    rows: list[Row] = []
    for name in names:
        row: Row = {"repo": name}
        try:
            work(name, row)
        except LaresError as exc:
            failed(row, exc)
        rows.append(row)
    return Repositories(rows)


def keep(ctx: BackupContext, repo: str) -> Keep:
    """The retention of ``repo`` (its own, else the blueprint's) as restic's keep flags."""
    from lares.backup.restic import Keep

    spec = ctx.blueprint.backup.repositories[repo]
    r = spec.retention or ctx.blueprint.backup.retention
    return Keep(r.keep_last, r.keep_daily, r.keep_weekly, r.keep_monthly, r.keep_yearly)


# ── repositories ──────────────────────────────────────────────────────────────────────────


def init(ctx: BackupContext, repo: str | None = None) -> Repositories:
    """Create the repositories (``repo``, else all) that do not exist yet; a password is
    generated into the secrets folder for each that has none. A copy repository takes the
    chunker parameters of its source when that exists. Rows: url, password_generated, result."""
    from lares.backup import password_secret
    from lares.catalog.model import SecretSpec

    names = ctx.repo_names(repo)
    copied = [ctx.blueprint.backup.repositories[n].copy_from for n in names]
    ctx.require_secrets([*names, *(c for c in copied if c is not None)])

    def one(name: str, row: Row) -> None:
        spec = ctx.blueprint.backup.repositories[name]
        generated = ctx.store.ensure(password_secret(name), SecretSpec(length=48, alphabet="alnum"))
        restic = ctx.restic(name)
        row.update(url=restic.repo.shown_url, password_generated=generated)
        if restic.exists():
            row["result"] = "exists"
            return
        chunker = None
        if spec.copy_from is not None and ctx.restic(spec.copy_from).exists():
            chunker = ctx.repo(spec.copy_from)
        restic.init(chunker_from=chunker)
        row["result"] = "created" + (f" (chunker of {spec.copy_from})" if chunker else "")

    def failed(row: Row, exc: LaresError) -> None:
        row.update(result="failed", error=exc.message, hint=exc.hint)

    return each_repo(names, one, failed=failed)


def forget(ctx: BackupContext, repo: str | None = None) -> Repositories:
    """Apply each repository's retention to lares's snapshots and prune; forget the records of
    snapshots that are gone. Rows: kept, removed."""

    def one(name: str, row: Row) -> None:
        restic = ctx.restic(name)
        kept, removed = restic.forget(keep(ctx, name), host=ctx.host, tag="lares")
        ctx.records.forget_good(name, {s.id for s in restic.snapshots(host=ctx.host)})
        row.update(ok=True, kept=kept, removed=removed)

    with ctx.records.lock():
        return each_repo(ctx.repo_names(repo), one)


def prune_preview(ctx: BackupContext, repo: str | None = None) -> Repositories:
    """What applying the retention would remove and free, changing nothing. Rows: disk (the
    local repository's disk usage), kept, removes, frees (bytes)."""
    from lares.backup.restic import disk_usage

    def one(name: str, row: Row) -> None:
        restic = ctx.restic(name)
        local = restic.repo.local_path
        usage = disk_usage(local) if local is not None else None
        row.update(ok=True, disk=str(usage) if usage else None)
        row["kept"], row["removes"], row["frees"] = restic.prune_preview(
            keep(ctx, name), host=ctx.host, tag="lares"
        )

    return each_repo(ctx.repo_names(repo), one)


def prune(ctx: BackupContext, preview: Repositories) -> Repositories:
    """Remove what ``preview`` said would go, in the repositories where something would; the
    rows of ``preview`` gain ``pruned``, or the error (``disk_after``: the disks then)."""
    from lares.backup.restic import disk_usage

    with ctx.records.lock():
        for row in preview.rows:
            if "error" in row or not row.get("removes"):
                continue
            restic = ctx.restic(row["repo"])
            try:
                restic.forget(keep(ctx, row["repo"]), host=ctx.host, tag="lares")
                ctx.records.forget_good(
                    row["repo"], {s.id for s in restic.snapshots(host=ctx.host)}
                )
            except LaresError as exc:
                _failed(row, exc)
                continue
            row["pruned"] = True
            local = restic.repo.local_path
            usage = disk_usage(local) if local is not None else None
            if usage is not None:
                preview.disk_after[row["repo"]] = str(usage)
    return preview


def rotate_subset(setting: str, last_slice: int | None) -> tuple[str, int]:
    """The next ``--read-data-subset`` value: "5%" becomes slices n/20 read in turn, so every
    pack is read once every 20 checks; "n/t" rotates through t slices the same way."""
    if setting.endswith("%"):
        percent = max(1, min(100, int(setting[:-1])))
        total = max(1, round(100 / percent))
    else:
        total = int(setting.split("/", 1)[1])
    index = (last_slice or 0) % total + 1
    return f"{index}/{total}", index


def check(ctx: BackupContext, repo: str | None = None) -> Repositories:
    """``restic check`` reading the next slice of the data of each repository; each outcome is
    recorded for the monitor. Rows: subset, when, slice."""
    from lares.backup.records import iso

    setting = ctx.blueprint.backup.check.read_data_subset

    def one(name: str, row: Row) -> None:
        last = ctx.records.checks().get(name, {}).get("slice")
        subset, index = rotate_subset(setting, last)
        row.update(subset=subset, when=iso(datetime.now(UTC)))
        try:
            ctx.restic(name).check(subset)
            row.update(ok=True, slice=index)
        except LaresError as exc:
            row.update(ok=False, slice=last, error=exc.message, hint=exc.hint)
        ctx.records.check_done(name, row)

    return each_repo(ctx.repo_names(repo), one)


def unlock(ctx: BackupContext, repo: str | None = None) -> Repositories:
    """Remove the stale locks of each repository (of a dead process on this host, or not
    refreshed for hours). Rows: removed and kept, each lock described."""

    def one(name: str, row: Row) -> None:
        removed, kept = ctx.restic(name).remove_stale_locks()
        row.update(
            ok=True,
            removed=[f"{lock.describe()}: {why}" for lock, why in removed],
            kept=[lock.describe() for lock in kept],
        )

    return each_repo(ctx.repo_names(repo), one)


def snapshots(ctx: BackupContext, repo: str | None = None) -> Repositories:
    """The snapshots lares made in each repository, and whether each is recorded good. Rows:
    snapshots, state (lares's own), status (of the last run), drills."""
    from lares.recover.snapshot import STATE_TAG

    def one(name: str, row: Row) -> None:
        row.update(ok=True, snapshots=[], state=[])
        try:
            for snap in ctx.restic(name).snapshots(host=ctx.host, tags=["lares"]):
                when = snap.time.isoformat(timespec="seconds")
                if STATE_TAG in snap.tags:  # lares's own (lares.recover.snapshot)
                    row["state"].append({"id": snap.short_id, "time": when})
                    continue
                row["snapshots"].append(
                    {
                        "id": snap.short_id,
                        "time": when,
                        "app": snap.tag("app"),
                        "kind": snap.tag("kind"),
                        "db": snap.tag("db"),
                        "paths": list(snap.paths),
                        "good": ctx.records.good_meta(name, snap.id) is not None,
                    }
                )
        except LaresError as exc:
            _failed(row, exc)
        row["status"] = ctx.records.status().get(name, {})
        row["drills"] = ctx.records.drills().get(name, {})

    return each_repo(ctx.repo_names(repo), one)


# ── run and drill ─────────────────────────────────────────────────────────────────────────


class LineProgress:
    """A :class:`~lares.backup.runner.Progress` that tells each item's start and end as a line
    of text (for a caller that shows lines, such as the web dashboard)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say

    def begin(self, label: str) -> None:
        self.say(f"{label} …")

    def status(self, label: str, status: Status) -> None:
        return None  # restic's status lines come several times a second: not lines to show

    def end(self, label: str, ok: bool) -> None:
        self.say(f"{label}: {'ok' if ok else 'FAILED'}")


def _progress(progress: Progress | Callable[[str], None] | None) -> Progress | None:
    if progress is None or hasattr(progress, "begin"):
        return progress  # type: ignore[return-value]
    return LineProgress(progress)


def plan(ctx: BackupContext, repo: str | None = None, *, due: bool = False) -> RunPlan:
    """What a run would do (``--dry-run`` prints it): see :func:`lares.backup.runner.plan_run`."""
    from lares.backup.jobs import plan_run

    return plan_run(ctx, repo=repo, due=due)


def run(
    ctx: BackupContext,
    repo: str | None = None,
    *,
    due: bool = False,
    planned: RunPlan | None = None,
    progress: Progress | Callable[[str], None] | None = None,
) -> RunReport:
    """Back up now (only what is ``due`` by the schedules, when asked): every app's snapshot,
    dumps and files, lares's state, then the copies; failures are notified. Returns the report
    (``ok`` false when an item failed); raises LaresError only when nothing could start."""
    from lares.backup.runner import execute

    if planned is None:
        planned = plan(ctx, repo, due=due)
    return execute(ctx, planned, _progress(progress))


@dataclass(frozen=True)
class Drills:
    """The outcome of a drill: one result per app."""

    apps: list[AppDrill]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.apps)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "apps": [r.to_dict() for r in self.apps]}


def drill(
    ctx: BackupContext,
    repo: str | None = None,
    *,
    apps: Sequence[str] = (),
    workdir: Path | None = None,
    progress: Progress | Callable[[str], None] | None = None,
    swept: Callable[[str], None] = lambda _: None,
) -> Drills:
    """Restore each app's newest snapshot, compare it with its source and test its databases;
    each result is recorded (see :func:`lares.backup.drill.drill`)."""
    from lares.backup.drill import drill as run_drill

    return Drills(
        run_drill(
            ctx, repo=repo, apps=apps, workdir=workdir, progress=_progress(progress), swept=swept
        )
    )


# ── restore ───────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Restored:
    """A snapshot restored into a folder."""

    repo: str
    snapshot: Any  # restic.Snapshot
    target: Path

    def to_dict(self) -> dict[str, Any]:
        from lares.backup.selection import item_of

        snap = self.snapshot
        return {
            "ok": True,
            "repo": self.repo,
            "snapshot": snap.short_id,
            "snapshot_id": snap.id,
            "app": snap.tag("app"),
            "item": item_of(snap),
            "time": snap.time.isoformat(timespec="seconds"),
            "target": str(self.target),
        }


@dataclass
class Restore:
    """A restore chosen but not done yet: the repository and snapshot (say which first)."""

    repo: str
    snapshot: Any  # restic.Snapshot
    paths: tuple[str, ...] = field(default_factory=tuple)


def choose(
    ctx: BackupContext,
    snapshot: str,
    *,
    repo: str | None = None,
    app: str | None = None,
    item: str | None = None,
    paths: Sequence[str] = (),
) -> Restore:
    """The snapshot ``snapshot`` (an id, or ``latest`` of ``app`` and ``item``) of the
    repository (``repo``, else the drill's); raises UsageError when it does not say which."""
    from lares.backup.drill import drill_repo
    from lares.backup.selection import choose as pick

    name = drill_repo(ctx, repo)
    found = ctx.restic(name).snapshots(host=ctx.host, tags=["lares"])
    return Restore(name, pick(found, snapshot, repo=name, app=app, item=item), tuple(paths))


def restore(ctx: BackupContext, chosen: Restore, target: Path) -> Restored:
    """Restore ``chosen`` into ``target`` (made 0700; nothing is written outside it). A
    database dump is made 0600: it holds every row and the password hashes."""
    private = chosen.snapshot.tag("kind") == "database"
    where = ctx.restic(chosen.repo).restore(
        chosen.snapshot.id, target, include=chosen.paths, private=private
    )
    return Restored(chosen.repo, chosen.snapshot, where)


def find_database(
    ctx: BackupContext, snapshot: str, *, repo: str | None = None, app: str | None = None
) -> Target:
    """The database snapshot and the running database it would replace (ask before
    :func:`into_db`)."""
    from lares.backup import intodb
    from lares.backup.drill import drill_repo

    return intodb.find(ctx, drill_repo(ctx, repo), snapshot, app)


def into_db(
    ctx: BackupContext, target: Target, *, progress: Callable[[str], None] = lambda _: None
) -> Loaded:
    """Load ``target``'s snapshot back into the app's database (see
    :func:`lares.backup.intodb.load`)."""
    from lares.backup import intodb

    return intodb.load(ctx, target, progress=progress)


def cancelled() -> LaresError:
    """The error of a change the person declined when asked."""
    return LaresError("cancelled; nothing was changed", code="cancelled")
