"""Alert rules: from the latest samples to the conditions a person should hear about.

:func:`evaluate` runs every rule of :func:`rules` over the newest sample of every series and
returns :class:`Condition` values, worst first. A condition has a stable ``key`` (the alert's
identity), a severity (``critical``, ``warning``, or ``info``, which is shown by ``lares status``
but never notified), the ``source`` collector whose samples it came from, and the ``app`` it
belongs to, if any. Rules are pure: history (baselines, earlier values) comes in through
:class:`History`.

Thresholds are the blueprint's ``monitor.thresholds`` (:class:`Limits`; the defaults are the
blueprint's). This module is the engine and holds the watcher's own rules (``collector-error``,
``docker-daemon``, ``unparsed``); every other rule lives with the collector whose samples it reads,
in that module's ``RULES`` (:func:`rule` names the ids it raises), and :func:`rules` and
:func:`rule_ids` find them with :mod:`lares.plugins`. The rules, by id:

* ``collector-error``: a collector failed to run. ``docker-daemon``: the Docker daemon does not
  answer (critical; a root cause, see below).
* ``disk-mount``: a pool is not mounted or a watched folder is missing. ``disk-usage``: use at or
  above ``disk_warn`` / ``disk_crit`` percent. ``disk-forecast``: full within
  :data:`Limits.forecast_days` days at the current pace.
* ``raid``: an md array is degraded, failed or inactive (critical) or rebuilding (warning).
  ``raid-missing``: the blueprint has an mdadm pool and the kernel has no array.
* ``smart``: a drive's own health verdict is failing (critical) or warning. ``smart-growth``: any
  rise of reallocated (5), pending (197) or offline-uncorrectable (198) sectors or NVMe media
  errors over the stored baseline (critical; the baseline is the first value seen, moved by
  ``lares ack smart``). ``drive-temp``: at or above ``drive_temp_warn`` / ``drive_temp_crit``.
  ``smart-unavailable``: smartctl is missing while the blueprint names drives.
* ``btrfs-errors``: a device error counter above its acknowledged baseline (zero until
  ``lares ack btrfs``), critical. ``btrfs-missing``: a device of the filesystem is missing.
  ``btrfs-scrub``: the last scrub found errors it could not fix (critical), fixed some, was
  aborted, or is older than :data:`Limits.scrub_max_age_days` or never ran (warning).
  ``btrfs-usage``: mixed allocation profiles (an unfinished balance or convert).
* ``cpu-temp``: a CPU sensor at or above ``cpu_temp_warn``.
* ``container-oom``, ``container-restarting``, ``container-down``, ``container-unhealthy``,
  ``container-paused``: one per container, the most telling first (an OOM kill explains a
  restart loop, which explains a stopped container). An OOM kill is Docker's ``OOMKilled`` flag
  or an ``oom`` event within :data:`Limits.restart_window` seconds. Restart looping is
  ``restart_loop`` restarts within that window, or the state ``restarting``.
* ``endpoint-down``: no answer, an error, or HTTP 5xx. ``cert``: a certificate expires within
  ``cert_days`` days (warning) or has expired (critical).
* ``backup-failed``, ``copy-failed``: the last attempt failed (critical), whatever the schedule;
  it fires at first sight (:data:`AT_ONCE`) and resolves when a later run succeeds.
  ``backup-late``, ``copy-late``: the last success is older than the schedule's latest
  occurrence (plus :data:`Limits.backup_grace`); critical when two occurrences were missed.
  ``drill-failed``: the last restore drill failed. ``drill-late``: no passing drill within its
  schedule.
* ``unparsed``: lines a parser did not understand (info).

Dependencies (:func:`suppress`): when the Docker daemon is down every container and endpoint
condition is held back by it; when a database container is down (or restarting, or OOM-killed),
the other conditions of its app are held back by it; when the proxy is down, every LAN endpoint
condition is. The root-cause condition says how many it holds back and for which apps, so one
notification names the cause instead of a dozen symptoms.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any, Protocol

from lares.monitor.config import WatchConfig
from lares.monitor.sample import Sample
from lares.severity import rank
from lares.text import counted

SEVERITIES = ("critical", "warning", "info")
#: The rank of each severity on lares's one scale, worst first: conditions and alerts sort by it.
SEVERITY_RANK = {s: rank(s) for s in SEVERITIES}
NOT_RUNNING = ("container-oom", "container-restarting", "container-down")
#: Rules whose conditions fire at first sight instead of after ``pending_samples`` cycles: they
#: come from a recorded outcome (a backup run, a drill), not a reading that may flap.
AT_ONCE = frozenset({"backup-failed", "copy-failed", "drill-failed"})
#: The sources whose conditions a deploy in progress explains for the stacks it changes
#: (:mod:`lares.deploying`): Compose stops, renames and replaces their containers.
HELD_BY_DEPLOY = frozenset({"docker", "http"})


def deploying(config: WatchConfig, stacks: Iterable[str]) -> Callable[[Condition], bool]:
    """Whether a condition is explained by a deploy changing ``stacks``."""
    wanted = set(stacks)
    apps = {a.id for a in config.apps if a.stack in wanted}

    def held(c: Condition) -> bool:
        return c.source in HELD_BY_DEPLOY and c.app in apps

    return held


@dataclass(frozen=True)
class Limits:
    """Thresholds: the blueprint's ``monitor.thresholds`` plus the fixed windows below."""

    disk_warn: float = 80.0
    disk_crit: float = 90.0
    drive_temp_warn: float = 45.0
    drive_temp_crit: float = 55.0
    cpu_temp_warn: float = 80.0
    cert_days: float = 14.0
    restart_loop: float = 3.0
    pending_samples: float = 2.0
    repeat: float = 6 * 3600.0
    restart_window: float = 900.0
    forecast_days: float = 7.0
    scrub_max_age_days: float = 35.0
    backup_grace: float = 2 * 3600.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> Limits:
        known = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in values.items() if k in known})


