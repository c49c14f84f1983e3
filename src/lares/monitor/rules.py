"""Alert rules: from the latest samples to the conditions a person should hear about.

:func:`evaluate` runs every rule of :data:`RULES` over the newest sample of every series and
returns :class:`Condition` values, worst first. A condition has a stable ``key`` (the alert's
identity), a severity (``critical``, ``warning``, or ``info``, which is shown by ``lares status``
but never notified), the ``source`` collector whose samples it came from, and the ``app`` it
belongs to, if any. Rules are pure: history (baselines, earlier values) comes in through
:class:`History`.

Thresholds are the blueprint's ``monitor.thresholds`` (:class:`Limits`; the defaults are the
blueprint's). The rules, by id:

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
from typing import Any, Protocol

from lares.monitor.config import WatchConfig
from lares.monitor.sample import Sample
from lares.text import counted

SEVERITIES = ("critical", "warning", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
# Counters whose rise means a drive is losing sectors; baselined at first sight.
SMART_GROWTH = {
    "attr_5": "reallocated sectors (5)",
    "attr_197": "pending sectors (197)",
    "attr_198": "offline uncorrectable sectors (198)",
    "nvme_media_errors": "NVMe media errors",
}
NOT_RUNNING = ("container-oom", "container-restarting", "container-down")
#: Every rule id a condition can carry (a silence may name one).
RULE_IDS = (
    "collector-error",
    "docker-daemon",
    "disk-mount",
    "disk-usage",
    "disk-forecast",
    "raid",
    "raid-missing",
    "smart",
    "smart-growth",
    "smart-unavailable",
    "drive-temp",
    "btrfs-errors",
    "btrfs-missing",
    "btrfs-scrub",
    "btrfs-usage",
    "cpu-temp",
    "container-oom",
    "container-restarting",
    "container-down",
    "container-unhealthy",
    "container-paused",
    "endpoint-down",
    "cert",
    "backup-failed",
    "copy-failed",
    "backup-late",
    "copy-late",
    "drill-failed",
    "drill-late",
    "drill-leftover",
    "state-late",
    "unparsed",
)
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
class Condition:
    """Something wrong now. ``key`` is stable across cycles: it is the alert's identity."""

    key: str
    rule: str
    severity: str
    subject: str
    message: str
    source: str
    app: str | None = None
    hint: str | None = None
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


Rule = Callable[[Inputs], Iterable[Condition]]
RULES: list[tuple[str, Rule]] = []


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES.append((name, fn))
        return fn

    return register


def baseline_key(sample: Sample) -> str:
    return f"{sample.collector}:{sample.subject}:{sample.metric}"


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _days(value: float) -> str:
    return f"{value:.1f} days" if value < 10 else f"{value:.0f} days"


# ── collectors themselves ──────────────────────────────────────────────────────────────────


@rule("collector-error")
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


# ── disks ──────────────────────────────────────────────────────────────────────────────────


@rule("disk")
def disks(x: Inputs) -> Iterator[Condition]:
    lim = x.limits
    for sample in x.each("disks", "mounted"):
        path, state = sample.subject, sample.state
        pool = sample.labels.get("pool") or ""
        role = sample.labels.get("role")
        if state == "not-mounted":
            yield Condition(
                f"disk-mount:{path}",
                "disk-mount",
                "critical",
                path,
                f"pool {pool + ' ' if pool else ''}is not mounted at {path}: "
                "files written there land on the disk underneath",
                "disks",
                hint=f"mount it (mount {path}) and check its fstab entry or mount unit",
            )
        elif state == "missing":
            yield Condition(
                f"disk-mount:{path}",
                "disk-mount",
                "critical" if role == "pool" else "warning",
                path,
                f"{path} does not exist",
                "disks",
                hint="mount the pool, or correct its mount in the blueprint"
                if role == "pool"
                else "create it, or correct paths.appdata in the blueprint",
            )
    for sample in x.each("disks", "used_percent"):
        used = sample.value or 0.0
        severity = (
            "critical" if used >= lim.disk_crit else "warning" if used >= lim.disk_warn else None
        )
        if severity is None:
            continue
        limit = lim.disk_crit if severity == "critical" else lim.disk_warn
        avail = x.value("disks", sample.subject, "avail_bytes")
        free = f", {avail / 1024**3:.1f} GiB left" if avail is not None else ""
        yield Condition(
            f"disk-usage:{sample.subject}",
            "disk-usage",
            severity,
            sample.subject,
            f"{sample.subject} is {_pct(used)} full ({severity} at {limit:g}%){free}",
            "disks",
            hint="delete or move data, or grow the filesystem",
        )
    for sample in x.each("disks", "days_until_full"):
        days = sample.value
        if days is None or days >= lim.forecast_days:
            continue
        yield Condition(
            f"disk-forecast:{sample.subject}",
            "disk-forecast",
            "warning",
            sample.subject,
            f"at the pace of the last days {sample.subject} is full in about {_days(days)}",
            "disks",
        )


