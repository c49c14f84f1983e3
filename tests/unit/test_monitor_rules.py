"""Alert rules: thresholds, baselines, container states, backups, dependencies."""

from __future__ import annotations

from datetime import datetime

import pytest

from lares.monitor.collectors import Sample
from lares.monitor.config import AppTarget, RepoTarget, WatchConfig
from lares.monitor.rules import (
    RULE_IDS,
    Condition,
    Limits,
    acknowledge,
    evaluate,
    first_sight,
    suppress,
)

NOW = datetime(2026, 3, 10, 12, 0).timestamp()
APPS = (
    AppTarget(
        "nextcloud",
        "productivity",
        ("nextcloud", "nextcloud-db", "nextcloud-redis"),
        ("nextcloud-db",),
        web=True,
        backup=True,
    ),
    AppTarget("sonarr", "media", ("sonarr",), web=True, backup=True),
    AppTarget("caddy", "infrastructure", ("caddy",)),
)
CONFIG = WatchConfig(host="nas", apps=APPS, proxy="caddy")


def keys(samples: list[Sample], config: WatchConfig = CONFIG, **kw: object) -> dict[str, str]:
    return {c.key: c.severity for c in evaluate(samples, config, now=NOW, **kw)}  # type: ignore[arg-type]


def disk(path: str, used: float, **extra: float) -> list[Sample]:
    labels = {"role": "pool", "pool": "tank"}
    out = [
        Sample("disks", path, "mounted", 1.0, "mounted", labels=labels),
        Sample("disks", path, "used_percent", used, labels=labels),
        Sample("disks", path, "avail_bytes", 10 * 1024**3, labels=labels),
    ]
    out += [Sample("disks", path, m, v, labels=labels) for m, v in extra.items()]
    return out


def test_limits_take_the_blueprint_thresholds() -> None:
    from lares.blueprint.model import Thresholds

    limits = Limits.from_mapping({k: float(v) for k, v in Thresholds().model_dump().items()})
    assert (limits.disk_warn, limits.disk_crit, limits.cert_days) == (80, 90, 14)
    assert limits.pending_samples == 2 and limits.repeat == 6 * 3600
    custom = Limits.from_mapping({"disk_warn": 70, "unknown_key": 1})
    assert custom.disk_warn == 70


@pytest.mark.parametrize(
    ("used", "expected"),
    [(79.9, {}), (80.0, {"disk-usage:/tank": "warning"}), (90.0, {"disk-usage:/tank": "critical"})],
)
def test_disk_usage_thresholds(used: float, expected: dict[str, str]) -> None:
    assert keys(disk("/tank", used)) == expected


def test_disk_thresholds_from_the_blueprint() -> None:
    config = WatchConfig(host="nas", thresholds={"disk_warn": 50, "disk_crit": 60})
    found = evaluate(disk("/tank", 55), config, now=NOW)
    assert [(c.key, c.severity) for c in found] == [("disk-usage:/tank", "warning")]
    assert found[0].message == "/tank is 55.0% full (warning at 50%), 10.0 GiB left"


def test_disk_forecast_and_mount() -> None:
    assert keys(disk("/tank", 10, days_until_full=3.5)) == {"disk-forecast:/tank": "warning"}
    assert keys(disk("/tank", 10, days_until_full=30)) == {}
    unmounted = [Sample("disks", "/tank", "mounted", 1.0, "not-mounted", labels={"role": "pool"})]
    assert keys(unmounted) == {"disk-mount:/tank": "critical"}
    appdata = [
        Sample("disks", "/srv/appdata", "mounted", 1.0, "on-parent", labels={"role": "appdata"})
    ]
    assert keys(appdata) == {}


def smart_drive(device: str, **values: float) -> list[Sample]:
    out = [Sample("smart", device, "health", 1.0, "ok", labels={"model": "WDC"})]
    out += [Sample("smart", device, m, v, labels={"model": "WDC"}) for m, v in values.items()]
    return out


