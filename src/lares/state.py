"""The state directory: where lares keeps what it generated and what it applied.

Default ``/var/lib/lares`` as root, ``$XDG_STATE_HOME/lares`` (``~/.local/state/lares``) otherwise;
``--state-dir`` or ``LARES_STATE_DIR`` override. Layout::

    lock                    held while a command changes anything
    secrets/                0700: one 0600 file per secret value, generated once
    live/                   the bundle Compose runs from: live/<stack>/compose.yaml, live/secrets/
    applied/<stack>/        what was applied, per stack: <revision>/ folders and record.json
    backup/                 backup run records (last success per app and repository, drills)
    monitor/                history database, alert state, silences
    logs/                   lares.log (commands, durations; secrets masked)

A second lares that needs the lock waits for it (printing who holds it) and gives up after a
timeout with a clear error, so two applies never interleave.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lares import run
from lares.errors import StateLocked
from lares.fsutil import atomic_write, private_dir

DEFAULT_ROOT = Path("/var/lib/lares")


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to(folder: Path) -> None:
    """Send the ``lares`` logger's file output to ``folder/lares.log`` (opened on first use).

    Any other lares.log handler is closed, so a command that names its own state folder keeps
    its log there rather than in the default one.
    """
    target = folder / "lares.log"
    logger = logging.getLogger("lares")
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            if Path(handler.baseFilename) == target.absolute():
                return
            logger.removeHandler(handler)
            handler.close()
    handler = _LazyFileHandler(target, delay=True, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)


def log_folder() -> Path:
    """The folder lares.log goes to now: the state folder's ``logs/`` once a command opened one."""
    for handler in logging.getLogger("lares").handlers:
        if isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename).parent
    return default_root() / "logs"


class _LazyFileHandler(logging.FileHandler):
    """Creates its folder (0700) only when the first line is logged; a folder it cannot create
    (read-only, someone else's) means no log file rather than an error on every line."""

    def _open(self) -> Any:
        try:
            Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            return super()._open()
        except OSError:
            return open(os.devnull, "a", encoding="utf-8")


def default_root() -> Path:
    env = os.environ.get("LARES_STATE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return DEFAULT_ROOT
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "lares"


class _Folder:
    """A folder of the state dir: ``state.live`` is ``state.root / "live"``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, state: StateDir, owner: type | None = None) -> Path:
        return state.root / self.name


@dataclass(frozen=True)
class StateDir:
    root: Path

    @classmethod
    def open(cls, root: Path | None = None) -> StateDir:
        """The state directory at ``root`` (or the default), created 0700 if missing.

        lares's log follows it: from now on this process logs to ``<root>/logs/lares.log``.
        """
        path = root or default_root()
        private_dir(path)
        log_to(path / "logs")
        return cls(path)

    # the folders of the state dir, each below its root
    secrets = _Folder("secrets")
    live = _Folder("live")
    applied = _Folder("applied")
    backup = _Folder("backup")
    monitor = _Folder("monitor")
    logs = _Folder("logs")

    def read_json(self, relative: str, default: Any = None) -> Any:
        """A JSON record under the state dir, or ``default`` when absent."""
        path = self.root / relative
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return default

    def write_json(self, relative: str, data: Any) -> None:
        """Atomically replace a JSON record under the state dir (0600)."""
        path = self.root / relative
        private_dir(path.parent)
        atomic_write(
            path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", mode=0o600
        )

    @contextmanager
    def lock(
        self,
        *,
        timeout: float = 300.0,
        purpose: str = "apply",
        on_wait: Callable[[str], None] | None = None,
    ) -> Iterator[None]:
        """Hold the state lock; wait up to ``timeout`` seconds for another lares to finish.

        The lock is an ``flock`` on ``<root>/lock``: the kernel releases it when its holder dies,
        even by SIGKILL, so a killed run never leaves a stale lock behind. The processes lares
        starts meanwhile share it (:func:`lares.run.inherited`): a ``docker compose`` that
        outlives a killed lares keeps the lock until it ends. While it is held, SIGTERM is
        taken like Ctrl-C, so lares stops its children and waits for them before it lets go.
        """
        path = self.root / "lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + timeout
            announced = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _read_holder(fd)
                    if time.monotonic() >= deadline:
                        raise StateLocked(
                            f"another lares ({holder}) holds {path}; gave up after {timeout:g} s",
                            hint="wait for it to finish, or raise --lock-timeout",
                        ) from None
                    if not announced and on_wait is not None:
                        on_wait(f"waiting for another lares ({holder}) to finish …")
                        announced = True
                    time.sleep(0.2)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}, {purpose}".encode(), 0)
            try:
                with run.inherited(fd), _terminate_as_interrupt():
                    yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt inside the block (main thread only; else unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "unknown process"
