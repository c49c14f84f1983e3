"""The monitor's view of lares's own state in the offsite repositories."""

from __future__ import annotations

from datetime import UTC, datetime

from lares.monitor.collectors import lares_state
from lares.monitor.config import RepoTarget, WatchConfig
from lares.monitor.rules import evaluate

CONFIG = WatchConfig(
    host="nas",
    repositories=(
        RepoTarget("local", "daily"),
        RepoTarget("offsite", "daily", "local", offsite=True),
    ),
)
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC).timestamp()


def _status(hour: int) -> dict[str, object]:
    when = datetime(2026, 12, 2, hour, tzinfo=UTC).isoformat()
    return {repo: {"app": {"last_success": when}} for repo in ("local", "offsite")}


def _state(hour: int) -> dict[str, object]:
    when = datetime(2026, 12, 2, hour, tzinfo=UTC).isoformat()
    return {"offsite": {"state": "ok", "last_success": when}}


def _conditions(states: dict[str, object], status: dict[str, object]) -> list[object]:
    found = lares_state.samples(CONFIG, states, status)
    return [c for c in evaluate(found, CONFIG, now=NOW) if c.rule == "state-late"]


def test_only_offsite_repositories_with_app_snapshots_are_watched() -> None:
    found = lares_state.samples(CONFIG, {}, _status(3))
    assert {s.subject for s in found} == {"offsite"}
    assert lares_state.samples(CONFIG, {}, {}) == []


def test_a_state_snapshot_older_than_the_newest_app_snapshot_alerts() -> None:
    (late,) = _conditions(_state(1), _status(3))
    assert late.severity == "warning"
    assert late.message == (
        "the offsite repository offsite holds a snapshot of lares's own state 0.1 days older "
        "than its newest app snapshot: a new machine could not open the data it recovers from "
        "there"
    )
    assert late.hint == "lares backup run --repo offsite"


def test_no_state_snapshot_at_all_alerts_and_a_fresh_one_does_not() -> None:
    (never,) = _conditions({}, _status(3))
    assert "holds no snapshot of lares's own state" in never.message
    assert _conditions(_state(4), _status(3)) == []
