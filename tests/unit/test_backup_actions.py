"""backup.actions: the per-repository loop reports a failing repository and goes on; a run's
progress can be followed as lines of text."""

from __future__ import annotations

from lares.backup import actions
from lares.backup.actions import LineProgress, Repositories, each_repo
from lares.errors import LaresError


def test_a_failing_repository_is_reported_and_the_next_one_still_runs() -> None:
    seen: list[str] = []

    def work(name: str, row: dict[str, object]) -> None:
        seen.append(name)
        if name == "b":
            raise LaresError("the disk is gone", hint="mount it")
        row.update(ok=True, kept=3)

    result = each_repo(["a", "b", "c"], work)
    assert seen == ["a", "b", "c"]
    assert not result.ok
    assert result.to_dict() == {
        "ok": False,
        "repositories": [
            {"repo": "a", "ok": True, "kept": 3},
            {"repo": "b", "ok": False, "error": "the disk is gone", "hint": "mount it"},
            {"repo": "c", "ok": True, "kept": 3},
        ],
    }
    assert [r["repo"] for r in result.failed()] == ["b"]
    assert Repositories([{"repo": "a", "ok": True}]).ok


def test_a_failure_can_be_reported_in_the_actions_own_shape() -> None:
    def work(name: str, row: dict[str, object]) -> None:
        raise LaresError("wrong password")

    def failed(row: dict[str, object], exc: LaresError) -> None:
        row.update(result="failed", error=exc.message)

    result = each_repo(["a"], work, failed=failed)
    assert result.rows == [{"repo": "a", "result": "failed", "error": "wrong password"}]
    assert not result.ok


def test_line_progress_tells_each_item_once_it_starts_and_ends() -> None:
    lines: list[str] = []
    progress = LineProgress(lines.append)
    progress.begin("local · app · files")
    progress.end("local · app · files", True)
    progress.begin("local · app · db:db")
    progress.end("local · app · db:db", False)
    assert lines == [
        "local · app · files …",
        "local · app · files: ok",
        "local · app · db:db …",
        "local · app · db:db: FAILED",
    ]


def test_declining_is_an_error_the_cli_renders() -> None:
    err = actions.cancelled()
    assert err.message == "cancelled; nothing was changed"
    assert err.exit_code == 1
