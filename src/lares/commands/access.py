"""Reaching the services: `lares ca export` and `lares public`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lares.cli import app
from lares.commands.options import Shared, group, load_blueprint, printer, uses
from lares.errors import LaresError

ca = group("ca", "The LAN proxy's certificate authority.")
app.add_typer(ca, name="ca")


class CertificateMissing(LaresError):
    code = "ca-missing"


@ca.command("export")
@uses("file")
def ca_export(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="Read the root certificate from this file instead of Caddy's data."
        ),
    ] = None,
    *,
    shared: Shared,
) -> None:
    """Print the root certificate of Caddy's internal CA, for your devices to trust."""
    from lares.plan import make_context
    from lares.render.proxy import root_certificate_path

    if source is None:
        source = Path(root_certificate_path(make_context(load_blueprint(shared.file)).system))
    try:
        text = source.read_text(encoding="ascii")
    except FileNotFoundError as exc:
        raise CertificateMissing(
            f"there is no root certificate at {source}",
            hint="Caddy creates its CA when it first starts: run `lares up`, then try again "
            "(or give the file with --from)",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CertificateMissing(
            f"cannot read the root certificate at {source}: {exc}",
            hint="run it as a user who may read Caddy's data folder (root)",
        ) from exc
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise CertificateMissing(
            f"{source} holds no PEM certificate",
            hint="give Caddy's root.crt (pki/authorities/local/root.crt) with --from",
        )
    typer.echo(text if text.endswith("\n") else text + "\n", nl=False)


def _applied_blueprint(state_dir: Path | None, stack: str, path: str) -> object | None:
    """The Pangolin blueprint the last apply of ``stack`` recorded, parsed (None if none)."""
    from lares.deploy import record
    from lares.state import StateDir, default_root
    from lares.yamlio import safe_load

    root = state_dir or default_root()
    if not root.is_dir():
        return None
    state = StateDir(root)
    rec = record.load(state, stack)
    if rec is None:
        return None
    text = record.revision_files(state, stack, rec.revision).get(path)
    return safe_load(text) if text else None


@app.command("public")
@uses("file", "state_dir", "as_json")
def public_cmd(*, shared: Shared) -> None:
    """Show what the tunnel publishes, and resources an earlier apply published that are gone
    from the blueprint (Pangolin keeps them until you remove them)."""
    from lares.catalog.web import public_resources
    from lares.plan import make_context
    from lares.render.tunnel import blueprint_path, removed

    system = make_context(load_blueprint(shared.file)).system
    resources = public_resources(system)
    bp_path = blueprint_path(system)
    stack, _, rel = bp_path.partition("/")
    applied = _applied_blueprint(shared.state_dir, stack, rel) if rel else None
    gone = removed(system, applied) if applied is not None else {}
    out = printer(shared.as_json)
    if shared.as_json:
        out.json(
            {
                "public": [
                    {
                        "app": r.app,
                        "url": r.url,
                        "target": f"{r.method}://{r.hostname}:{r.port}",
                        "site": r.site,
                        "sso": r.sso,
                    }
                    for r in resources
                ],
                "remove": [{"resource": k, "domain": v} for k, v in sorted(gone.items())],
                "compared_with_applied": applied is not None,
            }
        )
        return
    from lares.output import table

    if not resources:
        out.line("Nothing is public: no app has exposure public.")
    else:
        out.heading(f"Public through the tunnel ({len(resources)})")
        t = table("app", "URL", "target", "SSO")
        for r in resources:
            t.add_row(r.app, r.url, f"{r.method}://{r.hostname}:{r.port}", "yes" if r.sso else "NO")
        out.table(t)
    if gone:
        out.heading("Still published in Pangolin, gone from the blueprint: remove them")
        for key, domain in sorted(gone.items()):
            out.line(f"  {key}  https://{domain}", style="yellow")
        out.line("  (Pangolin dashboard > Resources: delete each one)", style="dim")
    elif applied is None:
        out.line("(no applied Pangolin blueprint to compare with yet)", style="dim")
