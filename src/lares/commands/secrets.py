"""`lares secret list` and `lares secret set`: the secret values lares keeps, by name only."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from lares.cli import app
from lares.commands.options import Shared, group, load_blueprint, printer, uses

if TYPE_CHECKING:
    from lares.blueprint.model import Blueprint

secret_app = group("secret", "Secrets: list them (never their values) or provide one.")
app.add_typer(secret_app, name="secret")


def backup_secrets(blueprint: Blueprint) -> list[dict[str, object]]:
    """The secrets of the backup repositories: each password (made by `lares backup init`)
    and each secret of a repository's ``secret_env`` (yours to set), once per name."""
    from lares.backup import password_secret

    repos = blueprint.backup.repositories
    rows: list[dict[str, object]] = [
        {
            "secret": password_secret(name),
            "app": "backup",
            "provided_by": "lares",
            "description": f"restic password of repository {name}",
        }
        for name in repos
    ]
    readers: dict[str, list[str]] = {}
    for name, repo in repos.items():
        for var, sid in sorted(repo.secret_env.items()):
            readers.setdefault(sid, []).append(f"{var} of repository {name}")
    rows += [
        {"secret": sid, "app": "backup", "provided_by": "you", "description": ", ".join(used)}
        for sid, used in readers.items()
    ]
    return rows


@secret_app.command("list")
@uses("file", "state_dir", "as_json")
def list_secrets(*, shared: Shared) -> None:
    """Every secret the blueprint's apps and backup repositories use: who provides it and
    whether it is set."""
    from lares.catalog.resolve import secret_id
    from lares.output import table
    from lares.plan import make_context
    from lares.secrets import SecretStore
    from lares.state import StateDir

    loaded = load_blueprint(shared.file)
    ctx = make_context(loaded)
    store = SecretStore(StateDir.open(shared.state_dir).secrets)
    rows: list[dict[str, object]] = []
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
    rows += [
        {**row, "set": store.exists(str(row["secret"]))} for row in backup_secrets(ctx.blueprint)
    ]
    out = printer(shared.as_json)
    if shared.as_json:
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
@uses("file", "state_dir")
def set_secret(
    name: Annotated[str, typer.Argument(help="The secret's name, as `lares secret list` shows.")],
    *,
    shared: Shared,
) -> None:
    """Store a secret's value, read from stdin (or asked for without echo on a terminal)."""
    from lares.catalog.resolve import secret_id
    from lares.errors import UsageError
    from lares.plan import make_context
    from lares.secrets import SecretStore
    from lares.state import StateDir

    ctx = make_context(load_blueprint(shared.file))
    known = {secret_id(v.id, n) for v in ctx.system.apps for n in v.app.secrets}
    known |= {str(row["secret"]) for row in backup_secrets(ctx.blueprint)}
    known |= {n.secret for n in ctx.blueprint.monitor.notify if n.secret}
    if name not in known:
        raise UsageError(f"no secret named {name}", hint="see `lares secret list` for the names")
    if sys.stdin.isatty():
        value = typer.prompt(f"value for {name}", hide_input=True)
    else:
        value = sys.stdin.read().strip("\n")
    if not value:
        raise UsageError("the value is empty; nothing was stored")
    SecretStore(StateDir.open(shared.state_dir).secrets).set(name, value)
    printer(False).ok(f"stored {name}")
