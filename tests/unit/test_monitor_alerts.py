"""The alert state machine and the grouped message."""

from __future__ import annotations

from lares.monitor.alerts import Alerts, Event, compose, silencer
from lares.monitor.rules import Condition

T0 = 1_800_000_000.0


def cond(
    key: str = "disk-usage:/tank",
    severity: str = "warning",
    *,
    source: str = "disks",
    app: str | None = None,
    suppressed_by: str | None = None,
    message: str | None = None,
    hint: str | None = None,
) -> Condition:
    rule = key.split(":", 1)[0]
    return Condition(
        key,
        rule,
        severity,
        key.split(":", 1)[-1],
        message or f"{key} is wrong",
        source,
        app=app,
        hint=hint,
        suppressed_by=suppressed_by,
    )


def kinds(events: list[Event]) -> list[tuple[str, str, bool]]:
    return [(e.kind, e.alert.key, e.notify) for e in events]


def test_pending_then_firing_then_resolved() -> None:
    book = Alerts(pending_samples=2, repeat=3600)
    c = cond()
    assert kinds(book.update([c], {"disks"}, T0)) == [("pending", c.key, False)]
    assert book.alerts[c.key].state == "pending"
    assert kinds(book.update([c], {"disks"}, T0 + 30)) == [("firing", c.key, True)]
    assert book.alerts[c.key].state == "firing"
    assert kinds(book.update([c], {"disks"}, T0 + 60)) == []  # no change, no notice
    assert kinds(book.update([], {"disks"}, T0 + 90)) == [("resolved", c.key, True)]
    assert book.alerts == {}


def test_an_event_keeps_the_alert_as_it_was_at_its_transition() -> None:
    book = Alerts(pending_samples=2, repeat=3600)
    (pending,) = book.update([cond()], {"disks"}, T0)
    (firing,) = book.update([cond(severity="critical")], {"disks"}, T0 + 30)
    assert (pending.alert.state, pending.alert.severity, pending.alert.notified_at) == (
        "pending",
        "warning",
        None,
    )
    assert (firing.alert.state, firing.alert.notified_at) == ("firing", T0 + 30)
    assert book.alerts[cond().key] == firing.alert  # what is stored is the newest state
    assert (firing.alert.count, firing.alert.since, firing.alert.fired_at) == (2, T0, T0 + 30)


def test_a_failed_backup_fires_at_first_sight_and_resolves_when_a_run_succeeds() -> None:
    book = Alerts(pending_samples=3, repeat=3600)
    c = cond("backup-failed:web@local", "critical", source="backups", app="web")
    assert kinds(book.update([c], {"backups"}, T0)) == [
        ("pending", c.key, False),
        ("firing", c.key, True),
    ]
    assert kinds(book.update([], {"backups"}, T0 + 60)) == [("resolved", c.key, True)]


def test_a_blip_shorter_than_pending_samples_is_never_notified() -> None:
    book = Alerts(pending_samples=3)
    c = cond()
    book.update([c], {"disks"}, T0)
    book.update([c], {"disks"}, T0 + 30)
    assert kinds(book.update([], {"disks"}, T0 + 60)) == [("cleared", c.key, False)]


def test_repeat_interval() -> None:
    book = Alerts(pending_samples=1, repeat=3600)
    c = cond()
    assert kinds(book.update([c], {"disks"}, T0))[-1] == ("firing", c.key, True)
    assert kinds(book.update([c], {"disks"}, T0 + 3599)) == []
    assert kinds(book.update([c], {"disks"}, T0 + 3600)) == [("repeat", c.key, True)]
    assert kinds(book.update([c], {"disks"}, T0 + 3700)) == []


def test_escalation_is_notified() -> None:
    book = Alerts(pending_samples=1)
    book.update([cond()], {"disks"}, T0)
    events = book.update([cond(severity="critical")], {"disks"}, T0 + 30)
    assert kinds(events) == [("escalated", "disk-usage:/tank", True)]


def test_an_alert_only_moves_when_its_collector_ran() -> None:
    book = Alerts(pending_samples=2)
    c = cond("smart:/dev/sda", source="smart")
    book.update([c], {"smart"}, T0)
    assert kinds(book.update([c], {"disks"}, T0 + 30)) == []  # smart did not run: no sample
    assert book.alerts[c.key].count == 1
    assert kinds(book.update([], {"disks"}, T0 + 60)) == []  # nor resolve without it
    assert c.key in book.alerts
    assert kinds(book.update([c], {"smart"}, T0 + 3600)) == [("firing", c.key, True)]


def test_a_failed_collector_freezes_its_alerts() -> None:
    book = Alerts(pending_samples=1)
    down = cond("container-down:web", "critical", source="docker")
    book.update([down], {"docker", "collector:docker"}, T0)
    # the daemon stops answering: docker ran but failed; its container alerts must not resolve
    daemon = cond("docker-daemon", "critical", source="collector:docker")
    events = book.update([daemon], {"collector:docker"}, T0 + 30)
    assert kinds(events) == [("pending", "docker-daemon", False), ("firing", "docker-daemon", True)]
    assert "container-down:web" in book.alerts
    events = book.update([], {"docker", "collector:docker"}, T0 + 60)
    assert sorted(kinds(events)) == [
        ("resolved", "container-down:web", True),
        ("resolved", "docker-daemon", True),
    ]


