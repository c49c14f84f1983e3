"""A failed backup is a problem at once: in `lares status`, its exit code, and the watcher's alerts.

Real restic: a run that fails because the repository's password no longer matches, then a run
that succeeds again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from integration.backup_helpers import make_lab, receiver, set_secret


def _backup_conditions(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = [*report["problems"], *report["notes"]]
    return {c["key"]: c for c in found if c["source"] == "backups"}


def test_a_failed_run_is_a_problem_and_an_alert_until_a_run_succeeds(
    tmp_path: Path, unique_name: Callable[..., str]
) -> None:
    app = unique_name()
    with receiver() as inbox:
        lab = make_lab(
            tmp_path,
            app,
            appdata=tmp_path / "appdata",
            notify_url=f"json://127.0.0.1:{inbox.port}/",
            with_db=False,
        )
        (lab.data / "a.txt").write_text("a\n")
        assert lab.lares("backup", "init").returncode == 0
        assert lab.lares("backup", "run").returncode == 0
        _, status = lab.lares_json("status")
        assert _backup_conditions(status) == {}

        good = lab.password()
        set_secret(lab, "restic_local", "not-the-password-of-this-repository")
        assert lab.lares("backup", "run").returncode == 1
        inbox.bodies.clear()  # what backup run itself sent

        # the last success is seconds old, well within the daily schedule: only the failure shows
        code, status = lab.lares_json("status")
        assert code == 1
        key = f"backup-failed:{app}@local"
        found = _backup_conditions(status)
        assert list(found) == [key]
        assert found[key]["severity"] == "critical"
        assert found[key]["message"].startswith(
            f"the last attempt at the backup of {app} to local failed: files: wrong password for "
            f"repository local ({lab.repo})"
        )

        code, cycle = lab.lares_json("watch", "--once")
        assert code == 0
        assert {(e["kind"], e["key"], e["notify"]) for e in cycle["events"]} >= {
            ("firing", key, True)
        }
        assert any(app in body.get("message", "") for body in inbox.bodies)

        set_secret(lab, "restic_local", good)
        assert lab.lares("backup", "run").returncode == 0
        code, status = lab.lares_json("status")
        assert _backup_conditions(status) == {}
        _, cycle = lab.lares_json("watch", "--once")
        assert ("resolved", key, True) in {
            (e["kind"], e["key"], e["notify"]) for e in cycle["events"]
        }
