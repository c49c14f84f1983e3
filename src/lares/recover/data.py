"""Phase 2 of ``lares recover`` (and of ``lares recover --app``): each app's files back into
its data folders, then its databases (SQLite files written back; PostgreSQL and MariaDB dumps
loaded into the app's own database container, started alone first)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lares.backup.restic import Restic, ResticError, Snapshot
from lares.backup.selection import newest
from lares.errors import LaresError
from lares.recover.model import DATABASE, FILES, Journal, RecoverError, aside, occupied, put

# ── phase 2: data ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class FilesPlan:
    app: str
    snapshot: Snapshot
    paths: tuple[tuple[str, str], ...]  # (path in the snapshot, live path)


@dataclass(frozen=True)
class DatabasePlan:
    app: str
    key: str  # the database's key in tags (BackupSpec.key)
    engine: str
    snapshot: Snapshot
    filename: str  # the dump's file name in the snapshot
    service: Any  # the container it goes into (catalog Service)
    db: Any  # the catalog DatabaseBackup


@dataclass(frozen=True)
class AppPlan:
    app: str
    stack: str
    files: FilesPlan | None
    databases: tuple[DatabasePlan, ...]
    missing: tuple[str, ...]  # what has no snapshot


def plan_data(ctx: Any, snapshots: Sequence[Snapshot], repo: str) -> list[AppPlan]:
    """Per app with a backup spec, in stack order: its newest files snapshot (and where each
    path goes) and newest database snapshots."""
    bp = ctx.blueprint
    order = {name: i for i, name in enumerate(bp.stack_order())}
    out: list[AppPlan] = []
    for view in sorted(ctx.apps(), key=lambda a: order.get(a.stack, len(order))):
        spec = view.app.backup
        missing: list[str] = []
        files: FilesPlan | None = None
        if spec.paths:
            snap = newest(snapshots, view.id, FILES)
            if snap is None:
                missing.append(f"{view.id}: no files snapshot")
            else:
                meta = ctx.records.good_meta(repo, snap.id) or {}
                live = meta.get("live") or {}
                files = FilesPlan(
                    view.id, snap, tuple((p, str(live.get(p, p))) for p in snap.paths)
                )
        dbs: list[DatabasePlan] = []
        for db in spec.databases:
            key = spec.key(db)
            snap = newest(snapshots, view.id, DATABASE, key)
            if snap is None:
                missing.append(f"{view.id}: no snapshot of database {key}")
                continue
            service = next(s for s in view.services if s.key == db.container)
            filename = snap.paths[0] if snap.paths else ""
            dbs.append(DatabasePlan(view.id, key, db.engine, snap, filename, service, db))
        out.append(AppPlan(view.id, view.stack, files, tuple(dbs), tuple(missing)))
    return out


def busy_paths(plans: Sequence[AppPlan], journal: Journal) -> list[str]:
    """The live folders that hold something and that this recovery has not restored itself."""
    out: list[str] = []
    for p in plans:
        if p.files is None:
            continue
        for _, live in p.files.paths:
            if not journal.has(f"path:{live}") and occupied(Path(live)):
                out.append(live)
    return out


def restore_files(
    restic: Restic, plan: FilesPlan, journal: Journal, *, stamp: str
) -> tuple[int, int]:
    """Restore each path of ``plan`` into place; return (paths restored now, bytes).

    Each path goes through ``.<name>.lares-recover`` beside its live folder (same filesystem,
    so the final step is one rename); a path the journal has is skipped.
    """
    restored = 0
    size = 0
    for inside, live in plan.paths:
        key = f"path:{live}"
        if journal.has(key):
            continue
        dest = Path(live)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.parent / f".{dest.name}.lares-recover"
        shutil.rmtree(staging, ignore_errors=True)
        restic.restore(plan.snapshot.id, staging, include=[inside])
        source = staging / inside.lstrip("/")
        if not source.exists():
            shutil.rmtree(staging, ignore_errors=True)
            raise RecoverError(
                f"snapshot {plan.snapshot.short_id} of {plan.app} has no {inside}",
                hint="restore an older snapshot by hand with `lares backup restore`",
            )
        size += tree_size(source)
        put(source, dest, stamp)
        journal.mark(key)
        shutil.rmtree(staging, ignore_errors=True)
        restored += 1
    return restored, size


def tree_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def restore_sqlite(restic: Restic, plan: DatabasePlan) -> int:
    """Write the SQLite copy of ``plan`` where the app keeps its database; return its size."""
    from lares.backup.hooks.sqlite import host_file

    target = host_file(plan.service.volumes, plan.db.path or "")
    if target is None:
        raise RecoverError(
            f"{plan.app}: the SQLite database {plan.db.path} is not on a bind mount",
            hint="mount the folder holding it from the app's data folder",
        )
    dest = Path(target)
    if not dest.parent.exists():
        dest.parent.mkdir(parents=True)
        uid, gid = _ids(plan.service.user)
        if uid is not None:
            os.chown(dest.parent, uid, gid if gid is not None else -1)
    owner = dest.parent.stat()
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out, restic.dump(plan.snapshot.id, plan.filename) as stream:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        # the app writes its database as the folder's owner (the container's user)
        os.chown(tmp, owner.st_uid, owner.st_gid)
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return size


def _ids(user: str | None) -> tuple[int | None, int | None]:
    """The numeric uid and gid of a Compose ``user: "1000:1000"`` (None for names)."""
    if not user:
        return None, None
    uid, _, gid = user.partition(":")
    return (int(uid) if uid.isdigit() else None, int(gid) if gid.isdigit() else None)


def start_databases(ctx: Any, plans: Sequence[AppPlan], progress: Callable[[str], None]) -> None:
    """Write the recovered stacks and start only the database containers (not the apps), so
    dumps go in before any app sees an empty database."""
    from lares.deploy import engine
    from lares.deploy.apply import ensure_networks
    from lares.deploy.files import prepare_dirs, write_bundle
    from lares.render import render_all

    wanted = [d for p in plans for d in p.databases if d.engine != "sqlite"]
    if not wanted:
        return
    bundle = render_all(ctx.system, source=str(ctx.loaded.filename))
    client = engine.client()
    engine.check_engine(client)
    for name in ensure_networks(client, ctx.system):
        progress(f"created network {name}")
    prepare_dirs(bundle)
    write_bundle(bundle, ctx.state.live, secrets_dir=ctx.state.secrets)
    by_stack: dict[str, list[str]] = {}
    for d in wanted:
        stack = next(p.stack for p in plans if p.app == d.app)
        by_stack.setdefault(stack, []).append(d.service.name)
    for stack, services in by_stack.items():
        compose_file = ctx.state.live / stack / "compose.yaml"
        progress(f"{stack}: starting {', '.join(services)} alone")
        engine.compose(
            stack,
            compose_file,
            "up",
            "--detach",
            "--no-deps",
            *services,
            what=f"start the databases of {stack}",
        )


def bind_sources(volumes: Sequence[str], appdata: str) -> list[Path]:
    """The host folders under ``appdata`` that a container mounts (its data)."""
    out: list[Path] = []
    for volume in volumes:
        source = volume.split(":", 1)[0]
        if source.startswith(appdata.rstrip("/") + "/"):
            out.append(Path(source))
    return out


def reset_database(ctx: Any, plan: DatabasePlan, stamp: str) -> list[str]:
    """Remove the database container of ``plan`` and move its data folders aside, so that it
    starts empty again; return what was moved where."""
    from lares.deploy import engine

    stack = next(a.stack for a in ctx.apps() if a.id == plan.app)
    compose_file = ctx.state.live / stack / "compose.yaml"
    if compose_file.exists():
        engine.compose(stack, compose_file, "rm", "--stop", "--force", plan.service.name)
    moved: list[str] = []
    for folder in bind_sources(plan.service.volumes, ctx.blueprint.paths.appdata):
        if occupied(folder):
            moved.append(f"moved {folder} aside to {aside(folder, stamp)}")
    return moved


def load_database(ctx: Any, restic: Restic, plan: DatabasePlan) -> int:
    """Put the dump of ``plan`` back into the app's database; return the dump's size.

    A SQLite copy is written where the app keeps it; a server's dump (PostgreSQL, MariaDB) is
    loaded as ``lares backup restore --into-db`` loads it (:func:`lares.backup.intodb.load`),
    once the container takes connections. Raises RecoverError when the load fails.
    """
    from lares.backup import intodb

    if plan.engine == "sqlite":
        return restore_sqlite(restic, plan)
    view = next(a for a in ctx.apps() if a.id == plan.app)
    target = intodb.Target(restic.repo.name, plan.snapshot, view, plan.db, plan.key, plan.service)
    try:
        return intodb.load(ctx, target, progress=lambda _: None).size
    except ResticError:
        raise
    except LaresError as exc:
        raise RecoverError(
            f"{plan.app}: loading the dump of {plan.key} into {plan.service.name} failed",
            hint=exc.hint or exc.message,
        ) from exc
