"""`lares backup restore` and `drill` with real restic: `latest` names one app's snapshot and
says which it restored; a drill folder that does not exist is refused before anything runs."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from integration.backup_helpers import Lab, make_lab


def _two_app_lab(tmp_path: Path, unique_name: Callable[..., str]) -> tuple[Lab, str, str]:
    first, second = unique_name("notes"), unique_name("photos")
    appdata = tmp_path / "appdata"
    make_lab(tmp_path, first, appdata=appdata, with_db=False)
    lab = make_lab(tmp_path, second, appdata=appdata, with_db=False)
    text = lab.blueprint.read_text()
    lab.blueprint.write_text(text.replace(f"apps: [{second}]", f"apps: [{first}, {second}]"))
    for app, body in ((first, "a note"), (second, "a photo")):
        (appdata / app / "data" / "kept.txt").write_text(body)
    return lab, first, second


def test_restore_latest_names_the_app_and_the_snapshot(
    tmp_path: Path, unique_name: Callable[..., str]
) -> None:
    lab, first, second = _two_app_lab(tmp_path, unique_name)
    assert lab.lares("backup", "init").returncode == 0
    ran = lab.lares("backup", "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # the second app ran last: `latest` alone used to restore it without a word
    target = tmp_path / "restored"
    ambiguous = lab.lares("backup", "restore", "latest", "--target", str(target))
    assert ambiguous.returncode == 2
    assert (
        "--app: error [usage] latest is ambiguous: local holds snapshots of 2 apps\n"
        f"  hint: say which with --app: {', '.join(sorted([first, second]))}"
    ) in ambiguous.stderr
    assert not target.exists()

    snaps = {
        next(t for t in s["tags"] if t.startswith("app:")).removeprefix("app:"): s
        for s in lab.snapshots("lares")
    }
    assert set(snaps) == {first, second}
    want = snaps[first]
    restored = lab.lares(
        "backup", "restore", "latest", "--app", first, "--target", str(target), "--json"
    )
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    assert report["app"] == first
    assert report["item"] == "files"
    assert report["snapshot"] == want["short_id"]
    assert report["snapshot_id"] == want["id"]
    data = target / str(lab.appdata).lstrip("/") / first / "data" / "kept.txt"
    assert data.read_text() == "a note"
    assert not (target / str(lab.appdata).lstrip("/") / second).exists()

    again = tmp_path / "again"
    said = lab.lares("backup", "restore", "latest", "--app", second, "--target", str(again))
    assert said.returncode == 0, said.stderr
    first_line = said.stdout.splitlines()[0]
    assert first_line.startswith(
        f"restoring snapshot {snaps[second]['short_id']} of {second} (files), "
    )
    assert first_line.endswith(" from local")
    assert f"✓ restored snapshot {snaps[second]['short_id']} of {second} (files)" in said.stdout

    # an id of the other app is refused when --app says otherwise
    wrong = lab.lares(
        "backup", "restore", want["short_id"], "--app", second, "--target", str(tmp_path / "w")
    )
    assert wrong.returncode == 2
    assert f"is not of --app {second}" in wrong.stderr
    assert "Traceback" not in "".join(lab.outputs)


def test_drill_into_a_missing_folder_is_refused_before_anything_runs(
    tmp_path: Path, unique_name: Callable[..., str]
) -> None:
    lab, first, _ = _two_app_lab(tmp_path, unique_name)
    assert lab.lares("backup", "init").returncode == 0
    assert lab.lares("backup", "run").returncode == 0
    missing = tmp_path / "scratch" / "drill"
    refused = lab.lares("backup", "drill", "--workdir", str(missing))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith(
        f"--workdir: error [usage] the drill folder {missing} does not exist\n"
        f"  hint: create it (mkdir -m 0700 {missing}) or mount its disk"
    )
    assert not missing.exists()
    assert "internal error" not in refused.stderr
    assert not list((lab.state / "logs").glob("debug-*.log"))

    missing.mkdir(parents=True, mode=0o700)
    drilled = lab.lares("backup", "drill", "--workdir", str(missing), "--json")
    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    assert {a["app"] for a in json.loads(drilled.stdout)["apps"]} == {first, lab.app}
    assert list(missing.iterdir()) == []  # everything restored was removed
    assert stat.S_IMODE(os.stat(missing).st_mode) == 0o700