# ── md RAID ────────────────────────────────────────────────────────────────────────────────


@rule("raid")
def raid(x: Inputs) -> Iterator[Condition]:
    count = x.get("mdstat", "arrays", "count")
    md_pools = [p for p in x.config.pools if p.engine == "mdadm"]
    if count is not None and not count.value and md_pools:
        for pool in md_pools:
            yield Condition(
                f"raid-missing:{pool.name}",
                "raid-missing",
                "critical",
                pool.name,
                f"pool {pool.name} is mdadm {pool.level}, and the kernel has no md array"
                + (" (no /proc/mdstat)" if count.state == "absent" else ""),
                "mdstat",
                hint="mdadm --assemble --scan; check /etc/mdadm/mdadm.conf",
            )
    for sample in x.each("mdstat", "health"):
        health = sample.state
        if health in ("ok", "checking") or sample.labels.get("container"):
            continue
        severity = "warning" if health == "rebuilding" else "critical"
        level = sample.labels.get("level")
        name = f"{sample.subject} ({level})" if level else sample.subject
        yield Condition(
            f"raid:{sample.subject}",
            "raid",
            severity,
            sample.subject,
            f"{name} is {health}: {sample.detail}".rstrip(": "),
            "mdstat",
            hint=None
            if health == "rebuilding"
            else f"cat /proc/mdstat; mdadm --detail /dev/{sample.subject}",
        )


# ── drives ─────────────────────────────────────────────────────────────────────────────────


def _drive(sample: Sample) -> str:
    model = sample.labels.get("model")
    return f"{sample.subject} ({model})" if model else sample.subject


@rule("smart")
def smart(x: Inputs) -> Iterator[Condition]:
    lim = x.limits
    available = x.get("smart", "smartctl", "available")
    if available is not None and not available.value and x.config.drives:
        yield Condition(
            "smart-unavailable",
            "smart-unavailable",
            "warning",
            "smartctl",
            f"smartctl is not installed: the health of {counted(len(x.config.drives), 'drive')} "
            "is not watched",
            "smart",
            hint="install smartmontools",
        )
    for sample in x.each("smart", "health"):
        if sample.state not in ("failing", "warning"):
            continue
        yield Condition(
            f"smart:{sample.subject}",
            "smart",
            "critical" if sample.state == "failing" else "warning",
            sample.subject,
            f"{_drive(sample)}: SMART {sample.state}: {sample.detail}",
            "smart",
            hint=f"smartctl -a {sample.subject}; plan a replacement and check the backups"
            if sample.state == "failing"
            else None,
        )
    grown: dict[str, list[str]] = defaultdict(list)
    for metric, name in SMART_GROWTH.items():
        for sample in x.each("smart", metric):
            base = x.baselines.get(baseline_key(sample))
            if base is not None and sample.value is not None and sample.value > base:
                grown[sample.subject].append(f"{name} {base:g} → {sample.value:g}")
    for device, changes in grown.items():
        yield Condition(
            f"smart-growth:{device}",
            "smart-growth",
            "critical",
            device,
            f"{device}: {', '.join(changes)}: the drive is losing sectors",
            "smart",
            hint="check the backups, plan a replacement; `lares ack smart` accepts the new counts",
        )
    for sample in x.each("smart", "temperature_celsius"):
        temp = sample.value or 0.0
        if temp >= lim.drive_temp_crit:
            severity, limit = "critical", lim.drive_temp_crit
        elif temp >= lim.drive_temp_warn:
            severity, limit = "warning", lim.drive_temp_warn
        else:
            continue
        yield Condition(
            f"drive-temp:{sample.subject}",
            "drive-temp",
            severity,
            sample.subject,
            f"{_drive(sample)} is at {temp:g} °C ({severity} at {limit:g} °C)",
            "smart",
            hint="check the fans and the airflow around the drives",
        )


