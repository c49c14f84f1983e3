"""``lares backup restore --into-db``: load a database snapshot back into the app's own database.

The dump is streamed from restic straight into the database (``psql`` or ``mariadb`` in the app's
running container, a checked copy moved over the SQLite file), never written to disk in plain
text on the way; a password reaches the client through its environment, never argv. While it
loads, the app's other containers are stopped, so nothing writes to a half-loaded database (for
SQLite, the container that has the file open too); they are started again afterwards, whether
the load worked or not.

:func:`find` says what would be replaced, so the command can ask first; :func:`load` does it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from lares import run
from lares.backup import BackupContext, hooks
from lares.backup.command import environment
from lares.backup.drill import restore_dump, wait_ready
from lares.backup.jobs import DATABASE
from lares.catalog.model import DatabaseBackup
from lares.catalog.resolve import AppView, Service, secret_id
from lares.errors import LaresError, UsageError


@dataclass(frozen=True)
class Target:
    """A database snapshot and the running database it would replace."""

    repo: str
    snapshot: Any  # restic.Snapshot
    app: AppView
    db: DatabaseBackup
    key: str
    service: Service

    def describe(self) -> str:
        when = self.snapshot.time.strftime("%Y-%m-%d %H:%M")
        return (
            f"the {self.db.engine} database {self.key} of {self.app.id} (container "
            f"{self.service.name}) with snapshot {self.snapshot.short_id} of {when} from "
            f"{self.repo}"
        )


@dataclass
class Loaded:
    target: Target
    sha256_ok: bool | None = None
    tables: int = 0
    stopped: list[str] = field(default_factory=list)
    size: int = 0  # bytes of the dump

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "ok": True,
            "repo": t.repo,
            "snapshot": t.snapshot.short_id,
            "app": t.app.id,
            "database": t.key,
            "engine": t.db.engine,
            "container": t.service.name,
            "sha256_ok": self.sha256_ok,
            "tables": self.tables,
            "stopped_meanwhile": self.stopped,
        }


def find(ctx: BackupContext, repo: str, snapshot: str, app: str | None = None) -> Target:
    """The database snapshot ``snapshot`` (an id, or ``latest`` with ``app``) and what it goes
    back into; raises UsageError when it is not a database snapshot of an app of the blueprint."""
    restic = ctx.restic(repo)
    snaps = [
        s for s in restic.snapshots(host=ctx.host, tags=["lares"]) if s.tag("kind") == DATABASE
    ]
    if snapshot == "latest":
        if app is None:
            raise UsageError(
                "--into-db with latest needs --app: which app's database to replace",
                hint="or give a snapshot id, as `lares backup list` shows",
            )
        mine = [s for s in snaps if s.tag("app") == app]
        keys = sorted({str(s.tag("db")) for s in mine})
        if len(keys) > 1:
            raise UsageError(
                f"{app} has several databases ({', '.join(keys)}); give the snapshot id",
                hint="`lares backup list` shows each database's snapshots",
            )
        chosen = mine[-1] if mine else None
    else:
        chosen = next((s for s in snaps if s.matches(snapshot)), None)
    if chosen is None:
        raise UsageError(
            f"no database snapshot {snapshot}"
            + (f" of {app}" if app else "")
            + f" in repository {repo}",
            hint="`lares backup list` shows the snapshots; files go back with --target",
        )
    view = next((a for a in ctx.apps() if a.id == chosen.tag("app")), None)
    spec = view.app.backup if view is not None else None
    db = (
        next((d for d in spec.databases if spec.key(d) == chosen.tag("db")), None) if spec else None
    )
    if view is None or spec is None or db is None:
        raise UsageError(
            f"snapshot {chosen.short_id} is of {chosen.tag('app')} · {chosen.tag('db')}, "
            "which the blueprint no longer backs up",
            hint="restore it as a file with --target and load it by hand",
        )
    service = next(s for s in view.services if s.key == db.container)
    return Target(repo, chosen, view, db, spec.key(db), service)


READY_SECONDS = 120.0  # a database container just started (a recovery) gets to take connections


def _not_ready(container: str) -> LaresError:
    return LaresError(
        f"the database container {container} did not become ready within {READY_SECONDS:g} s",
        hint=f"docker logs {container}",
        code="restore",
    )


def _running(name: str) -> bool:
    result = run.run(
        ["docker", "inspect", "--format", "{{.State.Running}}", name], check=False, timeout=30
    )
    return result.ok and result.stdout.strip() == "true"


def load(ctx: BackupContext, target: Target, *, progress: Callable[[str], None]) -> Loaded:
    """Replace the target's database with its snapshot (see the module docstring).

    Raises LaresError when the database container is not running (PostgreSQL, MariaDB) or the
    load fails; the containers stopped for it are started again either way.
    """
    hook = hooks.database(target.db.engine)
    db, service = target.db, target.service
    password = secret_id(target.app.id, db.password_secret) if db.password_secret else None
    plan = hook.load(hooks.Instance(db, service.name, service.image, password, service.volumes))
    if not plan.stop_database and not _running(service.name):
        raise LaresError(
            f"the database container {service.name} is not running; nothing was changed",
            hint="start it (`lares up`) and try again",
            code="restore",
        )
    if plan.ready is not None and not plan.stop_database:
        wait_ready(plan.ready, seconds=READY_SECONDS, error=partial(_not_ready, service.name))
    env, secrets = environment(plan.restore, ctx.store.read)
    restic = ctx.restic(target.repo)
    meta = ctx.records.good_meta(target.repo, target.snapshot.id) or {}
    filename = target.snapshot.paths[0] if target.snapshot.paths else f"/{meta.get('filename', '')}"
    result = Loaded(target)
    others = [s.name for s in target.app.services if plan.stop_database or s is not service]
    try:
        for name in others:
            if _running(name):
                run.run(["docker", "stop", name], what=f"stop {name}", timeout=120)
                result.stopped.append(name)
                progress(f"stopped {name}")
        if plan.cleanup is not None:
            plan.cleanup()
        progress(f"loading snapshot {target.snapshot.short_id} into {service.name} …")
        restored = restore_dump(
            restic,
            target.snapshot,
            filename,
            plan.restore,
            hook,
            env=env,
            secrets=secrets,
            rewrite=plan.rewrite,
        )
        if plan.finish is not None:
            plan.finish()
        recorded = meta.get("sha256")
        result.sha256_ok = None if recorded is None else recorded == restored.sha256
        result.tables = len(restored.facts.tables)
        result.size = restored.size
    finally:
        if plan.cleanup is not None:
            plan.cleanup()
        for name in result.stopped:
            run.run(["docker", "start", name], what=f"start {name}", timeout=120, check=False)
            progress(f"started {name}")
    return result
