"""Which version `lares update` moves to, and lares.lock's pins in the resolved blueprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BlueprintKit
from lares.errors import ConfigError
from lares.update.lock import NAME, Lock, lock_beside
from lares.update.update import choose

TAGS = ["1.0.0", "1.0.1", "1.1.0", "1.2.0", "2.0.0", "2.1.0-rc1", "1.0.0-alpine"]


@pytest.mark.parametrize(
    ("to", "major", "expected"),
    [
        (None, False, ("1.2.0", "minor", "")),
        (None, True, ("2.0.0", "major", "")),
        ("1.0.1", False, ("1.0.1", "patch", "")),
        ("2.0.0", False, (None, "major", "1.0.0 → 2.0.0 is a major update: pass --major")),
        ("2.0.0", True, ("2.0.0", "major", "")),
        ("3.0.0", True, (None, None, "the registry has no tag 3.0.0")),
        (
            "1.0.0-alpine",
            False,
            (None, None, "1.0.0-alpine is not a version of the same kind as 1.0.0"),
        ),
        ("1.0.0", False, (None, None, "1.0.0 is not newer than 1.0.0")),
    ],
)
def test_the_version_chosen(to: str | None, major: bool, expected: tuple) -> None:
    assert choose("1.0.0", TAGS, to=to, major=major) == expected


def test_only_a_major_step_newer_is_said_so() -> None:
    assert choose("2.0.0", ["2.0.0", "3.0.0"], to=None, major=False) == (
        None,
        "major",
        "only a major update (3.0.0) is newer: pass --major",
    )
    assert choose("2.0.0", ["2.0.0"], to=None, major=False) == (None, None, "up to date")
    assert choose("latest", TAGS, to=None, major=True)[2].endswith("lares can compare")


def test_the_lock_round_trips_and_refuses_what_it_did_not_write(tmp_path: Path) -> None:
    lock = Lock.beside(tmp_path)
    assert lock.pins == {} and lock.images == {}
    lock.pin("nextcloud", "nextcloud", "33.0.8-apache")
    assert lock.record("nextcloud:33.0.8-apache", "sha256:" + "a" * 64)
    assert not lock.record("nextcloud:33.0.8-apache", "sha256:" + "b" * 64)  # first pull wins
    lock.save()
    again = Lock.beside(tmp_path)
    assert again.pins == {"nextcloud/nextcloud": "33.0.8-apache"}
    assert again.images == {"nextcloud:33.0.8-apache": "sha256:" + "a" * 64}
    assert lock_beside(tmp_path).pins == again.pins
    again.pin("nextcloud", "nextcloud", None)
    assert again.pins == {}

    (tmp_path / NAME).write_text("format: 1\npins: {nextcloud/nextcloud: 'x; rm -rf /'}\n")
    with pytest.raises(ConfigError, match="is not an image tag"):
        Lock.beside(tmp_path)
    (tmp_path / NAME).write_text("format: 1\nimages: {a: md5:1}\n")
    with pytest.raises(ConfigError, match="is not a sha256 digest"):
        Lock.beside(tmp_path)


def test_a_pin_replaces_the_catalog_version_but_never_the_blueprints(
    kit: BlueprintKit, tmp_path: Path
) -> None:
    from lares.catalog.load import load_catalog
    from lares.catalog.resolve import resolve

    bp = kit.load(
        kit.text(stacks="main:\n  apps:\n    vaultwarden: {}\n    memos: {version: 0.1.0}\n")
    ).blueprint
    catalog = load_catalog([])
    plain = {s.name: s.image for s in resolve(bp, catalog).services}
    pinned = {
        s.name: s.image
        for s in resolve(
            bp, catalog, {"vaultwarden/vaultwarden": "9.9.9", "memos/memos": "9.9.9"}
        ).services
    }
    assert (
        pinned["vaultwarden"].endswith(":9.9.9") and plain["vaultwarden"] != pinned["vaultwarden"]
    )
    assert pinned["memos"] == plain["memos"] and plain["memos"].endswith(":0.1.0")


def test_a_scheduled_level_limits_the_step() -> None:
    assert choose("1.0.0", TAGS, to=None, major=False, level="patch") == ("1.0.1", "patch", "")
    assert choose("1.0.1", ["1.0.1", "1.1.0"], to=None, major=False, level="patch") == (
        None,
        "minor",
        "only a minor update (1.1.0) is newer than patch steps",
    )


def test_the_update_schedule_is_a_timer_and_a_crontab_line(kit: BlueprintKit) -> None:
    from lares.render import render_all

    text = kit.text(updates="schedule: Sun *-*-* 03:30:00\nlevel: patch\nexclude: [tweb]\n")
    result = kit.plan(text)
    assert result.errors == [], [f.render() for f in result.errors]
    files = render_all(result.system, target="host").files
    service = files["systemd/lares-update.service"].content
    assert "ExecStart=/usr/bin/env lares update --scheduled" in service
    assert "OnCalendar=Sun *-*-* 03:30:00" in files["systemd/lares-update.timer"].content
    cron = files["cron.d/lares-update"].content
    assert "30 3 * * 0 root cd /etc/lares && /usr/bin/env lares update --scheduled" in cron
    assert (
        "systemd/lares-update.timer"
        not in render_all(kit.plan(kit.text()).system, target="host").files
    )


def test_an_app_that_upgrades_one_major_at_a_time_goes_to_the_next_major_only() -> None:
    tags = ["31.0.9", "32.0.0", "32.0.3", "33.0.1", "34.0.0"]
    assert choose("31.0.9", tags, to=None, major=True, one_major=True) == ("32.0.3", "major", "")
    assert choose("31.0.9", tags, to=None, major=True) == ("34.0.0", "major", "")
    target, level, why = choose("31.0.9", tags, to="33.0.1", major=True, one_major=True)
    assert (target, level) == (None, "major")
    assert why.endswith("update to a 32.x version first")
    assert choose("31.0.9", tags, to="32.0.0", major=True, one_major=True)[0] == "32.0.0"


def test_nextcloud_is_such_an_app() -> None:
    from lares.catalog.load import load_catalog

    apps = load_catalog().apps
    assert apps["nextcloud"].majors == "one-at-a-time"
    assert apps["vaultwarden"].majors == "any"


def test_release_notes_are_the_catalogs_page_for_the_version() -> None:
    from lares.update.versions import release_notes

    page = "https://github.com/nextcloud/server/releases/tag/v{version}"
    assert release_notes(page, "33.0.8-apache") == f"{page[:-9]}33.0.8"
    assert (
        release_notes("https://x.example/{version}", "v2026.07.2") == "https://x.example/2026.07.2"
    )
    assert (
        release_notes("https://x.example/{tag}", "v1.2-alpine") == "https://x.example/v1.2-alpine"
    )
    assert release_notes(page, "latest") is None
    assert release_notes(None, "1.0.0") is None


def test_every_catalog_release_notes_page_names_its_current_version() -> None:
    from lares.catalog.load import load_catalog
    from lares.update.versions import release_notes

    catalog = load_catalog([])
    pages = {}
    for app_id in catalog.ids():
        app = catalog[app_id]
        if app.release_notes:
            pages[app_id] = release_notes(app.release_notes, app.containers[app_id].version)
    assert pages["nextcloud"] == "https://github.com/nextcloud/server/releases/tag/v33.0.7"
    assert pages["immich"] == "https://github.com/immich-app/immich/releases/tag/v3.3.1"  # v3.3.1
    assert pages["pihole"] == "https://github.com/pi-hole/docker-pi-hole/releases/tag/2026.07.2"
    assert len(pages) >= 15 and all(p and p.startswith("https://") for p in pages.values())


def test_a_release_notes_page_must_be_https_with_a_placeholder() -> None:
    from pydantic import ValidationError

    from lares.catalog.load import load_catalog
    from lares.catalog.model import App

    memos = load_catalog([])["memos"].model_dump(mode="json")
    for bad in ("http://x.example/{version}", "https://x.example/releases", "https://x/{v}"):
        with pytest.raises(ValidationError) as caught:
            App.model_validate({**memos, "release_notes": bad})
        assert [e["loc"] for e in caught.value.errors()] == [("release_notes",)]
    good = App.model_validate({**memos, "release_notes": "https://x.example/{tag}"})
    assert good.release_notes == "https://x.example/{tag}"