def test_held_back_alerts_are_recorded_not_notified_and_resolve_quietly() -> None:
    book = Alerts(pending_samples=2)
    root = cond("container-down:db", "critical", source="docker", app="cloud")
    held = cond(
        "container-unhealthy:cloud", source="docker", app="cloud", suppressed_by="container-down:db"
    )
    book.update([root, held], {"docker"}, T0)
    events = book.update([root, held], {"docker"}, T0 + 30)
    assert sorted(kinds(events)) == [
        ("firing", "container-down:db", True),
        ("firing", "container-unhealthy:cloud", False),
    ]
    assert book.alerts["container-unhealthy:cloud"].state == "firing"  # recorded
    events = book.update([], {"docker"}, T0 + 60)
    assert sorted(kinds(events)) == [
        ("resolved", "container-down:db", True),
        ("resolved", "container-unhealthy:cloud", False),  # never announced: quiet
    ]


def test_a_held_back_alert_is_announced_when_its_cause_goes_but_it_stays() -> None:
    book = Alerts(pending_samples=1)
    held = cond("endpoint-down:u", "critical", source="http", suppressed_by="container-down:caddy")
    book.update([held], {"http"}, T0)
    events = book.update([cond("endpoint-down:u", "critical", source="http")], {"http"}, T0 + 60)
    assert kinds(events) == [("firing", "endpoint-down:u", True)]


def test_silences_mute_notifications_but_resolutions_still_go_out() -> None:
    book = Alerts(pending_samples=1, repeat=60)
    c = cond("container-down:web", "critical", source="docker", app="web")
    assert kinds(book.update([c], {"docker"}, T0)) == [
        ("pending", c.key, False),
        ("firing", c.key, True),
    ]
    muted = silencer(["web"])
    assert kinds(book.update([c], {"docker"}, T0 + 120, silenced=muted)) == []  # no repeat
    assert book.alerts[c.key].silenced
    assert kinds(book.update([], {"docker"}, T0 + 180, silenced=muted)) == [
        ("resolved", c.key, True)
    ]


def test_an_alert_that_fired_during_a_silence_resolves_quietly() -> None:
    book = Alerts(pending_samples=1)
    muted = silencer(["all"])
    c = cond()
    assert kinds(book.update([c], {"disks"}, T0, silenced=muted)) == [
        ("pending", c.key, False),
        ("firing", c.key, False),
    ]
    assert kinds(book.update([], {"disks"}, T0 + 30, silenced=muted)) == [
        ("resolved", c.key, False)
    ]


def test_silence_targets() -> None:
    c = cond("container-down:web", "critical", source="docker", app="sonarr")
    assert silencer(["sonarr"])(c)
    assert silencer(["container-down"])(c)
    assert silencer(["docker"])(c)
    assert silencer(["all"])(c)
    assert not silencer(["radarr"])(c)
    assert not silencer([])(c)


def test_info_conditions_are_not_alerts() -> None:
    book = Alerts(pending_samples=1)
    assert book.update([cond("unparsed:x", "info")], {"disks"}, T0) == []
    assert book.alerts == {}


def test_state_survives_a_round_trip() -> None:
    book = Alerts(pending_samples=2)
    book.update([cond()], {"disks"}, T0)
    again = Alerts.from_dict(book.to_dict(), pending_samples=2, repeat=60)
    assert kinds(again.update([cond()], {"disks"}, T0 + 30)) == [
        ("firing", "disk-usage:/tank", True)
    ]


def test_compose_groups_one_cycle_into_one_message() -> None:
    book = Alerts(pending_samples=1)
    old = cond("container-down:sonarr", "critical", source="docker", message="sonarr is exited")
    book.update([old], {"docker"}, T0)
    events = book.update(
        [
            cond("disk-usage:/tank", "warning", message="/tank is 85.0% full", hint="delete data"),
            cond("endpoint-down:u", "critical", source="docker", message="u is down"),
        ],
        {"docker", "disks"},
        T0 + 600,
    )
    message = compose(events, "nas")
    assert message is not None
    assert message.title == "lares on nas: 1 critical, 1 warning, 1 resolved"
    assert message.type == "failure"
    assert message.body.splitlines() == [
        "CRITICAL: u is down",
        "WARNING: /tank is 85.0% full",
        "  → delete data",
        "RESOLVED: sonarr is exited (lasted 10 min)",
    ]


def test_compose_resolutions_only_is_success_and_nothing_is_none() -> None:
    book = Alerts(pending_samples=1)
    book.update([cond()], {"disks"}, T0)
    message = compose(book.update([], {"disks"}, T0 + 30), "nas")
    assert message is not None and message.type == "success"
    assert message.title == "lares on nas: 1 resolved"
    assert compose([], "nas") is None
