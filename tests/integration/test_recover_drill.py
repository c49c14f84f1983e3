"""The full loss drill: deploy a small homelab (files, PostgreSQL, SQLite) on the test engine,
write known data, back up to a local repository and copy to an offsite one (the suite's S3
server), then lose the machine — state folder, data folders, local repository, containers,
networks — and get it all back with the recovery kit alone. The first recovery is killed
(SIGKILL) in its data phase; the second continues and completes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from integration.backup_helpers import grep_tree, make_tree, tree_listing
from integration.conftest import remove_docker_objects
from integration.lares_lab import lares_process
from integration.remote_helpers import S3Server, s3_server

DATA = Path(__file__).resolve().parents[1] / "data" / "recover"
STACKS = ("lr-data", "lr-apps")
NETWORKS = ("lr-database",)
CONTAINERS = ("lr-pg", "lr-files", "lr-lite")


class Lab:
    """The drill's blueprint copy, state folder, data root and everything lares printed."""

    def __init__(self, root: Path, s3: S3Server) -> None:
        self.root = root
        self.state = root / "state"
        self.dir = root / "bp"
        self.data = root / "data"
        shutil.copytree(DATA, self.dir)
        self.data.mkdir()
        self.s3 = s3
        self.env = {
            **os.environ,
            "LT_ROOT": str(self.data),
            "LT_S3": s3.endpoint,
            "COLUMNS": "200",
            "LARES_STATE_DIR": str(self.state),
        }
        self.outputs: list[str] = []

    @property
    def blueprint(self) -> Path:
        return self.dir / "lares.yaml"

    def lares(
        self,
        *args: str,
        blueprint: bool = True,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        file = ["-f", str(self.blueprint)] if blueprint else []
        return lares_process(
            *args,
            *file,
            env={**self.env, **(env or {})},
            input=input,
            timeout=timeout,
            outputs=self.outputs,
        )

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        proc = self.lares(*args, **kwargs)
        assert proc.returncode == 0, f"lares {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    @property
    def s3_env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.s3.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.s3.secret_access_key,
        }


