"""Writes that matter: atomic (temp file, fsync, rename) with the mode set before the rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def _unchanged(path: Path, data: bytes, mode: int, uid: int | None, gid: int | None = None) -> bool:
    try:
        st = path.stat()
        root = os.geteuid() == 0
        if st.st_mode & 0o7777 != mode or (
            root
            and ((uid is not None and st.st_uid != uid) or (gid is not None and st.st_gid != gid))
        ):
            return False
        return st.st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def atomic_write(
    path: Path,
    content: str | bytes,
    *,
    mode: int = 0o644,
    uid: int | None = None,
    sync_dir: bool = True,
    gid: int | None = None,
) -> bool:
    """Replace ``path`` with ``content`` so a reader sees the old file or the new one, never half.

    The parent folder is created when missing. ``uid`` and ``gid`` change the owner and group
    (root only). A file that
    already holds exactly this content, mode and owner is left alone (its mtime too). With
    ``sync_dir`` false the caller fsyncs the folder itself (see :func:`sync_dirs`), which saves
    one fsync per file when writing many. Returns whether the file was written.
    """
    data = content.encode() if isinstance(content, str) else content
    if _unchanged(path, data, mode, uid, gid):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        if (uid is not None or gid is not None) and os.geteuid() == 0:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_dir:
        sync_dirs([path.parent])
    return True


def sync_dirs(folders: Iterable[Path]) -> None:
    """fsync folders so the renames made in them survive a power cut."""
    for folder in set(folders):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700, and tighten it if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
