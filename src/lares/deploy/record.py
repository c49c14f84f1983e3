"""What lares applied, per stack: the revision's files and a record written only after success.

``applied/<stack>/record.json`` names the current good revision (the digest of the stack's
rendered files), when it was applied, and the Compose config hash of every container it left
running. ``applied/<stack>/revisions/<digest>/`` keeps each applied revision's files so
``lares rollback`` can put one back. Older revisions beyond :data:`KEEP` are pruned.
``applied/<stack>/applying.json`` exists while an apply of the stack runs: left behind, it tells
a later ``diff`` or ``up`` that the containers were changed by lares's own interrupted (or
failed) apply, not outside lares; the next record (or ``down``) removes it.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lares.fsutil import atomic_write, private_dir
from lares.state import StateDir

KEEP = 10


@dataclass(frozen=True)
class Record:
    stack: str
    revision: str
    applied_at: float
    containers: dict[str, dict[str, str]] = field(default_factory=dict)  # name → image, hash
    history: tuple[str, ...] = ()  # earlier good revisions, oldest first

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "revision": self.revision,
            "applied_at": self.applied_at,
            "applied": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.applied_at)),
            "containers": self.containers,
            "history": list(self.history),
        }


def _stack_dir(state: StateDir, stack: str) -> Path:
    return state.applied / stack


def load(state: StateDir, stack: str) -> Record | None:
    data = state.read_json(f"applied/{stack}/record.json")
    if not data:
        return None
    return Record(
        data["stack"],
        data["revision"],
        float(data["applied_at"]),
        dict(data.get("containers") or {}),
        tuple(data.get("history") or ()),
    )


def stacks(state: StateDir) -> list[str]:
    """Every stack with a record."""
    if not state.applied.is_dir():
        return []
    return sorted(p.name for p in state.applied.iterdir() if (p / "record.json").is_file())


def revision_files(state: StateDir, stack: str, revision: str) -> dict[str, str]:
    """The files of an applied revision, by path relative to the stack folder."""
    root = _stack_dir(state, stack) / "revisions" / revision
    if not root.is_dir():
        return {}
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def save(
    state: StateDir,
    stack: str,
    revision: str,
    files: dict[str, str],
    containers: dict[str, dict[str, str]],
) -> Record:
    """Keep the revision's files and make it the stack's current good revision."""
    root = _stack_dir(state, stack) / "revisions" / revision
    for rel, content in files.items():
        atomic_write(root / rel, content, mode=0o600)
    private_dir(root)
    previous = load(state, stack)
    history: list[str] = []
    if previous is not None:
        history = [r for r in (*previous.history, previous.revision) if r != revision]
    history = history[-(KEEP - 1) :]
    record = Record(stack, revision, time.time(), containers, tuple(history))
    state.write_json(f"applied/{stack}/record.json", record.to_dict())
    (_stack_dir(state, stack) / APPLYING).unlink(missing_ok=True)
    _prune(state, stack, {revision, *history})
    return record


def forget(state: StateDir, stack: str) -> None:
    """Drop a stack's record (after `lares down`); its revisions stay for rollback."""
    (_stack_dir(state, stack) / "record.json").unlink(missing_ok=True)
    (_stack_dir(state, stack) / APPLYING).unlink(missing_ok=True)


APPLYING = "applying.json"


def when(timestamp: float) -> str:
    """A record's time as people read it: ``2026-12-02 04:30:00 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


@dataclass(frozen=True)
class Applying:
    """An apply of a stack that started and has not been recorded: it is running, it was
    interrupted (lares killed, the machine down), or it ``failed`` and lares said so."""

    stack: str
    revision: str
    started_at: float
    pid: int
    failed: bool = False

    @property
    def started(self) -> str:
        return when(self.started_at)


def begin(state: StateDir, stack: str, revision: str) -> None:
    """Note that an apply of ``revision`` starts changing the stack's containers."""
    state.write_json(
        f"applied/{stack}/{APPLYING}",
        {"stack": stack, "revision": revision, "started_at": time.time(), "pid": os.getpid()},
    )


def failed(state: StateDir, stack: str) -> None:
    """Note that the stack's apply ended without coming up (its containers are as it left
    them; the record still names the last good revision)."""
    data = state.read_json(f"applied/{stack}/{APPLYING}")
    if data:
        state.write_json(f"applied/{stack}/{APPLYING}", {**data, "failed": True})


def applying(state: StateDir, stack: str) -> Applying | None:
    """The stack's apply that started and was not recorded, if any."""
    data = state.read_json(f"applied/{stack}/{APPLYING}")
    if not data:
        return None
    return Applying(
        stack,
        str(data["revision"]),
        float(data["started_at"]),
        int(data["pid"]),
        bool(data.get("failed")),
    )


def _prune(state: StateDir, stack: str, keep: set[str]) -> None:
    folder = _stack_dir(state, stack) / "revisions"
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