def test_smart_growth_against_the_first_seen_baseline() -> None:
    first = smart_drive("/dev/sda", attr_5=8.0, attr_197=0.0)
    seeded = first_sight(first, {})
    assert seeded == {"smart:/dev/sda:attr_5": 8.0, "smart:/dev/sda:attr_197": 0.0}
    assert keys(first, baselines=seeded) == {}
    grown = smart_drive("/dev/sda", attr_5=9.0, attr_197=2.0)
    found = evaluate(grown, CONFIG, baselines=seeded, now=NOW)
    assert [(c.key, c.severity) for c in found] == [("smart-growth:/dev/sda", "critical")]
    assert "reallocated sectors (5) 8 → 9" in found[0].message
    assert "pending sectors (197) 0 → 2" in found[0].message
    # acknowledging takes the new counts as the baseline
    assert keys(grown, baselines=acknowledge(grown, "smart")) == {}
    assert first_sight(grown, seeded) == {}


def test_nvme_media_errors_rising_is_critical() -> None:
    drive = smart_drive("/dev/nvme0", nvme_media_errors=7.0)
    assert keys(drive, baselines={"smart:/dev/nvme0:nvme_media_errors": 6.0}) == {
        "smart-growth:/dev/nvme0": "critical"
    }


@pytest.mark.parametrize(
    ("temp", "severity"), [(44, None), (45, "warning"), (54.9, "warning"), (55, "critical")]
)
def test_drive_temperature(temp: float, severity: str | None) -> None:
    found = keys(smart_drive("/dev/sda", temperature_celsius=temp))
    assert found == ({"drive-temp:/dev/sda": severity} if severity else {})


def test_smartctl_missing_warns_only_when_the_blueprint_names_drives() -> None:
    missing = [Sample("smart", "smartctl", "available", 0.0, "missing")]
    assert keys(missing) == {}
    config = WatchConfig(host="nas", drives=("/dev/sda", "/dev/sdb"))
    found = evaluate(missing, config, now=NOW)
    assert [c.key for c in found] == ["smart-unavailable"]
    assert "2 drives" in found[0].message and found[0].hint == "install smartmontools"


def btrfs_counter(device: str, value: float, counter: str = "corruption") -> Sample:
    return Sample(
        "btrfs",
        f"/tank:{device}",
        f"errors_{counter}",
        value,
        labels={"mount": "/tank", "device": device, "devid": "1"},
    )


def test_btrfs_counters_against_the_acknowledged_baseline() -> None:
    rising = [btrfs_counter("/dev/sda", 16), btrfs_counter("/dev/sdb", 0)]
    assert keys(rising) == {"btrfs-errors:/tank": "critical"}
    acked = acknowledge(rising, "btrfs")
    assert acked == {
        "btrfs:/tank:/dev/sda:errors_corruption": 16,
        "btrfs:/tank:/dev/sdb:errors_corruption": 0,
    }
    assert keys(rising, baselines=acked) == {}
    again = [btrfs_counter("/dev/sda", 17), btrfs_counter("/dev/sdb", 0)]
    found = evaluate(again, CONFIG, baselines=acked, now=NOW)
    assert "/dev/sda corruption 16 → 17" in found[0].message
    assert "btrfs scrub start -B /tank" in (found[0].hint or "")


def cpu_temp(value: float) -> Sample:
    return Sample(
        "host",
        "coretemp/Package id 0",
        "temp_celsius",
        value,
        labels={"chip": "coretemp", "sensor": "Package id 0", "cpu": "1"},
    )


def test_cpu_temperature() -> None:
    assert keys([cpu_temp(79)]) == {}
    assert keys([cpu_temp(85)]) == {"cpu-temp": "warning"}
    other = Sample("host", "nvme/Composite", "temp_celsius", 90.0, labels={"cpu": ""})
    assert keys([other]) == {}


def container(
    name: str,
    state: str = "running",
    *,
    health: str = "none",
    restarts: float = 0,
    oom: float = 0,
    app: str = "",
    role: str = "",
) -> list[Sample]:
    labels = {"app": app, "role": role, "stack": "s", "service": name}
    detail = "" if state == "running" else "exit code 1"
    return [
        Sample("docker", name, "state", 1.0 if state == "running" else 0.0, state, detail, labels),
        Sample(
            "docker",
            name,
            "health",
            0.0 if health == "unhealthy" else 1.0,
            health,
            "exit 1: no" if health == "unhealthy" else "",
            labels,
        ),
        Sample("docker", name, "restarts", restarts, labels=labels),
        Sample("docker", name, "oom_killed", oom, labels=labels),
        Sample("docker", name, "memory_limit_bytes", 16 * 1024**2, labels=labels),
    ]


