"""Backups: when each app last reached each repository, each copy ran, each restore drill passed.

Reads what ``lares backup`` records under ``<state dir>/backup/`` (the layout documented in
:mod:`lares.backup.records`: ``status.json`` per repository and app, ``_copies`` per copied
repository, ``drills.json`` per repository and app). The files are read with
:meth:`StateDir.read_json <lares.state.StateDir.read_json>` exactly as ``Records`` reads them,
rather than through ``Records`` itself: importing the backup package loads the blueprint and
catalog models (about 18 MB), which the watcher has no other use for. A test writes records with
``Records`` and reads them here, so the two cannot drift apart.

Whether a time is too old depends on the schedule; the rules judge it
(:func:`lares.monitor.rules.backup_rules`). Only apps with a backup spec are expected in
repositories that are not filled by ``restic copy``; an app of the blueprint that is not deployed
but was backed up (``lares backup run`` backs up every app with a backup spec) is reported too,
so a failed run is never hidden by the app's stack being down.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from lares.monitor.collectors import Context
from lares.monitor.config import WatchConfig
from lares.monitor.sample import Sample

ID = "backups"
DEFAULT_INTERVAL: float | None = 60.0  # two small JSON files: cheap to read every minute
COPIES = "_copies"  # lares.backup.records.COPIES


def collect(ctx: Context) -> list[Sample]:
    from lares.state import StateDir

    if not ctx.config.state_dir:
        return []
    state = StateDir(Path(ctx.config.state_dir))
    status = state.read_json("backup/status.json", {}) or {}
    drills = state.read_json("backup/drills.json", {}) or {}
    return samples(ctx.config, status, drills, now=ctx.now)


def _when(text: object) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def samples(
    config: WatchConfig,
    status: Mapping[str, Any],
    drills: Mapping[str, Any],
    *,
    now: float,
) -> list[Sample]:
    """Per app and repository: ``last_success`` (Unix time) and ``age_seconds``, with the
    state of the last attempt (``ok``, ``failed``, ``running`` or ``never``); per copied
    repository the same for the copy; per app the last drill (``drill_ok``, ``drill_last``).
    """
    out: list[Sample] = []
    apps = [a for a in config.apps if a.backup]
    deployed = [a.id for a in apps]
    for repo in config.repositories:
        base = {"repository": repo.name, "schedule": repo.schedule}
        if repo.copy_from is not None:
            entry = (status.get(COPIES) or {}).get(repo.name) or {}
            out += _age(f"copy:{repo.name}", entry, {**base, "copy_from": repo.copy_from}, now)
            continue
        entries = status.get(repo.name) or {}
        recorded = [a for a in config.backed_up if a in entries and a not in deployed]
        for app_id in [*deployed, *recorded]:
            entry = entries.get(app_id) or {}
            out += _age(f"{app_id}@{repo.name}", entry, {**base, "app": app_id}, now)
    repo_name = config.drill_repository or next(
        (r.name for r in config.repositories if r.copy_from is None), None
    )
    if repo_name is not None and config.drill_schedule:
        for app in apps:
            entry = (drills.get(repo_name) or {}).get(app.id) or {}
            labels = {"app": app.id, "repository": repo_name, "schedule": config.drill_schedule}
            subject = f"{app.id}@{repo_name}"
            when = _when(entry.get("when"))
            if when is None:
                out.append(Sample(ID, subject, "drill_ok", None, "never", labels=labels))
                continue
            ok = entry.get("ok") is True
            error = str(entry.get("error") or "")
            out += [
                Sample(
                    ID,
                    subject,
                    "drill_ok",
                    1.0 if ok else 0.0,
                    "ok" if ok else "failed",
                    error,
                    labels,
                ),
                Sample(ID, subject, "drill_last", when, labels=labels),
                Sample(ID, subject, "drill_age_seconds", max(now - when, 0.0), labels=labels),
            ]
    return out


def _age(
    subject: str, entry: Mapping[str, Any], labels: dict[str, str], now: float
) -> list[Sample]:
    last = _when(entry.get("last_success"))
    state = str(entry.get("state") or "never") if entry else "never"
    error = str(entry.get("error") or "")
    out = [Sample(ID, subject, "last_success", last, state, error, labels)]
    if last is not None:
        out.append(Sample(ID, subject, "age_seconds", max(now - last, 0.0), labels=labels))
    return out
