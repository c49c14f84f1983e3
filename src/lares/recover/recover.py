"""``lares recover``: a bare machine with Docker becomes the server again, from the kit alone.

The phases, in order (``--only`` stops after one):

1. **state**: open the kit's repositories (offsite first) with the kit's passwords and the
   backend credentials from the environment, find the newest state snapshot of the kit's host
   (:mod:`lares.recover.snapshot`), unpack it beside the state folder and move ``secrets/``,
   ``applied/``, ``backup/``, ``recover/`` and the blueprint (``blueprint/lares.yaml`` and its
   catalog folders) into place; then load that blueprint and check it: same host, the kit's
   repository, every generated secret present (plan errors are reported: they stop only `up`);
2. **data**: per app in stack order, its files (each backed-up path restored through a staging
   folder beside the live one, then renamed into place), then its databases: SQLite files
   written back where the app keeps them; PostgreSQL dumps loaded into the app's own database
   container, started alone (``docker compose up --no-deps``) before the app itself;
3. **up**: ``lares up --yes`` on the recovered blueprint and state, then the restore drill
   against what came back.

Nothing is overwritten: a live folder that is not empty stops the data phase unless ``force``
(the old content is then moved aside to ``<folder>.before-recover-<time>``, never deleted).
Progress is kept in ``recovery.json`` in the state folder, written after every step, so
a run that is interrupted (even by SIGKILL) continues where it stopped when run again.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from lares import run
from lares.backup.features import Features, detect
from lares.backup.restic import (
    REPOSITORY_MISSING,
    UNREACHABLE,
    WRONG_PASSWORD,
    Repo,
    Restic,
    ResticError,
    Snapshot,
    close_pipes,
    drain,
    dump_command,
)
from lares.errors import LaresError, UsageError
from lares.recover import snapshot as state_snapshot
from lares.recover.kit import Kit, KitRepo
from lares.state import StateDir
from lares.text import counted

PHASES = ("state", "data", "up")
JOURNAL = "recovery.json"  # beside, not inside, the folders the state snapshot brings
BLUEPRINT_DIR = "blueprint"
FILES = "files"
DATABASE = "database"


class RecoverError(LaresError):
    code = "recover"


# ── progress ──────────────────────────────────────────────────────────────────────────────


@dataclass
class Step:
    phase: str
    what: str
    app: str | None = None
    size: int | None = None
    seconds: float = 0.0
    skipped: str | None = None  # why it was not done now (already done before)

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "what": self.what,
            "app": self.app,
            "bytes": self.size,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
        }


@dataclass
class Report:
    host: str
    repo: str | None = None
    snapshot: str | None = None
    state_time: str | None = None
    blueprint: str | None = None
    steps: list[Step] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # --dry-run: what would happen
    drill: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    done: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(d.get("ok") for d in self.drill)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "host": self.host,
            "repo": self.repo,
            "snapshot": self.snapshot,
            "state_time": self.state_time,
            "blueprint": self.blueprint,
            "phases_done": list(self.done),
            "steps": [s.to_dict() for s in self.steps],
            "planned": self.planned,
            "drill": self.drill,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
        }


# ── the journal ───────────────────────────────────────────────────────────────────────────


class Journal:
    """What this recovery already did (``recovery.json``), for a run that continues."""

    def __init__(self, state: StateDir) -> None:
        self.state = state
        self.data: dict[str, Any] = state.read_json(JOURNAL, {}) or {}

    def begin(self, repo: str, snapshot: str) -> None:
        if self.data.get("snapshot") != snapshot:
            self.data = {"repo": repo, "snapshot": snapshot, "done": [], "started": _now()}
            self.save()

    def has(self, key: str) -> bool:
        return key in self.data.get("done", [])

    def mark(self, key: str) -> None:
        if not self.has(key):
            self.data.setdefault("done", []).append(key)
            self.save()

    def save(self) -> None:
        self.state.write_json(JOURNAL, self.data)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ── opening the repository from the kit ───────────────────────────────────────────────────


@contextmanager
def kit_secrets(kit: Kit, env: Mapping[str, str] | None = None) -> Iterator[Path]:
    """A private folder in memory (``/dev/shm`` when there is one) holding the kit's passwords
    and the backend credentials taken from the environment, removed afterwards."""
    values: Mapping[str, str] = os.environ if env is None else env
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None  # tmpfs: never on a disk
    folder = Path(tempfile.mkdtemp(prefix="lares-recover-", dir=base))
    try:
        os.chmod(folder, 0o700)
        for repo in kit.repositories:
            _secret_file(folder / f"restic_{repo.name}", repo.password)
            for var, sid in repo.secret_env.items():
                if values.get(var):
                    _secret_file(folder / sid, values[var])
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _secret_file(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)


def kit_repo(repo: KitRepo, secrets: Path, cache: Path | None) -> Repo:
    return Repo(
        name=repo.name,
        url=repo.url,
        password_file=secrets / f"restic_{repo.name}",
        env=dict(repo.env),
        cache_dir=cache,
        secret_env=dict(repo.secret_env),
        options=dict(repo.options),
    )


@dataclass(frozen=True)
class Found:
    repo: KitRepo
    restic: Restic
    snapshot: Snapshot
    snapshots: tuple[Snapshot, ...]  # all of the repository's, for the data phase


def find_state(
    kit: Kit,
    secrets: Path,
    features: Features,
    *,
    only_repo: str | None = None,
    env: Mapping[str, str] | None = None,
    notes: list[str] | None = None,
) -> Found:
    """The newest state snapshot of the kit's host, in the first kit repository that opens.

    Raises RecoverError saying, per repository tried, why it could not be used: the wrong
    password, credentials missing from the environment, unreachable, no state snapshot, or
    state snapshots of another host only.
    """
    values: Mapping[str, str] = os.environ if env is None else env
    candidates = kit.ordered()
    if only_repo is not None:
        candidates = [r for r in candidates if r.name == only_repo]
        if not candidates:
            raise UsageError(
                f"the kit has no repository {only_repo!r}",
                hint="its repositories: " + ", ".join(r.name for r in kit.repositories),
            )
    problems: list[str] = []
    for repo in candidates:
        absent = [
            f"{var} (lares secret {sid})"
            for var, sid in sorted(repo.secret_env.items())
            if not values.get(var)
        ]
        if absent:
            problems.append(f"{repo.name}: set {', '.join(absent)} in the environment to open it")
            continue
        restic = Restic(kit_repo(repo, secrets, None), features)
        try:
            listed = restic.snapshots()
        except ResticError as exc:
            problems.append(f"{repo.name}: {_why(exc)}")
            continue
        newest = state_snapshot.newest(listed, kit.host)
        if newest is not None:
            if notes is not None and problems:
                notes += [f"skipped {p}" for p in problems]
            return Found(repo, restic, newest, tuple(listed))
        states = [s for s in listed if state_snapshot.STATE_TAG in s.tags]
        others = sorted({s.tag("host") or s.hostname for s in states})
        if others:
            problems.append(
                f"{repo.name}: its state snapshots are of {', '.join(others)}, not of "
                f"{kit.host}: this kit is for another server"
            )
        else:
            problems.append(f"{repo.name}: it holds no snapshot of lares's state")
    raise RecoverError(
        "no repository of the kit could give lares's state back; nothing was written:\n  "
        + "\n  ".join(problems),
        hint="check the kit against the printed copy; a repository that never had a "
        "`lares backup run` since this version has no state snapshot",
    )


def _why(exc: ResticError) -> str:
    if exc.kind == WRONG_PASSWORD:
        return "the kit's password does not open it (wrong password)"
    if exc.kind == REPOSITORY_MISSING:
        return "there is no repository at its location"
    if exc.kind == UNREACHABLE:
        return "it cannot be reached"
    return exc.message


# ── phase 1: state ────────────────────────────────────────────────────────────────────────


def _occupied(path: Path) -> bool:
    """Whether ``path`` exists and holds something (a file, or a folder that is not empty)."""
    if path.is_symlink() or path.is_file():
        return True
    return path.is_dir() and any(path.iterdir())


def _aside(path: Path, stamp: str) -> Path:
    target = path.with_name(f"{path.name}.before-recover-{stamp}")
    path.rename(target)
    return target


def restore_state(
    found: Found, state: StateDir, kit: Kit, *, force: bool, stamp: str
) -> dict[str, Any]:
    """Unpack the state snapshot into ``state`` (see the module's phase 1); return its manifest.

    Refuses (RecoverError, nothing changed) a state folder that already holds secrets,
    revisions or a blueprint, unless ``force`` (they are moved aside), and a snapshot whose
    manifest names another host.
    """
    targets = [*state_snapshot.KEPT, BLUEPRINT_DIR]
    busy = [t for t in targets if _occupied(state.root / t)]
    if busy and not force:
        raise RecoverError(
            f"the state folder {state.root} already holds {', '.join(busy)}; nothing was written",
            hint="recover into an empty state folder (--state-dir), or pass --force to move "
            "what is there aside",
        )
    staging = state.root / f".recover-{found.snapshot.short_id}"
    shutil.rmtree(staging, ignore_errors=True)  # left by an interrupted run
    try:
        head = state_snapshot.restore(found.restic, found.snapshot, staging)
        if head.get("host") != kit.host:
            raise RecoverError(
                f"the state snapshot {found.snapshot.short_id} is of host {head.get('host')!r}, "
                f"the kit of {kit.host!r}; nothing was written",
                hint="use the kit of the server you are recovering",
            )
        for name in targets:
            source = (
                (staging / BLUEPRINT_DIR) if name == BLUEPRINT_DIR else staging / "state" / name
            )
            if not source.exists():
                continue
            dest = state.root / name
            if dest.exists() or dest.is_symlink():
                if _occupied(dest):
                    _aside(dest, stamp)
                else:
                    dest.rmdir()
            source.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return head


def check_state(state: StateDir, kit: Kit, found: KitRepo) -> tuple[Any, str, list[str]]:
    """Load the recovered blueprint and check it against the kit and the recovered secrets.

    Returns (Loaded, the blueprint's name of the repository recovered from, warnings: plan
    findings, secrets that did not come back); a repository typed in by hand is found by its
    location. Raises RecoverError for a blueprint of another host or one without the
    repository recovered from.
    """
    from lares.blueprint.load import load_file
    from lares.catalog.resolve import secret_id
    from lares.plan import plan

    path = state.root / BLUEPRINT_DIR / "lares.yaml"
    loaded = load_file(path)
    bp = loaded.blueprint
    if bp.host.name != kit.host:
        raise RecoverError(
            f"the recovered blueprint {path} is for host {bp.host.name!r}, the kit for {kit.host!r}"
        )
    repo = found.name
    if repo not in bp.backup.repositories:
        repo = next((n for n, r in bp.backup.repositories.items() if r.url == found.url), repo)
    if repo not in bp.backup.repositories:
        raise RecoverError(
            f"the recovered blueprint {path} has no repository {repo!r}, which it came from",
            hint="edit the blueprint to name it, then run `lares recover --only data` again",
        )
    result = plan(loaded)
    warnings = [f.message for f in result.warnings if f.id != "recovery_kit"]
    if result.errors:
        # the data comes back all the same; `lares up` refuses until they are fixed
        warnings.append(
            f"the recovered blueprint {path} has {counted(len(result.errors), 'plan error')} "
            "that stop `lares up`: " + "; ".join(f.message for f in result.errors[:3])
        )
    missing = [
        secret_id(view.id, name)
        for view in result.system.apps
        for name, spec in view.app.secrets.items()
        if not (state.secrets / secret_id(view.id, name)).is_file() and not spec.provided
    ]
    if missing:
        warnings.append(
            "these secrets were not in the state snapshot and will be generated anew (data "
            "encrypted with the old ones cannot be read): " + ", ".join(missing)
        )
    return loaded, repo, warnings


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
            snap = _newest(snapshots, view.id, FILES)
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
            snap = _newest(snapshots, view.id, DATABASE, key)
            if snap is None:
                missing.append(f"{view.id}: no snapshot of database {key}")
                continue
            service = next(s for s in view.services if s.key == db.container)
            filename = snap.paths[0] if snap.paths else ""
            dbs.append(DatabasePlan(view.id, key, db.engine, snap, filename, service, db))
        out.append(AppPlan(view.id, view.stack, files, tuple(dbs), tuple(missing)))
    return out


def _newest(
    snapshots: Sequence[Snapshot], app: str, kind: str, db: str | None = None
) -> Snapshot | None:
    found = [
        s
        for s in snapshots
        if s.tag("app") == app and s.tag("kind") == kind and (db is None or s.tag("db") == db)
    ]
    return max(found, key=lambda s: s.time) if found else None


def busy_paths(plans: Sequence[AppPlan], journal: Journal) -> list[str]:
    """The live folders that hold something and that this recovery has not restored itself."""
    out: list[str] = []
    for p in plans:
        if p.files is None:
            continue
        for _, live in p.files.paths:
            if not journal.has(f"path:{live}") and _occupied(Path(live)):
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
        size += _tree_size(source)
        if dest.exists() or dest.is_symlink():
            if _occupied(dest):
                _aside(dest, stamp)
            else:
                dest.rmdir()
        source.rename(dest)
        journal.mark(key)
        shutil.rmtree(staging, ignore_errors=True)
        restored += 1
    return restored, size


def _tree_size(path: Path) -> int:
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
    cmd = dump_command(restic.repo, plan.snapshot.id, plan.filename)
    dest = Path(target)
    if not dest.parent.exists():
        dest.parent.mkdir(parents=True)
        uid, gid = _ids(plan.service.user)
        if uid is not None:
            os.chown(dest.parent, uid, gid if gid is not None else -1)
    owner = dest.parent.stat()
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    reader = restic.spawn(cmd)
    err: deque[str] = deque(maxlen=20)
    drainer = threading.Thread(target=drain, args=(reader.stderr, err), daemon=True)
    drainer.start()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            stdout = cast(io.BufferedReader, reader.stdout)
            while chunk := stdout.read1(1 << 20):
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        reader.wait()
        drainer.join(timeout=10)
        if reader.returncode != 0:
            raise restic.fail(cmd, reader.returncode, "\n".join(err))
        os.chmod(tmp, 0o644)
        # the app writes its database as the folder's owner (the container's user)
        os.chown(tmp, owner.st_uid, owner.st_gid)
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
        if reader.poll() is None:
            reader.kill()
        reader.wait()
        close_pipes(reader)
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
        if _occupied(folder):
            moved.append(f"moved {folder} aside to {_aside(folder, stamp)}")
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


# ── the whole recovery ────────────────────────────────────────────────────────────────────


def recover(
    kit: Kit,
    *,
    state_root: Path,
    only: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    repo: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
    features: Features | None = None,
    env: Mapping[str, str] | None = None,
) -> Report:
    """Recover the kit's host into ``state_root`` (see the module docstring); ``only`` stops
    after that phase; ``dry_run`` finds the state snapshot and says what would happen.

    Raises RecoverError (or UsageError) with nothing written for a kit that opens no
    repository, a repository without a state snapshot, or a kit of another host.
    """
    if only is not None and only not in PHASES:
        raise UsageError(f"--only takes one of {', '.join(PHASES)}, not {only!r}")
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    features = features or detect()
    report = Report(kit.host)
    last = PHASES.index(only) if only else len(PHASES) - 1
    with kit_secrets(kit, env) as secrets:
        found = find_state(kit, secrets, features, only_repo=repo, env=env, notes=report.warnings)
        report.repo = found.repo.name
        report.snapshot = found.snapshot.short_id
        report.state_time = found.snapshot.time.isoformat(timespec="seconds")
        progress(
            f"found lares's state of {kit.host} from {report.state_time} in {found.repo.name} "
            f"(snapshot {found.snapshot.short_id})"
        )
        if dry_run:
            report.planned = _dry_plan(kit, found, state_root)
            report.seconds = time.monotonic() - started
            return report
        state = StateDir.open(state_root)
        journal = Journal(state)
        journal.begin(found.repo.name, found.snapshot.id)
        if journal.has("phase:state") and _occupied(state.secrets):
            report.steps.append(Step("state", "state folder", skipped="done before"))
        else:
            t0 = time.monotonic()
            restore_state(found, state, kit, force=force, stamp=stamp)
            journal.mark("phase:state")
            report.steps.append(
                Step(
                    "state",
                    "state folder",
                    size=_tree_size(state.root),
                    seconds=time.monotonic() - t0,
                )
            )
            progress(f"state: restored into {state.root} ({time.monotonic() - t0:.1f} s)")
    loaded, repo_name, warnings = check_state(state, kit, found.repo)
    report.repo = repo_name
    report.blueprint = str(state.root / BLUEPRINT_DIR / "lares.yaml")
    report.warnings += warnings
    report.done = ("state",)
    if last == 0:
        report.seconds = time.monotonic() - started
        return report

    from lares.backup import open_context

    ctx = open_context(loaded, state.root, features=features)
    restic = ctx.restic(repo_name)
    # the listing that found the state: the repository is the same, and no run writes to it
    snapshots = [s for s in found.snapshots if "lares" in s.tags and s.hostname == ctx.host]
    plans = plan_data(ctx, snapshots, repo_name)
    for p in plans:
        report.warnings += list(p.missing)
    busy = busy_paths(plans, journal)
    if busy and not force:
        raise RecoverError(
            "these data folders are not empty: " + ", ".join(busy),
            hint="recover onto empty folders, or pass --force to move what is there aside "
            "(nothing is deleted)",
        )
    for p in plans:
        if p.files is not None and not journal.has(f"files:{p.app}"):
            t0 = time.monotonic()
            _, size = restore_files(restic, p.files, journal, stamp=stamp)
            journal.mark(f"files:{p.app}")
            step = Step("data", "files", p.app, size, time.monotonic() - t0)
            report.steps.append(step)
            progress(f"data: {p.app} files, {_size(size)} in {step.seconds:.1f} s")
        elif p.files is not None:
            report.steps.append(Step("data", "files", p.app, skipped="done before"))
    pending = [d for p in plans for d in p.databases if not journal.has(f"db:{d.app}:{d.key}")]
    for d in pending:
        if d.engine != "sqlite" and journal.has(f"loading:{d.app}:{d.key}"):
            # an interrupted load left part of the dump in: the server starts over, empty
            report.warnings += reset_database(ctx, d, stamp)
    start_databases(ctx, [p for p in plans if any(d in pending for d in p.databases)], progress)
    for d in (d for p in plans for d in p.databases):
        if d not in pending:
            report.steps.append(Step("data", f"database {d.key}", d.app, skipped="done before"))
            continue
        t0 = time.monotonic()
        journal.mark(f"loading:{d.app}:{d.key}")
        size = load_database(ctx, restic, d)
        journal.mark(f"db:{d.app}:{d.key}")
        step = Step("data", f"database {d.key}", d.app, size, time.monotonic() - t0)
        report.steps.append(step)
        progress(f"data: {d.app} database {d.key}, {_size(size)} in {step.seconds:.1f} s")
    journal.mark("phase:data")
    report.done = ("state", "data")
    if last == 1:
        report.seconds = time.monotonic() - started
        return report

    t0 = time.monotonic()
    up = run.run(
        [
            sys.executable,
            "-m",
            "lares",
            "up",
            "--yes",
            "-f",
            report.blueprint,
            "--state-dir",
            str(state.root),
        ],
        check=False,
        timeout=1800,
        what="bring the stacks up",
    )
    if not up.ok:
        raise RecoverError(
            "the data is back, but the stacks did not come up:\n"
            + run.tail(up.stdout + up.stderr, 12),
            hint=f"fix it, then `lares up -f {report.blueprint} --state-dir {state.root}`",
        )
    report.steps.append(Step("up", "stacks", seconds=time.monotonic() - t0))
    progress(f"up: stacks running ({time.monotonic() - t0:.1f} s)")
    journal.mark("phase:up")
    from lares.backup.drill import drill

    t0 = time.monotonic()
    results = drill(ctx, repo=repo_name)
    report.drill = [r.to_dict() for r in results]
    report.steps.append(Step("up", "drill", seconds=time.monotonic() - t0))
    report.done = PHASES
    report.seconds = time.monotonic() - started
    journal.data["finished"] = _now()
    journal.data["seconds"] = round(report.seconds, 1)
    journal.save()
    return report


def _dry_plan(kit: Kit, found: Found, state_root: Path) -> list[str]:
    return [
        f"restore lares's state (snapshot {found.snapshot.short_id} of {found.repo.name}) into "
        f"{state_root}: secrets, applied revisions, backup records, the blueprint",
        f"check the blueprint {state_root / BLUEPRINT_DIR / 'lares.yaml'} against the kit "
        f"(host {kit.host})",
        "restore each app's files into its data folders (refusing folders that are not empty)",
        "start each database container alone and load its dump; write SQLite files back",
        "lares up --yes, then the restore drill against what came back",
    ]


def _size(n: int) -> str:
    from lares.units import format_size

    return format_size(n)
