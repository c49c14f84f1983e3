"""The lifecycle plan check: a pinned release past its end of life is a warning, with its source."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from conftest import BlueprintKit
from lares.blueprint.load import load_reference
from lares.catalog.lifecycle import end_of_life
from lares.plan import plan
from lares.plan.checks import lifecycle


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("postgres:14.20-alpine", ("PostgreSQL", "14", date(2026, 11, 12))),
        ("postgres:17.6-alpine3.22", ("PostgreSQL", "17", date(2029, 11, 8))),
        (
            "ghcr.io/immich-app/postgres:14-vectorchord0.4.3-pgvectors0.2.0",
            ("PostgreSQL", "14", date(2026, 11, 12)),
        ),
        ("postgres:99", None),
        ("postgres:latest", None),
        ("nextcloud:33.0.7-apache", None),
    ],
)
def test_releases_and_their_end(image: str, expected: tuple | None) -> None:
    eol = end_of_life(image)
    assert (eol and (eol.product, eol.release, eol.ends)) == expected
    if eol:
        assert eol.source.startswith("https://www.postgresql.org/")


def test_a_release_past_its_end_is_a_warning_and_not_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the reference's Immich keeps the PostgreSQL 14 its upstream still ships
    monkeypatch.setenv("LARES_TODAY", "2026-11-12")
    findings = [f for f in plan(load_reference()).findings if f.id == "lifecycle"]
    assert [f.severity for f in findings] == ["warning"]
    assert findings[0].message.startswith(
        "immich-db runs PostgreSQL 14, which gets no fixes since 2026-11-12"
    )
    assert str(findings[0].location).endswith("stacks.productivity.apps.immich.containers.db")

    monkeypatch.setenv("LARES_TODAY", "2026-11-11")
    assert not [f for f in plan(load_reference()).findings if f.id == "lifecycle"]
    monkeypatch.delenv("LARES_TODAY")
    assert lifecycle.today() == date.today()


def test_a_pin_built_longer_ago_than_max_age_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kit: BlueprintKit
) -> None:
    from conftest import load_test_catalog
    from lares.blueprint.load import load_text
    from lares.catalog.resolve import resolve

    text = kit.text(updates="\nmax_age: 6 months\n")
    loaded = load_text(text, filename="test.yaml", base_dir=tmp_path)
    catalog = load_test_catalog()
    image = next(s.image for s in resolve(loaded.blueprint, catalog).services if s.app == "tweb")
    (tmp_path / "lares.lock").write_text(f"format: 1\nbuilt: {{'{image}': '2025-01-31'}}\n")

    def found(today: str, blueprint: str = text) -> list[str]:
        monkeypatch.setenv("LARES_TODAY", today)
        loaded = load_text(blueprint, filename="test.yaml", base_dir=tmp_path)
        return [
            f.message
            for f in plan(loaded, catalog=catalog, only=["lifecycle"]).findings
            if "built" in f.message
        ]

    # six months after 31 January is the end of July
    assert found("2025-07-31") == []
    [message] = found("2025-08-01")
    assert message == f"tweb runs {image}, built 2025-01-31 (6 months ago): older than 6 months"
    # without an updates: section the limit is a year
    assert found("2025-08-01", kit.text()) == []
    assert found("2026-02-01", kit.text())[0].endswith("(12 months ago): older than 12 months")
