"""The stacks a lares deploy is changing right now, so that the watcher does not alert on them.

While ``lares up``, ``rollback`` or ``down`` runs Compose on some stacks, containers stop, are
renamed to ``<id>_<name>``, replaced and removed: not failures. The deploy writes
``<state dir>/monitor/deploying.json`` (its pid, the stacks, and a time after which it no longer
counts) before it starts Compose and removes it when it ends, however it ends. The watcher
(:mod:`lares.monitor.watch`) holds back new container and endpoint alerts of those stacks while
the record is in force. A lares that dies (even by SIGKILL) leaves the file behind; it stops
counting as soon as its pid is gone, and at its expiry time in any case (a reused pid).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lares.fsutil import atomic_write, private_dir
from lares.run import pid_alive

RECORD = Path("monitor") / "deploying.json"


@contextmanager
def deploying(root: Path, stacks: Iterable[str], *, timeout: float) -> Iterator[None]:
    """Mark ``stacks`` as being deployed for the duration of the block (at most ``timeout`` s)."""
    names = sorted(set(stacks))
    if not names:
        yield
        return
    path = root / RECORD
    private_dir(path.parent)
    now = time.time()
    record = {"pid": os.getpid(), "stacks": names, "started": now, "until": now + timeout}
    atomic_write(path, json.dumps(record, indent=2) + "\n", mode=0o600)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def muted_stacks(root: Path, now: float | None = None) -> frozenset[str]:
    """The stacks a running deploy is changing; empty when none is, or its record is stale."""
    try:
        data = json.loads((root / RECORD).read_text(encoding="utf-8"))
        pid, until, stacks = int(data["pid"]), float(data["until"]), data["stacks"]
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()
    if (time.time() if now is None else now) > until or not pid_alive(pid):
        return frozenset()
    return frozenset(str(s) for s in stacks)
