"""Knowing quickly that `lares up` has nothing to do.

After a full `up`, lares records a fingerprint of everything the render depends on: the
blueprint's data (with ``${VAR}`` filled in), every app definition it can see, the names and
times of the secret files, and the lares version. When the next `up` finds the same fingerprint,
every stack still at its recorded revision and no container drifted (one read of the engine's
container list), nothing can have changed, and it says so without validating, planning or
rendering again. Any doubt — a missing record, an unreadable file, a container that moved —
falls back to the full path.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from lares import __version__
from lares.blueprint.source import Source, parse
from lares.deploy import record
from lares.deploy.status import ContainerState, container_from_list, drift
from lares.errors import LaresError
from lares.state import StateDir

RECORD = "applied/inputs.json"


def _catalog_files(source: Source, data: Any) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    embedded = resources.files("lares.catalog").joinpath("apps")
    for entry in sorted(embedded.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            files.append((f"catalog/{entry.name}", entry.read_bytes()))
    extra = data.get("catalog") if isinstance(data, dict) else None
    for folder in extra if isinstance(extra, list) else []:
        path = source.base_dir / str(folder)
        for file in sorted(path.glob("*.yaml")) if path.is_dir() else []:
            files.append((str(file), file.read_bytes()))
    return files


def fingerprint(source: Source, state: StateDir) -> str | None:
    """The hash of everything `up` renders from, or None when it cannot be read cleanly."""
    try:
        data = parse(source.text, filename=source.filename)
    except LaresError:
        return None
    h = hashlib.sha256()
    h.update(f"lares {__version__}\0".encode())
    h.update(json.dumps(data, sort_keys=True, default=str).encode())
    for name, content in _catalog_files(source, data):
        h.update(f"\0{name}\0".encode())
        h.update(content)
    if state.secrets.is_dir():
        for secret in sorted(state.secrets.iterdir()):
            st = secret.stat()
            h.update(f"\0{secret.name} {st.st_size} {st.st_mtime_ns}".encode())
    return h.hexdigest()


def remember(state: StateDir, source: Source | None, stacks: list[str]) -> None:
    """Record the fingerprint of a complete, healthy apply of ``stacks``.

    Taken after the apply, so the secrets it generated are part of it.
    """
    fp = fingerprint(source, state) if source is not None else None
    if fp is None:
        return
    revisions = {}
    for name in stacks:
        rec = record.load(state, name)
        if rec is None:
            return
        revisions[name] = rec.revision
    state.write_json(RECORD, {"fingerprint": fp, "stacks": revisions})


def unchanged(
    fp: str | None, state: StateDir, containers: list[dict[str, Any]] | None
) -> list[str] | None:
    """The stacks that are exactly as applied, or None when the full path must look."""
    saved = state.read_json(RECORD)
    if fp is None or not saved or saved.get("fingerprint") != fp or containers is None:
        return None
    running: list[ContainerState] = [container_from_list(c) for c in containers]
    stacks = dict(saved.get("stacks") or {})
    if any(c.stack not in stacks for c in running):
        return None  # a stack the blueprint no longer names runs: the full path shows it
    for name, revision in stacks.items():
        rec = record.load(state, name)
        if rec is None or rec.revision != revision or record.applying(state, name) is not None:
            return None  # an interrupted apply is for the full path to complete
        expected = {svc: info.get("image", "") for svc, info in rec.containers.items()}
        if drift(rec, expected, [c for c in running if c.stack == name]):
            return None
    return sorted(stacks)


def forget(state: StateDir) -> None:
    (state.root / RECORD).unlink(missing_ok=True)


def containers_now() -> list[dict[str, Any]] | None:
    """The engine's list of lares containers, or None when it cannot be read."""
    from lares.dockerapi import DockerAPI

    api = DockerAPI(timeout=10)
    try:
        return api.containers()
    except LaresError:
        return None
    finally:
        api.close()


def source_of(file: Path | None) -> Source | None:
    try:
        return Source.find(file)
    except LaresError:
        return None
