"""What a person asks of the monitor: status, alerts, silence, unsilence, acknowledge, test.

Each action takes typed inputs (the watch configuration, the monitor's store folder) and returns
a dataclass with ``to_dict()``; none prints. The commands in :mod:`lares.commands.monitor` parse
flags, call one action and render its result; a web page calls the same functions. Input a
person can fix raises :class:`~lares.errors.LaresError` (``UsageError`` for a bad target or
duration).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lares.errors import LaresError, UsageError
from lares.plain import Plain

if TYPE_CHECKING:
    from lares.deploy.status import ContainerState
    from lares.monitor.alerts import Alert
    from lares.monitor.config import WatchConfig
    from lares.monitor.status import Status
    from lares.monitor.store import Silence
    from lares.notify import Delivery

__all__ = [
    "Acknowledged",
    "AlertList",
    "Silenced",
    "Silences",
    "StatusReport",
    "Unsilenced",
    "ack",
    "acknowledgeable",
    "alerts",
    "notify_test",
    "silence",
    "silences",
    "status",
    "unsilence",
]

_DURATION_HINT = "write --for 30m, 2h or 1d"


@dataclass(frozen=True)
class StatusReport:
    """One check of everything (:func:`lares.monitor.status.check`), and the containers per
    stack when they were asked for."""

    status: Status
    containers: list[ContainerState] | None = None

    @property
    def ok(self) -> bool:
        return not self.status.problems

    def to_dict(self) -> dict[str, Any]:
        data = self.status.to_dict()
        if self.containers is not None:
            data["containers"] = [c.to_dict() for c in self.containers]
        return data


def status(config: WatchConfig, *, containers: bool = False) -> StatusReport:
    """Run every collector once and evaluate the rules (recorded in the history)."""
    from lares.monitor.status import check

    result = check(config)
    states = None
    if containers:
        from lares.deploy import engine
        from lares.deploy.status import stack_containers

        states = stack_containers(engine.client(), config.stacks or None)
    return StatusReport(result, states)


@dataclass(frozen=True)
class AlertList:
    """The alerts the watcher has pending or firing, and the transitions of the last week."""

    alerts: tuple[Alert, ...]
    log: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"alerts": [a.to_dict() for a in self.alerts], "log": list(self.log[-100:])}


def alerts(monitor: Path, *, now: float | None = None) -> AlertList:
    """What the watcher's store in ``monitor`` holds: current alerts, 7 days of transitions."""
    from lares.monitor.alerts import Alert
    from lares.monitor.store import Store

    since = (time.time() if now is None else now) - 7 * 86400
    with Store.open(monitor) as store:
        current = tuple(Alert.from_dict(a) for a in store.load_alerts().values())
        log = tuple(store.alert_log(since=since))
    return AlertList(current, log)


@dataclass(frozen=True)
class Silences(Plain):
    """The silences in force."""

    silences: tuple[Silence, ...] = ()


def silences(monitor: Path) -> Silences:
    from lares.monitor.store import Store

    with Store.open(monitor) as store:
        return Silences(tuple(store.silences()))


@dataclass(frozen=True)
class Silenced(Plain):
    target: str
    until: float
    reason: str = ""


def _seconds(duration: str | float) -> float:
    from lares.units import parse_duration

    if isinstance(duration, str):
        try:
            seconds = float(parse_duration(duration))
        except ValueError as exc:
            raise UsageError(str(exc), hint=_DURATION_HINT) from None
    else:
        seconds = float(duration)
    if seconds <= 0:
        raise UsageError("a silence lasts longer than 0 s", hint=_DURATION_HINT)
    return seconds


def silence(
    config: WatchConfig,
    monitor: Path,
    target: str,
    duration: str | float,
    *,
    reason: str = "",
    now: float | None = None,
) -> Silenced:
    """Mute notifications for ``target`` (an app, a rule id, a collector, or ``all``) for
    ``duration`` (``"2h"`` or seconds); alerts are still recorded.

    Raises :class:`UsageError` for a target that names nothing, or a duration that is not one.
    """
    from lares.monitor.collectors import discover
    from lares.monitor.rules import rule_ids
    from lares.monitor.store import Store

    apps = [a.id for a in config.apps]
    if target not in {*apps, *rule_ids(), *discover(), "all"}:
        raise UsageError(
            f"there is nothing called {target!r} to silence",
            hint="name a deployed app ("
            + (", ".join(apps[:8]) or "none deployed")
            + (" …" if len(apps) > 8 else "")
            + "), a rule such as disk-usage, a collector such as smart, or all",
        )
    until = (time.time() if now is None else now) + _seconds(duration)
    with Store.open(monitor) as store:
        store.silence(target, until, reason)
    return Silenced(target, until, reason)


@dataclass(frozen=True)
class Unsilenced(Plain):
    target: str
    cleared: bool


def unsilence(monitor: Path, target: str) -> Unsilenced:
    """End the silence of ``target`` now; ``cleared`` says whether there was one."""
    from lares.monitor.store import Store

    with Store.open(monitor) as store:
        return Unsilenced(target, store.unsilence(target))


@dataclass(frozen=True)
class Acknowledged:
    """The counters of ``collector`` stored as the new baseline, by series."""

    collector: str
    values: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"acknowledged": self.values}


def acknowledgeable(collector: str) -> None:
    """Raise :class:`UsageError` unless ``collector`` has counters :func:`ack` can baseline."""
    from lares.monitor.rules import acknowledgeable as known

    if collector not in known():
        hint = ", or ".join(f"lares ack {name}" for name in known())
        raise UsageError(f"cannot acknowledge {collector!r}", hint=hint)


def ack(config: WatchConfig, monitor: Path, collector: str) -> Acknowledged:
    """Read ``collector``'s counters now (``btrfs`` or ``smart``) and store them as the baseline:
    their alerts fire again only when they rise further.

    Raises :class:`UsageError` for another collector and :class:`LaresError` when the counters
    cannot be read.
    """
    from lares.monitor.rules import acknowledge
    from lares.monitor.status import check
    from lares.monitor.store import Store

    acknowledgeable(collector)
    result = check(config, only=[collector], record=False)
    failed = [r for r in result.runs if not r.ok]
    if failed:
        raise LaresError(f"could not read the {collector} counters: {failed[0].error}")
    values = acknowledge(result.samples, collector)
    if not values:
        raise LaresError(
            f"no {collector} counters were read",
            hint="is the pool mounted (btrfs) or smartctl installed (smart)? run as root",
        )
    with Store.open(monitor) as store:
        store.set_baselines(values, acknowledged=True)
    return Acknowledged(collector, values)


def notify_test(config: WatchConfig, secrets: Path) -> Delivery:
    """Send a test message to every ``monitor.notify`` target; the delivery says what happened.

    Raises :class:`LaresError` when the blueprint names no target.
    """
    from lares.notify import Message, send
    from lares.secrets import SecretStore

    if not config.notify:
        raise LaresError(
            "the blueprint names no notification target (monitor.notify)",
            hint="add `monitor: {notify: [{url: 'ntfy://ntfy.sh/your-topic'}]}`, or "
            "`{secret: alert-url}` with the URL stored by `lares secrets set alert-url`",
        )
    message = Message(
        f"lares on {config.host}: test notification",
        "This is a test from `lares alerts test`. Alerts from lares watch reach you here.",
        "info",
    )
    return send(config.notify, SecretStore(secrets), message)
