"""Phase 1 of ``lares recover``: open the kit's repositories, find the newest state snapshot
of the kit's host, unpack it into the state folder and check the blueprint it brings."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lares.backup.features import Features
from lares.backup.restic import (
    REPOSITORY_MISSING,
    UNREACHABLE,
    WRONG_PASSWORD,
    Repo,
    Restic,
    ResticError,
    Snapshot,
)
from lares.errors import UsageError
from lares.recover import snapshot as state_snapshot
from lares.recover.kit import Kit, KitRepo
from lares.recover.model import BLUEPRINT_DIR, RecoverError, occupied, put
from lares.state import StateDir
from lares.text import counted

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


def restore_state(
    found: Found, state: StateDir, kit: Kit, *, force: bool, stamp: str
) -> dict[str, Any]:
    """Unpack the state snapshot into ``state`` (see the module's phase 1); return its manifest.

    Refuses (RecoverError, nothing changed) a state folder that already holds secrets,
    revisions or a blueprint, unless ``force`` (they are moved aside), and a snapshot whose
    manifest names another host.
    """
    targets = [*state_snapshot.KEPT, BLUEPRINT_DIR]
    busy = [t for t in targets if occupied(state.root / t)]
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
            put(source, dest, stamp)
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
