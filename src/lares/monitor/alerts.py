"""The alert state machine, and the one grouped message each cycle sends.

Every condition (:mod:`lares.monitor.rules`) with a key is an alert that moves through::

    ok ──seen──▶ pending ──seen pending_samples times──▶ firing ──gone──▶ resolved (then ok)
                    └──────────────gone─────────────────▶ ok (never notified)

A condition of a rule in :data:`~lares.monitor.rules.AT_ONCE` (a failed backup) fires the first
time it is seen.

Only changes are notified: an alert that starts firing, one that escalates (warning to
critical), one still firing after ``repeat`` seconds since its last notice, and one that
resolves. An alert counts samples of its own collector: it neither advances nor resolves in a
cycle where that collector did not run, or failed (the containers of a Docker daemon that does
not answer are not "resolved").

Notifications are muted, never the record, for an alert that a root cause holds back
(``suppressed_by``) or that a silence covers; when the mute ends while it still fires, it is
announced then. A resolution is always sent for an alert that was announced, whatever mutes
it now; an alert never announced resolves quietly. Every transition goes to the store's
``alert_log`` with whether it was notified.

:func:`compose` turns a cycle's events into one message (title, body, Apprise type: ``failure``
when anything critical fires, ``warning`` for warnings, ``success`` when everything in it
resolved).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lares.monitor.rules import AT_ONCE, SEVERITY_RANK, Condition, Issue
from lares.notify import Message
from lares.plain import Plain


@dataclass(frozen=True)
class Alert(Plain, Issue):
    """One alert that is pending or firing: the issue as its last condition worded it, and
    where the alert is. :meth:`Alerts.update` replaces it with its next state each cycle."""

    state: str = "pending"  # pending | firing
    count: int = 0  # consecutive samples that showed it
    since: float = 0.0
    fired_at: float | None = None
    notified_at: float | None = None
    notified_severity: str | None = None  # what the person was last told
    suppressed_by: str | None = None
    silenced: bool = False

    @property
    def announced(self) -> bool:
        return self.notified_at is not None

    @property
    def muted(self) -> bool:
        return self.suppressed_by is not None or self.silenced

    def follow(self, c: Condition, silenced: bool) -> Alert:
        """This alert with this cycle's wording of the condition (its rule, severity, subject,
        message, app and hint) and its mutes."""
        return replace(
            self,
            rule=c.rule,
            severity=c.severity,
            subject=c.subject,
            message=c.message,
            app=c.app,
            hint=c.hint,
        ).muted_by(c, silenced)

    def muted_by(self, c: Condition, silenced: bool) -> Alert:
        """This alert with the condition's root cause (``suppressed_by``) and whether a silence
        covers it."""
        return replace(self, suppressed_by=c.suppressed_by, silenced=silenced)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Event:
    """A transition: ``firing``, ``escalated``, ``repeat``, ``resolved``, ``pending``,
    ``cleared`` (pending, then gone). ``notify`` says whether it goes in the message."""

    kind: str
    alert: Alert
    at: float
    notify: bool

    def log_row(self) -> tuple[Any, ...]:
        a = self.alert
        return (self.at, a.key, self.kind, a.severity, a.message, int(self.notify))


@dataclass
class Alerts:
    """All alert states, updated once per cycle with :meth:`update`."""

    pending_samples: int = 2
    repeat: float = 6 * 3600.0
    alerts: dict[str, Alert] = field(default_factory=dict)

    def update(
        self,
        conditions: Iterable[Condition],
        ran: set[str],
        now: float,
        *,
        silenced: Callable[[Condition], bool] = lambda c: False,
        held: Callable[[Condition], bool] = lambda c: False,
    ) -> list[Event]:
        """Advance every alert with this cycle's conditions and return the transitions.

        ``ran`` names the sources that were evaluated this cycle: a collector id for each
        collector that ran and worked, and ``collector:<id>`` for each that ran at all.
        Conditions of severity ``info`` are not alerts. A condition that ``held`` expects
        right now (a deploy is replacing its container) neither starts nor advances an alert;
        an alert it already has stays as it is.
        """
        events: list[Event] = []
        seen: set[str] = set()
        for c in conditions:
            if c.severity not in ("critical", "warning"):
                continue
            seen.add(c.key)
            if held(c):
                continue
            alert = self.alerts.get(c.key)
            if c.source not in ran:
                if alert is not None:
                    self.alerts[c.key] = alert.muted_by(c, silenced(c))
                continue
            if alert is None:
                alert = Alert(c.key, c.rule, c.severity, c.subject, c.message, c.source, since=now)
                events.append(Event("pending", alert, now, False))
            alert = alert.follow(c, silenced(c))
            alert = replace(alert, count=alert.count + 1)
            told: str | None = None
            if alert.state == "pending":
                if alert.count >= self.pending_samples or alert.rule in AT_ONCE:
                    alert = replace(alert, state="firing", fired_at=now)
                    told = "firing"
            elif alert.muted:
                pass
            elif not alert.announced:
                told = "firing"
            elif SEVERITY_RANK[alert.severity] < SEVERITY_RANK.get(
                alert.notified_severity or "warning", 1
            ):
                told = "escalated"
            elif now - (alert.notified_at or now) >= self.repeat:
                told = "repeat"
            if told is not None:
                alert, event = self._tell(alert, told, now)
                events.append(event)
            self.alerts[c.key] = alert
        for key in [k for k in self.alerts if k not in seen]:
            alert = self.alerts[key]
            if alert.source not in ran:
                continue
            del self.alerts[key]
            if alert.state == "pending":
                events.append(Event("cleared", alert, now, False))
            else:
                events.append(Event("resolved", alert, now, alert.announced))
        return events

    def _tell(self, alert: Alert, kind: str, now: float) -> tuple[Alert, Event]:
        """The alert after ``kind`` is told of it (unless it is muted), and the event."""
        if alert.muted:
            return alert, Event(kind, alert, now, False)
        alert = replace(alert, notified_at=now, notified_severity=alert.severity)
        return alert, Event(kind, alert, now, True)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {key: alert.to_dict() for key, alert in self.alerts.items()}

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Mapping[str, Any]], *, pending_samples: int, repeat: float
    ) -> Alerts:
        return cls(
            pending_samples,
            repeat,
            {key: Alert.from_dict(value) for key, value in data.items()},
        )


def silencer(targets: Iterable[str]) -> Callable[[Condition], bool]:
    """Whether a silence covers a condition: by app, rule, collector, subject or ``all``."""
    wanted = set(targets)

    def covered(c: Condition) -> bool:
        if not wanted:
            return False
        names = {c.app, c.rule, c.source, c.subject, "all"}
        return bool(wanted & {n for n in names if n})

    return covered


_LABEL = {
    "firing": "{severity}",
    "escalated": "{severity} (worse)",
    "repeat": "still {severity}",
    "resolved": "resolved",
}


def compose(events: Sequence[Event], host: str, *, now: float | None = None) -> Message | None:
    """One message for every event to notify this cycle; None when there is none.

    Firing alerts come first, worst first, then resolutions. Each line is the severity, the
    alert's message, and the hint on the next line.
    """
    told = [e for e in events if e.notify]
    if not told:
        return None
    problems = sorted(
        (e for e in told if e.kind != "resolved"),
        key=lambda e: (SEVERITY_RANK[e.alert.severity], e.alert.key),
    )
    fixed = sorted((e for e in told if e.kind == "resolved"), key=lambda e: e.alert.key)
    counts = []
    critical = sum(1 for e in problems if e.alert.severity == "critical")
    warning = len(problems) - critical
    if critical:
        counts.append(f"{critical} critical")
    if warning:
        counts.append(f"{warning} warning{'s' if warning != 1 else ''}")
    if fixed:
        counts.append(f"{len(fixed)} resolved")
    title = f"lares on {host}: {', '.join(counts)}"
    lines: list[str] = []
    for e in problems:
        label = _LABEL[e.kind].format(severity=e.alert.severity.upper())
        lines.append(f"{label}: {e.alert.message}")
        if e.alert.hint:
            lines.append(f"  → {e.alert.hint}")
    for e in fixed:
        lasted = _duration(e.at - (e.alert.fired_at or e.alert.since))
        lines.append(f"RESOLVED: {e.alert.message} (lasted {lasted})")
    kind = "failure" if critical else "warning" if warning else "success"
    return Message(title, "\n".join(lines), kind)


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
