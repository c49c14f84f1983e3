"""lares's own state in the offsite repositories: is it as new as the apps' data there?

A new machine recovers from an offsite repository with lares's state snapshot (the secrets that
open the apps' data, :mod:`lares.recover.snapshot`). When that snapshot is older than the newest
app snapshot in the same repository, a recovery brings back data newer than the secrets and
revisions beside it — or, with none at all, nothing that opens it. Reads what ``lares backup``
records: ``backup/state.json`` (per repository, the last state snapshot) and ``backup/status.json``
(per repository and app, the last success).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from lares.monitor.collectors import Context
from lares.monitor.config import WatchConfig
from lares.monitor.rules import Condition, Inputs, fmt_days, rule
from lares.monitor.sample import Sample, iso_time

ID = "lares_state"
DEFAULT_INTERVAL: float | None = 300.0
STATE_RECORD = "backup/state.json"  # lares.recover.snapshot.RECORD


def collect(ctx: Context) -> list[Sample]:
    state = ctx.state()
    if state is None:
        return []
    return samples(
        ctx.config,
        state.read_json(STATE_RECORD, {}) or {},
        state.read_json("backup/status.json", {}) or {},
    )


def samples(
    config: WatchConfig, states: Mapping[str, Any], status: Mapping[str, Any]
) -> list[Sample]:
    """Per offsite repository holding app snapshots: ``state_last`` (Unix time of the newest
    state snapshot, None when there is none) and ``state_behind_seconds`` (how much older it
    is than the newest app snapshot there; 0 when it is not)."""
    out: list[Sample] = []
    for repo in config.repositories:
        if not repo.offsite:
            continue
        apps = status.get(repo.name) or {}
        newest_app = max(
            (t for t in (iso_time((e or {}).get("last_success")) for e in apps.values()) if t),
            default=None,
        )
        if newest_app is None:
            continue
        entry = states.get(repo.name) or {}
        last = iso_time(entry.get("last_success"))
        labels = {"repository": repo.name}
        state = str(entry.get("state") or "never")
        out.append(
            Sample(ID, repo.name, "state_last", last, state, str(entry.get("error") or ""), labels)
        )
        behind = newest_app - last if last is not None else None
        out.append(
            Sample(
                ID,
                repo.name,
                "state_behind_seconds",
                max(behind, 0.0) if behind is not None else None,
                labels=labels,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Rules: a snapshot of lares's own state that is too old


@rule("state-late")
def lares_state(x: Inputs) -> Iterator[Condition]:
    """An offsite repository whose newest lares state snapshot is older than its newest app
    snapshot: recovered there, the data would come back without the secrets that match it."""
    for sample in x.each("lares_state", "state_last"):
        repo = sample.labels.get("repository", sample.subject)
        behind = x.value("lares_state", sample.subject, "state_behind_seconds")
        if sample.value is None:
            when = "holds no snapshot of lares's own state"
        elif behind:
            when = (
                f"holds a snapshot of lares's own state {fmt_days(behind / 86400)} older than its "
                "newest app snapshot"
            )
        else:
            continue
        failed = (
            f"; the last attempt failed: {sample.detail}"
            if sample.state == "failed" and sample.detail
            else ""
        )
        yield Condition(
            f"state-late:{repo}",
            "state-late",
            "warning",
            repo,
            f"the offsite repository {repo} {when}: a new machine could not open the data "
            f"it recovers from there{failed}",
            "lares_state",
            hint=f"lares backup run --repo {repo}",
        )


RULES = (lares_state,)
