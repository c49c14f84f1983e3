"""restic's ``--json`` answers read into values: snapshots, progress, summaries, item errors,
retention and prune counts, repository size; and the free space of a local repository's disk.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from lares.plain import Plain


def parse_time(text: str) -> datetime:
    """restic's RFC 3339 times with nanoseconds ("2026-11-26T18:05:30.765893992Z")."""
    text = text.strip().replace("Z", "+00:00")
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match:
        frac = (match.group(2) or "")[:7]
        text = f"{match.group(1)}{frac}{match.group(3)}"
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Snapshot:
    id: str
    short_id: str
    time: datetime
    paths: tuple[str, ...]
    hostname: str
    tags: tuple[str, ...]
    original: str | None = None
    parent: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        return cls(
            id=str(data["id"]),
            short_id=str(data.get("short_id") or str(data["id"])[:8]),
            time=parse_time(str(data["time"])),
            paths=tuple(data.get("paths") or ()),
            hostname=str(data.get("hostname", "")),
            tags=tuple(data.get("tags") or ()),
            original=data.get("original"),
            parent=data.get("parent"),
        )

    def tag(self, key: str) -> str | None:
        """The value of the ``key:value`` tag, if any."""
        prefix = f"{key}:"
        return next((t[len(prefix) :] for t in self.tags if t.startswith(prefix)), None)

    def matches(self, snapshot_id: str) -> bool:
        """Whether ``snapshot_id`` (full or a prefix of at least 8) names this snapshot."""
        return len(snapshot_id) >= 8 and self.id.startswith(snapshot_id)


def parse_snapshots(text: str) -> list[Snapshot]:
    data = json.loads(text or "[]") or []
    return sorted((Snapshot.from_json(d) for d in data), key=lambda s: s.time)


@dataclass(frozen=True)
class Status:
    """One progress line of ``restic backup --json``."""

    percent: float
    files_done: int
    total_files: int
    bytes_done: int
    total_bytes: int
    seconds_elapsed: int
    seconds_remaining: int | None
    current_files: tuple[str, ...]


@dataclass(frozen=True)
class Summary(Plain):
    """The last line of ``restic backup --json``."""

    files_new: int
    files_changed: int
    files_unmodified: int
    dirs_new: int
    dirs_changed: int
    data_added: int
    total_files_processed: int
    total_bytes_processed: int
    total_duration: float
    snapshot_id: str


@dataclass(frozen=True)
class ItemError:
    """An error restic met on one item and went on (it exits 3 at the end)."""

    message: str
    during: str
    item: str


Event = Status | Summary | ItemError
_E = TypeVar("_E", Status, Summary)


_CONVERT: dict[str, Callable[..., Any]] = {"int": int, "float": float, "str": str}


def _from_json(cls: type[_E], data: Mapping[str, Any], **given: Any) -> _E:
    """``cls`` from the same-named keys of restic's JSON (0, 0.0 or "" where missing), but for
    the fields ``given``."""
    values = dict(given)
    for f in fields(cls):
        if f.name not in values:
            convert = _CONVERT[str(f.type)]
            values[f.name] = convert(data.get(f.name) or convert())
    return cls(**values)


def parse_event(line: str) -> Event | None:
    """One line of ``restic backup --json`` output; None for anything else."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("message_type")
    if kind == "status":
        remaining = data.get("seconds_remaining")
        return _from_json(
            Status,
            data,
            percent=float(data.get("percent_done") or 0.0),
            # restic prints 2**63 when it cannot estimate
            seconds_remaining=int(remaining) if remaining and remaining < 10**9 else None,
            current_files=tuple(data.get("current_files") or ()),
        )
    if kind == "summary":
        return _from_json(Summary, data)
    if kind == "error":
        err = data.get("error")
        message = err.get("message") if isinstance(err, dict) else None
        if not message and isinstance(err, dict):
            message = " ".join(f"{k}={v}" for k, v in err.items())
        return ItemError(
            str(message or err), str(data.get("during", "")), str(data.get("item", ""))
        )
    return None


def parse_forget(text: str) -> tuple[int, int]:
    """(kept, removed) from ``restic forget --json`` (whose first line is the JSON; prune's
    report follows as text)."""
    start = text.find("[")
    if start < 0:
        return (0, 0)
    groups, _ = json.JSONDecoder().raw_decode(text[start:])
    kept = sum(len(g.get("keep") or ()) for g in groups or ())
    removed = sum(len(g.get("remove") or ()) for g in groups or ())
    return kept, removed


_TOTAL_PRUNE = re.compile(r"^total prune:\s+\d+ blobs / ([0-9.]+ [KMGTP]?i?B)\s*$", re.M)


def parse_prune(text: str) -> int:
    """The bytes a prune frees ("total prune: … / SIZE" in its report); 0 when it did not run
    (nothing was forgotten)."""
    from lares.units import parse_size

    match = _TOTAL_PRUNE.search(text)
    return parse_size(match.group(1).replace(" ", "")) if match else 0


def parse_stats(text: str) -> int:
    """The bytes a repository stores, from ``restic stats --mode raw-data --json``."""
    data = json.loads(text.strip().splitlines()[-1])
    return int(data["total_size"])


@dataclass(frozen=True)
class Usage:
    """How full the filesystem holding a local repository is."""

    path: str  # the mount point
    fstype: str
    size: int
    free: int  # available to this user

    @property
    def used_percent(self) -> float:
        return 100.0 * (self.size - self.free) / self.size if self.size else 100.0

    def __str__(self) -> str:
        from lares.units import format_size

        return (
            f"{self.path} ({self.fstype}) is {self.used_percent:.0f}% full, "
            f"{format_size(self.free)} free of {format_size(self.size)}"
        )


def disk_usage(path: Path) -> Usage | None:
    """The filesystem of ``path`` (or of its nearest existing parent), or None if unreadable."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        st = os.statvfs(probe)
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    resolved = str(probe.resolve())
    best, fstype = "/", "unknown"
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, parts[2]
    return Usage(best, fstype, st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize)
