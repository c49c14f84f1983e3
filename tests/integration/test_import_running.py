"""The takeover: a homelab started by hand with docker compose, imported from the engine and
brought up by lares — the data is still there, the password still works, and the containers
are hardened."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from integration.conftest import DockerCleanup
from integration.lares_lab import LARES
from lares.audit.targets import compose_argv

PASSWORD = "Hand-Made-Pw-" + uuid.uuid4().hex[:8]


def _compose(token: str) -> str:
    return f"""\
services:
  {token}-web:
    image: lares-test/busybox:1
    command: [httpd, -f, -p, "8080", -h, /www]
    environment:
      DB_HOST: {token}-db
      DB_PASSWORD: {PASSWORD}
    volumes: ["./www:/www:ro"]
    depends_on: [{token}-db]
  {token}-db:
    image: lares-test/postgres:15
    environment:
      POSTGRES_USER: app
      POSTGRES_DB: app
      POSTGRES_PASSWORD: {PASSWORD}
    volumes: ["./pgdata:/var/lib/postgresql/data"]
    healthcheck:
      test: [CMD, psql, -U, app, -d, app, -c, "select 1"]
      interval: 2s
      retries: 30
"""


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, **kw)  # type: ignore[call-overload, no-any-return]


def _psql(container: str, sql: str, *, password: str | None = None) -> str:
    """Run ``sql`` in the database container; with ``password``, over TCP, where it is checked."""
    argv = ["docker", "exec"]
    over_tcp: list[str] = []
    if password is not None:
        argv += ["-e", f"PGPASSWORD={password}"]
        over_tcp = ["-h", "127.0.0.1"]
    argv += [container, "psql", *over_tcp, "-U", "app", "-d", "app", "-At", "-c", sql]
    for _ in range(60):
        proc = _run(argv)
        if proc.returncode == 0:
            return proc.stdout.strip()
        time.sleep(1)
    raise AssertionError(proc.stderr)


def _inspect(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads(_run(["docker", "inspect", name]).stdout)[0]  # type: ignore[no-any-return]


@pytest.mark.usefixtures("test_images")
def test_a_running_project_is_imported_and_taken_over_by_lares_up(
    tmp_path: Path, docker_cleanup: DockerCleanup
) -> None:
    token = f"lt-{uuid.uuid4().hex[:6]}"
    docker_cleanup.prefix(token)
    docker_cleanup.project(token)
    folder = tmp_path / "homelab"
    (folder / "www").mkdir(parents=True)
    (folder / "www" / "index.html").write_text("hello\n")
    (folder / "compose.yaml").write_text(_compose(token))
    try:
        up = _run([*compose_argv(), "-p", token, "up", "-d", "--wait"], cwd=folder)
        assert up.returncode == 0, up.stderr
        made = "create table kept (x text); insert into kept values ('by hand')"
        _psql(f"{token}-{token}-db-1", made)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
        state, out = tmp_path / "state", tmp_path / "out"
        imported = _run([*LARES, "import", "--running", "-p", token, "-o", str(out),
                         "--state-dir", str(state), "--json"], env=env)  # fmt: skip
        assert imported.returncode == 0, imported.stdout + imported.stderr
        report = json.loads(imported.stdout)
        assert PASSWORD not in imported.stdout
        assert [a["kind"] for a in report["apps"]] == ["custom"]
        assert report["apps"][0]["secrets"] == ["db_password"]  # one password, one secret
        applied = _run([*LARES, "up", "--yes", "-f", str(out / "lares.yaml"),
                        "--state-dir", str(state)], env=env)  # fmt: skip
        assert applied.returncode == 0, applied.stdout + applied.stderr
        db = f"{token}-web-{token}-db"
        assert _psql(db, "select x from kept") == "by hand"
        assert _psql(db, "select x from kept", password=PASSWORD) == "by hand"
        wrong = _run(["docker", "exec", "-e", "PGPASSWORD=not-it", db, "psql", "-h", "127.0.0.1",
                      "-U", "app", "-d", "app", "-c", "select 1"])  # fmt: skip
        assert wrong.returncode != 0, "the password is not checked over TCP"
        for name in (f"{token}-web", db):
            cfg = _inspect(name)["HostConfig"]
            assert cfg["CapDrop"] == ["ALL"], name
            assert "no-new-privileges:true" in cfg["SecurityOpt"], name
            assert cfg["Memory"] > 0 and cfg["PidsLimit"] > 0, name
        gone = _run(["docker", "ps", "-aq", "--filter", f"name=^{token}-{token}-db-1$"])
        assert gone.stdout.strip() == "", "the hand-made database still runs beside lares's"
    finally:
        _run([*compose_argv(), "-p", token, "down"], cwd=folder)
        _run(["chmod", "-R", "u+rwX", str(tmp_path)])
