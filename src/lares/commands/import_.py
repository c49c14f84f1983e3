"""`lares import`: adopt a compose homelab run by hand (files, folders or the running engine)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lares.cli import app
from lares.commands.options import Shared, printer, uses
from lares.errors import UsageError

if TYPE_CHECKING:
    from lares.importer.actions import ImportReport
    from lares.output import Out


@app.command("import")
@uses("state_dir", "as_json")
def import_cmd(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Compose files, project folders, or folders of project folders.",
            show_default=False,
        ),
    ] = None,
    running: Annotated[
        bool,
        typer.Option(
            "--running",
            help="Import the compose projects the engine's containers were started from.",
        ),
    ] = False,
    project: Annotated[
        list[str] | None,
        typer.Option("--project", "-p", help="With --running: only this project (repeat it)."),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Where lares.yaml, catalog/ and review/ go."),
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing lares.yaml and secrets.")
    ] = False,
    *,
    shared: Shared,
) -> None:
    """Turn compose projects into a blueprint: each service a catalog app (or a custom app file),
    literal passwords lares secrets with the same value, and the proof: each service next to
    what lares renders, and the audit before and after. Nothing is deployed."""
    from lares.importer.actions import import_projects
    from lares.state import StateDir

    if bool(paths) == running:
        raise UsageError(
            "give compose files or folders, or --running (one of the two)",
            hint="lares import ./stacks -o ./homelab, or lares import --running -o ./homelab",
        )
    secrets = StateDir.open(shared.state_dir).secrets
    if project and not running:
        raise UsageError("--project chooses among the running projects", hint="add --running")
    report = import_projects(
        paths or [], output, running=running, only=project or (), force=force, secrets_dir=secrets
    )
    out = printer(shared.as_json)
    if shared.as_json:
        out.json(report.to_dict())
    else:
        _print(out, report)
    raise typer.Exit(1 if report.plan_errors else 0)


def _print(out: Out, report: ImportReport) -> None:
    c = out.console
    c.print(
        f"lares import: {len(report.sources)} projects, {report.services} services, "
        f"{report.mapped} mapped",
        style="bold",
        markup=False,
        highlight=False,
    )
    for a in report.apps:
        kind = "catalog" if a.catalog else "custom"
        services = ", ".join(f"{s}→{k}" for k, s in a.services.items())
        c.print(f"\n{a.id} ({kind}, stack {a.stack}): {services}", markup=False, highlight=False)
        if a.secrets:
            c.print(f"  secrets (same values): {', '.join(sorted(a.secrets))}", markup=False)
    for trip in report.trips:
        c.print(f"\n{trip.project}/{trip.service} → {trip.rendered}", style="bold", markup=False)
        for f in trip.fields:
            why = f": {f.why}" if f.why else ""
            c.print(f"  {f.name:<12} {f.status}{why}", markup=False, highlight=False)
        if trip.hardening:
            c.print(f"  hardening    {'; '.join(trip.hardening)}", markup=False, highlight=False)
    for line in report.findings:
        out.warn(line)
    for line in report.review:
        out.warn(f"not imported: {line}")
    for line in report.plan_errors:
        out.fail(line)
    before = sum(report.audit_before.values())
    after = sum(report.audit_after.values())
    c.print(
        f"\naudit: {before} findings before, {after} after; wrote "
        f"{', '.join(report.written) or 'nothing'} in {report.output}",
        markup=False,
        highlight=False,
    )