class FakeHistory:
    def __init__(self, values: dict[tuple[str, str, str], float]) -> None:
        self.values = values

    def value_since(self, key: tuple[str, str, str], since: float) -> float | None:
        return self.values.get(key)


def test_container_conditions_most_telling_first() -> None:
    assert keys(container("web")) == {}
    assert keys(container("web", health="unhealthy")) == {"container-unhealthy:web": "warning"}
    assert keys(container("web", "exited")) == {"container-down:web": "critical"}
    assert keys(container("web", "restarting", restarts=5)) == {
        "container-restarting:web": "critical"
    }
    assert keys(container("web", "exited", oom=1)) == {"container-oom:web": "critical"}
    assert keys(container("web", "paused")) == {"container-paused:web": "warning"}
    missing = [Sample("docker", "web", "state", 0.0, "missing", "no such container", {"app": "x"})]
    assert keys(missing) == {"container-down:web": "critical"}


def test_oom_message_names_the_limit() -> None:
    found = evaluate(container("web", "exited", oom=1), CONFIG, now=NOW)
    assert found[0].message == (
        "web was killed for running out of memory (limit 16 MiB); it is exited"
    )


def test_an_oom_event_counts_when_docker_missed_the_flag() -> None:
    def killed(at: float) -> list[Sample]:
        return [*container("web", "exited"), Sample("docker", "web", "oom_at", at)]

    assert keys(killed(NOW - 60)) == {"container-oom:web": "critical"}
    assert keys(killed(NOW - 3600)) == {"container-down:web": "critical"}  # outside the window
    back = [*container("web"), Sample("docker", "web", "oom_at", NOW - 60)]
    assert keys(back) == {"container-oom:web": "warning"}


def test_restart_loop_counts_restarts_within_the_window() -> None:
    history = FakeHistory({("docker", "web", "restarts"): 2.0})
    running_again = container("web", restarts=5)
    found = evaluate(running_again, CONFIG, history=history, now=NOW)
    assert [(c.key, c.severity) for c in found] == [("container-restarting:web", "critical")]
    assert "3 restarts in 15 min" in found[0].message
    calm = FakeHistory({("docker", "web", "restarts"): 4.0})
    assert keys(running_again, history=calm) == {}


def test_endpoint_down_and_certificate() -> None:
    labels = {"app": "sonarr", "kind": "lan", "stack": "media"}
    url = "https://sonarr.home.lan/"
    down = [Sample("http", url, "up", 0.0, "down", "connection refused", labels)]
    found = evaluate(down, CONFIG, now=NOW)
    assert [(c.key, c.severity, c.app) for c in found] == [
        (f"endpoint-down:{url}", "critical", "sonarr")
    ]
    assert found[0].message == f"sonarr is not answering on its lan URL {url}: connection refused"
    expiring = [
        Sample("http", url, "up", 1.0, "up", labels=labels),
        Sample("http", url, "cert_days_left", 4.9, labels=labels),
    ]
    assert keys(expiring) == {f"cert:{url}": "warning"}
    expired = [
        Sample("http", url, "up", 1.0, "up", labels=labels),
        Sample("http", url, "cert_days_left", -1.0, labels=labels),
    ]
    assert keys(expired) == {f"cert:{url}": "critical"}
    fine = [
        Sample("http", url, "up", 1.0, "up", labels=labels),
        Sample("http", url, "cert_days_left", 60.0, labels=labels),
    ]
    assert keys(fine) == {}


def backup(
    subject: str, last: float | None, schedule: str, state: str = "ok", **labels: str
) -> Sample:
    return Sample(
        "backups",
        subject,
        "last_success",
        last,
        state,
        "",
        {"schedule": schedule, "repository": "local", **labels},
    )


