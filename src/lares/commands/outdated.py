"""`lares outdated`: which pinned images have newer versions, and which tags moved."""

from __future__ import annotations

from typing import Annotated

import typer

from lares.cli import FileOpt, JsonOpt, _load, _out, app


@app.command()
def outdated(
    apps: Annotated[list[str] | None, typer.Argument(help="Only these apps.")] = None,
    file: FileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask each image's registry for newer tags of the same scheme and variant.

    patch, minor and major are the newest tag of each step; "tag moved" means the registry now
    serves another digest for the pinned tag than lares.lock records. A registry that cannot be
    reached is reported, and the others are still asked. Exits 0 either way: outdated is a report.
    """
    from lares.output import table
    from lares.plan import make_context
    from lares.update.lock import Lock
    from lares.update.outdated import outdated as ask
    from lares.update.versions import LEVELS

    loaded = _load(file)
    ctx = make_context(loaded)
    out = _out(as_json)
    report = ask(ctx.system, Lock.beside(loaded.base_dir), only=apps or ())
    if as_json:
        out.json(report.to_dict())
        return
    t = table("image", "patch", "minor", "major", "note")
    for row in report.rows:
        if row.error:
            t.add_row(row.image, "?", "?", "?", f"unreachable: {row.error}")
            continue
        steps = [row.newer.at(level) or "" if row.newer else "" for level in LEVELS]
        notes = ["tag moved" if row.moved else "", "not a version tag" if row.unversioned else ""]
        t.add_row(row.image, *steps, ", ".join(filter(None, notes)))
    out.table(t)
    out.line(
        f"{len(report.outdated)} of {len(report.rows)} images have newer versions"
        + (f"; {len(report.moved)} tags moved" if report.moved else "")
        + (f"; {len(report.errors)} registries not reached" if report.errors else "")
    )
