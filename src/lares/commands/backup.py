"""``lares backup …``: create repositories, back up, apply retention, check, drill, list, restore.

Each command is a thin layer over :mod:`lares.backup`; every one that reports takes ``--json``.
Exit codes: 0 ok, 1 something failed, 2 bad usage or configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lares.cli import FileOpt, JsonOpt, StateOpt, app

if TYPE_CHECKING:
    from lares.backup import BackupContext
    from lares.backup.restic import Status
    from lares.output import Out

backup = typer.Typer(
    name="backup",
    help="Back up with restic: snapshots, database dumps, retention, checks and restore drills.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(backup, name="backup")

RepoOpt = Annotated[
    str | None, typer.Option("--repo", "-r", help="Only this repository (a name in the blueprint).")
]


def _context(file: Path | None, state_dir: Path | None) -> BackupContext:
    """The backup context of the blueprint (of the one last applied while the file has errors)."""
    from lares.backup import open_context
    from lares.deploy.applied import load_or_applied
    from lares.state import StateDir

    loaded = load_or_applied(file, StateDir.open(state_dir), _out(False).warn)
    return open_context(loaded, state_dir)


def _out(as_json: bool) -> Out:
    from lares.output import Out

    return Out(as_json=as_json)


def _size(n: int | None) -> str:
    from lares.units import format_size

    return "" if n is None else format_size(n)


# ── init ──────────────────────────────────────────────────────────────────────────────────


@backup.command()
def init(
    file: FileOpt = None,
    state_dir: StateOpt = None,
    repo: RepoOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the blueprint's repositories (passwords generated into the secrets folder)."""
    from lares.backup import password_secret
    from lares.backup.restic import ResticError
    from lares.catalog.model import SecretSpec
    from lares.output import table

    ctx = _context(file, state_dir)
    out = _out(as_json)
    rows: list[dict[str, Any]] = []
    failed = False
    names = ctx.repo_names(repo)
    copied = [ctx.blueprint.backup.repositories[n].copy_from for n in names]
    ctx.require_secrets([*names, *(c for c in copied if c is not None)])
    for name in names:
        spec = ctx.blueprint.backup.repositories[name]
        generated = ctx.store.ensure(password_secret(name), SecretSpec(length=48, alphabet="alnum"))
        restic = ctx.restic(name)
        row: dict[str, Any] = {
            "repo": name,
            "url": restic.repo.shown_url,
            "password_generated": generated,
        }
        try:
            if restic.exists():
                row["result"] = "exists"
            else:
                chunker = None
                if spec.copy_from is not None and ctx.restic(spec.copy_from).exists():
                    chunker = ctx.repo(spec.copy_from)
                restic.init(chunker_from=chunker)
                row["result"] = "created" + (f" (chunker of {spec.copy_from})" if chunker else "")
        except ResticError as exc:
            failed = True
            row.update(result="failed", error=exc.message, hint=exc.hint)
        rows.append(row)
    if as_json:
        out.json({"ok": not failed, "repositories": rows})
    else:
        t = table("Repository", "URL", "Result")
        for row in rows:
            t.add_row(row["repo"], row["url"], row["result"])
        out.table(t)
        for row in rows:
            if row.get("error"):
                out.fail(f"{row['repo']}: {row['error']}", row.get("hint"))
    raise typer.Exit(1 if failed else 0)


# ── run ───────────────────────────────────────────────────────────────────────────────────


class _RichProgress:
    """A progress bar per item from restic's status lines (only on a terminal)."""

    def __init__(self, out: Out) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskID,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=out.err,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _RichProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def begin(self, label: str) -> None:
        self.tasks[label] = self.bar.add_task(label, total=None, detail="")

    def status(self, label: str, status: Status) -> None:
        task = self.tasks.get(label)
        if task is None:
            return
        detail = f"{status.files_done}/{status.total_files} files" if status.total_files else ""
        detail += f"  {_size(status.bytes_done)}"
        self.bar.update(
            task, total=status.total_bytes or None, completed=status.bytes_done, detail=detail
        )

    def end(self, label: str, ok: bool) -> None:
        task = self.tasks.pop(label, None)
        if task is not None:
            self.bar.remove_task(task)


