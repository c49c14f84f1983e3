"""Restore safety (pure): a restore writes only below its target, never through an entry that
could climb out of it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from lares.errors import UsageError


def unsafe_node(name: str, path: str) -> str | None:
    """Why a snapshot entry could write outside a restore target, or None when it cannot."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        return f"entry name {name!r} is not a plain file name"
    parts = PurePosixPath(path).parts
    if not path.startswith("/") or any(p in (".", "..") for p in parts[1:]) or "\0" in path:
        return f"entry path {path!r} leaves the snapshot's tree"
    return None


def check_include(path: str) -> str:
    """A ``--path`` inside a snapshot, normalised; raises UsageError for one that climbs out."""
    if "\0" in path or not path.strip():
        raise UsageError(f"{path!r} is not a path inside the snapshot")
    parts = PurePosixPath(path).parts
    if ".." in parts:
        raise UsageError(
            f"--path {path!r} contains '..': a restore never writes outside its target",
            hint="give the path as `lares backup list` shows it inside the snapshot",
        )
    return "/" + "/".join(p for p in parts if p not in ("/", "."))


def check_target(target: Path) -> Path:
    """The absolute restore target; it must be missing or an empty folder (never ``/``)."""
    resolved = target.expanduser().resolve()
    if resolved == Path("/"):
        raise UsageError("refusing to restore into /", hint="give an empty folder as --target")
    if resolved.exists():
        if not resolved.is_dir():
            raise UsageError(f"--target {target} exists and is not a folder")
        if any(resolved.iterdir()):
            raise UsageError(
                f"--target {target} is not empty",
                hint="restore into a new or empty folder, then move what you need",
            )
    return resolved
