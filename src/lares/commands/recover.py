"""``lares recovery-kit`` and ``lares recover``: the server lost, rebuilt from its backups.

Thin layers over :mod:`lares.recover`. The kit command prints the kit itself (that is its
purpose) unless told where to write it; ``--json`` never carries a password.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lares.cli import FileOpt, JsonOpt, StateOpt, app

if TYPE_CHECKING:
    from lares.recover.kit import Kit


@app.command("recovery-kit")
def recovery_kit(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the plain-text kit here (0600).")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write a printable page with a QR code here (0600)."),
    ] = None,
    file: FileOpt = None,
    state_dir: StateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What a new machine needs to recover this server: each repository's location and
    password, the names of the backend credentials to keep elsewhere, the host and the date.

    Without --output or --html the kit is printed. Keep it away from the server.
    """
    from lares.blueprint.load import load
    from lares.deploy.secrets import SecretStore
    from lares.fsutil import atomic_write
    from lares.output import Out
    from lares.recover import kit as kits
    from lares.state import StateDir

    out = Out(as_json=as_json)
    if as_json and output is None and html is None:
        out.fail(
            "--json prints no passwords, so it needs --output or --html to write the kit to",
            hint="add --output FILE",
        )
        raise typer.Exit(2)
    loaded = load(file)
    state = StateDir.open(state_dir)
    store = SecretStore(state.secrets)
    kit = kits.build(loaded.blueprint, store)
    written: list[str] = []
    if output is not None:
        atomic_write(output, kits.text(kit), mode=0o600)
        written.append(str(output))
    if html is not None:
        atomic_write(html, kits.html(kit), mode=0o600)
        written.append(str(html))
    kits.remember(state, store, kit, written)
    if as_json:
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
    state_dir: StateOpt = None,
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
    as_json: JsonOpt = False,
) -> None:
    """Rebuild this server on a new machine from its backups: lares's state, every app's files
    and databases, the stacks, then the restore drill. Re-run it to continue after an
    interruption."""
    from lares.output import Out
    from lares.recover import kit as kits
    from lares.recover.recover import recover
    from lares.state import default_root

    out = Out(as_json=as_json)
    the_kit = _typed_kit() if kit is None else kits.read(kit)
    report = recover(
        the_kit,
        state_root=state_dir or default_root(),
        only=only,
        force=force,
        dry_run=dry_run,
        repo=repo,
        progress=(lambda _: None) if as_json else out.line,
    )
    if as_json:
        out.json(report.to_dict())
    else:
        for line in report.planned:
            out.line(f"would {line}")
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
    raise typer.Exit(0 if report.ok else 1)


def _typed_kit() -> Kit:
    from datetime import UTC, datetime

    from lares.recover.kit import Kit, KitRepo

    host = typer.prompt("host name (as on the kit)")
    url = typer.prompt("repository location")
    password = typer.prompt("repository password", hide_input=True)
    return Kit(host, datetime.now(UTC), (KitRepo("typed", url, password),))
