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

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from lares.monitor.collectors import Context
from lares.monitor.config import WatchConfig
from lares.monitor.rules import Condition, Inputs, fmt_days, rule
from lares.monitor.sample import Sample, iso_time

ID = "backups"
DEFAULT_INTERVAL: float | None = 60.0  # two small JSON files: cheap to read every minute
COPIES = "_copies"  # lares.backup.records.COPIES


def collect(ctx: Context) -> list[Sample]:
    state = ctx.state()
    if state is None:
        return []
    status = state.read_json("backup/status.json", {}) or {}
    drills = state.read_json("backup/drills.json", {}) or {}
    return samples(ctx.config, status, drills, now=ctx.now)


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
            when = iso_time(entry.get("when"))
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
    last = iso_time(entry.get("last_success"))
    state = str(entry.get("state") or "never") if entry else "never"
    error = str(entry.get("error") or "")
    out = [Sample(ID, subject, "last_success", last, state, error, labels)]
    if last is not None:
        out.append(Sample(ID, subject, "age_seconds", max(now - last, 0.0), labels=labels))
    return out


# ---------------------------------------------------------------------------------------------
# Rules: backups, copies and drills that failed or are late


def _missed(schedule: str, last: float | None, now: float, grace: float) -> int | None:
    """How many scheduled occurrences passed (grace after each) since ``last``; None if the
    schedule does not parse. A never-done job counts as having missed one."""
    from datetime import timedelta

    from lares.oncalendar import parse

    try:
        calendar = parse(schedule)
    except ValueError:
        return None
    at = datetime.fromtimestamp(now).astimezone() - timedelta(seconds=grace)
    latest = calendar.previous(at)
    if last is None:
        return 1
    if last >= latest.timestamp():
        return 0
    before = calendar.previous(latest - timedelta(seconds=1))
    return 1 if last >= before.timestamp() else 2


@rule("backup-failed", "copy-failed", "backup-late", "copy-late", "drill-failed", "drill-late")
def backups(x: Inputs) -> Iterator[Condition]:
    grace = x.limits.backup_grace
    for sample in x.each("backups", "last_success"):
        labels = sample.labels
        schedule = labels.get("schedule", "daily")
        copy = "copy_from" in labels
        repo = labels.get("repository", "")
        app = labels.get("app") or None
        if sample.value is None:
            when = "has never succeeded"
        else:
            when = f"last succeeded {fmt_days((x.now - sample.value) / 86400)} ago"
        what = f"the copy to {repo}" if copy else f"the backup of {app} to {repo}"
        hint = "lares backup run" + (f" --repo {repo}" if repo else "")
        kind = "copy" if copy else "backup"
        if sample.state == "failed":
            yield Condition(
                f"{kind}-failed:{sample.subject}",
                f"{kind}-failed",
                "critical",
                sample.subject,
                f"the last attempt at {what} failed"
                + (f": {sample.detail}" if sample.detail else "")
                + f"; it {when}",
                "backups",
                app=app,
                hint=f"fix the cause, then {hint}",
            )
            continue
        missed = _missed(schedule, sample.value, x.now, grace)
        if not missed:
            continue
        yield Condition(
            f"{kind}-late:{sample.subject}",
            f"{kind}-late",
            "critical" if missed >= 2 else "warning",
            sample.subject,
            f"{what} {when} (schedule {schedule})",
            "backups",
            app=app,
            hint=hint,
        )
    for sample in x.each("backups", "drill_ok"):
        labels = sample.labels
        app = labels.get("app") or None
        repo = labels.get("repository", "")
        if sample.state == "failed":
            yield Condition(
                f"drill-failed:{sample.subject}",
                "drill-failed",
                "critical",
                sample.subject,
                f"the restore drill of {app} from {repo} failed"
                + (f": {sample.detail}" if sample.detail else ""),
                "backups",
                app=app,
                hint="lares backup drill shows what did not come back",
            )
            continue
        last = x.value("backups", sample.subject, "drill_last")
        schedule = labels.get("schedule", "monthly")
        if _missed(schedule, last, x.now, x.limits.backup_grace):
            when = (
                "has never run"
                if last is None
                else f"last passed {fmt_days((x.now - last) / 86400)} ago"
            )
            yield Condition(
                f"drill-late:{sample.subject}",
                "drill-late",
                "warning",
                sample.subject,
                f"the restore drill of {app} from {repo} {when} (schedule {schedule})",
                "backups",
                app=app,
                hint="lares backup drill",
            )


RULES = (backups,)
