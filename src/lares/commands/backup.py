"""``lares backup …``: create repositories, back up, apply retention, check, drill, list, restore.

Each command parses its flags, calls one action of :mod:`lares.backup.actions` and renders what
it returns (``--json`` prints it as data; the text reports of a run and a drill are in
:mod:`lares.commands._backup_reports`). Errors are raised for the CLI to render. Exit codes: 0
ok, 1 something failed (a result: the other repositories or items still ran), 2 bad usage or
configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lares.cli import app
from lares.commands.options import (
    DryRunOpt,
    RepoOpt,
    Shared,
    YesOpt,
    group,
    print_and_exit,
    printer,
    uses,
)

if TYPE_CHECKING:
    from lares.backup import BackupContext
    from lares.backup.actions import Repositories, Row
    from lares.output import Out

    Render = Callable[[Out, Repositories], None]

backup = group(
    "backup",
    "Back up with restic: snapshots, database dumps, retention, checks and restore drills.",
)
app.add_typer(backup, name="backup")


def _context(shared: Shared) -> BackupContext:
    """The backup context of the blueprint (of the one last applied while the file has errors)."""
    from lares.backup import open_context
    from lares.deploy.applied import load_or_applied
    from lares.state import StateDir

    loaded = load_or_applied(shared.file, StateDir.open(shared.state_dir), printer(False).warn)
    return open_context(loaded, shared.state_dir)


def _size(n: int | None) -> str:
    from lares.units import format_size

    return "" if n is None else format_size(n)


def _repo_failed(out: Out, row: Row) -> None:
    out.fail(f"{row['repo']}: {row['error']}", row.get("hint"))


# ── init, forget, check, unlock, list: one action on every repository ───────────────────


def _table(
    columns: tuple[str, ...],
    cells: Callable[[Row], tuple[str, ...]],
    right: tuple[str, ...] = (),
) -> Render:
    """A renderer: a table a row a repository (its name, then its ``cells``), then its
    failures."""

    def render(out: Out, result: Repositories) -> None:
        from lares.output import table

        t = table(*columns, right=right)
        for row in result.rows:
            t.add_row(row["repo"], *cells(row))
        out.table(t)
        for row in result.failed():
            _repo_failed(out, row)

    return render


def _per_repository(name: str, help: str, render: Render, *, action: str = "") -> None:
    """Add ``lares backup NAME``: the action ``action`` (default: NAME) of
    :mod:`lares.backup.actions` on the blueprint's repositories (or the one of ``--repo``), its
    result printed by ``render`` or as JSON; exit 1 when a repository failed."""

    @uses("file", "state_dir", "as_json")
    def command(repo: RepoOpt = None, *, shared: Shared) -> None:
        from lares.backup import actions

        out = printer(shared.as_json)
        result = getattr(actions, action or name)(_context(shared), repo)
        print_and_exit(out, result, render)

    backup.command(name, help=help)(command)


_per_repository(
    "init",
    "Create the blueprint's repositories (passwords generated into the secrets folder).\n\n"
    "Exits 1 when a repository could not be created (the others still are).",
    _table(("Repository", "URL", "Result"), lambda row: (row.get("url", ""), row["result"])),
)


# ── run ───────────────────────────────────────────────────────────────────────────────────


@backup.command("run")
@uses("file", "state_dir", "as_json")
def run_cmd(
    due: Annotated[
        bool, typer.Option("--due", help="Only what the repositories' schedules say is due.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Print the commands that would run; run none.")
    ] = False,
    repo: RepoOpt = None,
    *,
    shared: Shared,
) -> None:
    """Back up every app with a backup spec: snapshot, dump databases, back up files, copy.

    Exits 1 when an item failed (the others are still backed up).
    """
    from contextlib import nullcontext

    from lares.backup import actions
    from lares.backup.runner import NoProgress
    from lares.commands._backup_reports import RichProgress, dry_run_report, run_report

    ctx = _context(shared)
    out = printer(shared.as_json)
    planned = actions.plan(ctx, repo, due=due)
    if dry_run:
        if shared.as_json:
            out.json({"dry_run": True, **planned.to_dict()})
        else:
            dry_run_report(out, ctx, planned)
        return
    show_bar = not shared.as_json and out.err.is_terminal
    progress = RichProgress(out) if show_bar else NoProgress()
    with progress if isinstance(progress, RichProgress) else nullcontext():
        report = actions.run(ctx, planned=planned, progress=progress)
    print_and_exit(out, report, run_report)


# ── forget, prune ─────────────────────────────────────────────────────────────────────────


_per_repository(
    "forget",
    "Apply retention (keep daily/weekly/monthly per app and kind) and prune.\n\n"
    "Exits 1 when a repository failed (the others still are pruned).",
    _table(
        ("Repository", "Kept", "Removed"),
        lambda row: (str(row.get("kept", "")), str(row.get("removed", ""))),
        right=("Kept", "Removed"),
    ),
)


@backup.command()
@uses("file", "state_dir", "as_json")
def prune(
    repo: RepoOpt = None, yes: YesOpt = False, dry_run: DryRunOpt = False, *, shared: Shared
) -> None:
    """Free space: say what applying the retention would remove and free, ask, then do it.

    A full repository gets its space back here. When the retention keeps every snapshot,
    pruning frees nothing, and this says so: keep fewer (backup.retention) or give the
    repository a bigger disk. Exits 1 when a repository failed.
    """
    from lares.backup import actions
    from lares.errors import UsageError
    from lares.text import counted

    ctx = _context(shared)
    out = printer(shared.as_json)
    preview = actions.prune_preview(ctx, repo)
    todo = [r for r in preview.rows if "error" not in r and r["removes"]]
    if not shared.as_json:
        _prune_preview(out, preview)
    go = bool(todo) and not dry_run
    if go and not yes:
        if shared.as_json:
            raise UsageError("prune with --json needs --yes (or --dry-run)")
        go = typer.confirm(
            f"Remove {counted(sum(r['removes'] for r in todo), 'snapshot')} and prune?",
            default=False,
        )
    result = actions.prune(ctx, preview) if go else preview
    print_and_exit(out, result, lambda out, result: _pruned(out, result, todo if go else []))


def _pruned(out: Out, result: Repositories, pruned: list[Row]) -> None:
    from lares.text import counted

    for row in pruned:
        if "error" in row:
            _repo_failed(out, row)
            continue
        disk = result.disk_after.get(row["repo"])
        out.ok(
            f"{row['repo']}: removed {counted(row['removes'], 'snapshot')}, "
            f"freed about {_size(row['frees'])}" + (f"; {disk}" if disk else "")
        )


def _prune_preview(out: Out, preview: Repositories) -> None:
    from lares.output import table

    t = table("Repository", "Keeps", "Removes", "Frees", "Disk", right=("Keeps", "Removes"))
    for row in preview.rows:
        t.add_row(
            row["repo"],
            str(row.get("kept", "")),
            str(row.get("removes", "")),
            _size(row.get("frees")),
            row.get("disk") or "",
        )
    out.table(t)
    for row in preview.rows:
        if "error" in row:
            _repo_failed(out, row)
        elif not row["removes"]:
            out.warn(
                f"{row['repo']}: the retention keeps every snapshot, so pruning frees "
                "nothing; keep fewer (backup.retention, or the repository's own "
                "retention) or give the repository a bigger disk"
            )


def _unlocked(out: Out, result: Repositories) -> None:
    for row in result.rows:
        if "error" in row:
            _repo_failed(out, row)
            continue
        for line in row["removed"]:
            out.ok(f"{row['repo']}: removed {line}")
        for line in row["kept"]:
            out.line(f"{row['repo']}: kept {line} (its process may still run)")
        if not row["removed"] and not row["kept"]:
            out.line(f"{row['repo']}: no locks")


_per_repository(
    "check",
    "Run `restic check` reading the next slice of the data (rotating --read-data-subset).\n\n"
    "Exits 1 when a check found a problem or could not run.",
    _table(
        ("Repository", "Data read", "Result"),
        lambda row: (row["subset"], "ok" if row["ok"] else "FAILED"),
    ),
)
_per_repository(
    "unlock",
    "Remove stale locks only: of a dead process on this host, or not refreshed for hours.\n\n"
    "Exits 1 when a repository's locks could not be read or removed.",
    _unlocked,
)


# ── drill ─────────────────────────────────────────────────────────────────────────────────


@backup.command("drill")
@uses("file", "state_dir", "as_json")
def drill_cmd(
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir", help="Where to restore (removed after). Default: the temp folder."
        ),
    ] = None,
    repo: RepoOpt = None,
    *,
    shared: Shared,
) -> None:
    """Restore each app's newest snapshot, compare it with its source, test its databases.

    Exits 1 when an app's backup did not come back as it was.
    """
    from lares.backup import actions
    from lares.commands._backup_reports import drill_report

    out = printer(shared.as_json)
    result = actions.drill(_context(shared), repo, workdir=workdir, swept=out.warn)
    print_and_exit(out, result, lambda out, result: drill_report(out, result.apps))


def _snapshot_tables(out: Out, result: Repositories) -> None:
    from lares.output import table

    for entry in result.rows:
        out.heading(entry["repo"])
        if "error" in entry:
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


_per_repository(
    "list",
    "List the snapshots lares made, and whether each is recorded good.\n\n"
    "Exits 1 when a repository could not be listed.",
    _snapshot_tables,
    action="snapshots",
)


# ── restore ───────────────────────────────────────────────────────────────────────────────


@backup.command()
@uses("file", "state_dir", "as_json")
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
    repo: RepoOpt = None,
    yes: YesOpt = False,
    *,
    shared: Shared,
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
    from lares.backup import actions
    from lares.backup.selection import describe
    from lares.errors import UsageError

    if into_db == (target is not None):
        raise UsageError(
            "give either --target (restore into a folder) or --into-db (into the app's database)"
        )
    ctx = _context(shared)
    out = printer(shared.as_json)
    if into_db:
        if path:
            raise UsageError("--path does not go with --into-db: a database snapshot is one dump")
        found = actions.find_database(ctx, snapshot, repo=repo, app=app_id)
        if not yes:
            if shared.as_json:
                raise UsageError("--into-db with --json needs --yes")
            out.line(f"This replaces {found.describe()}.")
            if not typer.confirm("Replace the database?", default=False):
                raise actions.cancelled()
        loaded = actions.into_db(
            ctx, found, progress=lambda line: None if shared.as_json else out.line(line)
        )
        if shared.as_json:
            out.json(loaded.to_dict())
            return
        if loaded.sha256_ok is False:
            out.warn("the dump's SHA-256 differs from the one recorded when it was made")
        out.ok(f"loaded snapshot {found.snapshot.short_id} into {found.service.name}")
        return
    assert target is not None
    chosen = actions.choose(ctx, snapshot, repo=repo, app=app_id, item=item, paths=path or ())
    if not shared.as_json:
        out.line(f"restoring {describe(chosen.snapshot)} from {chosen.repo}")
    restored = actions.restore(ctx, chosen, target)
    if shared.as_json:
        out.json(restored.to_dict())
    else:
        out.ok(f"restored {describe(chosen.snapshot)} from {chosen.repo} into {restored.target}")
