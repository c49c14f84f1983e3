"""`lares secret list` and `lares secret set`: the secret values lares keeps, by name only."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from lares.cli import FileOpt, JsonOpt, StateOpt, _load, _out, app

secret_app = typer.Typer(help="Secrets: list them (never their values) or provide one.")
app.add_typer(secret_app, name="secret")


@secret_app.command("list")
def list_secrets(
    file: FileOpt = None, state_dir: StateOpt = None, as_json: JsonOpt = False
) -> None:
    """Every secret the blueprint's apps use: who provides it and whether it is set."""
    from lares.catalog.resolve import secret_id
    from lares.deploy.secrets import SecretStore
    from lares.output import table
    from lares.plan import make_context
    from lares.state import StateDir

    loaded = _load(file)
    ctx = make_context(loaded)
    store = SecretStore(StateDir.open(state_dir).secrets)
    rows = []
    for view in ctx.system.apps:
        for name, spec in view.app.secrets.items():
            sid = secret_id(view.id, name)
            rows.append(
                {
                    "secret": sid,
                    "app": view.id,
                    "provided_by": "you" if spec.provided else "lares",
                    "set": store.exists(sid),
                    "description": spec.description or "",
                }
            )
    out = _out(as_json)
    if as_json:
        out.json(rows)
        return
    t = table("secret", "app", "provided by", "set", "description")
    for r in rows:
        t.add_row(
            str(r["secret"]),
            str(r["app"]),
            str(r["provided_by"]),
            "yes" if r["set"] else "no",
            str(r["description"]),
        )
    out.table(t)


@secret_app.command("set")
def set_secret(
    name: Annotated[str, typer.Argument(help="The secret's name, as `lares secret list` shows.")],
    file: FileOpt = None,
    state_dir: StateOpt = None,
) -> None:
    """Store a secret's value, read from stdin (or asked for without echo on a terminal)."""
    from lares.catalog.resolve import secret_id
    from lares.deploy.secrets import SecretStore
    from lares.errors import UsageError
    from lares.plan import make_context
    from lares.state import StateDir

    ctx = make_context(_load(file))
    known = {secret_id(v.id, n) for v in ctx.system.apps for n in v.app.secrets}
    known |= {f"restic_{r}" for r in ctx.blueprint.backup.repositories}
    known |= {n.secret for n in ctx.blueprint.monitor.notify if n.secret}
    if name not in known:
        raise UsageError(f"no secret named {name}", hint="see `lares secret list` for the names")
    if sys.stdin.isatty():
        value = typer.prompt(f"value for {name}", hide_input=True)
    else:
        value = sys.stdin.read().strip("\n")
    if not value:
        raise UsageError("the value is empty; nothing was stored")
    SecretStore(StateDir.open(state_dir).secrets).set(name, value)
    _out(False).ok(f"stored {name}")