# ── btrfs ──────────────────────────────────────────────────────────────────────────────────


@rule("btrfs")
def btrfs(x: Inputs) -> Iterator[Condition]:
    rising: dict[str, list[str]] = defaultdict(list)
    for sample in x.collector("btrfs"):
        if not sample.metric.startswith("errors_") or sample.value is None:
            continue
        base = x.baselines.get(baseline_key(sample), 0.0)
        if sample.value > base:
            mount = sample.labels.get("mount") or sample.subject
            device = sample.labels.get("device") or sample.subject
            counter = sample.metric.removeprefix("errors_")
            rising[mount].append(f"{device} {counter} {base:g} → {sample.value:g}")
    for mount, changes in rising.items():
        yield Condition(
            f"btrfs-errors:{mount}",
            "btrfs-errors",
            "critical",
            mount,
            f"btrfs error counters rose on {mount}: {', '.join(changes)}",
            "btrfs",
            hint=f"btrfs scrub start -B {mount} repairs from the good copy where there is one; "
            "then `lares ack btrfs` takes the counters as the new baseline",
        )
    for sample in x.each("btrfs", "missing_devices"):
        if sample.value:
            yield Condition(
                f"btrfs-missing:{sample.subject}",
                "btrfs-missing",
                "critical",
                sample.subject,
                f"{counted(sample.value, 'device')} of {sample.subject} "
                f"{'is' if sample.value == 1 else 'are'} missing",
                "btrfs",
                hint=f"btrfs filesystem show {sample.subject}; replace the device "
                "(btrfs replace) before another fails",
            )


@rule("btrfs-scrub")
def scrub(x: Inputs) -> Iterator[Condition]:
    max_age = x.limits.scrub_max_age_days * 86400
    for sample in x.each("scrub", "scrub_health"):
        mount = sample.subject
        running = x.get("scrub", mount, "scrub_running")
        age = x.value("scrub", mount, "scrub_age_seconds")
        never = running is not None and running.state == "no stats"
        if sample.state == "failing":
            yield Condition(
                f"btrfs-scrub:{mount}",
                "btrfs-scrub",
                "critical",
                mount,
                f"the last scrub of {mount} found errors it could not repair: {sample.detail}",
                "scrub",
                hint="restore the damaged files from a backup (see dmesg for their paths)",
            )
        elif sample.state == "warning":
            yield Condition(
                f"btrfs-scrub:{mount}",
                "btrfs-scrub",
                "warning",
                mount,
                f"the last scrub of {mount}: {sample.detail}",
                "scrub",
            )
        elif never or (age is not None and age > max_age):
            when = (
                "has never been scrubbed"
                if never
                else f"was last scrubbed {_days((age or 0) / 86400)} ago"
            )
            yield Condition(
                f"btrfs-scrub:{mount}",
                "btrfs-scrub",
                "warning",
                mount,
                f"{mount} {when}",
                "scrub",
                hint=f"btrfs scrub start {mount} (lares schedules a monthly scrub)",
            )
    for sample in x.each("scrub", "usage_health"):
        if sample.state in ("warning", "degraded"):
            yield Condition(
                f"btrfs-usage:{sample.subject}",
                "btrfs-usage",
                "critical" if sample.state == "degraded" else "warning",
                sample.subject,
                f"{sample.subject}: {sample.detail}",
                "scrub",
            )


