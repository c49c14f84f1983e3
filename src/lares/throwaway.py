"""What a restore drill makes and must not leave behind: throwaway databases and folders.

A drill's throwaway database container carries the label ``io.lares.drill`` and its folder a
marker file ``.lares-drill``; both name their owner, the drill's process, as ``PID:START`` (its
start time in clock ticks since boot, so a reused PID is not taken for the owner). A drill
killed outright (SIGKILL, a power cut) cannot clean up, and its database keeps running with the
restored data and no password, its folder holding gigabytes. :func:`find` lists what belongs to
no running process; every drill sweeps them first (:func:`sweep`) and ``lares status`` reports
them until then.

Light on purpose: the status collector imports it without the backup package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lares import run
from lares.errors import LaresError
from lares.state import StateDir

LABEL = "io.lares.drill"
OWNER_LABEL = "io.lares.drill.owner"
MARKER = ".lares-drill"
PREFIX = "lares-drill-"
WORKDIRS = "backup/drill-workdirs.json"  # folders drills were told to work in


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ")"
    return stat.rsplit(")", 1)[1].split()[19]


def owner() -> str:
    """This process, as the owner of what it makes."""
    return f"{os.getpid()}:{_start_time(os.getpid()) or 0}"


def alive(owner_id: str) -> bool:
    """Whether the process ``owner_id`` names (see :func:`owner`) still runs."""
    pid, _, start = owner_id.partition(":")
    if not pid.isdigit():
        return False
    return _start_time(int(pid)) == start


@dataclass(frozen=True)
class Leftover:
    kind: str  # "container" or "folder"
    name: str  # the container's name, the folder's path
    size: int | None = None  # bytes, for a folder

    def __str__(self) -> str:
        if self.kind == "container":
            return f"drill database container {self.name}"
        mib = (self.size or 0) / 1024**2
        return f"drill folder {self.name} ({mib:.0f} MiB)"


def make_folder(parent: Path | None, app: str) -> Path:
    """A new drill folder for ``app`` under ``parent`` (the temp folder), marked as ours."""
    base = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{app}-", dir=parent))
    (base / MARKER).write_text(owner() + "\n")
    return base


def remember_workdir(state: StateDir, workdir: Path) -> None:
    """Note a drill folder's parent that is not the temp folder, for status to look in."""
    known = list(state.read_json(WORKDIRS, []) or [])
    path = str(workdir.resolve())
    if path not in known:
        state.write_json(WORKDIRS, [*known, path])


def _size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, f)).st_size
    return total


def _folders(parents: Iterable[Path]) -> list[Leftover]:
    found = []
    for parent in dict.fromkeys(parents):
        try:
            entries = sorted(parent.glob(f"{PREFIX}*"))
        except OSError:
            continue
        for entry in entries:
            try:
                mark = (entry / MARKER).read_text().strip()
            except OSError:
                continue  # not a drill folder, or not ours to judge
            if not alive(mark):
                found.append(Leftover("folder", str(entry), _size(entry)))
    return found


def _containers() -> list[Leftover]:
    from lares.dockerapi import DockerAPI

    api = DockerAPI(timeout=10)
    try:
        listed = api.containers(label=LABEL)
    except LaresError:
        return []
    finally:
        api.close()
    found = []
    for c in listed:
        labels = c.get("Labels") or {}
        if not alive(str(labels.get(OWNER_LABEL, ""))):
            name = str((c.get("Names") or ["/" + str(c.get("Id", ""))[:12]])[0]).lstrip("/")
            found.append(Leftover("container", name))
    return found


def parents(state: StateDir | None, extra: Iterable[Path] = ()) -> list[Path]:
    """Where drill folders may be: the temp folder, ``extra``, the workdirs drills used."""
    out = [Path(tempfile.gettempdir()), *extra]
    if state is not None:
        out += [Path(p) for p in state.read_json(WORKDIRS, []) or []]
    return out


def find(state: StateDir | None, extra: Iterable[Path] = ()) -> list[Leftover]:
    """Every drill container and folder whose drill no longer runs."""
    return _containers() + _folders(parents(state, extra))


def sweep(state: StateDir | None, extra: Iterable[Path] = ()) -> list[Leftover]:
    """Remove what :func:`find` finds (a container with its volumes); return what was removed."""
    removed = []
    for item in find(state, extra):
        if item.kind == "container":
            argv = ("docker", "rm", "--force", "--volumes", item.name)
            if not run.run(argv, check=False, timeout=120, what=f"remove {item}").ok:
                continue
        else:
            shutil.rmtree(item.name, ignore_errors=True)
            if Path(item.name).exists():
                continue
        removed.append(item)
    return removed
