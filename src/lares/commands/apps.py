"""`lares apps`: the apps lares knows."""

from __future__ import annotations

from lares.cli import app
from lares.commands.options import Shared, load_blueprint, printer, uses


@app.command("apps")
@uses("file", "as_json")
def apps_cmd(*, shared: Shared) -> None:
    """List the apps lares knows (the catalog, plus the blueprint's own folders)."""
    from lares.plan import catalog_for
    from lares.report import catalog_report

    loaded = load_blueprint(shared.file)
    catalog_report(printer(shared.as_json), catalog_for(loaded), loaded.blueprint)
