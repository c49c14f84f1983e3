"""Remote repositories against real peers on 127.0.0.1: S3 (moto's server, checking every
request's signature) and SFTP (OpenSSH's sshd). The backend's credentials are lares secrets:
they reach restic only through its environment, and appear nowhere lares prints, logs or keeps.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.backup_helpers import (
    Lab,
    grep_tree,
    make_lab,
    make_tree,
    psql,
    set_secret,
    start_postgres,
    tree_listing,
)
from integration.remote_helpers import S3Server, SshServer, s3_server, sshd

DB_PASSWORD = "pg-Pass-3c5e7a9b1d2f"
WRONG_KEY = "wrong-Secret-Key-0a1b2c3d4e5f6a7b8c9d"
S3_SETTINGS = """\
      env: {AWS_DEFAULT_REGION: us-east-1}
      secret_env:
        AWS_ACCESS_KEY_ID: offsite-key-id
        AWS_SECRET_ACCESS_KEY: offsite-secret-key
      options: {s3.connections: "2"}
"""


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def ssh_server(tmp_path: Path) -> Iterator[SshServer]:
    with sshd(tmp_path / "sshd") as server:
        yield server


def _items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["item"]: i for i in report["items"]}


def _store(lab: Lab, name: str, value: str) -> None:
    """``lares secret set NAME`` with the value on stdin, as a script would."""
    proc = lab.lares("secret", "set", name, input=value + "\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"✓ stored {name}"


def _restored_equal(lab: Lab, target: Path, snapshot: str) -> None:
    restored = lab.lares("backup", "restore", snapshot, "--target", str(target))
    assert restored.returncode == 0, restored.stderr
    assert tree_listing(target / str(lab.data).lstrip("/"), skip=("cache",)) == tree_listing(
        lab.data, skip=("cache",)
    )


def _no_leak(lab: Lab, tmp_path: Path, values: list[str], *, skip: tuple[Path, ...] = ()) -> None:
    """None of ``values`` in what lares printed, logged or wrote outside its secrets folder."""
    assert (lab.state / "logs" / "lares.log").is_file()
    printed = "".join(lab.outputs)
    assert [v[:6] for v in values if v in printed] == []
    assert grep_tree(tmp_path, values, skip=(lab.state / "secrets", *skip)) == []


def test_s3_repository_with_credentials_from_secrets(
    docker_cleanup: Any,
    test_images: dict[str, str],
    tmp_path: Path,
    unique_name: Callable[..., str],
    s3: S3Server,
) -> None:
    app = unique_name()
    docker_cleanup.track(f"{app}-db")
    docker_cleanup.prefix(f"lares-drill-{app}")
    url = s3.url(f"{app}-bucket")
    lab = make_lab(
        tmp_path,
        app,
        appdata=tmp_path / "appdata",
        repo_name="offsite",
        repo_url=url,
        repo_settings=S3_SETTINGS,
    )
    set_secret(lab, f"{app}_db_password", DB_PASSWORD)
    start_postgres(lab, DB_PASSWORD)
    psql(
        lab,
        "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'a');",
    )
    make_tree(lab.data, large_mib=1)
    (lab.config / "app.conf").write_text("setting = 1\n")

    # the credentials are not set yet: lares says which ones and how, and runs nothing
    for args in (("backup", "init"), ("backup", "run"), ("backup", "list")):
        proc = lab.lares(*args)
        assert proc.returncode == 1, proc
        assert "Traceback" not in proc.stderr
        assert (
            "repository offsite needs the secrets offsite-key-id (AWS_ACCESS_KEY_ID), "
            "offsite-secret-key (AWS_SECRET_ACCESS_KEY), which are not set" in proc.stderr
        ), proc.stderr
        assert (
            "`lares secret set offsite-key-id`, `lares secret set offsite-secret-key`"
            in proc.stderr
        )
    assert not (lab.state / "secrets" / "restic_offsite").exists()
    assert lab.records("run.json") is None

    code, listed = lab.lares_json("secret", "list")
    assert code == 0
    rows = {r["secret"]: r for r in listed}
    assert rows["offsite-secret-key"] == {
        "secret": "offsite-secret-key",
        "app": "backup",
        "provided_by": "you",
        "set": False,
        "description": "AWS_SECRET_ACCESS_KEY of repository offsite",
    }
    assert rows["restic_offsite"]["provided_by"] == "lares"
    _store(lab, "offsite-key-id", s3.access_key_id)
    _store(lab, "offsite-secret-key", s3.secret_access_key)
    secret_file = lab.state / "secrets" / "offsite-secret-key"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    code, listed = lab.lares_json("secret", "list")
    assert {r["secret"]: r["set"] for r in listed if r["app"] == "backup"} == {
        "restic_offsite": False,
        "offsite-key-id": True,
        "offsite-secret-key": True,
    }

    # the dry run names the credentials by secret, and shows the options
    dry = lab.lares("backup", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "AWS_SECRET_ACCESS_KEY=<secret offsite-secret-key>" in dry.stdout
    assert "AWS_DEFAULT_REGION='us-east-1'" in dry.stdout
    assert "restic -o s3.connections=2 backup --json" in dry.stdout

    code, init = lab.lares_json("backup", "init")
    assert code == 0, init
    assert init["repositories"][0]["result"] == "created"

    code, report = lab.lares_json("backup", "run")
    assert code == 0, json.dumps(report, indent=1)
    items = _items(report)
    assert items["files"]["ok"] and items["db:db"]["ok"], report

    code, listing = lab.lares_json("backup", "list")
    assert code == 0, listing
    snaps = listing["repositories"][0]["snapshots"]
    assert sorted((s["kind"], s["good"]) for s in snaps) == [("database", True), ("files", True)]

    target = tmp_path / "restored"
    _restored_equal(lab, target, items["files"]["snapshot"])

    # the drill reads the files and streams the dump out of S3 into a fresh database
    code, drilled = lab.lares_json("backup", "drill")
    assert code == 0, drilled
    [result] = drilled["apps"]
    assert result["ok"] and result["files"]["ok"], result
    assert result["databases"][0]["sha256_ok"] is True

    for command in ("check", "forget", "unlock"):
        code, done = lab.lares_json("backup", command)
        assert code == 0, (command, done)

    # a wrong secret key: refused by the server, said so, the repository and secret named
    _store(lab, "offsite-secret-key", WRONG_KEY)
    listing_proc = lab.lares("backup", "list")
    assert listing_proc.returncode == 1
    assert "Traceback" not in listing_proc.stderr
    assert (
        f"✗ repository offsite ({url}) refused access while trying to list snapshots of "
        "offsite\n" in listing_proc.stderr
    ), listing_proc.stderr
    assert "offsite-secret-key (AWS_SECRET_ACCESS_KEY)" in listing_proc.stderr
    assert "lares secret set NAME" in listing_proc.stderr
    failed = lab.lares("-v", "backup", "run")
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert f"repository offsite ({url}) refused access" in failed.stderr
    assert lab.records("status.json")["offsite"][app]["state"] == "failed"

    # no credential anywhere lares printed (the -v log of every command included), logged
    # or recorded: outputs, lares.log, records, the restic cache
    assert "restic -o s3.connections=2 snapshots" in (lab.state / "logs" / "lares.log").read_text()
    values = [s3.secret_access_key, WRONG_KEY, s3.access_key_id, lab.password("offsite")]
    _no_leak(lab, tmp_path, [*values, DB_PASSWORD], skip=(target,))


def test_copy_from_a_local_repository_into_s3(
    tmp_path: Path, unique_name: Callable[..., str], s3: S3Server
) -> None:
    app = unique_name()
    url = s3.url(f"{app}-copy")
    extra = f"    offsite:\n      url: {url}\n      copy_from: local\n" + S3_SETTINGS
    lab = make_lab(tmp_path, app, appdata=tmp_path / "appdata", with_db=False, extra_repos=extra)
    (lab.data / "a.txt").write_text("first\n")
    _store(lab, "offsite-key-id", s3.access_key_id)
    _store(lab, "offsite-secret-key", s3.secret_access_key)

    code, init = lab.lares_json("backup", "init")
    assert code == 0, init
    assert [r["result"] for r in init["repositories"]] == ["created", "created (chunker of local)"]

    def chunker(repo: str, name: str, env: dict[str, str]) -> str:
        out = subprocess.run(
            ["restic", "cat", "config", "--no-lock"],
            env={
                "PATH": os.environ["PATH"],
                "RESTIC_REPOSITORY": repo,
                "RESTIC_PASSWORD_FILE": str(lab.state / "secrets" / f"restic_{name}"),
                **env,
            },
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return str(json.loads(out)["chunker_polynomial"])

    s3_env = {
        "AWS_ACCESS_KEY_ID": s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    assert chunker(url, "offsite", s3_env) == chunker(str(lab.repo), "local", {})

    code, report = lab.lares_json("backup", "run")
    assert code == 0, report
    copied = [i for i in report["items"] if i["repo"] == "offsite"]
    assert [(i["app"], i["item"], i["ok"]) for i in copied] == [(app, "files", True)]
    code, listing = lab.lares_json("backup", "list", "--repo", "offsite")
    assert code == 0, listing
    [snap] = listing["repositories"][0]["snapshots"]
    assert snap["good"]

    # a copy whose credentials are missing fails before restic runs, naming them
    (lab.state / "secrets" / "offsite-key-id").unlink()
    proc = lab.lares("backup", "run")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "repository offsite needs the secret offsite-key-id (AWS_ACCESS_KEY_ID)" in proc.stderr
    assert "`lares secret set offsite-key-id`" in proc.stderr
    _no_leak(lab, tmp_path, [s3.secret_access_key, s3.access_key_id, lab.password("offsite")])


def test_sftp_repository_through_sshd(
    tmp_path: Path, unique_name: Callable[..., str], ssh_server: SshServer
) -> None:
    app = unique_name()
    remote = tmp_path / "remote" / "restic"
    url = f"sftp:root@127.0.0.1:{remote}"
    settings = f"      options:\n        sftp.command: {json.dumps(ssh_server.sftp_command())}\n"
    lab = make_lab(
        tmp_path,
        app,
        appdata=tmp_path / "appdata",
        with_db=False,
        repo_name="offsite",
        repo_url=url,
        repo_settings=settings,
    )
    make_tree(lab.data, large_mib=1)

    code, init = lab.lares_json("backup", "init")
    assert code == 0, init
    assert init["repositories"][0]["result"] == "created"
    assert (remote / "config").is_file()  # written by sshd's sftp server
    code, report = lab.lares_json("backup", "run")
    assert code == 0, report
    files = _items(report)["files"]
    assert files["ok"], report
    code, listing = lab.lares_json("backup", "list")
    assert code == 0, listing
    assert [s["good"] for s in listing["repositories"][0]["snapshots"]] == [True]
    _restored_equal(lab, tmp_path / "restored", files["snapshot"])
    code, drilled = lab.lares_json("backup", "drill")
    assert code == 0, drilled
    assert drilled["apps"][0]["files"]["ok"]
    assert "Accepted publickey for root" in ssh_server.log.read_text()

    # a key the server does not accept: a refused login, named as such
    stranger = ssh_server.root / "stranger_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
        check=True,
        capture_output=True,
    )
    text = lab.blueprint.read_text()
    lab.blueprint.write_text(text.replace(str(ssh_server.key), str(stranger)))
    proc = lab.lares("backup", "list")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    # "refused access" when restic passes ssh's "Permission denied" on; restic 0.14 sometimes
    # exits first, and then only knows that the SFTP session did not start
    assert (
        f"✗ repository offsite ({url}) refused access while trying to list" in proc.stderr
        or f"✗ could not start an SFTP session with repository offsite ({url})" in proc.stderr
    ), proc.stderr
    assert (
        "check the SSH login restic uses (user, key, known host): "
        "backup.repositories.offsite.url or its sftp.command option" in proc.stderr
    )