def test_backup_age_against_its_schedule() -> None:
    day = 86400.0
    # daily at 03:00; NOW is 12:00: the run of 03:00 today must have succeeded
    fresh = backup("nextcloud@local", NOW - 8 * 3600, "*-*-* 03:00:00", app="nextcloud")
    assert keys([fresh]) == {}
    late = backup("nextcloud@local", NOW - day, "*-*-* 03:00:00", app="nextcloud")
    found = evaluate([late], CONFIG, now=NOW)
    assert [(c.key, c.severity, c.app) for c in found] == [
        ("backup-late:nextcloud@local", "warning", "nextcloud")
    ]
    assert "schedule *-*-* 03:00:00" in found[0].message
    very_late = backup("nextcloud@local", NOW - 3 * day, "*-*-* 03:00:00", app="nextcloud")
    assert keys([very_late]) == {"backup-late:nextcloud@local": "critical"}
    never = backup("nextcloud@local", None, "daily", "never", app="nextcloud")
    assert "has never succeeded" in evaluate([never], CONFIG, now=NOW)[0].message
    # 2026-03-10 is a Tuesday: Sunday's copy is due, Thursday's is not enough
    sunday = backup("copy:usb", NOW - 2 * day, "Sun *-*-* 04:00:00", copy_from="local")
    assert keys([sunday]) == {}
    thursday = backup("copy:usb", NOW - 5 * day, "Sun *-*-* 04:00:00", copy_from="local")
    assert keys([thursday]) == {"copy-late:copy:usb": "warning"}


def test_a_failed_last_attempt_is_critical_at_once() -> None:
    # the run of 03:00 failed; yesterday's success is within the schedule, so nothing is late
    failed = Sample(
        "backups",
        "nextcloud@local",
        "last_success",
        NOW - 20 * 3600,
        "failed",
        "restic: permission denied",
        {"schedule": "*-*-* 03:00:00", "repository": "local", "app": "nextcloud"},
    )
    found = evaluate([failed], CONFIG, now=NOW)
    assert [(c.key, c.severity, c.app) for c in found] == [
        ("backup-failed:nextcloud@local", "critical", "nextcloud")
    ]
    assert found[0].message == (
        "the last attempt at the backup of nextcloud to local failed: restic: permission denied; "
        "it last succeeded 0.8 days ago"
    )
    copy = backup("copy:usb", None, "daily", "failed", copy_from="local")
    assert keys([copy]) == {"copy-failed:copy:usb": "critical"}
    running = backup("nextcloud@local", NOW - 3600, "daily", "running", app="nextcloud")
    assert keys([running]) == {}


def test_backup_within_grace_is_not_late() -> None:
    at_0430 = datetime(2026, 3, 10, 4, 30).timestamp()
    yesterday = backup("a@local", at_0430 - 25 * 3600, "*-*-* 03:00:00", app="a")
    assert {c.key for c in evaluate([yesterday], CONFIG, now=at_0430)} == set()


def test_drills() -> None:
    labels = {"app": "nextcloud", "repository": "local", "schedule": "monthly"}
    failed = [
        Sample("backups", "nextcloud@local", "drill_ok", 0.0, "failed", "3 files differ", labels)
    ]
    found = evaluate(failed, CONFIG, now=NOW)
    assert [(c.key, c.severity) for c in found] == [("drill-failed:nextcloud@local", "critical")]
    assert found[0].message.endswith("failed: 3 files differ")
    passed_long_ago = [
        Sample("backups", "nextcloud@local", "drill_ok", 1.0, "ok", labels=labels),
        Sample("backups", "nextcloud@local", "drill_last", NOW - 45 * 86400, labels=labels),
    ]
    assert keys(passed_long_ago) == {"drill-late:nextcloud@local": "warning"}
    passed = [
        Sample("backups", "nextcloud@local", "drill_ok", 1.0, "ok", labels=labels),
        Sample("backups", "nextcloud@local", "drill_last", NOW - 5 * 86400, labels=labels),
    ]
    assert keys(passed) == {}