# ── host ───────────────────────────────────────────────────────────────────────────────────


@rule("cpu-temp")
def cpu_temp(x: Inputs) -> Iterator[Condition]:
    readings = [s for s in x.each("host", "temp_celsius") if s.labels.get("cpu")]
    if not readings:
        return
    hottest = max(readings, key=lambda s: s.value or 0.0)
    if (hottest.value or 0.0) >= x.limits.cpu_temp_warn:
        yield Condition(
            "cpu-temp",
            "cpu-temp",
            "warning",
            hottest.subject,
            f"the CPU is at {hottest.value:g} °C ({hottest.subject}; warning at "
            f"{x.limits.cpu_temp_warn:g} °C)",
            "host",
            hint="check the cooler and the case fans",
        )


# ── containers ─────────────────────────────────────────────────────────────────────────────


@rule("container")
def containers(x: Inputs) -> Iterator[Condition]:
    lim = x.limits
    for state in x.each("docker", "state"):
        name = state.subject
        labels = state.labels
        app = labels.get("app") or None
        role = labels.get("role") or ""
        restarts = x.value("docker", name, "restarts")
        oom = x.value("docker", name, "oom_killed")
        health = x.get("docker", name, "health")
        recent = None
        if restarts is not None and x.history is not None:
            before = x.history.value_since(("docker", name, "restarts"), x.now - lim.restart_window)
            if before is not None and restarts >= before:
                recent = restarts - before
        oom_at = x.value("docker", name, "oom_at")
        oom_recent = oom_at is not None and x.now - oom_at <= lim.restart_window
        what = {"database": " (database", "proxy": " (LAN proxy"}.get(role, "")
        who = f"{name}{what}{' of ' + app if what and app and role == 'database' else ''}"
        who += ")" if what else ""
        running = state.state == "running"

        limit = x.value("docker", name, "memory_limit_bytes")
        limit_text = f" (limit {limit / 1024**2:g} MiB)" if limit else ""
        found: tuple[str, str, str, str | None] | None = None
        if oom or oom_recent:
            found = (
                "container-oom",
                "warning" if running else "critical",
                f"{who} was killed for running out of memory{limit_text}"
                + ("; it runs again" if running else f"; it is {state.state}"),
                "raise its memory limit in the blueprint (memory: limit) or find what grows",
            )
        elif state.state == "restarting" or (recent is not None and recent >= lim.restart_loop):
            count = (
                f"{recent:g} restarts in {lim.restart_window / 60:g} min"
                if recent
                else "restarting"
            )
            found = (
                "container-restarting",
                "critical",
                f"{who} is restart-looping ({count}; {state.detail or 'no exit code'})",
                f"docker logs --tail 50 {name}",
            )
        elif state.state == "missing":
            found = ("container-down", "critical", f"{who} does not exist", "lares up recreates it")
        elif state.state == "paused":
            found = ("container-paused", "warning", f"{who} is paused", f"docker unpause {name}")
        elif not running:
            found = (
                "container-down",
                "critical",
                f"{who} is {state.state}" + (f" ({state.detail})" if state.detail else ""),
                f"docker logs --tail 50 {name}; lares up starts it again",
            )
        elif health is not None and health.state == "unhealthy":
            found = (
                "container-unhealthy",
                "warning",
                f"{who} is unhealthy" + (f": {health.detail}" if health.detail else ""),
                f"docker inspect --format '{{{{json .State.Health}}}}' {name}",
            )
        if found is not None:
            rule_id, severity, message, hint = found
            yield Condition(
                f"{rule_id}:{name}",
                rule_id,
                severity,
                name,
                message,
                "docker",
                app=app,
                hint=hint,
                labels={"role": role, "state": state.state or ""},
            )


