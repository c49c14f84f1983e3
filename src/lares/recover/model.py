"""What a recovery reports and remembers: its steps and report, and the journal
(``recovery.json``) that lets an interrupted recovery continue; the helpers its phases share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lares.errors import LaresError
from lares.state import StateDir

PHASES = ("state", "data", "up")
JOURNAL = "recovery.json"  # beside, not inside, the folders the state snapshot brings
BLUEPRINT_DIR = "blueprint"
FILES = "files"
DATABASE = "database"


class RecoverError(LaresError):
    code = "recover"


# ── progress ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
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
            self.data = {"repo": repo, "snapshot": snapshot, "done": [], "started": now()}
            self.save()

    def has(self, key: str) -> bool:
        return key in self.data.get("done", [])

    def mark(self, key: str) -> None:
        if not self.has(key):
            self.data.setdefault("done", []).append(key)
            self.save()

    def save(self) -> None:
        self.state.write_json(JOURNAL, self.data)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ── shared by the phases ─────────────────────────────────────────────────────────────────


def occupied(path: Path) -> bool:
    """Whether ``path`` exists and holds something (a file, or a folder that is not empty)."""
    if path.is_symlink() or path.is_file():
        return True
    return path.is_dir() and any(path.iterdir())


def aside(path: Path, stamp: str) -> Path:
    target = path.with_name(f"{path.name}.before-recover-{stamp}")
    path.rename(target)
    return target


def put(source: Path, dest: Path, stamp: str) -> None:
    """Move ``source`` to ``dest``; what holds something there is moved aside first (an empty
    folder is removed)."""
    if dest.exists() or dest.is_symlink():
        if occupied(dest):
            aside(dest, stamp)
        else:
            dest.rmdir()
    source.rename(dest)


def size_text(n: int) -> str:
    from lares.units import format_size

    return format_size(n)
