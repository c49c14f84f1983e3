"""`lares apps`: the apps lares knows."""

from __future__ import annotations

from lares.cli import app
from lares.commands.options import FileOpt, JsonOpt, load_blueprint, printer


@app.command("apps")
def apps_cmd(file: FileOpt = None, as_json: JsonOpt = False) -> None:
    """List the apps lares knows (the catalog, plus the blueprint's own folders)."""
    from lares.plan import catalog_for
    from lares.report import catalog_report

    loaded = load_blueprint(file)
    catalog_report(printer(as_json), catalog_for(loaded), loaded.blueprint)
