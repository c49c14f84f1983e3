"""``lares recovery-kit`` and ``lares recover``: the server lost, rebuilt from its backups.

Thin layers over :mod:`lares.recover`. The kit command prints the kit itself (that is its
purpose) unless told where to write it; ``--json`` never carries a password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lares.cli import FileOpt, JsonOpt, StateOpt, app


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
