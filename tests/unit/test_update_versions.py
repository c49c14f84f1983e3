"""Tags read as versions: newer tags of the same scheme and variant, by step."""

from __future__ import annotations

import pytest

from lares.update.versions import allowed, newer, parse


@pytest.mark.parametrize(
    ("current", "tags", "expected"),
    [
        # PostgreSQL's variants: never another variant, a floating tag or another base
        (
            "16.10-alpine",
            ["16.11-alpine", "17-bookworm", "16", "16-alpine", "latest", "17.2-alpine", "16.11"],
            ("16.10-alpine", None, "16.11-alpine", "17.2-alpine"),
        ),
        # v-prefixed semver (Immich), release candidates ignored
        (
            "v2.7.5",
            ["v2.7.6", "v2.8.0", "v3.0.0-rc.1", "v3.0.0", "2.9.0", "v2.7.5"],
            ("v2.7.5", "v2.7.6", "v2.8.0", "v3.0.0"),
        ),
        # LinuxServer: -lsNNN is a rebuild of the same release, `develop-` is another line
        (
            "4.0.14.2939-ls289",
            ["4.0.14.2939-ls290", "4.0.15.2941-ls291", "5.0.0.100-ls1", "develop-5.0.0.1-ls9"],
            ("4.0.14.2939-ls289", "4.0.15.2941-ls291", None, "5.0.0.100-ls1"),
        ),
        # calendar versions: a new year is major, a new month minor; beta builds are not offered
        (
            "2024.10.1",
            ["2024.10.2", "2024.11.0", "2025.1.0", "2025.2.0b1", "2025.3.0-beta"],
            ("2024.10.1", "2024.10.2", "2024.11.0", "2025.1.0"),
        ),
        # build numbers: any newer build, nothing more is known
        ("1234", ["1235", "1240", "999", "nightly-1300"], ("1234", "1240", None, None)),
        # nothing newer
        ("1.2.3", ["1.2.3", "1.2.2", "1.1.9"], ("1.2.3", None, None, None)),
        # an Alpine base bump of the same release is a patch
        (
            "2.10-alpine3.21",
            ["2.10-alpine3.22", "2.11-alpine3.22"],
            ("2.10-alpine3.21", "2.10-alpine3.22", "2.11-alpine3.22", None),
        ),
        # Uptime Kuma's variant with two words
        (
            "2.0.2-slim-rootless",
            ["2.0.3-slim-rootless", "2.0.3-slim", "2.0.3-rootless", "2.1.0-beta.1-slim-rootless"],
            ("2.0.2-slim-rootless", "2.0.3-slim-rootless", None, None),
        ),
    ],
)
def test_newer_by_step(current: str, tags: list[str], expected: tuple) -> None:
    found = newer(current, tags)
    assert found is not None
    assert (found.current, found.patch, found.minor, found.major) == expected


@pytest.mark.parametrize("tag", ["latest", "stable", "sha256:abc", "main", "1.0.0-rc1", "edge"])
def test_tags_that_are_no_version_offer_nothing(tag: str) -> None:
    assert parse(tag) is None
    assert newer(tag, ["1.0.0", "2.0.0"]) is None


def test_the_biggest_step_and_limits() -> None:
    found = newer("1.0.0", ["1.0.1", "1.1.0"])
    assert found is not None and found.level == "minor"
    assert newer("1.0.0", ["1.0.0"]).level is None  # type: ignore[union-attr]
    assert allowed("patch", "minor") and allowed("minor", "minor")
    assert not allowed("major", "minor")