def test_a_failed_collector_and_the_docker_daemon() -> None:
    failed = [Sample("smart", "collector", "up", 0.0, "error", "smartctl timed out")]
    found = evaluate(failed, CONFIG, now=NOW)
    assert [(c.key, c.severity, c.source) for c in found] == [
        ("collector-error:smart", "warning", "collector:smart")
    ]
    daemon = [Sample("docker", "collector", "up", 0.0, "error", "connection refused")]
    found = evaluate(daemon, CONFIG, now=NOW)
    assert [(c.key, c.severity, c.root) for c in found] == [("docker-daemon", "critical", True)]


def test_database_down_holds_back_its_app_and_names_it() -> None:
    samples = [
        *container("nextcloud-db", "exited", app="nextcloud", role="database"),
        *container("nextcloud", health="unhealthy", app="nextcloud"),
        *container("sonarr", "exited", app="sonarr"),
        Sample(
            "http",
            "https://cloud.home.lan/status.php",
            "up",
            0.0,
            "down",
            "HTTP 502",
            {"app": "nextcloud", "kind": "lan"},
        ),
    ]
    found = {c.key: c for c in evaluate(samples, CONFIG, now=NOW)}
    root = found["container-down:nextcloud-db"]
    assert root.root and root.suppressed_by is None
    assert root.message == (
        "nextcloud-db (database of nextcloud) is exited (exit code 1); "
        "2 alerts of nextcloud held back"
    )
    assert found["container-unhealthy:nextcloud"].suppressed_by == root.key
    assert found["endpoint-down:https://cloud.home.lan/status.php"].suppressed_by == root.key
    assert found["container-down:sonarr"].suppressed_by is None  # another app


def test_proxy_down_holds_back_lan_endpoints_only() -> None:
    samples = [
        *container("caddy", "exited", app="caddy", role="proxy"),
        Sample(
            "http",
            "https://sonarr.home.lan/",
            "up",
            0.0,
            "down",
            "refused",
            {"app": "sonarr", "kind": "lan"},
        ),
        Sample(
            "http",
            "https://tv.example.com/",
            "up",
            0.0,
            "down",
            "refused",
            {"app": "emby", "kind": "public"},
        ),
    ]
    found = {c.key: c for c in evaluate(samples, CONFIG, now=NOW)}
    assert found["endpoint-down:https://sonarr.home.lan/"].suppressed_by == "container-down:caddy"
    assert found["endpoint-down:https://tv.example.com/"].suppressed_by is None
    assert found["container-down:caddy"].message.endswith("1 alert of sonarr held back")


def test_docker_daemon_holds_back_every_container_and_endpoint() -> None:
    conditions = [
        Condition(
            "docker-daemon",
            "docker-daemon",
            "critical",
            "docker",
            "down",
            "collector:docker",
            root=True,
        ),
        Condition(
            "container-down:a", "container-down", "critical", "a", "a down", "docker", app="a"
        ),
        Condition("endpoint-down:u", "endpoint-down", "critical", "u", "u down", "http", app="a"),
        Condition("disk-usage:/", "disk-usage", "warning", "/", "full", "disks"),
    ]
    held = {c.key: c.suppressed_by for c in suppress(conditions, CONFIG)}
    assert held == {
        "docker-daemon": None,
        "container-down:a": "docker-daemon",
        "endpoint-down:u": "docker-daemon",
        "disk-usage:/": None,
    }


def test_rule_ids_cover_every_condition_rule() -> None:
    samples = [
        *disk("/tank", 95, days_until_full=1),
        *container("web", "exited", app="x"),
        *smart_drive("/dev/sda", temperature_celsius=60),
        btrfs_counter("/dev/sda", 3),
    ]
    for c in evaluate(samples, CONFIG, now=NOW):
        assert c.rule in RULE_IDS


def test_conditions_come_worst_first() -> None:
    samples = [*disk("/a", 85), *disk("/b", 95), *container("web", health="unhealthy")]
    severities = [c.severity for c in evaluate(samples, CONFIG, now=NOW)]
    assert severities == sorted(severities, key=["critical", "warning", "info"].index)


def test_repositories_are_plain_config() -> None:
    config = WatchConfig(host="n", repositories=(RepoTarget("local", "daily"),))
    assert WatchConfig.from_dict(config.to_dict()) == config
