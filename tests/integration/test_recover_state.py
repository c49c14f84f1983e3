"""lares backs itself up: every backup run keeps lares's state as its own snapshot, found by its
tag alone, with the secrets only inside restic's encrypted stream; the kit is made from it."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from integration.backup_helpers import Lab, grep_tree, make_lab, set_secret
from integration.lares_lab import lares_process


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

    dry = lab.lares("backup", "run", "--dry-run")
    assert "usb · lares state (blueprint, secrets, revisions, records)" in dry.stdout
    assert "--tag lares-state --tag host:lt-host --tag kind:state --stdin" in dry.stdout
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
    argv = ("plan", "-f", str(lab.blueprint), "--check", "recovery_kit")
    proc = lares_process(*argv, env=lab.env(), timeout=60)
    return proc.stdout + proc.stderr


def _backed_up_lab(tmp_path: Path, app: str) -> tuple[Lab, Path]:
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata", with_db=False)
    (lab.data / "note.txt").write_text("hello\n")
    assert lab.lares("backup", "init").returncode == 0
    kit = tmp_path / "kit" / "kit.txt"
    assert lab.lares("recovery-kit", "--output", str(kit)).returncode == 0
    code, report = lab.lares_json("backup", "run")
    assert code == 0, report
    return lab, kit


def _recover(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return lares_process("recover", *args, env=lab.env(), timeout=240, outputs=lab.outputs)


def test_kits_that_cannot_recover_say_why_and_write_nothing(
    tmp_path: Path, unique_name: Callable[..., str]
) -> None:
    lab, kit = _backed_up_lab(tmp_path, unique_name())
    text = kit.read_text()
    password = lab.password("local")
    new_state = tmp_path / "new-state"

    wrong = tmp_path / "kit" / "wrong.txt"
    wrong.write_text(text.replace(password, "not-the-password"))
    proc = _recover(lab, "--kit", str(wrong), "--state-dir", str(new_state))
    assert proc.returncode == 1
    assert (
        "error [recover] no repository of the kit could give lares's state back; nothing "
        "was written" in proc.stderr
    )
    assert "local: the kit's password does not open it (wrong password)" in proc.stderr

    other = tmp_path / "kit" / "other.txt"
    other.write_text(text.replace('"host":"lt-host"', '"host":"another-host"'))
    proc = _recover(lab, "--kit", str(other), "--state-dir", str(new_state))
    assert proc.returncode == 1
    assert (
        "local: its state snapshots are of lt-host, not of another-host: this kit is for "
        "another server" in proc.stderr
    )

    empty = tmp_path / "empty-repo"
    env = {**lab.restic_env(), "RESTIC_REPOSITORY": str(empty)}
    subprocess.run(["restic", "init"], env=env, capture_output=True, check=True)
    bare = tmp_path / "kit" / "bare.txt"
    bare.write_text(text.replace(f'"url":"{lab.repo}"', f'"url":"{empty}"'))
    proc = _recover(lab, "--kit", str(bare), "--state-dir", str(new_state))
    assert proc.returncode == 1
    assert "local: it holds no snapshot of lares's state" in proc.stderr

    proc = _recover(lab, "--kit", str(tmp_path / "kit" / "missing.txt"))
    assert proc.returncode == 2
    assert "cannot read the kit" in proc.stderr
    for p in (proc for proc in lab.outputs):
        assert "Traceback" not in p
    assert not new_state.exists() or not any(
        (new_state / d).exists() for d in ("secrets", "applied", "backup", "blueprint")
    )

    # the dry run finds the snapshot and says what would happen, writing nothing
    proc = _recover(lab, "--kit", str(kit), "--state-dir", str(new_state), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "found lares's state of lt-host" in proc.stdout
    assert "would restore lares's state" in proc.stdout
    assert not (new_state / "secrets").exists()


def test_recover_refuses_a_state_folder_or_data_in_the_way(
    tmp_path: Path, unique_name: Callable[..., str]
) -> None:
    app = unique_name()
    lab, kit = _backed_up_lab(tmp_path, app)
    before = (lab.data / "note.txt").read_bytes()
    secrets = {p.name: p.read_bytes() for p in (lab.state / "secrets").iterdir()}

    # the old machine's state folder is still there: refused
    proc = _recover(lab, "--kit", str(kit), "--state-dir", str(lab.state), "--only", "state")
    assert proc.returncode == 1
    assert f"the state folder {lab.state} already holds secrets" in proc.stderr

    # a new state folder, but the data folder is not empty: the data phase refuses it
    new_state = tmp_path / "new-state"
    (lab.data / "note.txt").write_text("changed since\n")
    proc = _recover(lab, "--kit", str(kit), "--state-dir", str(new_state), "--only", "data")
    assert proc.returncode == 1
    assert f"these data folders are not empty: {lab.data}" in proc.stderr
    assert (lab.data / "note.txt").read_text() == "changed since\n"
    # ... but the state phase was done, and is not done again
    assert {p.name: p.read_bytes() for p in (new_state / "secrets").iterdir()} == secrets

    # --force moves it aside, never deletes it
    proc = _recover(
        lab,
        "--kit",
        str(kit),
        "--state-dir",
        str(new_state),
        "--only",
        "data",
        "--force",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["phases_done"] == ["state", "data"]
    assert [s["skipped"] for s in result["steps"] if s["phase"] == "state"] == ["done before"]
    files = next(s for s in result["steps"] if s["what"] == "files")
    assert files["app"] == app and files["bytes"] == len(before)
    assert (lab.data / "note.txt").read_bytes() == before
    (aside,) = lab.data.parent.glob("data.before-recover-*")
    assert (aside / "note.txt").read_text() == "changed since\n"
    assert lab.password("local") not in proc.stdout