# ── endpoints ──────────────────────────────────────────────────────────────────────────────


@rule("endpoint")
def endpoints(x: Inputs) -> Iterator[Condition]:
    for sample in x.each("http", "up"):
        labels = sample.labels
        app = labels.get("app") or None
        kind = labels.get("kind", "")
        url = sample.subject
        if not sample.value:
            yield Condition(
                f"endpoint-down:{url}",
                "endpoint-down",
                "critical",
                url,
                f"{app or url} is not answering on its {kind} URL {url}: {sample.detail}",
                "http",
                app=app,
                labels={"kind": kind},
            )
        days = x.value("http", url, "cert_days_left")
        if days is None or days >= x.limits.cert_days:
            continue
        expired = days <= 0
        yield Condition(
            f"cert:{url}",
            "cert",
            "critical" if expired else "warning",
            url,
            f"the certificate of {url} "
            + ("has expired" if expired else f"expires in {_days(days)}")
            + f" (warning below {x.limits.cert_days:g} days)",
            "http",
            app=app,
            hint="Caddy renews its own certificates: check its logs"
            if kind == "lan"
            else "check the tunnel's certificate renewal",
            labels={"kind": kind},
        )


# ── backups ────────────────────────────────────────────────────────────────────────────────


def _missed(schedule: str, last: float | None, now: float, grace: float) -> int | None:
    """How many scheduled occurrences passed (grace after each) since ``last``; None if the
    schedule does not parse. A never-done job counts as having missed one."""
    from datetime import datetime, timedelta

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


@rule("backup")
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
            when = f"last succeeded {_days((x.now - sample.value) / 86400)} ago"
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
                else f"last passed {_days((x.now - last) / 86400)} ago"
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


@rule("drill-leftover")
def drill_leftovers(x: Inputs) -> Iterator[Condition]:
    for sample in x.each("drills", "leftovers"):
        if sample.value:
            yield Condition(
                "drill-leftover",
                "drill-leftover",
                "warning",
                sample.subject,
                "a restore drill that did not finish left "
                f"{counted(sample.value, 'thing')} behind that lares could not remove: "
                f"{sample.detail}",
                "backups",
                hint="remove them by hand (`docker rm -f -v NAME`, `rm -r FOLDER`); the next "
                "`lares backup drill` tries again first",
            )
    for sample in x.each("drills", "swept"):
        if sample.value:
            yield Condition(
                "drill-leftover:swept",
                "drill-leftover",
                "info",
                sample.subject,
                f"removed {counted(sample.value, 'thing')} left by a restore drill that did not "
                f"finish: {sample.detail}",
                "backups",
            )


@rule("lares-state")
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
                f"holds a snapshot of lares's own state {_days(behind / 86400)} older than its "
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
    for _, fn in RULES:
        found.extend(fn(inputs))
    return sorted(suppress(found, config), key=lambda c: (_RANK[c.severity], c.key))


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


def first_sight(samples: Iterable[Sample], baselines: Mapping[str, float]) -> dict[str, float]:
    """Baselines to store for counters seen for the first time (SMART sector counts).

    btrfs counters need none: the kernel counts from zero since the last reset, so their
    baseline is zero until acknowledged.
    """
    found: dict[str, float] = {}
    for sample in samples:
        if sample.collector == "smart" and sample.metric in SMART_GROWTH:
            key = baseline_key(sample)
            if key not in baselines and sample.value is not None:
                found[key] = sample.value
    return found


def acknowledge(samples: Iterable[Sample], collector: str) -> dict[str, float]:
    """The baselines ``lares ack <collector>`` stores: every counter as it is now."""
    found: dict[str, float] = {}
    for sample in samples:
        if sample.collector != collector or sample.value is None:
            continue
        if (collector == "btrfs" and sample.metric.startswith("errors_")) or (
            collector == "smart" and sample.metric in SMART_GROWTH
        ):
            found[baseline_key(sample)] = sample.value
    return found
