"""`lares outdated` and `lares update`: newer versions, moved tags, and safe updates."""

from __future__ import annotations

from typing import Annotated

import typer

from lares.cli import app
from lares.commands.options import Shared, load_blueprint, printer, uses
from lares.update.versions import Level


@app.command()
@uses("file", "as_json")
def outdated(
    apps: Annotated[list[str] | None, typer.Argument(help="Only these apps.")] = None,
    *,
    shared: Shared,
) -> None:
    """Ask each image's registry for newer tags of the same scheme and variant.

    patch, minor and major are the newest tag of each step; "tag moved" means the registry now
    serves another digest for the pinned tag than lares.lock records; "built" is how long ago
    the pinned version was built, flagged when older than updates.max_age. A registry that
    cannot be reached is reported, and the others are still asked. Exits 0 either way:
    outdated is a report.
    """
    from lares.blueprint.model import Updates
    from lares.output import table
    from lares.plan import make_context
    from lares.update.age import today
    from lares.update.lock import Lock
    from lares.update.outdated import outdated as ask
    from lares.update.versions import LEVELS

    loaded = load_blueprint(shared.file)
    ctx = make_context(loaded)
    out = printer(shared.as_json)
    max_age = (loaded.blueprint.updates or Updates()).max_age
    lock = Lock.beside(loaded.base_dir)
    report = ask(ctx.system, lock, only=apps or (), max_age=max_age, today=today())
    if shared.as_json:
        out.json(report.to_dict())
        return
    t = table("image", "built", "patch", "minor", "major", "note")
    for row in report.rows:
        if row.error:
            t.add_row(row.image, "?", "?", "?", "?", f"unreachable: {row.error}")
            continue
        steps = [row.newer.at(level) or "" if row.newer else "" for level in LEVELS]
        notes = [
            f"older than {max_age}" if row.too_old else "",
            "tag moved" if row.moved else "",
            "not a version tag" if row.unversioned else "",
        ]
        built = f"{row.age} ago" if row.age else ""
        t.add_row(row.image, built, *steps, ", ".join(filter(None, notes)))
    out.table(t)
    for row in report.rows:
        for tag, url in row.notes.items():
            out.line(f"release notes of {row.image.rsplit(':', 1)[0]}:{tag}: {url}")
    out.line(
        f"{len(report.outdated)} of {len(report.rows)} images have newer versions"
        + (f"; {len(report.too_old)} built over {max_age} ago" if report.too_old else "")
        + (f"; {len(report.moved)} tags moved" if report.moved else "")
        + (f"; {len(report.errors)} registries not reached" if report.errors else "")
    )


@app.command()
@uses("file", "state_dir", "as_json")
def update(
    apps: Annotated[
        list[str] | None, typer.Argument(help="The apps to update (default: every app).")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", metavar="VERSION", help="This version (one app).")
    ] = None,
    major: Annotated[bool, typer.Option("--major", help="Allow a major version step.")] = False,
    level: Annotated[
        Level, typer.Option("--level", help="The biggest step without --to: patch or minor.")
    ] = "minor",
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", metavar="APP", help="Not this app (repeatable)."),
    ] = None,
    scheduled: Annotated[
        bool,
        typer.Option(
            "--scheduled", help="As the updates: section says (its level, its exclusions)."
        ),
    ] = False,
    *,
    shared: Shared,
) -> None:
    """Back each app up, move it to a newer version, and prove it healthy — or put it back.

    Without --to, the newest patch or minor version of the same scheme; a major step only with
    --major. A version that does not come up healthy is replaced by the one before, and its
    databases are loaded back from the dump taken just before (migrations are one-way). The
    version chosen is pinned in lares.lock. Exits 1 when an app was not updated.
    """
    from lares.errors import UsageError
    from lares.state import StateDir
    from lares.update.update import update as run_update

    out = printer(shared.as_json)
    loaded = load_blueprint(shared.file)
    if level == "major":
        raise UsageError("--level major: use --major, which a scheduled update never takes")
    report = run_update(
        loaded,
        StateDir.open(shared.state_dir),
        apps or [],
        to=to,
        major=major,
        level=level,
        exclude=exclude or (),
        scheduled=scheduled,
        progress=out.line,
    )
    if shared.as_json:
        out.json(report.to_dict())
    else:
        for a in report.apps:
            step = f"{a.current} → {a.target}" if a.target else a.current
            line = f"{a.app}: {a.result} ({step})" + (f": {a.why}" if a.why else "")
            if a.result in ("updated", "up-to-date"):
                out.ok(line)
            else:
                out.warn(line)
            if a.release_notes:
                out.line(f"  release notes of {a.target}: {a.release_notes}")
    if not report.ok:
        raise typer.Exit(1)
