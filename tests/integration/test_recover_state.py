"""lares backs itself up: every backup run keeps lares's state as its own snapshot, found by its
tag alone, with the secrets only inside restic's encrypted stream; the kit is made from it."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from integration.backup_helpers import LARES, Lab, grep_tree, make_lab, set_secret


def test_backup_run_keeps_lares_state_in_every_repository(
    tmp_path: Path, unique_name: Callable[..., str]
) -> None:
    app = unique_name()
    second = tmp_path / "repo2"
    lab = make_lab(
        tmp_path,
        app,
        appdata=tmp_path / "appdata",
        with_db=False,
        extra_repos=f"    usb:\n      url: {second}\n      copy_from: local\n"
        '      schedule: "*-*-* 04:00:00"\n',
    )
    (lab.data / "note.txt").write_text("hello\n")
    set_secret(lab, f"{app}_db_password", "app-Secret-5c7e9a1b3d")
    assert lab.lares("backup", "init").returncode == 0

    code, report = lab.lares_json("backup", "run")
    assert code == 0, report
    states = report["state"]
    assert sorted(i["repo"] for i in states) == ["local", "usb"]
    assert all(i["ok"] and i["snapshot"] for i in states)

    # found by the tag alone, in each repository
    for repo, path in (("local", lab.repo), ("usb", second)):
        env = {**lab.restic_env(repo), "RESTIC_REPOSITORY": str(path)}
        listing = subprocess.run(
            ["restic", "snapshots", "--json", "--no-lock", "--tag", "lares-state"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        (snap,) = json.loads(listing.stdout)
        assert set(snap["tags"]) >= {"lares", "lares-state", "host:lt-host"}
        raw = subprocess.run(
            ["restic", "dump", "--no-lock", snap["id"], "/lares-state.tar"],
            env=env,
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            names = tar.getnames()
            secret = tar.getmember(f"lares-state/state/secrets/{app}_db_password")
            assert secret.mode & 0o777 == 0o600
            fh = tar.extractfile(secret)
            assert fh is not None and fh.read() == b"app-Secret-5c7e9a1b3d"
            fh = tar.extractfile("lares-state/blueprint/lares.yaml")
            assert fh is not None and fh.read() == lab.blueprint.read_bytes()
        assert f"lares-state/blueprint/catalog/{app}.yaml" in names
        assert "lares-state/state/secrets/restic_usb" in names
        assert "lares-state/state/backup/status.json" in names
        assert not [n for n in names if "/cache/" in n or n.endswith("/lock")]

    # the secrets are nowhere in plain text but their own files
    secrets = [
        "app-Secret-5c7e9a1b3d",
        lab.password("local"),
        lab.password("usb"),
    ]
    assert grep_tree(tmp_path, secrets, skip=(lab.state / "secrets",)) == []
    assert "app-Secret" not in "".join(lab.outputs)

    record = json.loads((lab.state / "backup" / "state.json").read_text())
    assert record["usb"]["state"] == "ok"
    assert record["usb"]["snapshot"] == next(i for i in states if i["repo"] == "usb")["snapshot"]

    # the monitor sees the offsite copy's state snapshot as new as its apps
    from lares.blueprint.load import load_file
    from lares.monitor.collectors import lares_state
    from lares.monitor.config import build
    from lares.plan import make_context

    config = build(make_context(load_file(lab.blueprint)).system)
    samples = lares_state.samples(
        config, record, json.loads((lab.state / "backup" / "status.json").read_text())
    )
    behind = {s.subject: s.value for s in samples if s.metric == "state_behind_seconds"}
    assert behind == {"usb": 0.0}

    # the kit: its passwords open the repositories, plan is content, --json shows none
    kit = tmp_path / "kit.txt"
    assert "[recovery_kit] no recovery kit has been made" in _plan(lab)
    made = lab.lares("recovery-kit", "--output", str(kit), "--json")
    assert made.returncode == 0, made.stderr
    assert lab.password("local") not in made.stdout
    assert oct(kit.stat().st_mode & 0o777) == "0o600"
    assert lab.password("usb") in kit.read_text()
    assert "app-Secret-5c7e9a1b3d" not in kit.read_text()
    assert "[recovery_kit]" not in _plan(lab)


def _plan(lab: Lab) -> str:
    proc = subprocess.run(
        [LARES, "plan", "-f", str(lab.blueprint), "--check", "recovery_kit"],
        capture_output=True,
        text=True,
        env=lab.env(),
        check=False,
        timeout=60,
    )
    return proc.stdout + proc.stderr
