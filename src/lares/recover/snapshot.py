"""lares's own state as a snapshot in every repository.

What is kept (:func:`members`): the blueprint it ran with (as ``blueprint/lares.yaml``, the
embedded reference's text when no file was given) and its catalog folders at the same relative
paths, and from the state directory ``secrets/``, ``applied/``, ``backup/`` (the records, not the
restic cache or the lock) and ``recover/`` (what the last recovery kit covered). The rendered
``live/`` bundle, logs and monitor history are not: ``lares up`` renders the first again, and
the others describe the old machine.

The tar is written straight into ``restic backup --stdin`` (the secrets are read from their
0600 files into restic's input and nowhere else) as ``lares-state.tar``, with the tags
:func:`state_tags` — ``lares``, ``lares-state``, ``host:H`` — so a new machine that knows only
a repository and its password finds it. Its first member, ``lares-state/manifest.json``, says
which host and when.

:func:`restore` reads such a snapshot back through ``restic dump`` into a folder, refusing any
member that is not a plain file, folder or relative link below it.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from lares.backup import BackupContext
from lares.backup.records import iso
from lares.backup.restic import Restic, Snapshot, Summary, backup_command
from lares.blueprint.load import REFERENCE_NAME, Loaded, reference_text
from lares.errors import LaresError

STATE_TAG = "lares-state"
KIND = "state"
FILENAME = "lares-state.tar"
TOP = "lares-state"
MANIFEST = f"{TOP}/manifest.json"
FORMAT = 1
#: The folders of the state directory that are kept, and what inside them is not.
KEPT = ("secrets", "applied", "backup", "recover")
SKIPPED = {"backup/cache", "backup/lock", "backup/drill"}
RECORD = "backup/state.json"  # {repo: {state, snapshot, time, error}} per repository


def state_tags(host: str) -> list[str]:
    """The tags of a state snapshot: found by ``lares-state`` alone, and by host."""
    return ["lares", STATE_TAG, f"host:{host}", f"kind:{KIND}"]


@dataclass(frozen=True)
class Member:
    name: str  # the name in the tar, below lares-state/
    path: Path  # where it is read from


def members(state_root: Path, loaded: Loaded) -> tuple[list[Member], list[str]]:
    """What a state snapshot holds, in a stable order, and warnings about what it cannot.

    A catalog folder outside the blueprint's folder (``../x``, absolute) is kept under its
    name relative to the blueprint only when it is below it; otherwise it is named in the
    warnings and left out, since a restore could not put it back where the blueprint looks.
    """
    out: list[Member] = []
    warnings: list[str] = []
    if loaded.filename != REFERENCE_NAME:
        out.append(Member(f"{TOP}/blueprint/lares.yaml", Path(loaded.filename)))
    for folder in loaded.blueprint.catalog:
        relative = PurePosixPath(os.path.normpath(folder))
        if relative.is_absolute() or ".." in relative.parts:
            warnings.append(
                f"the catalog folder {folder} is outside the blueprint's folder; "
                "it is not in the state snapshot"
            )
            continue
        base = loaded.base_dir / relative
        out += [Member(f"{TOP}/blueprint/{relative}/{p}", base / p) for p in _walk(base)]
    for folder in KEPT:
        base = state_root / folder
        for p in _walk(base):
            name = f"{folder}/{p}"
            if any(name == s or name.startswith(s + "/") for s in SKIPPED) or p.name == "lock":
                continue
            out.append(Member(f"{TOP}/state/{name}", base / p))
    return out, warnings


def _walk(base: Path) -> Iterator[PurePosixPath]:
    """Files and links below ``base`` (relative, sorted); folders are implied by them."""
    if not base.is_dir():
        return
    for root, dirs, files in os.walk(base):
        dirs.sort()
        here = Path(root)
        for name in sorted(files):
            yield PurePosixPath((here / name).relative_to(base).as_posix())
        for name in list(dirs):
            if (here / name).is_symlink():
                yield PurePosixPath((here / name).relative_to(base).as_posix())


def manifest(loaded: Loaded, host: str, when: datetime, count: int) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        lares_version = version("lares")
    except PackageNotFoundError:
        lares_version = "unknown"
    return {
        "format": FORMAT,
        "host": host,
        "time": iso(when),
        "lares": lares_version,
        "blueprint": "blueprint/lares.yaml",
        "blueprint_source": loaded.filename,
        "reference": loaded.filename == REFERENCE_NAME,
        "catalog": list(loaded.blueprint.catalog),
        "files": count,
    }


def write_tar(out: IO[bytes], listed: list[Member], head: dict[str, Any], loaded: Loaded) -> None:
    """Write the state tar to ``out``: the manifest, the reference text when no file was
    given, then every member as it is on disk now (a file that vanished meanwhile is left out)."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, MANIFEST, json.dumps(head, indent=2, sort_keys=True).encode(), 0o600)
        if loaded.filename == REFERENCE_NAME:
            _add_bytes(tar, f"{TOP}/blueprint/lares.yaml", reference_text().encode(), 0o644)
        for member in listed:
            try:
                info = tar.gettarinfo(str(member.path), arcname=member.name)
            except FileNotFoundError:
                continue
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isreg():
                with open(member.path, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


@dataclass(frozen=True)
class StateResult:
    repo: str
    ok: bool
    snapshot: str | None = None
    summary: Summary | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()


def backup_state(ctx: BackupContext, restic: Restic) -> StateResult:
    """Stream lares's state into a new snapshot of ``restic``'s repository and record it.

    The outcome (snapshot id and time, or the error) is kept in ``backup/state.json`` per
    repository, where the monitor compares it with the newest app snapshot there.
    """
    name = restic.repo.name
    listed, warnings = members(ctx.state.root, ctx.loaded)
    head = manifest(ctx.loaded, ctx.host, datetime.now(UTC), len(listed))
    cmd = backup_command(
        restic.repo, host=ctx.host, tags=state_tags(ctx.host), stdin_filename=FILENAME
    )

    def feed(fd: int) -> str | None:
        with os.fdopen(fd, "wb", closefd=False, buffering=1 << 20) as out:
            try:
                write_tar(out, listed, head, ctx.loaded)
                out.flush()
            except BrokenPipeError:
                return "restic stopped reading lares's state"
            except OSError as exc:
                return f"could not read lares's state: {exc.strerror} ({exc.filename})"
        return None

    try:
        result = restic.backup(cmd, feed=feed)
    except LaresError as exc:
        outcome = StateResult(name, False, error=exc.message, warnings=tuple(warnings))
    else:
        if result.aborted is not None or result.summary is None:
            outcome = StateResult(
                name, False, error=result.aborted or "no snapshot", warnings=tuple(warnings)
            )
        else:
            outcome = StateResult(
                name,
                True,
                snapshot=result.summary.snapshot_id,
                summary=result.summary,
                warnings=tuple(warnings),
            )
    _record(ctx, outcome)
    return outcome


def _record(ctx: BackupContext, outcome: StateResult) -> None:
    data = ctx.state.read_json(RECORD, {}) or {}
    entry = dict(data.get(outcome.repo) or {})
    now = iso(datetime.now(UTC))
    entry["last_attempt"] = now
    if outcome.ok:
        entry.update(state="ok", snapshot=outcome.snapshot, last_success=now, error=None)
    else:
        entry.update(state="failed", last_failure=now, error=outcome.error)
    data[outcome.repo] = entry
    ctx.state.write_json(RECORD, data)


# ── reading it back ───────────────────────────────────────────────────────────────────────


def newest(snapshots: list[Snapshot], host: str | None = None) -> Snapshot | None:
    """The newest state snapshot (of ``host``, when given) among ``snapshots``."""
    found = [
        s for s in snapshots if STATE_TAG in s.tags and (host is None or s.tag("host") == host)
    ]
    return max(found, key=lambda s: s.time) if found else None


def restore(restic: Restic, snapshot: Snapshot, into: Path) -> dict[str, Any]:
    """Unpack the state snapshot into ``into`` (which must not exist) and return its manifest.

    ``into`` gets ``blueprint/`` and ``state/``; folders are 0700 and files keep their modes
    (the secrets 0600). A member that is not a file, folder or link staying inside ``into`` is
    refused (LaresError), as is a tar without a manifest.
    """
    into.mkdir(mode=0o700)
    head: dict[str, Any] | None = None
    try:
        with (
            restic.dump(snapshot.id, f"/{FILENAME}") as stream,
            tarfile.open(fileobj=stream, mode="r|") as tar,
        ):
            for info in tar:
                if not (info.name == TOP or info.name.startswith(TOP + "/")):
                    raise _unsafe(snapshot, info.name)
                if info.name == MANIFEST:
                    fh = tar.extractfile(info)
                    head = json.loads(fh.read()) if fh is not None else None
                    continue
                info.name = info.name[len(TOP) + 1 :]
                if not info.name:
                    continue
                try:
                    tar.extract(info, into, filter="data")
                except tarfile.FilterError as exc:
                    raise _unsafe(snapshot, f"{TOP}/{info.name} ({exc})") from None
    except tarfile.ReadError as exc:
        raise LaresError(
            f"state snapshot {snapshot.short_id} of {restic.repo.name} is not a lares state "
            f"archive ({exc})",
            code="recover-state",
        ) from None
    if head is None:
        raise LaresError(
            f"state snapshot {snapshot.short_id} of {restic.repo.name} has no manifest",
            code="recover-state",
        )
    for folder in (into, *(p for p in into.rglob("*") if p.is_dir() and not p.is_symlink())):
        os.chmod(folder, 0o700)
    return head


def _unsafe(snapshot: Snapshot, name: str) -> LaresError:
    return LaresError(
        f"state snapshot {snapshot.short_id} holds {name!r}, which would land outside the "
        "state folder",
        hint="nothing of it is used; restore an older state snapshot (--snapshot)",
        code="recover-state",
    )
