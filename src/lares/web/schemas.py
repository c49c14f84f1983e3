"""The JSON API's request and response models, from which FastAPI writes the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Health = Literal["ok", "warning", "critical", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Container(_Model):
    name: str
    state: Literal["running", "stopped", "unknown"]
    healthy: bool | None


class App(_Model):
    id: str
    name: str
    stack: str
    icon: str
    health: Health
    reason: str
    lan_url: str | None
    public_url: str | None
    memory_used: int | None
    memory_limit: int | None
    containers: list[Container]


class ChildAlert(_Model):
    key: str
    rule: str
    subject: str
    severity: str
    state: str
    message: str
    app: str | None
    hint: str | None
    since: float
    silenced: bool
    suppressed_by: str | None
    source: str
    children: list[Any] = Field(default_factory=list, max_length=0)


class Alert(ChildAlert):
    children: list[ChildAlert] = Field(default_factory=list)


class Summary(_Model):
    apps: int
    ok: int
    warning: int
    critical: int
    unknown: int
    alerts: int


class Status(_Model):
    version: int
    host: str
    summary: Summary
    apps: list[App]
    alerts: list[Alert]


class Apps(_Model):
    version: int
    apps: list[App]


class LogEntry(_Model):
    ts: float
    at: str | None
    key: str
    kind: str
    severity: str
    message: str
    notified: bool


class Silence(_Model):
    target: str
    until: float
    reason: str


class Day(_Model):
    day: str
    health: str
    alerts: int
    seconds: int


class Alerts(_Model):
    version: int
    alerts: list[Alert]
    history: list[LogEntry]
    days: list[Day]
    silences: list[Silence]


class Reading(_Model):
    subject: str
    at: int
    metrics: dict[str, float]
    health: str
    problem: str | None


class Pool(_Model):
    name: str
    engine: str
    level: str
    filesystem: str
    mount: str
    devices: list[str]
    usable: int
    raw: int
    tolerates: int
    size: float | None
    used: float | None
    used_percent: float | None
    days_until_full: float | None
    health: str
    problem: str | None


class Storage(_Model):
    version: int
    pools: list[Pool]
    mounts: list[Reading]
    btrfs: list[Reading]
    arrays: list[Reading]
    drives: list[Reading]
    scrubs: list[Reading]


class Drill(_Model):
    ok: bool
    when: str | None
    error: str | None


class AppBackup(_Model):
    app: str
    state: str
    last_success: str | None
    last_failure: str | None
    error: str | None
    size: int | None
    added: int | None
    drill: Drill | None


class Repository(_Model):
    name: str
    schedule: str
    next_due: str | None
    size: int | None
    last_copy: str | None
    apps: list[AppBackup]


class Run(_Model):
    id: str | None
    state: str | None
    started: str | None
    finished: str | None


class Job(_Model):
    id: str
    kind: str
    state: Literal["running", "ok", "failed"]
    started: float
    finished: float | None
    progress: list[str]
    result: dict[str, Any] | None
    error: str | None


class Backups(_Model):
    version: int
    repositories: list[Repository]
    run: Run | None
    failures: list[dict[str, Any]]
    jobs: list[Job]


class System(_Model):
    version: int
    host: str
    cpu_percent: float | None
    cpu_count: float | None
    load: list[float | None]
    memory_total: float | None
    memory_available: float | None
    memory_used_percent: float | None
    uptime_seconds: float | None
    budget: dict[str, Any]
    public_urls: list[str]


class Problem(_Model):
    error: str
    hint: str | None = None


class SilenceRequest(_Model):
    rule: str = Field("", max_length=200)
    subject: str = Field("", max_length=500)
    duration: str = Field("2h", max_length=20)
    reason: str = Field("", max_length=500)


class AckRequest(_Model):
    rule: str = Field("", max_length=200)
    subject: str = Field("", max_length=500)


class JobRequest(_Model):
    repository: str | None = Field(None, max_length=200)


class Silenced(_Model):
    target: str
    until: float
    reason: str


class Acknowledged(_Model):
    acknowledged: str
    counters: int
