"""``lares recovery-kit`` and ``lares recover``: the server lost, rebuilt from its backups.

Thin layers over :mod:`lares.recover`. The kit command prints the kit itself (that is its
purpose) unless told where to write it; ``--json`` never carries a password.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lares.cli import app
from lares.commands.options import Shared, load_blueprint, print_and_exit, printer, uses

if TYPE_CHECKING:
    from lares.output import Out
    from lares.recover.kit import Kit
    from lares.recover.model import Report


@app.command("recovery-kit")
@uses("file", "state_dir", "as_json")
def recovery_kit(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the plain-text kit here (0600).")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write a printable page with a QR code here (0600)."),
    ] = None,
    *,
    shared: Shared,
) -> None:
    """What a new machine needs to recover this server: each repository's location and
    password, the names of the backend credentials to keep elsewhere, the host and the date.

    Without --output or --html the kit is printed. Keep it away from the server.
    """
    from lares.errors import UsageError
    from lares.recover import kit as kits
    from lares.secrets import SecretStore
    from lares.state import StateDir

    out = printer(shared.as_json)
    if shared.as_json and output is None and html is None:
        raise UsageError(
            "--json prints no passwords, so it needs --output or --html to write the kit to",
            hint="add --output FILE",
        )
    loaded = load_blueprint(shared.file)
    state = StateDir.open(shared.state_dir)
    store = SecretStore(state.secrets)
    kit = kits.build(loaded.blueprint, store)
    written = kits.save(state, store, kit, text_to=output, html_to=html)
    if shared.as_json:
        out.json({"ok": True, "written": written, "kit": kit.summary()})
        return
    if not written:
        out.line(kits.text(kit))
        return
    out.ok(f"wrote the recovery kit for {kit.host} to {', '.join(written)} (mode 0600)")
    out.line("  print it or keep it in a password manager, away from this server;")
    needs = sorted({f"{v} ({s})" for r in kit.repositories for v, s in r.secret_env.items()})
    if needs:
        out.line("  keep these credentials elsewhere too: " + ", ".join(needs))


@app.command("recover")
@uses("file", "state_dir", "as_json")
def recover_cmd(
    kit: Annotated[
        str | None,
        typer.Option(
            "--kit",
            "-k",
            help="The recovery kit (its text, HTML or JSON form); - reads it from standard "
            "input. Without it, the repository, password and host are asked for.",
        ),
    ] = None,
    repo: Annotated[
        str | None, typer.Option("--repo", "-r", help="Recover from this kit repository only.")
    ] = None,
    only: Annotated[
        str | None, typer.Option("--only", help="Stop after this phase: state, data or up.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Move aside (never delete) what is already in the way, and go on."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Find the state snapshot, say what would happen.")
    ] = False,
    app_id: Annotated[
        str | None,
        typer.Option(
            "--app",
            help="Only this app, on this running server (no kit): its files and databases "
            "back as they were, what is there moved aside.",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="With --app: the newest snapshots taken by this date/time."),
    ] = None,
    *,
    shared: Shared,
) -> None:
    """Rebuild this server on a new machine from its backups: lares's state, every app's files
    and databases, the stacks, then the restore drill. Re-run it to continue after an
    interruption. With --app, put one broken app back on a running server.

    Exits 1 when the recovery is done but its drill found an app that did not come back.
    """
    from lares.recover import kit as kits
    from lares.recover.recover import recover
    from lares.state import default_root

    out = printer(shared.as_json)
    if app_id is not None:
        _recover_app(out, app_id, at, shared, repo)
        return
    the_kit = _typed_kit() if kit is None else kits.read(kit)
    report = recover(
        the_kit,
        state_root=shared.state_dir or default_root(),
        only=only,
        force=force,
        dry_run=dry_run,
        repo=repo,
        progress=(lambda _: None) if shared.as_json else out.line,
    )
    print_and_exit(out, report, lambda out, report: _recovered(out, report, dry_run=dry_run))


def _recovered(out: Out, report: Report, *, dry_run: bool) -> None:
    for line in report.planned:
        out.line(f"would {line}")
    for step in report.steps:
        if step.skipped:
            out.line(
                f"{step.phase}: {step.app + ' ' if step.app else ''}{step.what}: {step.skipped}"
            )
    for warning in report.warnings:
        out.warn(warning)
    for result in report.drill:
        if not result.get("ok"):
            out.fail(f"drill: {result.get('app')}: {result.get('error') or 'differs'}")
    if not dry_run:
        out.ok(
            f"recovered {', '.join(report.done)} of {report.host} from {report.repo} "
            f"in {report.seconds:.1f} s"
        )


def _typed_kit() -> Kit:
    from datetime import UTC, datetime

    from lares.recover.kit import Kit, KitRepo

    host = typer.prompt("host name (as on the kit)")
    url = typer.prompt("repository location")
    password = typer.prompt("repository password", hide_input=True)
    return Kit(host, datetime.now(UTC), (KitRepo("typed", url, password),))


def _recover_app(
    out: Out,
    app_id: str,
    at: str | None,
    shared: Shared,
    repo: str | None,
) -> None:
    from datetime import datetime

    from lares.backup import open_context
    from lares.backup.drill import drill_repo
    from lares.errors import UsageError
    from lares.recover.app import recover_app

    ctx = open_context(load_blueprint(shared.file), shared.state_dir)
    when = None
    if at is not None:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise UsageError(
                f"--at {at!r} is not a date", hint="write it as 2026-11-30 or 2026-11-30T03:00"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=ctx.tz)
    report = recover_app(
        ctx,
        app_id,
        repo=drill_repo(ctx, repo),
        at=when,
        progress=(lambda _: None) if out.as_json else out.line,
    )
    if out.as_json:
        out.json(report.to_dict())
        return
    for warning in report.warnings:
        out.warn(warning)
    out.ok(f"{app_id} restored from {report.repo} in {report.seconds:.1f} s")


@app.command("runbook")
@uses("file", "state_dir")
def runbook_cmd(
    scenario: Annotated[
        str | None,
        typer.Argument(help="app, drive, os-disk, machine or offsite (default: all of them)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the Markdown here.")
    ] = None,
    *,
    shared: Shared,
) -> None:
    """The recovery runbook of this system, in Markdown: what to type when an app breaks, a
    drive fails, the OS disk or the whole machine is lost, or the offsite provider goes."""
    from lares.blueprint.load import REFERENCE_NAME
    from lares.errors import UsageError
    from lares.fsutil import atomic_write
    from lares.plan import make_context
    from lares.recover import runbook
    from lares.state import StateDir

    if scenario is not None and scenario not in runbook.SCENARIOS:
        raise UsageError(
            f"there is no runbook {scenario!r}",
            hint="the scenarios: " + ", ".join(runbook.SCENARIOS),
        )
    loaded = load_blueprint(shared.file)
    state = StateDir.open(shared.state_dir)
    facts = runbook.facts_from(
        state.read_json("backup/drills.json", {}) or {}, state.read_json("recovery.json", {}) or {}
    )
    where = runbook.Where(
        "lares.yaml" if loaded.filename == REFERENCE_NAME else str(Path(loaded.filename).resolve()),
        str(state.root),
    )
    text = runbook.render(make_context(loaded).system, where, facts, scenario)
    out = printer(False)
    if output is None:
        out.line(text.rstrip("\n"))
        return
    atomic_write(output, text, mode=0o644)
    out.ok(f"wrote the runbook to {output}")