def _psql(sql: str) -> str:
    proc = subprocess.run(
        [
            *("docker", "exec", "lr-pg", "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1"),
            *("-U", "app", "-d", "app", "-c", sql),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _secrets(state: Path) -> dict[str, str]:
    folder = state / "secrets"
    return {p.name: p.read_text() for p in sorted(folder.iterdir()) if p.is_file()}


def _health(name: str) -> str:
    proc = subprocess.run(
        [
            "docker",
            "inspect",
            "--format",
            "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
            name,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip()


def _wait_healthy(name: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _health(name) == "running healthy":
            return
        time.sleep(0.5)
    raise AssertionError(f"{name}: {_health(name)}")


def _remove_everything(client: docker.DockerClient) -> None:
    errors = remove_docker_objects(client, names={*NETWORKS, *CONTAINERS}, projects=set(STACKS))
    assert not errors, errors


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[S3Server]:
    with s3_server(tmp_path / "s3") as server:
        yield server


@pytest.fixture
def lab(
    tmp_path: Path, s3: S3Server, test_images: dict[str, str], docker_client: docker.DockerClient
) -> Iterator[Lab]:
    _remove_everything(docker_client)
    lab = Lab(tmp_path, s3)
    try:
        yield lab
    finally:
        _remove_everything(docker_client)
        subprocess.run(["chmod", "-R", "u+rwX", str(tmp_path)], check=False)


def _lose_the_machine(lab: Lab, client: docker.DockerClient) -> None:
    """Containers, volumes, networks, the state folder, the data and the local repository."""
    _remove_everything(client)
    for path in (lab.state, lab.data):
        shutil.rmtree(path)
    lab.data.mkdir()


def test_the_machine_is_lost_and_recovered_with_the_kit_alone(
    lab: Lab, docker_client: docker.DockerClient
) -> None:
    # ── the server as it was ──
    for name, value in (
        ("lr-s3-id", lab.s3.access_key_id),
        ("lr-s3-key", lab.s3.secret_access_key),
    ):
        lab.ok("secret", "set", name, input=value + "\n")
    lab.ok("up", "--yes", "--state-dir", str(lab.state))
    _wait_healthy("lr-pg")
    _psql(
        "CREATE TABLE items (id int PRIMARY KEY, name text);"
        "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');"
        "CREATE TABLE big AS SELECT g AS n, md5(g::text) AS h FROM generate_series(1, 20000) g;"
    )
    files = lab.data / "appdata" / "lr-files" / "data"
    make_tree(files, large_mib=4)
    dbfile = lab.data / "appdata" / "lr-lite" / "db" / "state.db"
    with sqlite3.connect(dbfile) as db:
        db.execute("PRAGMA user_version = 7")
        db.execute("CREATE TABLE orders (n INTEGER PRIMARY KEY, what TEXT)")
        db.executemany("INSERT INTO orders VALUES (?, ?)", [(i, f"o{i}") for i in range(500)])
    db.close()
    os.chown(dbfile, 1000, 1000)

    lab.ok("backup", "init", "--state-dir", str(lab.state))
    # the kit is made once the repositories exist; every run keeps its record too
    kit = lab.root / "kit" / "kit.txt"
    lab.ok(
        "recovery-kit",
        "--output",
        str(kit),
        "--html",
        str(kit.with_suffix(".html")),
        "--state-dir",
        str(lab.state),
    )

    run = lab.ok("backup", "run", "--json", "--state-dir", str(lab.state))
    report = json.loads(run.stdout)
    assert report["ok"], report
    assert sorted(s["repo"] for s in report["state"]) == ["local", "offsite"]
    before_files = tree_listing(files)
    before_secrets = _secrets(lab.state)
    before_rows = _psql("SELECT count(*) FROM big")
    before_items = _psql("SELECT string_agg(name, ',' ORDER BY id) FROM items")

    # the kit holds the repository passwords and nothing else secret
    kit_text = kit.read_text()
    for name, value in before_secrets.items():
        if name.startswith("restic_"):
            assert value.strip() in kit_text
        else:
            assert value.strip() not in kit_text, name

    # the machine runbook, rendered while the server still runs, is what is typed on the new one
    runbook = lab.ok("runbook", "machine", "--state-dir", str(lab.state)).stdout
    shutil.copy(kit, kit.parent / "lares-recovery-kit.txt")
    dry_run, full = _commands(runbook)
    assert dry_run[-1] == "--dry-run"

    # ── the machine is lost ──
    _lose_the_machine(lab, docker_client)
    assert not (lab.data / "restic").exists()

    assert _typed(lab, dry_run, kit.parent).returncode == 0
    assert not (lab.state / "secrets").exists()

    # a first recovery, killed in its data phase
    first = subprocess.Popen(
        _argv(full),
        cwd=kit.parent,
        env={**lab.env, **lab.s3_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    journal = lab.state / "recovery.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:
        if journal.exists() and '"path:' in journal.read_text():
            os.killpg(first.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    out, err = first.communicate(timeout=60)
    lab.outputs += [out.decode(), err.decode()]
    assert first.returncode == -signal.SIGKILL, (out, err)

    # the same command again continues where the first stopped
    started = time.monotonic()
    second = _typed(lab, full, kit.parent)
    seconds = time.monotonic() - started
    assert second.returncode == 0, f"{second.stdout}\n{second.stderr}"
    assert "from offsite" in second.stdout
    assert "state: state folder: done before" in second.stdout
    done = json.loads(journal.read_text())
    assert {"phase:state", "phase:data", "phase:up"} <= set(done["done"])
    drills = json.loads((lab.state / "backup" / "drills.json").read_text())["offsite"]
    assert sorted(drills) == ["lr-files", "lr-lite", "lr-pg"]
    assert all(d["ok"] for d in drills.values()), drills
    print(f"\nrecovery (after the interrupted one) took {seconds:.1f} s")

    # everything came back as it was
    assert tree_listing(files) == before_files
    assert _secrets(lab.state) == before_secrets
    _wait_healthy("lr-pg")
    assert _psql("SELECT count(*) FROM big") == before_rows == "20000"
    assert _psql("SELECT string_agg(name, ',' ORDER BY id) FROM items") == before_items
    with sqlite3.connect(dbfile) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (7,)
        assert db.execute("SELECT count(*) FROM orders").fetchone() == (500,)
    db.close()
    assert os.stat(dbfile).st_uid == 1000
    for name in ("lr-files", "lr-lite"):
        assert _health(name).startswith("running")
    assert (lab.state / "blueprint" / "catalog" / "lr-pg.yaml").is_file()

    # no secret in anything lares printed or wrote outside its secrets folder and the kit
    values = [v.strip() for v in before_secrets.values()]
    printed = "".join(lab.outputs)
    assert [v[:6] for v in values if v in printed] == []
    # (the kit holds the repository passwords; live/ the per-container copies Compose mounts)
    assert (
        grep_tree(
            lab.root,
            values,
            skip=(lab.state / "secrets", lab.state / "live", kit.parent, lab.root / "s3"),
        )
        == []
    )

    # ── the new server backs up again: the local repository is made anew ──
    recovered = lab.state / "blueprint" / "lares.yaml"
    for args in (("backup", "init"), ("backup", "run")):
        lab.ok(*args, "-f", str(recovered), "--state-dir", str(lab.state), blueprint=False)

    # ── then one app breaks: the app runbook's commands put each back ──
    app_runbook = lab.ok(
        "runbook", "app", "-f", str(recovered), "--state-dir", str(lab.state), blueprint=False
    ).stdout
    shutil.rmtree(files / "small")
    (files / "large" / "blob0.bin").write_bytes(b"damaged")
    _psql("DROP TABLE items; DELETE FROM big WHERE n > 10")
    with sqlite3.connect(dbfile) as db:
        db.execute("DELETE FROM orders")
    db.close()
    commands = _commands(app_runbook)
    assert [c[:4] for c in commands[1:]] == [
        ["lares", "recover", "--app", a] for a in ("lr-pg", "lr-files", "lr-lite")
    ]
    for command in commands:
        proc = _typed(lab, command, lab.root)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
    assert tree_listing(files) == before_files
    _wait_healthy("lr-pg")
    assert _psql("SELECT count(*) FROM big") == "20000"
    assert _psql("SELECT string_agg(name, ',' ORDER BY id) FROM items") == before_items
    with sqlite3.connect(dbfile) as db:
        assert db.execute("SELECT count(*) FROM orders").fetchone() == (500,)
    db.close()
    assert list(files.parent.glob("data.before-recover-*"))  # set aside, not deleted
    printed = "".join(lab.outputs)
    assert [v[:6] for v in values if v in printed] == []


def _commands(markdown: str) -> list[list[str]]:
    """Every command of the ``sh`` blocks of a runbook, split as a shell would."""
    return [
        shlex.split(line)
        for block in re.findall(r"```sh\n(.*?)```", markdown, re.S)
        for line in block.splitlines()
        if line.strip()
    ]


def _argv(command: list[str]) -> list[str]:
    assert command[0] == "lares"
    return [sys.executable, "-m", "lares", *command[1:]]


def _typed(lab: Lab, command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a runbook's command as typed, in ``cwd``, with the credentials in the shell."""
    proc = subprocess.run(
        _argv(command),
        cwd=cwd,
        env={**lab.env, **lab.s3_env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lab.outputs += [proc.stdout, proc.stderr]
    return proc
