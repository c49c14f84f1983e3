"""How old a pin is: calendar months, the image config's `created`, and lares.lock's dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from conftest import BlueprintKit
from lares.errors import ConfigError, LaresError
from lares.update import age
from lares.update.lock import NAME, Lock
from lares.update.registry import _platform, _timestamp


@pytest.mark.parametrize(
    ("built", "max_age", "last"),
    [
        (date(2025, 1, 31), "6 months", date(2025, 7, 31)),
        (date(2025, 8, 31), "6 months", date(2026, 2, 28)),  # no 31 February
        (date(2024, 2, 29), "1 year", date(2025, 2, 28)),
        (date(2025, 1, 1), "2 weeks", date(2025, 1, 15)),
        (date(2025, 1, 1), "10 days", date(2025, 1, 11)),
        (date(2025, 11, 15), "3 months", date(2026, 2, 15)),
    ],
)
def test_the_last_day_a_pin_is_not_too_old(built: date, max_age: str, last: date) -> None:
    assert age.limit(built, max_age) == last
    assert not age.too_old(built, max_age, last)
    assert age.too_old(built, max_age, date.fromordinal(last.toordinal() + 1))


def test_an_age_reads_as_people_say_it() -> None:
    built = date(2025, 1, 31)
    assert age.describe(built, date(2025, 1, 31)) == "0 days"
    assert age.describe(built, date(2025, 2, 1)) == "1 day"
    assert age.describe(built, date(2025, 2, 28)) == "28 days"
    assert age.describe(built, date(2025, 3, 31)) == "2 months"
    assert age.describe(built, date(2026, 1, 31)) == "12 months"
    assert age.describe(built, date(2027, 2, 1)) == "2 years"


def test_max_age_is_validated_in_the_blueprint(kit: BlueprintKit) -> None:
    with pytest.raises(LaresError, match=r"updates\.max_age"):
        kit.load(kit.text(updates="\nmax_age: half a year\n"))
    assert kit.load(kit.text(updates="\nmax_age: 3 weeks\n")).blueprint.updates.max_age == "3 weeks"
    assert kit.load(kit.text(updates="\nlevel: patch\n")).blueprint.updates.max_age == age.DEFAULT


def test_an_image_configs_created_time_with_nanoseconds() -> None:
    assert _timestamp("2025-01-15T10:00:00.123456789Z") == datetime(
        2025, 1, 15, 10, 0, 0, 123456, tzinfo=UTC
    )
    assert _timestamp("2025-01-15T10:00:00+02:00") == datetime(2025, 1, 15, 8, tzinfo=UTC)
    assert _timestamp("2025-01-15") is None
    assert _timestamp(None) is None


def test_the_platform_of_an_index_is_this_machines_never_an_attestation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = [
        {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
        {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64"}},
        {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
    ]
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    assert _platform(index) == "sha256:amd"
    monkeypatch.setattr("platform.machine", lambda: "aarch64")
    assert _platform(index) == "sha256:arm"
    monkeypatch.setattr("platform.machine", lambda: "riscv64")
    assert _platform(index) == "sha256:arm"  # the first linux image
    assert _platform(index[:1]) is None


def test_the_lock_keeps_the_day_each_image_was_built(tmp_path: Path) -> None:
    lock = Lock.beside(tmp_path)
    digest = "sha256:" + "a" * 64
    assert lock.record("lt/x:1.0.0", digest, "2025-01-15")
    assert not lock.record("lt/x:1.0.0", digest, "2026-01-01")  # the first pull's stays
    assert lock.record("lt/y:1.0.0", digest)
    assert lock.record("lt/y:1.0.0", digest, "2025-02-01")  # a lock from before learns it
    lock.save()
    again = Lock.beside(tmp_path)
    assert again.built == {"lt/x:1.0.0": "2025-01-15", "lt/y:1.0.0": "2025-02-01"}
    (tmp_path / NAME).write_text("format: 1\nbuilt: {lt/x:1.0.0: yesterday}\n")
    with pytest.raises(ConfigError, match="is not a date"):
        Lock.beside(tmp_path)
