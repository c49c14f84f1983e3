"""The dashboard's view: built from the real reference blueprint, rebuilt only when a source
changes, the blueprint reloaded when its file changes or `lares up` applies a stack; and
`lares serve`'s own options."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from lares.errors import UsageError
from lares.monitor.alerts import Alert
from lares.monitor.collectors import Sample
from lares.monitor.store import Store
from lares.web.data import Blueprint, Data, Settings, load_blueprint
from lares.web.views import backups_view, group_alerts, history_days, storage_view
from web.webkit import SECRET, alert, blueprint, fill_store


def test_the_reference_blueprint_gives_every_app_a_tile(tmp_path: Path) -> None:
    bp = load_blueprint(Settings(state_dir=tmp_path))
    assert len(bp.apps) == 24 and len(bp.service_app) >= 37
    assert {"nextcloud", "immich", "emby"} <= {a["id"] for a in bp.apps}
    nextcloud = next(a for a in bp.apps if a["id"] == "nextcloud")
    assert nextcloud["lan_url"] and nextcloud["lan_url"].startswith("https://")
    assert nextcloud["limit"] > 0 and nextcloud["icon"] == "N"
    assert bp.memory["total"] > bp.memory["containers_reserved"] > 0
    assert bp.pools and bp.repositories
    data = Data(Settings(state_dir=tmp_path))
    assert {t["health"] for t in data.view.apps} == {"unknown"}  # no watcher yet
    assert [s["name"] for s in data.view.stacks] == list(bp.stacks)


def test_the_view_is_rebuilt_only_when_the_store_changes(tmp_path: Path) -> None:
    fill_store(tmp_path, time.time())
    data = Data(Settings(state_dir=tmp_path), loader=lambda s: blueprint(s.state_dir))
    assert data.refresh()  # first look
    assert not data.refresh() and not data.refresh()
    before = data.view.version
    with Store.open(tmp_path / "monitor") as store:
        store.record([Sample("docker", "sonarr", "state", 1.0)], time.time())
    assert data.refresh() and data.view.version == before + 1
    assert next(t for t in data.view.apps if t["id"] == "sonarr")["health"] == "ok"
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "status.json").write_text(
        '{"local": {"sonarr": {"state": "ok", "last_success": "2026-12-01T03:00:00+00:00"}}}'
    )
    assert data.refresh()
    apps = data.view.backups["repositories"][0]["apps"]
    assert apps == [
        {
            "app": "sonarr",
            "state": "ok",
            "last_success": "2026-12-01T03:00:00+00:00",
            "last_failure": None,
            "error": None,
            "size": None,  # no restic summary recorded for it
            "added": None,
            "drill": None,
        }
    ]


def test_a_stale_container_says_nothing(tmp_path: Path) -> None:
    fill_store(tmp_path, time.time() - 3600)
    data = Data(Settings(state_dir=tmp_path), loader=lambda s: blueprint(s.state_dir))
    healths = {t["id"]: t["health"] for t in data.view.apps}
    # alerts still count (the watcher keeps them); the samples of an hour ago do not
    assert healths == {
        "nextcloud": "critical",
        "immich": "warning",
        "jellyfin": "unknown",
        "sonarr": "unknown",
    }


def test_the_blueprint_reloads_when_its_file_changes(tmp_path: Path) -> None:
    file = tmp_path / "lares.yaml"
    file.write_text("first")
    loads: list[str] = []

    def loader(settings: Settings) -> Blueprint:
        loads.append(file.read_text())
        if file.read_text() == "broken":
            raise ValueError("half written")
        return blueprint(settings.state_dir)

    data = Data(Settings(state_dir=tmp_path, file=file), loader=loader)
    data.refresh()
    assert loads == ["first"]
    file.write_text("second")
    os.utime(file, (time.time() + 5, time.time() + 5))
    data.refresh()
    assert loads == ["first", "second"]
    file.write_text("broken")
    os.utime(file, (time.time() + 10, time.time() + 10))
    data.refresh()  # keeps the last good blueprint
    assert loads[-1] == "broken" and data.blueprint.host == "nas"
    # the file stays as it is; what changes is what `lares up` has applied
    (tmp_path / "applied" / "media").mkdir(parents=True)
    data.refresh()
    assert len(loads) == 4
    (tmp_path / "applied" / "media" / "record.json").write_text("{}")
    data.refresh()  # a stack deployed after the dashboard started brings its apps in
    assert len(loads) == 5
    data.refresh()
    assert len(loads) == 5


def test_each_drive_and_pool_has_the_verdict_of_its_worst_firing_alert(tmp_path: Path) -> None:
    values = {
        ("smart", "/dev/sda", "temperature_celsius"): (1, 35.0),
        ("smart", "/dev/sdb", "temperature_celsius"): (1, 52.0),
        ("smart", "/dev/sdc", "temperature_celsius"): (1, 30.0),
        ("mdstat", "md0", "degraded"): (1, 0.0),
        ("disks", "/mnt/tank", "used_percent"): (1, 25.0),
    }
    alerts = group_alerts(
        Alert.from_dict(a)
        for a in [
            alert("drive-temp:/dev/sdb", source="smart", severity="warning", message="52 °C"),
            alert("smart:/dev/sdb", source="smart", message="/dev/sdb fails its self-assessment"),
            # pending, or another collector's subject of the same name: not this drive's verdict
            alert("smart:/dev/sdc", source="smart", state="pending"),
            alert("container-down:/dev/sda", source="docker"),
        ]
    )
    view = storage_view(blueprint(tmp_path), values, alerts)
    drives = {r["subject"]: (r["health"], r["problem"]) for r in view["drives"]}
    assert drives == {
        "/dev/sda": ("ok", None),
        "/dev/sdb": ("critical", "/dev/sdb fails its self-assessment"),
        "/dev/sdc": ("ok", None),
    }
    assert [(r["subject"], r["health"]) for r in view["arrays"]] == [("md0", "ok")]
    (tank,) = view["pools"]  # its devices are /dev/sda and /dev/sdb
    assert (tank["health"], tank["problem"]) == ("critical", "/dev/sdb fails its self-assessment")
    assert storage_view(blueprint(tmp_path), values)["pools"][0]["health"] == "ok"


def test_each_app_shows_what_its_last_backup_read_and_added(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from lares.backup.records import Records
    from lares.state import StateDir

    records, when = Records(StateDir.open(tmp_path / "state")), datetime.now(UTC)
    for item, read, added in (("files", 5 * 2**30, 2**20), ("db", 300 * 2**20, 3 * 2**20)):
        stats = {"total_bytes_processed": read, "data_added": added, "files_new": 1}
        records.item_done("local", "nextcloud", item, ok=True, when=when, stats=stats)
    records.item_done("local", "immich", "files", ok=False, when=when, error="disk full")
    records.app_done("local", "nextcloud", ok=True, when=when, error=None)
    records.app_done("local", "immich", ok=False, when=when, error="disk full")
    view = backups_view(blueprint(tmp_path), tmp_path / "state", time.time())
    apps = {a["app"]: (a["size"], a["added"]) for a in view["repositories"][0]["apps"]}
    assert apps == {"nextcloud": (5 * 2**30 + 300 * 2**20, 4 * 2**20), "immich": (None, None)}


def test_the_last_days_say_how_bad_and_for_how_long() -> None:
    from datetime import datetime, timedelta

    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    today = midnight.timestamp()
    now, hour = today + 12 * 3600, 3600

    def row(at: float, key: str, kind: str, severity: str = "warning") -> dict[str, Any]:
        return {"ts": at, "key": key, "kind": kind, "severity": severity, "message": key}

    log = [
        row(today - 2 * hour, "r:a", "pending"),
        row(today - hour, "r:a", "firing"),  # from yesterday 23:00 ...
        row(today + hour, "r:a", "escalated", "critical"),
        row(today + 2 * hour, "r:a", "resolved"),  # ... to 02:00 today
        row(today + 1.5 * hour, "r:b", "firing", "critical"),  # still firing
        row(today + 3 * hour, "r:c", "pending"),  # never fired
        row(today + 3 * hour, "r:c", "cleared"),
        row(today + 4 * hour, "r:d", "firing", "info"),  # a note, not a problem
        row(today + 5 * hour, "r:d", "resolved", "info"),
    ]
    active = [Alert.from_dict(alert("r:b", fired_at=today + 1.5 * hour))]
    days = history_days(log, active, now)
    assert [d["day"] for d in days] == [
        (midnight - timedelta(days=n)).date().isoformat() for n in range(6, -1, -1)
    ]
    # yesterday it was a warning: it became critical only after midnight
    assert days[-2] == {"day": days[-2]["day"], "health": "warning", "alerts": 1, "seconds": hour}
    # a and b overlap from 01:30 to 02:00: the day was wrong from midnight to noon, once
    assert days[-1] == {"day": days[-1]["day"], "health": "critical", "alerts": 2, "seconds": 43200}
    assert {d["health"] for d in days[:-2]} == {"ok"} and {d["alerts"] for d in days[:-2]} == {0}

    # firing since before the log's window: every day of it, from when it fired
    old = Alert.from_dict(alert("x:old", severity="warning", fired_at=today - 9 * 86400))
    assert {(d["health"], d["alerts"]) for d in history_days([], [old], now)} == {("warning", 1)}
    assert history_days([], [old], now)[-1]["seconds"] == 12 * hour


def test_redaction(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "one").write_text(SECRET + "\n")
    (tmp_path / "secrets" / "short").write_text("abc\n")
    data = Data(Settings(state_dir=tmp_path), loader=lambda s: blueprint(s.state_dir))
    text = f"x {SECRET} in {tmp_path / 'secrets' / 'one'} abc"
    assert data.redact(text) == "x [secret] in [secrets]/one abc"


def test_a_root_cause_holds_its_children_however_deep() -> None:
    from lares.monitor.alerts import Alert

    def a(key: str, by: str | None = None, severity: str = "critical") -> Alert:
        rule, subject = key.split(":")
        return Alert(key, rule, severity, subject, key, "docker", suppressed_by=by)

    roots = group_alerts(
        [
            a("http:app", "container:db"),
            a("container:db", "engine:docker"),
            a("engine:docker"),
            a("disk:/", severity="warning"),
            a("orphan:x", "gone:y"),
        ]
    )
    assert [r["key"] for r in roots] == ["engine:docker", "orphan:x", "disk:/"]
    assert sorted(c["key"] for c in roots[0]["children"]) == ["container:db", "http:app"]


def test_listen_addresses() -> None:
    from lares.commands.serve import parse_listen

    assert parse_listen("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert parse_listen("[::1]:80") == ("::1", 80)
    assert parse_listen(":9000") == ("127.0.0.1", 9000)
    for bad in ("8765", "host:", "host:0", "host:70000", "host:http"):
        with pytest.raises(UsageError):
            parse_listen(bad)


def test_serve_sets_the_password_and_makes_tokens(run_lares: Any, tmp_path: Path) -> None:
    state = tmp_path / "lares-state"
    r = run_lares("serve", "--set-password", input="short\n")
    assert r.returncode == 2 and "shorter than 8 characters" in r.stderr + r.stdout
    r = run_lares("serve", "--set-password", input="a long enough password\n")
    assert r.returncode == 0, r.stderr
    assert "a long enough password" not in r.stdout + r.stderr
    hashed = state / "web" / "admin.scrypt"
    assert stat.S_IMODE(hashed.stat().st_mode) == 0o600
    from lares.web.auth import Auth

    assert Auth(state / "web").check("admin", "a long enough password")
    r = run_lares("serve", "--new-token")
    token = r.stdout.strip().splitlines()[-1]
    assert r.returncode == 0 and token.startswith("lares_")
    assert Auth(state / "web").token_ok(token)
    assert token not in (state / "web" / "tokens").read_text()
    r = run_lares("serve", "--listen", "nowhere")
    assert r.returncode == 2 and "cannot listen on 'nowhere'" in r.stderr + r.stdout


def test_a_generated_password_reaches_a_terminal_but_not_a_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lares.commands.options import printer
    from lares.commands.serve import first_login
    from lares.web.auth import Auth

    auth = Auth(tmp_path / "web")
    first_login(auth, printer(False), terminal=False)
    said = capsys.readouterr()
    kept = auth.initial_file.read_text().strip()
    assert auth.check("admin", kept)
    assert kept not in said.out + said.err
    assert str(auth.initial_file) in said.out + said.err
    assert stat.S_IMODE(auth.initial_file.stat().st_mode) == 0o600

    auth = Auth(tmp_path / "tty")
    first_login(auth, printer(False), terminal=True)
    shown = capsys.readouterr().out
    assert auth.check("admin", auth.initial_file.read_text().strip())
    assert auth.initial_file.read_text().strip() in shown
    auth.set_password("a long enough password")
    assert not auth.initial_file.exists()
