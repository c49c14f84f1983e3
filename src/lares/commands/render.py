"""`lares render`: write the Compose stacks and configuration into a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lares.cli import app
from lares.commands.options import Shared, TargetOpt, load_blueprint, printer, uses
from lares.errors import Failed


@app.command()
@uses("file", "as_json")
def render(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write into.")],
    force: Annotated[
        bool, typer.Option("--force", help="Render even when the plan has errors.")
    ] = False,
    target: TargetOpt = "home",
    *,
    shared: Shared,
) -> None:
    """Render the Compose stacks and configuration into a folder (secrets generated once)."""
    loaded = load_blueprint(shared.file)
    from lares.deploy.files import write_bundle
    from lares.plan import plan as run_plan
    from lares.render import render_all
    from lares.text import counted

    result = run_plan(loaded, target=target)
    out = printer(shared.as_json)
    if result.errors and not force:
        from lares.report import findings_report

        findings_report(out, result.errors)
        raise Failed(
            f"{counted(len(result.errors), 'error')} in the plan; nothing was written",
            hint="fix them (see `lares plan`), or pass --force",
            errors=[f.to_dict() for f in result.errors],
        )
    bundle = render_all(result.system, source=loaded.source_name, target=target)
    written = write_bundle(bundle, output)
    if shared.as_json:
        out.json(
            {
                "output": str(output),
                "files": sorted(written.files),
                "secrets_created": written.created,
                "secrets_missing": written.missing,
            }
        )
        return
    out.ok(
        f"wrote {counted(len(written.files), 'file')} to {output}"
        + (f"; generated {counted(len(written.created), 'new secret')}" if written.created else "")
    )
    for path in sorted(written.files):
        out.line(f"  {path}")
    if written.missing:
        out.warn(
            "these secrets are yours to provide (`lares secret set NAME`): "
            + ", ".join(written.missing)
        )
