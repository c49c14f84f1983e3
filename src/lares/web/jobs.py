"""Background jobs of the dashboard ("back up now", "drill now"), each in a worker thread.

A job records its progress lines and ends ``ok`` or ``failed`` with the action's result or
error. :attr:`Jobs.version` grows with every change, so the event stream sends ``job`` events
only when something happened. One job of a kind runs at a time: asking again while it runs
returns the running one. Finished jobs are kept (the last :data:`KEEP`) for the pages and
``/api/jobs/{id}``.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lares.errors import LaresError
from lares.plain import Plain

log = logging.getLogger("lares.web")

KEEP = 20
MAX_LINES = 200

Action = Callable[[Callable[[str], None]], dict[str, Any]]


@dataclass
class Job(Plain):
    id: str
    kind: str
    state: str = "running"  # running | ok | failed
    started: float = field(default_factory=time.time)
    finished: float | None = None
    progress: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "progress": self.progress[-20:]}


class Jobs:
    """The jobs of one dashboard process."""

    def __init__(self, redact: Callable[[str], str] = lambda text: text) -> None:
        self.jobs: dict[str, Job] = {}
        self.version = 0
        self.redact = redact
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)

    def _bump(self) -> None:
        self.version += 1
        self.changed.notify_all()

    def start(self, kind: str, action: Action) -> Job:
        """Run ``action(progress)`` in a thread as a new job of ``kind``, unless one runs."""
        with self._lock:
            running = next(
                (j for j in self.jobs.values() if j.kind == kind and j.state == "running"), None
            )
            if running is not None:
                return running
            job = Job(secrets.token_hex(6), kind)
            self.jobs[job.id] = job
            for old in [j.id for j in self.jobs.values() if j.state != "running"][:-KEEP]:
                del self.jobs[old]
            self._bump()
        thread = threading.Thread(
            target=self._run, args=(job, action), name=f"lares-web-{kind}", daemon=True
        )
        thread.start()
        return job

    def _progress(self, job: Job) -> Callable[[str], None]:
        def emit(line: str) -> None:
            with self._lock:
                job.progress.append(self.redact(line))
                del job.progress[:-MAX_LINES]
                self._bump()

        return emit

    def _run(self, job: Job, action: Action) -> None:
        try:
            result = action(self._progress(job))
        except LaresError as exc:
            outcome: tuple[str, dict[str, Any] | None, str | None] = (
                "failed",
                None,
                self.redact(str(exc)),
            )
        except Exception as exc:
            log.exception("the %s job failed", job.kind)
            outcome = ("failed", None, self.redact(f"{type(exc).__name__}: {exc}"))
        else:
            ok = result.get("ok", True) is not False
            outcome = ("ok" if ok else "failed", result, None if ok else "some items failed")
        with self._lock:
            job.state, job.result, job.error = outcome
            job.finished = time.time()
            self._bump()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self.jobs.get(job_id)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [j.to_dict() for j in sorted(self.jobs.values(), key=lambda j: -j.started)]
