"""btrfs: a read-only snapshot of the subvolume that holds an app's data, at a stable path.

The snapshot of subvolume ``S`` for app ``A`` is always ``S/.lares-snapshots/A/current`` while a
backup reads it, so restic sees the same paths every run and its change detection (same path,
size, mtime, ctime, inode — all kept by a btrfs snapshot) skips unchanged files. Afterwards it is
deleted, or renamed to its UTC time and kept when the blueprint keeps snapshots
(``backup.snapshot_retention``). A snapshot does not include nested subvolumes, so the
``.lares-snapshots`` folder is empty inside every snapshot.
"""

from __future__ import annotations

import os
from pathlib import Path

from lares.backup.command import Command

KIND = "snapshot"
FILESYSTEM = "btrfs"
FOLDER = ".lares-snapshots"
CURRENT = "current"
SUBVOLUME_INODE = 256  # every btrfs subvolume's root directory has this inode number


def subvolume_root(path: Path) -> Path:
    """The root of the btrfs subvolume holding ``path`` (which must exist).

    A subvolume is its own device to ``stat``; its root is the highest folder above ``path``
    on the same device, and has inode 256.
    """
    current = path.resolve()
    device = os.stat(current).st_dev
    while current.parent != current:
        parent_stat = os.stat(current.parent)
        if parent_stat.st_dev != device:
            break
        current = current.parent
    if os.stat(current).st_ino != SUBVOLUME_INODE:
        raise ValueError(f"{path} is not on a btrfs subvolume")
    return current


def stable_path(subvolume: Path, app: str) -> Path:
    return subvolume / FOLDER / app / CURRENT


def create(source: Path, dest: Path) -> Command:
    return Command(
        ("btrfs", "subvolume", "snapshot", "-r", str(source), str(dest)),
        what=f"snapshot {source} read-only",
    )


def delete(path: Path) -> Command:
    return Command(("btrfs", "subvolume", "delete", str(path)), what=f"delete snapshot {path}")


def keep(path: Path, as_path: Path) -> Command:
    return Command(("mv", "-T", "--", str(path), str(as_path)), what=f"keep snapshot as {as_path}")


def kept(subvolume: Path, app: str) -> list[Path]:
    """The kept snapshots of ``app`` in ``subvolume``, oldest first."""
    folder = subvolume / FOLDER / app
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name != CURRENT and p.is_dir())


def excludes(path: Path) -> list[str]:
    """What to leave out when backing up from the snapshot at ``path``: the (empty) folder
    where the snapshots of its own subvolume live."""
    return [str(path / FOLDER)]
