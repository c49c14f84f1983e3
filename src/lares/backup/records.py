"""What backups did, kept under ``StateDir.backup`` for the next run, the monitor and the dashboard.

Each file is JSON, replaced atomically (0600)::

    status.json     {repo: {app: {state, last_success, last_failure, last_attempt, error,
                                  items: {item: {state, when, snapshot, error, stats}}}},
                     "_copies": {repo: {last_success, last_failure, error}}}
    snapshots.json  {repo: {snapshot id: {app, item, kind, time, run, sha256?, dump?,
                                          sources?, copied_from?}}}
                    the snapshots lares saw finish and verified: only these are *good*
    run.json        {id, pid, started, finished, state: running|ok|failed|interrupted, repos}
    drills.json     {repo: {app: {ok, when, ...drill result}}}
    checks.json     {repo: {when, ok, subset, slice, error}}
    failures.json   [{when, repo, app, item, error}]   (the last 100)

Times are ISO 8601 in UTC. A run that is killed leaves ``run.json`` in state ``running`` with a
dead pid; the next run calls :meth:`Records.recover` to mark it (and its apps) interrupted.
Snapshots a killed run may have left in a repository are never in ``snapshots.json``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from lares.fsutil import private_dir
from lares.run import pid_alive
from lares.state import StateDir

COPIES = "_copies"
MAX_FAILURES = 100
MAX_SIZES = 400  # measurements kept per repository (about a year of daily runs)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Records:
    """Reads and writes the backup records of one state directory."""

    def __init__(self, state: StateDir) -> None:
        self.state = state

    def _read(self, name: str, default: Any) -> Any:
        return self.state.read_json(f"backup/{name}", default)

    def _write(self, name: str, data: Any) -> None:
        self.state.write_json(f"backup/{name}", data)

    @contextmanager
    def lock(self, *, timeout: float = 60.0) -> Iterator[None]:
        """Hold the backup lock (``backup/lock``), apart from the deploy lock so that a long
        backup never blocks ``lares up``."""
        private_dir(self.state.backup)
        with StateDir(self.state.backup).lock(timeout=timeout, purpose="backup"):
            yield

    # -- runs ------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        return dict(self._read("run.json", {}) or {})

    def begin_run(self, run_id: str, repos: list[str], when: datetime) -> None:
        self._write(
            "run.json",
            {
                "id": run_id,
                "pid": os.getpid(),
                "started": iso(when),
                "state": "running",
                "repos": repos,
            },
        )

    def end_run(self, ok: bool, when: datetime) -> None:
        data = self.run()
        data.update(state="ok" if ok else "failed", finished=iso(when))
        self._write("run.json", data)

    def recover(self, when: datetime) -> dict[str, Any] | None:
        """Mark a run whose process died as interrupted (and its running apps failed); return it."""
        data = self.run()
        if data.get("state") != "running" or pid_alive(int(data.get("pid") or 0)):
            return None
        data.update(state="interrupted", finished=iso(when))
        self._write("run.json", data)
        status = self.status()
        for repo_apps in status.values():
            for entry in repo_apps.values():
                if entry.get("state") == "running":
                    entry.update(
                        state="failed", last_failure=iso(when), error="the run was interrupted"
                    )
                    for item in (entry.get("items") or {}).values():
                        if item.get("state") == "running":
                            item.update(state="failed", error="the run was interrupted")
        self._write("status.json", status)
        return data

    # -- per app ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return dict(self._read("status.json", {}) or {})

    def app(self, repo: str, app: str) -> dict[str, Any]:
        return dict(self.status().get(repo, {}).get(app, {}))

    def last_success(self, repo: str, app: str) -> datetime | None:
        return parse_iso(self.app(repo, app).get("last_success"))

    def item_started(self, repo: str, app: str, item: str, when: datetime) -> None:
        status = self.status()
        entry = status.setdefault(repo, {}).setdefault(app, {})
        entry.update(state="running", last_attempt=iso(when))
        entry.setdefault("items", {}).setdefault(item, {}).update(
            state="running", started=iso(when)
        )
        self._write("status.json", status)

    def item_done(
        self,
        repo: str,
        app: str,
        item: str,
        *,
        ok: bool,
        when: datetime,
        error: str | None = None,
        snapshot: str | None = None,
        stats: Mapping[str, Any] | None = None,
    ) -> None:
        status = self.status()
        entry = status.setdefault(repo, {}).setdefault(app, {})
        record = entry.setdefault("items", {}).setdefault(item, {})
        record.update(state="ok" if ok else "failed", when=iso(when), error=error)
        if ok:
            record.update(snapshot=snapshot, stats=dict(stats or {}), last_success=iso(when))
        self._write("status.json", status)
        if not ok:
            self.failure(repo=repo, app=app, item=item, error=error or "failed", when=when)

    def app_done(self, repo: str, app: str, *, ok: bool, when: datetime, error: str | None) -> None:
        status = self.status()
        entry = status.setdefault(repo, {}).setdefault(app, {})
        entry.update(state="ok" if ok else "failed", error=error)
        entry["last_success" if ok else "last_failure"] = iso(when)
        self._write("status.json", status)

    def copy_done(self, repo: str, *, ok: bool, when: datetime, error: str | None) -> None:
        status = self.status()
        entry = status.setdefault(COPIES, {}).setdefault(repo, {})
        entry.update(state="ok" if ok else "failed", error=error)
        entry["last_success" if ok else "last_failure"] = iso(when)
        self._write("status.json", status)
        if not ok:
            self.failure(repo=repo, app=None, item="copy", error=error or "failed", when=when)

    def last_copy(self, repo: str) -> datetime | None:
        return parse_iso(self.status().get(COPIES, {}).get(repo, {}).get("last_success"))

    # -- good snapshots --------------------------------------------------------------------

    def good(self, repo: str) -> dict[str, dict[str, Any]]:
        return dict((self._read("snapshots.json", {}) or {}).get(repo, {}))

    def add_good(self, repo: str, snapshot_id: str, meta: Mapping[str, Any]) -> None:
        data = dict(self._read("snapshots.json", {}) or {})
        data.setdefault(repo, {})[snapshot_id] = dict(meta)
        self._write("snapshots.json", data)

    def good_meta(self, repo: str, snapshot_id: str) -> dict[str, Any] | None:
        """The record of a good snapshot, matched by full id or id prefix either way."""
        for known, meta in self.good(repo).items():
            if known.startswith(snapshot_id) or snapshot_id.startswith(known):
                return meta
        return None

    def forget_good(self, repo: str, keep_ids: set[str]) -> None:
        """Drop records of snapshots no longer in the repository (after forget/prune)."""
        data = dict(self._read("snapshots.json", {}) or {})
        kept = {
            k: v
            for k, v in data.get(repo, {}).items()
            if any(full.startswith(k) for full in keep_ids)
        }
        data[repo] = kept
        self._write("snapshots.json", data)

    # -- repository sizes ------------------------------------------------------------------

    def sizes(self, repo: str) -> list[tuple[datetime, int]]:
        """The bytes ``repo`` stored after each run that measured it, oldest first."""
        out = []
        for when, size in (self._read("sizes.json", {}) or {}).get(repo, []):
            parsed = parse_iso(when)
            if parsed is not None:
                out.append((parsed, int(size)))
        return out

    def size_done(self, repo: str, size: int, when: datetime) -> None:
        data = dict(self._read("sizes.json", {}) or {})
        entries = [*data.get(repo, []), [iso(when), int(size)]]
        data[repo] = entries[-MAX_SIZES:]
        self._write("sizes.json", data)

    # -- drills, checks, failures ----------------------------------------------------------

    def drills(self) -> dict[str, Any]:
        return dict(self._read("drills.json", {}) or {})

    def drill_done(self, repo: str, app: str, result: Mapping[str, Any]) -> None:
        data = self.drills()
        data.setdefault(repo, {})[app] = dict(result)
        self._write("drills.json", data)

    def checks(self) -> dict[str, Any]:
        return dict(self._read("checks.json", {}) or {})

    def check_done(self, repo: str, result: Mapping[str, Any]) -> None:
        data = self.checks()
        data[repo] = dict(result)
        self._write("checks.json", data)

    def failures(self) -> list[dict[str, Any]]:
        return list(self._read("failures.json", []) or [])

    def failure(self, *, repo: str, app: str | None, item: str, error: str, when: datetime) -> None:
        data = self.failures()
        data.append({"when": iso(when), "repo": repo, "app": app, "item": item, "error": error})
        self._write("failures.json", data[-MAX_FAILURES:])