@dataclass(frozen=True)
class Issue:
    """What a rule says is wrong: ``key`` (stable across cycles: the alert's identity), the
    rule, severity, subject, message, the collector it came from (``source``), the app and a
    hint. A :class:`Condition` is one cycle's; an alert keeps the last one it was told."""

    key: str
    rule: str
    severity: str
    subject: str
    message: str
    source: str
    app: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class Condition(Issue):
    """Something wrong now, with its labels and whether a root cause holds it back."""

    labels: Mapping[str, str] = field(default_factory=dict)
    root: bool = False
    suppressed_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "rule": self.rule,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "source": self.source,
        }
        for name in ("app", "hint", "suppressed_by"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.root:
            data["root"] = True
        return data


class History(Protocol):
    """What rules may ask of the past (the store implements it)."""

    def value_since(self, key: tuple[str, str, str], since: float) -> float | None: ...


@dataclass
class Inputs:
    """Everything a rule reads: the newest samples, the config, limits, baselines, history."""

    samples: Sequence[Sample]
    config: WatchConfig
    limits: Limits
    baselines: Mapping[str, float]
    history: History | None
    now: float
    _index: dict[tuple[str, str, str], Sample] = field(default_factory=dict, repr=False)
    _by_metric: dict[tuple[str, str], list[Sample]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        by_metric: dict[tuple[str, str], list[Sample]] = defaultdict(list)
        for sample in self.samples:
            self._index[sample.series] = sample
            by_metric[(sample.collector, sample.metric)].append(sample)
        self._by_metric = dict(by_metric)

    def get(self, collector: str, subject: str, metric: str) -> Sample | None:
        return self._index.get((collector, subject, metric))

    def value(self, collector: str, subject: str, metric: str) -> float | None:
        sample = self.get(collector, subject, metric)
        return sample.value if sample is not None else None

    def each(self, collector: str, metric: str) -> list[Sample]:
        return self._by_metric.get((collector, metric), [])

    def collector(self, collector: str) -> list[Sample]:
        return [s for s in self.samples if s.collector == collector]

    def above_baseline(
        self, samples: Iterable[Sample], unset: float | None = None
    ) -> Iterator[tuple[Sample, float]]:
        """Each counter whose value is above its stored baseline, with that baseline. ``unset``
        is the baseline of a counter that has none stored (None: such a counter is skipped)."""
        for sample in samples:
            base = self.baselines.get(baseline_key(sample), unset)
            if base is not None and sample.value is not None and sample.value > base:
                yield sample, base

    def over_limits(
        self, collector: str, metric: str, warn: float, crit: float
    ) -> Iterator[tuple[Sample, float, str, float]]:
        """Each sample of ``metric`` at or above ``warn``: its value (no value counts as 0), the
        severity it reaches (``critical`` at or above ``crit``) and the limit it reached."""
        for sample in self.each(collector, metric):
            value = sample.value or 0.0
            if value >= crit:
                yield sample, value, "critical", crit
            elif value >= warn:
                yield sample, value, "warning", warn


Check = Callable[[Inputs], Iterable[Condition]]


@dataclass(frozen=True)
class Rule:
    """An alert rule: the ids of the conditions it may raise and the check that finds them."""

    ids: tuple[str, ...]
    check: Check

    def __call__(self, x: Inputs) -> Iterable[Condition]:
        return self.check(x)


def rule(*ids: str) -> Callable[[Check], Rule]:
    """Make a check a :class:`Rule` raising conditions of ``ids``; list it in a module's RULES."""

    def make(check: Check) -> Rule:
        return Rule(ids, check)

    return make


def baseline_key(sample: Sample) -> str:
    return f"{sample.collector}:{sample.subject}:{sample.metric}"


def fmt_percent(value: float) -> str:
    return f"{value:.1f}%"


def fmt_days(value: float) -> str:
    return f"{value:.1f} days" if value < 10 else f"{value:.0f} days"


# ── collectors themselves ──────────────────────────────────────────────────────────────────


@rule("collector-error", "docker-daemon")
def collector_errors(x: Inputs) -> Iterator[Condition]:
    for sample in x.samples:
        if sample.subject != "collector" or sample.metric != "up" or sample.value != 0:
            continue
        name = sample.collector
        if name == "docker":
            yield Condition(
                "docker-daemon",
                "docker-daemon",
                "critical",
                "docker",
                f"the Docker daemon does not answer: {sample.detail}",
                f"collector:{name}",
                hint="systemctl status docker; journalctl -u docker",
                root=True,
            )
            continue
        yield Condition(
            f"collector-error:{name}",
            "collector-error",
            "warning",
            name,
            f"the {name} collector failed: {sample.detail}",
            f"collector:{name}",
        )


# ── parsers ────────────────────────────────────────────────────────────────────────────────


@rule("unparsed")
def unparsed(x: Inputs) -> Iterator[Condition]:
    for sample in x.samples:
        if sample.metric.startswith("unparsed") and sample.value:
            yield Condition(
                f"unparsed:{sample.collector}:{sample.subject}:{sample.metric}",
                "unparsed",
                "info",
                sample.subject,
                f"{counted(sample.value, 'line')} from {sample.collector} ({sample.subject}) "
                f"{'was' if sample.value == 1 else 'were'} not understood: {sample.detail}",
                sample.collector,
            )


# ── evaluation ─────────────────────────────────────────────────────────────────────────────


#: The rules of the watcher itself; every collector module adds its own ``RULES``.
RULES: tuple[Rule, ...] = (collector_errors, unparsed)


@cache
def rules() -> tuple[Rule, ...]:
    """These rules and those of every collector module (its ``RULES``), found by lares.plugins.

    A new collector brings its rules in its own file: nothing here lists them.
    """
    from lares import plugins

    found = list(RULES)
    for module in plugins.modules("lares.monitor.collectors", require=("RULES",)).values():
        found.extend(module.RULES)
    return tuple(found)


def rule_ids() -> tuple[str, ...]:
    """Every rule id a condition can carry (a silence may name one), derived from :func:`rules`."""
    return tuple(dict.fromkeys(i for each in rules() for i in each.ids))


def __getattr__(name: str) -> Any:
    if name == "RULE_IDS":  # computed on first use: collectors import this module
        return rule_ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def evaluate(
    samples: Sequence[Sample],
    config: WatchConfig,
    *,
    limits: Limits | None = None,
    baselines: Mapping[str, float] | None = None,
    history: History | None = None,
    now: float | None = None,
) -> list[Condition]:
    """Every condition the samples show, dependencies applied (:func:`suppress`), worst first."""
    inputs = Inputs(
        samples,
        config,
        limits or Limits.from_mapping(config.thresholds),
        baselines or {},
        history,
        time.time() if now is None else now,
    )
    found: list[Condition] = []
    for each in rules():
        found.extend(each(inputs))
    return sorted(suppress(found, config), key=lambda c: (SEVERITY_RANK[c.severity], c.key))


def suppress(conditions: Sequence[Condition], config: WatchConfig) -> list[Condition]:
    """Mark the conditions a root cause explains (``suppressed_by``), and say so on the root.

    Roots, in order: the Docker daemon (holds every container, endpoint and certificate
    condition), a database container that is not running (holds the other conditions of its
    app), the proxy container that is not running (holds every LAN endpoint condition).
    """
    out = list(conditions)
    held: dict[str, list[int]] = defaultdict(list)

    def hold(root: Condition, index: int) -> None:
        if out[index].key != root.key and out[index].suppressed_by is None:
            out[index] = replace(out[index], suppressed_by=root.key)
            held[root.key].append(index)

    daemon = next((c for c in out if c.rule == "docker-daemon"), None)
    if daemon is not None:
        for i, c in enumerate(out):
            if c.rule.startswith(("container-", "endpoint-")) or c.rule == "cert":
                hold(daemon, i)
    databases = config.databases
    for root in list(out):
        if root.rule not in NOT_RUNNING or root.suppressed_by is not None:
            continue
        if root.subject in databases:
            app = databases[root.subject]
            for i, c in enumerate(out):
                if c.app == app and c.key != root.key and not _is_database_root(c, databases):
                    hold(root, i)
        elif config.proxy is not None and root.subject == config.proxy:
            for i, c in enumerate(out):
                if c.rule in ("endpoint-down", "cert") and c.labels.get("kind") == "lan":
                    hold(root, i)
    for key, indexes in held.items():
        position = next(i for i, c in enumerate(out) if c.key == key)
        root = out[position]
        apps = sorted({out[i].app or out[i].subject for i in indexes})
        count = len(indexes)
        note = f"; {count} alert{'s' if count != 1 else ''} of {', '.join(apps)} held back"
        out[position] = replace(root, root=True, message=root.message + note)
    return out


def _is_database_root(condition: Condition, databases: Mapping[str, str]) -> bool:
    return condition.rule in NOT_RUNNING and condition.subject in databases


@cache
def _baselined() -> dict[str, tuple[Callable[[str], bool], bool]]:
    """Collector id → (which of its metrics have a baseline, whether it is set at first sight).

    A collector whose counters have a baseline says so in its module: ``baselined(metric)`` and
    ``BASELINE_AT_FIRST_SIGHT``.
    """
    from lares import plugins

    found = plugins.modules("lares.monitor.collectors", require=("ID", "baselined"))
    return {
        m.ID: (m.baselined, bool(getattr(m, "BASELINE_AT_FIRST_SIGHT", False)))
        for m in found.values()
    }


def acknowledgeable() -> tuple[str, ...]:
    """The collectors whose counters ``lares ack`` can take as the new baseline, sorted."""
    return tuple(sorted(_baselined()))


def first_sight(samples: Iterable[Sample], baselines: Mapping[str, float]) -> dict[str, float]:
    """Baselines to store for counters seen for the first time (SMART sector counts).

    btrfs counters need none: the kernel counts from zero since the last reset, so their
    baseline is zero until acknowledged.
    """
    kinds = _baselined()
    found: dict[str, float] = {}
    for sample in samples:
        kind = kinds.get(sample.collector)
        if kind is not None and kind[1] and kind[0](sample.metric):
            key = baseline_key(sample)
            if key not in baselines and sample.value is not None:
                found[key] = sample.value
    return found


def acknowledge(samples: Iterable[Sample], collector: str) -> dict[str, float]:
    """The baselines ``lares ack <collector>`` stores: every counter as it is now."""
    kind = _baselined().get(collector)
    found: dict[str, float] = {}
    for sample in samples:
        if kind is None or sample.collector != collector or sample.value is None:
            continue
        if kind[0](sample.metric):
            found[baseline_key(sample)] = sample.value
    return found
