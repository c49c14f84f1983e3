"""``lares recover --app APP``: one broken app on a running server, back as it was at a date.

The same steps as the data phase of a whole recovery (:mod:`lares.recover.recover`), for one
app and from the server's own state: its containers are stopped; each backed-up folder and each
database server's data folder is moved aside to ``<folder>.before-recover-<time>`` (never
deleted: what was there stays for a look); the newest snapshots taken at or before ``at`` are
restored, each database server is started empty and its dump loaded, SQLite files written back;
then the app's containers are started again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lares.errors import UsageError
from lares.recover.data import (
    AppPlan,
    load_database,
    plan_data,
    reset_database,
    restore_files,
    start_databases,
)
from lares.recover.model import Journal, RecoverError, Report, Step, aside, occupied, size_text


class _Once(Journal):
    """A journal kept in memory: one app's restore is short and starts over when interrupted."""

    def __init__(self) -> None:
        self.data = {"done": []}

    def save(self) -> None:
        pass


def recover_app(
    ctx: Any,
    app: str,
    *,
    repo: str,
    at: datetime | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Report:
    """Restore ``app``'s files and databases from ``repo`` as they were at ``at`` (default:
    the newest snapshots) and start it again. Raises UsageError for an app without a backup
    spec, RecoverError when it has no snapshot that old."""
    from lares.deploy import engine

    started = time.monotonic()
    views = {a.id: a for a in ctx.apps()}
    if app not in views:
        raise UsageError(
            f"there is no enabled app {app!r} with a backup spec",
            hint="apps with backups: " + ", ".join(sorted(views)),
        )
    view = views[app]
    restic = ctx.restic(repo)
    snapshots = restic.snapshots(host=ctx.host, tags=["lares", f"app:{app}"])
    if at is not None:
        snapshots = [s for s in snapshots if s.time <= at]
    (plan,) = [p for p in plan_data(ctx, snapshots, repo) if p.app == app]
    if plan.missing:
        when = f" taken by {at.isoformat(timespec='minutes')}" if at else ""
        raise RecoverError(
            f"{app} has no snapshot{when} of: "
            + ", ".join(m.split(": ", 1)[1] for m in plan.missing),
            hint=f"`lares backup list --repo {repo}` shows what there is",
        )
    report = Report(ctx.host, repo=repo)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    compose_file = ctx.state.live / view.stack / "compose.yaml"
    services = [s.name for s in view.services]
    if compose_file.exists():
        engine.compose(view.stack, compose_file, "stop", *services, what=f"stop {app}")
        progress(f"{app}: stopped {', '.join(services)}")
    for d in plan.databases:
        if d.engine != "sqlite":
            report.warnings += reset_database(ctx, d, stamp)
    if plan.files is not None:
        for _, live in plan.files.paths:
            if occupied(Path(live)):
                moved = aside(Path(live), stamp)
                report.warnings.append(f"moved {live} aside to {moved}")
        t0 = time.monotonic()
        _, size = restore_files(restic, plan.files, _Once(), stamp=stamp)
        report.steps.append(Step("data", "files", app, size, time.monotonic() - t0))
        progress(f"{app}: files of {plan.files.snapshot.time:%Y-%m-%d %H:%M}, {size_text(size)}")
    start_databases(ctx, [AppPlan(app, view.stack, None, plan.databases, ())], progress)
    for d in plan.databases:
        t0 = time.monotonic()
        size = load_database(ctx, restic, d)
        report.steps.append(Step("data", f"database {d.key}", app, size, time.monotonic() - t0))
        progress(f"{app}: database {d.key} of {d.snapshot.time:%Y-%m-%d %H:%M}, {size_text(size)}")
    if compose_file.exists():
        engine.compose(
            view.stack,
            compose_file,
            "up",
            "--detach",
            "--wait",
            "--no-deps",
            *services,
            what=f"start {app}",
        )
        progress(f"{app}: started")
    report.done = ("data", "up")
    report.seconds = time.monotonic() - started
    return report
