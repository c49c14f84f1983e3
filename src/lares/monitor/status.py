"""``lares status``: run every collector once and say what is wrong.

Unlike the watch loop there is no waiting for ``pending_samples``: a condition shows the moment
it is seen. The samples are recorded in the history (so the forecast and the restart window have
more to go on) and first-seen SMART counters get their baseline, but the alert state is only
read, never advanced: notifications stay the watcher's job. While a lares deploy changes some
stacks (:mod:`lares.deploying`), their container and endpoint conditions are notes, not problems.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lares.monitor.alerts import Alert
from lares.monitor.collectors import Collector, CollectorRun, Context, discover, run_collector
from lares.monitor.config import WatchConfig
from lares.monitor.rules import SEVERITY_RANK, Condition, Limits, deploying, evaluate, first_sight
from lares.monitor.sample import Sample
from lares.monitor.store import Silence, Store


@dataclass
class Status:
    at: float
    config: WatchConfig
    runs: list[CollectorRun]
    samples: list[Sample]
    conditions: list[Condition]
    alerts: list[Alert] = field(default_factory=list)
    silences: list[Silence] = field(default_factory=list)

    @property
    def problems(self) -> list[Condition]:
        return [c for c in self.conditions if c.severity in ("critical", "warning")]

    @property
    def notes(self) -> list[Condition]:
        return [c for c in self.conditions if c.severity == "info"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.config.host,
            "at": self.at,
            "problems": [c.to_dict() for c in self.problems],
            "notes": [c.to_dict() for c in self.notes],
            "collectors": {
                r.collector: {"ok": r.ok, "error": r.error, "duration": round(r.duration, 3)}
                for r in self.runs
            },
            "alerts": [a.to_dict() for a in self.alerts],
            "silences": [s.to_dict() for s in self.silences],
            "samples": [s.to_dict() for s in self.samples],
        }


def check(
    config: WatchConfig,
    *,
    collectors: Mapping[str, Collector] | None = None,
    only: list[str] | None = None,
    record: bool = True,
) -> Status:
    """Run the collectors (all, or ``only``) once and evaluate the rules on what they saw."""
    found = dict(collectors) if collectors is not None else discover()
    if only is not None:
        found = {cid: c for cid, c in found.items() if cid in only}
    store = Store.open(Path(config.state_dir) / "monitor") if config.state_dir else None
    ctx = Context(config, store=store)
    try:
        runs = [run_collector(c, ctx) for c in found.values()]
        samples = [s for r in runs for s in (*r.samples, r.meta())]
        now = time.time()
        if store is not None and record:
            store.record(samples, now)
        conditions = judge(samples, config, store, now, record=record)
        alerts: list[Alert] = []
        silences: list[Silence] = []
        if store is not None:
            alerts = [Alert.from_dict(a) for a in store.load_alerts().values()]
            silences = store.silences(now=now)
        if config.state_dir:
            conditions = _during_deploy(conditions, config, now)
        return Status(now, config, runs, samples, conditions, alerts, silences)
    finally:
        ctx.close()
        if store is not None:
            store.close()


def judge(
    samples: Sequence[Sample],
    config: WatchConfig,
    store: Store | None,
    now: float,
    *,
    limits: Limits | None = None,
    record: bool = True,
) -> list[Condition]:
    """The conditions ``samples`` show, judged with the baselines in ``store``; counters seen for
    the first time get theirs now (kept in the store when ``record``)."""
    baselines: dict[str, float] = {}
    if store is not None:
        baselines = store.baselines()
        new = first_sight(samples, baselines)
        if new and record:
            store.set_baselines(new, acknowledged=False, now=now)
        baselines.update(new)
    return evaluate(samples, config, limits=limits, baselines=baselines, history=store, now=now)


def _during_deploy(conditions: list[Condition], config: WatchConfig, now: float) -> list[Condition]:
    """The conditions a deploy in progress explains become notes that say so."""
    from lares.deploying import muted_stacks

    stacks = muted_stacks(Path(config.state_dir), now)
    if not stacks:
        return conditions
    held = deploying(config, stacks)
    note = f" (lares is deploying {', '.join(sorted(stacks))})"
    changed = [
        replace(c, severity="info", message=c.message + note) if held(c) else c for c in conditions
    ]
    return sorted(changed, key=lambda c: (SEVERITY_RANK[c.severity], c.key))