@backup.command("run")
def run_cmd(
    file: FileOpt = None,
    state_dir: StateOpt = None,
    repo: RepoOpt = None,
    due: Annotated[
        bool, typer.Option("--due", help="Only what the repositories' schedules say is due.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Print the commands that would run; run none.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Back up every app with a backup spec: snapshot, dump databases, back up files, copy."""
    from contextlib import nullcontext

    from lares.backup.runner import NoProgress, execute, plan_run

    ctx = _context(file, state_dir)
    out = _out(as_json)
    planned = plan_run(ctx, repo=repo, due=due)
    if dry_run:
        if as_json:
            out.json({"dry_run": True, **planned.to_dict()})
        else:
            _dry_run_report(out, ctx, planned)
        raise typer.Exit(0)
    show_bar = not as_json and out.err.is_terminal
    progress = _RichProgress(out) if show_bar else NoProgress()
    with progress if isinstance(progress, _RichProgress) else nullcontext():
        report = execute(ctx, planned, progress)
    if as_json:
        out.json(report.to_dict())
    else:
        _run_report(out, report)
    raise typer.Exit(0 if report.ok else 1)


def _dry_run_report(out: Out, ctx: BackupContext, planned: Any) -> None:
    from lares.backup.runner import CopyJob

    shown_env: set[str] = set()
    for job in planned.jobs:
        if job.repo not in shown_env:
            shown_env.add(job.repo)
            repo = ctx.repo(job.repo)
            env = [f"{k}={v!r}" for k, v in sorted(repo.environment().items())]
            env += [f"{k}=<secret {v}>" for k, v in sorted(repo.secret_env.items())]
            out.heading(f"repository {job.repo}")
            out.line("  restic runs with " + " ".join(env))
            if repo.options:
                out.line("  and options " + " ".join(repo.option_flags()))
        what = f"copy from {job.source}" if isinstance(job, CopyJob) else job.app
        out.heading(f"{job.repo} · {what}")
        for warning in getattr(job, "warnings", ()):
            out.line(f"  ! {warning}")
        for error in getattr(job, "errors", ()):
            out.line(f"  ✗ {error}")
        for cmd in job.commands():
            out.line(f"  {cmd.shown(env=cmd.argv[0] != 'restic')}")
    from lares.backup.restic import backup_command
    from lares.recover.snapshot import FILENAME, state_tags

    for name in dict.fromkeys(job.repo for job in planned.jobs):
        out.heading(f"{name} · lares state (blueprint, secrets, revisions, records)")
        cmd = backup_command(
            ctx.repo(name), host=ctx.host, tags=state_tags(ctx.host), stdin_filename=FILENAME
        )
        out.line(f"  {cmd.shown(env=False)}")
    for skip in planned.skipped:
        out.line(f"skip {skip.repo} · {skip.app or '-'}: {skip.why}")


def _run_report(out: Out, report: Any) -> None:
    from lares.output import table
    from lares.text import counted
    from lares.units import format_duration

    for note in report.notes:
        out.line(note)
    for skip in report.skipped:
        out.line(f"skipped {skip.repo} · {skip.app or '-'}: {skip.why}")
    if report.items:
        t = table(
            "Repository",
            "App",
            "Item",
            "Result",
            "New",
            "Changed",
            "Added",
            "Time",
            "Snapshot",
            right=("New", "Changed", "Added", "Time"),
        )
        for item in [*report.items, *report.state]:
            s = item.summary
            t.add_row(
                item.repo,
                item.app or ("lares" if item in report.state else "-"),
                item.item,
                "ok" if item.ok else "FAILED",
                str(s.files_new) if s else "",
                str(s.files_changed) if s else "",
                _size(s.data_added) if s else "",
                format_duration(item.duration) if item.duration >= 1 else f"{item.duration:.1f}s",
                (item.snapshot or "")[:8],
            )
        out.table(t)
    for item in [*report.items, *report.state]:
        for warning in item.warnings:
            out.warn(f"{item.repo} · {item.app or 'lares'}: {warning}")
    for item in report.failed:
        out.fail(f"{item.repo} · {item.app or '-'} · {item.item}: {item.error}", item.hint)
    for line in report.notified:
        out.line(f"notification {line}")
    if report.items and report.ok:
        out.ok(f"{counted(len(report.items), 'item')} backed up")
    elif not report.items:
        out.line("nothing to do")


# ── forget ────────────────────────────────────────────────────────────────────────────────


@backup.command()
def forget(
    file: FileOpt = None,
    state_dir: StateOpt = None,
    repo: RepoOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply retention (keep daily/weekly/monthly per app and kind) and prune."""
    from lares.backup.restic import Keep
    from lares.errors import LaresError
    from lares.output import table

    ctx = _context(file, state_dir)
    out = _out(as_json)
    rows: list[dict[str, Any]] = []
    with ctx.records.lock():
        for name in ctx.repo_names(repo):
            spec = ctx.blueprint.backup.repositories[name]
            r = spec.retention or ctx.blueprint.backup.retention
            keep = Keep(r.keep_last, r.keep_daily, r.keep_weekly, r.keep_monthly, r.keep_yearly)
            restic = ctx.restic(name)
            try:
                kept, removed = restic.forget(keep, host=ctx.host, tag="lares")
                ctx.records.forget_good(name, {s.id for s in restic.snapshots(host=ctx.host)})
                rows.append({"repo": name, "ok": True, "kept": kept, "removed": removed})
            except LaresError as exc:
                rows.append({"repo": name, "ok": False, "error": exc.message, "hint": exc.hint})
    ok = all(r["ok"] for r in rows)
    if as_json:
        out.json({"ok": ok, "repositories": rows})
    else:
        t = table("Repository", "Kept", "Removed", right=("Kept", "Removed"))
        for row in rows:
            t.add_row(row["repo"], str(row.get("kept", "")), str(row.get("removed", "")))
        out.table(t)
        for row in rows:
            if not row["ok"]:
                out.fail(f"{row['repo']}: {row['error']}", row.get("hint"))
    raise typer.Exit(0 if ok else 1)


# ── prune ─────────────────────────────────────────────────────────────────────────────────


def _keep(ctx: BackupContext, repo: str) -> Any:
    """The retention of ``repo`` (its own, else the blueprint's) as restic's keep flags."""
    from lares.backup.restic import Keep

    spec = ctx.blueprint.backup.repositories[repo]
    r = spec.retention or ctx.blueprint.backup.retention
    return Keep(r.keep_last, r.keep_daily, r.keep_weekly, r.keep_monthly, r.keep_yearly)


@backup.command()
def prune(
    file: FileOpt = None,
    state_dir: StateOpt = None,
    repo: RepoOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Prune without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what pruning would free.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Free space: say what applying the retention would remove and free, ask, then do it.

    A full repository gets its space back here. When the retention keeps every snapshot,
    pruning frees nothing, and this says so: keep fewer (backup.retention) or give the
    repository a bigger disk.
    """
    from lares.backup.restic import disk_usage
    from lares.errors import LaresError
    from lares.output import table
    from lares.text import counted

    ctx = _context(file, state_dir)
    out = _out(as_json)
    rows: list[dict[str, Any]] = []
    with ctx.records.lock():
        for name in ctx.repo_names(repo):
            keep = _keep(ctx, name)
            restic = ctx.restic(name)
            local = restic.repo.local_path
            usage = disk_usage(local) if local is not None else None
            row: dict[str, Any] = {"repo": name, "ok": True, "disk": str(usage) if usage else None}
            try:
                row["kept"], row["removes"], row["frees"] = restic.prune_preview(
                    keep, host=ctx.host, tag="lares"
                )
            except LaresError as exc:
                row.update(ok=False, error=exc.message, hint=exc.hint)
            rows.append(row)
        todo = [r for r in rows if r["ok"] and r["removes"]]
        if not as_json:
            t = table("Repository", "Keeps", "Removes", "Frees", "Disk", right=("Keeps", "Removes"))
            for row in rows:
                t.add_row(
                    row["repo"],
                    str(row.get("kept", "")),
                    str(row.get("removes", "")),
                    _size(row.get("frees")),
                    row["disk"] or "",
                )
            out.table(t)
            for row in rows:
                if not row["ok"]:
                    out.fail(f"{row['repo']}: {row['error']}", row.get("hint"))
                elif not row["removes"]:
                    out.warn(
                        f"{row['repo']}: the retention keeps every snapshot, so pruning frees "
                        "nothing; keep fewer (backup.retention, or the repository's own "
                        "retention) or give the repository a bigger disk"
                    )
        go = bool(todo) and not dry_run
        if go and not yes:
            if as_json:
                from lares.errors import UsageError

                raise UsageError("prune with --json needs --yes (or --dry-run)")
            go = typer.confirm(
                f"Remove {counted(sum(r['removes'] for r in todo), 'snapshot')} and prune?",
                default=False,
            )
        for row in todo if go else []:
            restic = ctx.restic(row["repo"])
            try:
                restic.forget(_keep(ctx, row["repo"]), host=ctx.host, tag="lares")
                ctx.records.forget_good(
                    row["repo"], {s.id for s in restic.snapshots(host=ctx.host)}
                )
                row["pruned"] = True
            except LaresError as exc:
                row.update(ok=False, error=exc.message, hint=exc.hint)
                if not as_json:
                    out.fail(f"{row['repo']}: {exc.message}", exc.hint)
            else:
                if not as_json:
                    local = restic.repo.local_path
                    usage = disk_usage(local) if local is not None else None
                    out.ok(
                        f"{row['repo']}: removed {counted(row['removes'], 'snapshot')}, "
                        f"freed about {_size(row['frees'])}" + (f"; {usage}" if usage else "")
                    )
    ok = all(r["ok"] for r in rows)
    if as_json:
        out.json({"ok": ok, "repositories": rows})
    raise typer.Exit(0 if ok else 1)


# ── check ─────────────────────────────────────────────────────────────────────────────────


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


@backup.command()
def check(
    file: FileOpt = None,
    state_dir: StateOpt = None,
    repo: RepoOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run `restic check` reading the next slice of the data (rotating --read-data-subset)."""
    from datetime import UTC, datetime

    from lares.backup.records import iso
    from lares.errors import LaresError
    from lares.output import table

    ctx = _context(file, state_dir)
    out = _out(as_json)
    setting = ctx.blueprint.backup.check.read_data_subset
    rows: list[dict[str, Any]] = []
    for name in ctx.repo_names(repo):
        last = ctx.records.checks().get(name, {}).get("slice")
        subset, index = rotate_subset(setting, last)
        row: dict[str, Any] = {"repo": name, "subset": subset, "when": iso(datetime.now(UTC))}
        try:
            ctx.restic(name).check(subset)
            row.update(ok=True, slice=index)
        except LaresError as exc:
            row.update(ok=False, slice=last, error=exc.message, hint=exc.hint)
        ctx.records.check_done(name, row)
        rows.append(row)
    ok = all(r["ok"] for r in rows)
    if as_json:
        out.json({"ok": ok, "repositories": rows})
    else:
        t = table("Repository", "Data read", "Result")
        for row in rows:
            t.add_row(row["repo"], row["subset"], "ok" if row["ok"] else "FAILED")
        out.table(t)
        for row in rows:
            if not row["ok"]:
                out.fail(f"{row['repo']}: {row['error']}", row.get("hint"))
    raise typer.Exit(0 if ok else 1)


# ── unlock ────────────────────────────────────────────────────────────────────────────────


@backup.command()
def unlock(
    file: FileOpt = None,
    state_dir: StateOpt = None,
    repo: RepoOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove stale locks only: of a dead process on this host, or not refreshed for hours."""
    from lares.errors import LaresError

    ctx = _context(file, state_dir)
    out = _out(as_json)
    rows: list[dict[str, Any]] = []
    for name in ctx.repo_names(repo):
        try:
            removed, kept = ctx.restic(name).remove_stale_locks()
            rows.append(
                {
                    "repo": name,
                    "ok": True,
                    "removed": [f"{lock.describe()}: {why}" for lock, why in removed],
                    "kept": [lock.describe() for lock in kept],
                }
            )
        except LaresError as exc:
            rows.append({"repo": name, "ok": False, "error": exc.message, "hint": exc.hint})
    ok = all(r["ok"] for r in rows)
    if as_json:
        out.json({"ok": ok, "repositories": rows})
    else:
        for row in rows:
            if not row["ok"]:
                out.fail(f"{row['repo']}: {row['error']}", row.get("hint"))
                continue
            for line in row["removed"]:
                out.ok(f"{row['repo']}: removed {line}")
            for line in row["kept"]:
                out.line(f"{row['repo']}: kept {line} (its process may still run)")
            if not row["removed"] and not row["kept"]:
                out.line(f"{row['repo']}: no locks")
    raise typer.Exit(0 if ok else 1)


# ── drill ─────────────────────────────────────────────────────────────────────────────────


@backup.command("drill")
def drill_cmd(
    file: FileOpt = None,
    state_dir: StateOpt = None,
    repo: RepoOpt = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir", help="Where to restore (removed after). Default: the temp folder."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore each app's newest snapshot, compare it with its source, test its databases."""
    from lares.backup.drill import drill
    from lares.output import table
    from lares.text import counted

    ctx = _context(file, state_dir)
    out = _out(as_json)
    results = drill(ctx, repo=repo, workdir=workdir, swept=out.warn)
    ok = all(r.ok for r in results)
    if as_json:
        out.json({"ok": ok, "apps": [r.to_dict() for r in results]})
    else:
        t = table("Repository", "App", "Files", "Databases", "Result")
        for r in results:
            files = (
                f"{r.files.compared} compared with {r.files.source}"
                + (
                    f", {len(r.files.differ) + len(r.files.not_restored)} differ"
                    if not r.files.ok
                    else ""
                )
                if r.files
                else "-"
            )
            dbs = (
                ", ".join(
                    f"{d.item}: {counted(sum(t.found or 0 for t in d.tables), 'row')}, "
                    f"{counted(len(d.tables), 'table')}"
                    + (f", {counted(len(d.queries), 'query', 'queries')}" if d.queries else "")
                    for d in r.databases
                )
                or "-"
            )
            t.add_row(r.repo, r.app, files, dbs, "ok" if r.ok else "FAILED")
        out.table(t)
        for r in results:
            if r.error:
                out.fail(f"{r.app}: {r.error}")
            if r.files and not r.files.ok:
                for line in (r.files.differ + r.files.not_restored)[:10]:
                    out.fail(f"{r.app}: {line}")
            for d in r.databases:
                if d.error:
                    out.fail(f"{r.app} · {d.item}: {d.error}")
                if d.sha256_ok is False:
                    out.fail(
                        f"{r.app} · {d.item}: the dump's SHA-256 differs from the one recorded"
                    )
                for tc in d.tables:
                    if not tc.ok:
                        rows = "no count" if tc.found is None else counted(tc.found, "row")
                        found = f"{tc.table} has {rows}, expected {tc.expected}"
                        out.fail(f"{r.app} · {d.item}: {found}")
                for qc in d.queries:
                    if not qc.ok:
                        got = " / ".join(qc.got) or "no rows"
                        want = " / ".join(qc.query.expected) or "no rows"
                        out.fail(f"{r.app} · {d.item}: {qc.query.sql} gave {got}, expected {want}")
        if not results:
            out.line("no app has a backup spec")
    raise typer.Exit(0 if ok else 1)


# ── list ──────────────────────────────────────────────────────────────────────────────────


@backup.command("list")
def list_cmd(
    file: FileOpt = None,
    state_dir: StateOpt = None,
    repo: RepoOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the snapshots lares made, and whether each is recorded good."""
    from lares.errors import LaresError
    from lares.output import table
    from lares.recover.snapshot import STATE_TAG

    ctx = _context(file, state_dir)
    out = _out(as_json)
    repos: list[dict[str, Any]] = []
    for name in ctx.repo_names(repo):
        entry: dict[str, Any] = {"repo": name, "ok": True, "snapshots": [], "state": []}
        try:
            for snap in ctx.restic(name).snapshots(host=ctx.host, tags=["lares"]):
                if STATE_TAG in snap.tags:  # lares's own (lares.recover.snapshot)
                    entry["state"].append(
                        {"id": snap.short_id, "time": snap.time.isoformat(timespec="seconds")}
                    )
                    continue
                entry["snapshots"].append(
                    {
                        "id": snap.short_id,
                        "time": snap.time.isoformat(timespec="seconds"),
                        "app": snap.tag("app"),
                        "kind": snap.tag("kind"),
                        "db": snap.tag("db"),
                        "paths": list(snap.paths),
                        "good": ctx.records.good_meta(name, snap.id) is not None,
                    }
                )
        except LaresError as exc:
            entry.update(ok=False, error=exc.message, hint=exc.hint)
        entry["status"] = ctx.records.status().get(name, {})
        entry["drills"] = ctx.records.drills().get(name, {})
        repos.append(entry)
    ok = all(r["ok"] for r in repos)
    if as_json:
        out.json({"ok": ok, "repositories": repos})
    else:
        for entry in repos:
            out.heading(entry["repo"])
            if not entry["ok"]:
                out.fail(entry["error"], entry.get("hint"))
                continue
            t = table("ID", "Time", "App", "Item", "Recorded")
            for s in entry["snapshots"]:
                item = f"db:{s['db']}" if s["db"] else (s["kind"] or "")
                t.add_row(
                    s["id"],
                    s["time"],
                    s["app"] or "",
                    item,
                    "good" if s["good"] else "not recorded",
                )
            for s in entry["state"]:
                t.add_row(s["id"], s["time"], "lares", "state", "")
            out.table(t)
    raise typer.Exit(0 if ok else 1)


# ── restore ───────────────────────────────────────────────────────────────────────────────


@backup.command()
def restore(
    snapshot: Annotated[
        str, typer.Argument(help="Snapshot id (as `lares backup list` shows) or latest.")
    ],
    target: Annotated[
        Path | None, typer.Option("--target", "-t", help="An empty or new folder.")
    ] = None,
    path: Annotated[
        list[str] | None, typer.Option("--path", "-p", help="Only this path inside the snapshot.")
    ] = None,
    into_db: Annotated[
        bool,
        typer.Option(
            "--into-db",
            help="Load a database snapshot back into the app's running database, replacing "
            "what it holds (asks first).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (--into-db).")] = False,
    file: FileOpt = None,
    state_dir: StateOpt = None,
    repo: RepoOpt = None,
    app_id: Annotated[
        str | None,
        typer.Option(
            "--app", help="The app whose snapshot to restore, or whose database (latest needs it)."
        ),
    ] = None,
    item: Annotated[
        str | None,
        typer.Option("--item", help="files or db:NAME, when the app has several (latest)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore a snapshot (or paths in it) into a folder; nothing is written outside it.

    The folder is made 0700, and a database dump restored into it is 0600: it holds every row
    and the password hashes. With --into-db the dump goes back into the app's own database
    instead, streamed (no plaintext copy on disk), with the app's other containers stopped
    meanwhile. The repository is --repo, else the drill's (backup.drill.repository), else the
    first one that is not a copy. `latest` is the newest snapshot of one app (--app) and item
    (--item), either left out only when the repository holds one; the restore says which it
    read.
    """
    from lares.backup.drill import drill_repo
    from lares.backup.selection import choose, describe, item_of
    from lares.errors import UsageError

    if into_db == (target is not None):
        raise UsageError(
            "give either --target (restore into a folder) or --into-db (into the app's database)"
        )
    ctx = _context(file, state_dir)
    out = _out(as_json)
    name = drill_repo(ctx, repo)
    if into_db:
        from lares.backup import intodb

        if path:
            raise UsageError("--path does not go with --into-db: a database snapshot is one dump")
        found = intodb.find(ctx, name, snapshot, app_id)
        if not yes:
            if as_json:
                raise UsageError("--into-db with --json needs --yes")
            out.line(f"This replaces {found.describe()}.")
            if not typer.confirm("Replace the database?", default=False):
                out.fail("cancelled; nothing was changed")
                raise typer.Exit(1)
        loaded = intodb.load(ctx, found, progress=lambda line: None if as_json else out.line(line))
        if as_json:
            out.json(loaded.to_dict())
            return
        if loaded.sha256_ok is False:
            out.warn("the dump's SHA-256 differs from the one recorded when it was made")
        out.ok(f"loaded snapshot {found.snapshot.short_id} into {found.service.name}")
        return
    assert target is not None
    restic = ctx.restic(name)
    snap = choose(
        restic.snapshots(host=ctx.host, tags=["lares"]),
        snapshot,
        repo=name,
        app=app_id,
        item=item,
    )
    if not as_json:
        out.line(f"restoring {describe(snap)} from {name}")
    # a dump holds every row and the password hashes: only its owner may read it
    private = snap.tag("kind") == "database"
    where = restic.restore(snap.id, target, include=path or (), private=private)
    if as_json:
        out.json(
            {
                "ok": True,
                "repo": name,
                "snapshot": snap.short_id,
                "snapshot_id": snap.id,
                "app": snap.tag("app"),
                "item": item_of(snap),
                "time": snap.time.isoformat(timespec="seconds"),
                "target": str(where),
            }
        )
    else:
        out.ok(f"restored {describe(snap)} from {name} into {where}")
