"""Backup schedules rendered as systemd timers and as a crontab."""

from __future__ import annotations

import pytest

from lares.blueprint.load import load_reference, load_text, reference_text
from lares.catalog.load import load_catalog
from lares.catalog.resolve import System, resolve
from lares.errors import ConfigError
from lares.render import render_all
from lares.render.timers import render


def _system(text: str | None = None) -> System:
    loaded = load_reference() if text is None else load_text(text, filename="t.yaml", env={})
    return resolve(loaded.blueprint, load_catalog())


def test_a_timer_and_service_per_repository_plus_check_and_drill() -> None:
    bundle = render(_system(), "/etc/lares/lares.yaml")
    units = sorted(p for p in bundle.files if p.startswith("systemd/lares-backup"))
    assert units == [
        f"systemd/lares-backup-{name}.{ext}"
        for name in ("check", "drill", "local", "offsite", "usb")
        for ext in ("service", "timer")
    ]
    # the reference's scheduled update is the only other timer
    others = sorted(p for p in bundle.files if p.startswith("systemd/") and p not in units)
    assert others == ["systemd/lares-update.service", "systemd/lares-update.timer"]
    timer = bundle.files["systemd/lares-backup-usb.timer"].content
    assert "OnCalendar=Sun *-*-* 04:00:00\n" in timer
    assert "Persistent=true\n" in timer
    service = bundle.files["systemd/lares-backup-local.service"].content
    assert "Type=oneshot\n" in service
    assert "Environment=LARES_FILE=/etc/lares/lares.yaml\n" in service
    assert "Environment=LARES_STATE_DIR=/var/lib/lares\n" in service
    assert service.index("ExecStart=/usr/bin/env lares backup run --due --repo local\n") < (
        service.index("ExecStart=/usr/bin/env lares backup forget --repo local\n")
    )
    assert "OnCalendar=monthly\n" in bundle.files["systemd/lares-backup-drill.timer"].content


def test_the_crontab_says_the_same() -> None:
    cron = render(_system(), "lares.yaml").files["cron.d/lares-backup"].content
    lines = [line for line in cron.splitlines() if line and not line.startswith("#")]
    assert "LARES_FILE" not in cron  # a relative source: the jobs run where lares.yaml is
    assert (
        "0 3 * * * root cd /etc/lares && /usr/bin/env lares backup run --due --repo local"
        " && /usr/bin/env lares backup forget --repo local"
    ) in lines
    assert any(line.startswith("0 4 * * 0 root ") and "--repo usb" in line for line in lines)
    assert any(line.startswith("0 5 1 * * root ") and "--repo offsite" in line for line in lines)
    assert "0 0 * * 1 root cd /etc/lares && /usr/bin/env lares backup check" in lines


def test_the_host_target_includes_the_timers() -> None:
    bundle = render_all(_system(), source="lares.yaml", target="host")
    assert "systemd/lares-backup-local.timer" in bundle.files
    assert "cron.d/lares-backup" in bundle.files


def test_a_bad_schedule_is_a_config_error_naming_where() -> None:
    text = reference_text().replace('schedule: "*-*-* 03:00:00"', 'schedule: "at three"')
    with pytest.raises(ConfigError, match="is not a schedule lares understands") as err:
        render(_system(text), "t.yaml")
    assert err.value.location is not None
    assert err.value.location.path == "backup.repositories.local.schedule"
