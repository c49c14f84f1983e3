"""`lares backup restore` names one snapshot: latest of one app and item, or an id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lares.backup.restic import Snapshot
from lares.backup.selection import choose, describe
from lares.errors import UsageError


def snap(sid: str, app: str, hour: int, db: str | None = None) -> Snapshot:
    tags = ["lares", "host:h", f"app:{app}", f"kind:{'database' if db else 'files'}"]
    if db:
        tags.append(f"db:{db}")
    return Snapshot(
        sid * 8, sid * 8, datetime(2026, 12, 1, hour, tzinfo=UTC), ("/x",), "h", tuple(tags)
    )


SNAPS = [
    snap("a", "notes", 1),
    snap("b", "photos", 3),
    snap("c", "notes", 2),
    snap("d", "notes", 4, "app"),
]


def test_latest_of_several_apps_asks_which() -> None:
    with pytest.raises(UsageError) as err:
        choose(SNAPS, "latest", repo="local")
    assert err.value.message == "latest is ambiguous: local holds snapshots of 2 apps"
    assert err.value.hint == "say which with --app: notes, photos"


def test_latest_of_an_app_with_files_and_a_database_asks_which_item() -> None:
    with pytest.raises(UsageError) as err:
        choose(SNAPS, "latest", repo="local", app="notes")
    assert err.value.hint == "say which with --item: db:app, files"
    assert choose(SNAPS, "latest", repo="local", app="notes", item="files").id == "c" * 8
    assert choose(SNAPS, "latest", repo="local", app="notes", item="db:app").id == "d" * 8
    assert choose(SNAPS, "latest", repo="local", app="photos").id == "b" * 8


def test_latest_of_a_repository_with_one_app_needs_no_option() -> None:
    only = [snap("a", "notes", 1), snap("c", "notes", 2)]
    chosen = choose(only, "latest", repo="local")
    assert describe(chosen) == "snapshot cccccccc of notes (files), 2026-12-01T02:00:00+00:00"


def test_an_unknown_app_or_id_is_refused_with_the_choices() -> None:
    with pytest.raises(UsageError) as err:
        choose(SNAPS, "latest", repo="local", app="notse")
    assert err.value.message == "local holds no snapshot of notse"
    assert err.value.hint == "apps with snapshots: notes, photos"
    with pytest.raises(UsageError, match="is not a snapshot lares made in local"):
        choose(SNAPS, "eeeeeeee", repo="local")
    with pytest.raises(UsageError, match="local holds no snapshot yet"):
        choose([], "latest", repo="local")


def test_an_id_must_be_of_the_app_asked_for() -> None:
    assert choose(SNAPS, "bbbbbbbb", repo="local").tag("app") == "photos"
    with pytest.raises(UsageError) as err:
        choose(SNAPS, "bbbbbbbb", repo="local", app="notes")
    assert err.value.message.startswith("snapshot bbbbbbbb of photos (files), 2026-12-01T03:00")
    assert err.value.message.endswith("is not of --app notes")
