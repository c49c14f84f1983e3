"""Shared pieces of the backup integration tests: a test app and blueprint, lares as a user runs
it, a PostgreSQL or MariaDB container of the app, an HTTP receiver for Apprise, and a data tree to
back up.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from integration.lares_lab import lares_env, run_lares

PG_IMAGE = "lares-test/postgres:15"
MARIADB_IMAGE = "lares-test/mariadb:10.11"
BUSYBOX_IMAGE = "lares-test/busybox:1"
DB_USER = "app"
DB_NAME = "appdb"

APP_YAML = """\
id: {app}
name: Backup test app
description: files and a {db_label} database to back up
category: tools
secrets:
  db_password: {{length: 24}}
{db_secrets}containers:
  {app}:
    image: lares-test/busybox
    version: "1"
    command: [sleep, "3600"]
    volumes: ["{{appdata}}/data:/data", "{{appdata}}/config:/config"]
    memory: {{reservation: 16MiB, limit: 64MiB}}
    exceptions:
      no_healthcheck: a test container that only sleeps
{db_service}backup:
{databases}  paths: ["{{appdata}}/data", "{{appdata}}/config"]
  exclude: ["{{appdata}}/data/cache"]
"""

# The app's database container for each engine: (label, extra secrets, container), formatted
# with the same fields as APP_YAML.
DB_SERVICES = {
    "postgres": (
        "PostgreSQL",
        "",
        """\
  db:
    image: lares-test/postgres
    version: "15"
    role: database
    networks: [stack]
    environment:
      POSTGRES_USER: {user}
      POSTGRES_DB: {db}
      POSTGRES_PASSWORD_FILE: "{{secret_file:db_password}}"
    memory: {{reservation: 64MiB, limit: 512MiB}}
    exceptions:
      root: the entrypoint prepares the data folder as root, then runs as postgres
      no_healthcheck: the test starts it by hand and waits for it
""",
    ),
    "mariadb": (
        "MariaDB",
        "  db_root_password: {{length: 24}}\n",
        """\
  db:
    image: lares-test/mariadb
    version: "10.11"
    role: database
    networks: [stack]
    environment:
      MARIADB_USER: {user}
      MARIADB_DATABASE: {db}
      MARIADB_PASSWORD_FILE: "{{secret_file:db_password}}"
      MARIADB_ROOT_PASSWORD_FILE: "{{secret_file:db_root_password}}"
    memory: {{reservation: 128MiB, limit: 512MiB}}
    exceptions:
      root: the entrypoint prepares the data folder as root, then runs as mysql
      no_healthcheck: the test starts it by hand and waits for it
""",
    ),
}

BLUEPRINT_YAML = """\
version: 1
host:
  name: {host}
  cpu: {{cores: 2, threads: 2}}
  memory: 4GiB
  timezone: Etc/UTC
paths:
  appdata: {appdata}
  pool: {pool}
network:
  lan: 192.168.77.0/24
  host_address: 192.168.77.2
stacks:
  main:
    apps: [{app}]
catalog: [catalog]
backup:
  snapshots: before-backup
  snapshot_retention: {retention}
  repositories:
    {repo_name}:
      url: {repo}
      schedule: "*-*-* 03:00:00"
{repo_settings}{extra_repos}  retention: {{keep_daily: 7, keep_weekly: 4, keep_monthly: 6}}
monitor:
  notify:
{notify}"""


class Receiver:
    """A local HTTP server that keeps every request body (Apprise ``json://`` posts here)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    received.append(json.loads(raw))
                except ValueError:
                    received.append({"raw": raw.decode(errors="replace")})
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Lab:
    """One test setup: a blueprint file, a state folder, a repository, the app's data folder."""

    root: Path
    app: str
    appdata: Path  # the blueprint's paths.appdata
    repo: Path
    state: Path
    blueprint: Path
    db_container: str
    outputs: list[str] = field(default_factory=list)  # everything lares printed

    @property
    def data(self) -> Path:
        return self.appdata / self.app / "data"

    @property
    def config(self) -> Path:
        return self.appdata / self.app / "config"

    def lares(
        self, *args: str, timeout: float = 240, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``lares <args> -f blueprint --state-dir state`` as a person would type it (``input``
        on its stdin)."""
        return run_lares(
            self.blueprint, self.state, *args, outputs=self.outputs, input=input, timeout=timeout
        )

    def env(self) -> dict[str, str]:
        return lares_env(self.state)

    def lares_json(self, *args: str, timeout: float = 240) -> tuple[int, dict[str, Any]]:
        proc = self.lares(*args, "--json", timeout=timeout)
        try:
            return proc.returncode, json.loads(proc.stdout)
        except ValueError as exc:
            raise AssertionError(f"not JSON:\n{proc.stdout}\n{proc.stderr}") from exc

    def password(self, repo: str = "local") -> str:
        return (self.state / "secrets" / f"restic_{repo}").read_text().strip()

    def restic_env(self, repo: str = "local") -> dict[str, str]:
        return {
            **os.environ,
            "RESTIC_REPOSITORY": str(self.repo) if repo == "local" else repo,
            "RESTIC_PASSWORD_FILE": str(self.state / "secrets" / f"restic_{repo}"),
        }

    def restic(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["restic", *args],
            env=self.restic_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"restic {' '.join(args)}: {proc.stderr}")
        return proc

    def snapshots(self, *tags: str, state: bool = False) -> list[dict[str, Any]]:
        """The repository's snapshots with ``tags``; lares's own state snapshots (which every
        run adds, see lares.recover.snapshot) only with ``state``."""
        args = ["snapshots", "--json", "--no-lock"]
        if tags:
            args += ["--tag", ",".join(tags)]
        found = json.loads(self.restic(*args).stdout or "[]") or []
        return [s for s in found if state or "lares-state" not in (s.get("tags") or ())]

    def records(self, name: str) -> Any:
        path = self.state / "backup" / name
        return json.loads(path.read_text()) if path.exists() else None


def make_lab(
    root: Path,
    app: str,
    *,
    appdata: Path,
    repo: Path | None = None,
    notify_url: str | None = None,
    notify_secret: str | None = None,
    retention: int = 1,
    extra_repos: str = "",
    with_db: bool = True,
    repo_url: str | None = None,
    repo_name: str = "local",
    repo_settings: str = "",
    engine: str = "postgres",
) -> Lab:
    """Write the catalog folder and blueprint under ``root`` for ``app``, whose database
    container runs ``engine`` (postgres or mariadb) and is backed up unless ``with_db`` is
    false.

    The first repository is ``repo_name`` at ``repo_url`` (a restic URL) or the folder ``repo``,
    with ``repo_settings`` (its further keys, indented by six spaces); ``extra_repos`` follow.
    """
    catalog = root / "catalog"
    catalog.mkdir(parents=True, exist_ok=True)
    databases = (
        f"  databases:\n    - {{container: db, engine: {engine}, user: {DB_USER}, "
        f"database: {DB_NAME}, password_secret: db_password}}\n"
        if with_db
        else ""
    )
    label, secrets, service = DB_SERVICES[engine]
    fields = {"app": app, "user": DB_USER, "db": DB_NAME}
    (catalog / f"{app}.yaml").write_text(
        APP_YAML.format(
            **fields,
            db_label=label,
            db_secrets=secrets.format(**fields),
            db_service=service.format(**fields),
            databases=databases,
        )
    )
    repo = repo or root / "repo"
    if notify_secret:
        notify = f"    - secret: {notify_secret}\n"
    else:
        notify = f"    - url: {notify_url or 'json://127.0.0.1:9/'}\n"
    blueprint = root / "lares.yaml"
    blueprint.write_text(
        BLUEPRINT_YAML.format(
            host="lt-host",
            appdata=appdata,
            pool=appdata.parent,
            app=app,
            retention=retention,
            repo=repo_url or repo,
            repo_name=repo_name,
            repo_settings=repo_settings,
            extra_repos=extra_repos,
            notify=notify,
        )
    )
    for sub in ("data", "config"):
        (appdata / app / sub).mkdir(parents=True, exist_ok=True)
    return Lab(root, app, appdata, repo, root / "state", blueprint, f"{app}-db")


# ── the app's database ────────────────────────────────────────────────────────────────────


def set_secret(lab: Lab, name: str, value: str) -> None:
    folder = lab.state / "secrets"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / name
    path.write_text(value)
    path.chmod(0o600)


def wait_ready(container: str, probe: list[str], seconds: float = 120) -> None:
    """Wait until ``probe`` succeeds inside ``container``; fail with the container's logs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready = subprocess.run(
            ["docker", "exec", container, *probe], capture_output=True, check=False, timeout=30
        )
        if ready.returncode == 0:
            return
        time.sleep(0.3)
    logs = subprocess.run(
        ["docker", "logs", container], capture_output=True, text=True, check=False, timeout=30
    )
    raise AssertionError(f"{container} did not start:\n{logs.stdout}{logs.stderr}")


def assert_no_drill_containers(app: str) -> None:
    """The drill removed the throwaway database containers it started for ``app``."""
    leftover = subprocess.run(
        ["docker", "ps", "-a", "-q", "--filter", f"name=lares-drill-{app}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert leftover.stdout.strip() == ""


def start_postgres(lab: Lab, password: str) -> None:
    """Run the app's database container (named as Compose would) and wait until it answers."""
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            lab.db_container,
            "--network",
            "none",
            "-e",
            f"POSTGRES_USER={DB_USER}",
            "-e",
            f"POSTGRES_DB={DB_NAME}",
            "-e",
            "POSTGRES_PASSWORD",
            PG_IMAGE,
        ],
        env={**os.environ, "POSTGRES_PASSWORD": password},
        check=True,
        capture_output=True,
        timeout=120,
    )
    wait_ready(lab.db_container, ["pg_isready", "-h", "127.0.0.1", "-U", DB_USER])


def psql(lab: Lab, sql: str) -> str:
    proc = subprocess.run(
        [
            "docker",
            "exec",
            lab.db_container,
            "psql",
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            DB_USER,
            "-d",
            DB_NAME,
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc.stdout


def start_mariadb(lab: Lab, name: str | None = None, *, env: dict[str, str] | None = None) -> None:
    """Run a MariaDB container and wait until its real server answers on TCP (the init-time
    one listens on its socket only).

    Without ``name`` it is the app's database container (named as Compose would), its
    passwords the files of the app's lares secrets mounted where ``{secret_file:…}`` puts them.
    ``env`` is passed through the environment, never in argv.
    """
    from lares.catalog.resolve import SECRET_MOUNT, secret_id

    argv = ["docker", "run", "-d", "--name", name or lab.db_container, "--network", "none"]
    if name is None:
        for var, secret in (
            ("MARIADB_PASSWORD_FILE", "db_password"),
            ("MARIADB_ROOT_PASSWORD_FILE", "db_root_password"),
        ):
            sid = secret_id(lab.app, secret)
            argv += ["-v", f"{lab.state / 'secrets' / sid}:{SECRET_MOUNT}/{sid}:ro"]
            argv += ["-e", f"{var}={SECRET_MOUNT}/{sid}"]
        argv += ["-e", f"MARIADB_USER={DB_USER}", "-e", f"MARIADB_DATABASE={DB_NAME}"]
    for var in env or {}:
        argv += ["-e", var]
    subprocess.run(
        [*argv, MARIADB_IMAGE],
        env={**os.environ, **(env or {})},
        check=True,
        capture_output=True,
        timeout=120,
    )
    # ping exits 0 once the server answers at all, even when it refuses the login
    ping = ["mariadb-admin", "--host=127.0.0.1", "--protocol=tcp", "--user=nobody", "ping"]
    wait_ready(name or lab.db_container, ping)


def mariadb_sql(
    lab: Lab,
    sql: str,
    *,
    container: str | None = None,
    user: str = DB_USER,
    password: str = "",
    database: str | None = DB_NAME,
    stdin: bytes | None = None,
) -> str:
    """Run ``sql`` (or the script on ``stdin``) with the ``mariadb`` client in the container;
    return its rows, tab-separated and unescaped (select JSON for values with tabs or newlines).
    The password goes in the environment, never in argv."""
    argv = ["docker", "exec", "-i", "-e", "MYSQL_PWD", container or lab.db_container, "mariadb"]
    argv += [f"--user={user}", "--batch", "--raw", "--skip-column-names"]
    if database:
        argv.append(f"--database={database}")
    if stdin is None:
        argv += ["--execute", sql]
    proc = subprocess.run(
        argv,
        input=stdin if stdin is not None else b"",
        env={**os.environ, "MYSQL_PWD": password},
        capture_output=True,
        check=False,
        timeout=300,
    )
    if proc.returncode != 0:
        raise AssertionError(proc.stderr.decode(errors="replace"))
    return proc.stdout.decode()


def start_fake_dump_container(lab: Lab, script: str) -> None:
    """A busybox container named like the app's database whose ``pg_dumpall`` is ``script``."""
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            lab.db_container,
            "--network",
            "none",
            BUSYBOX_IMAGE,
            "sleep",
            "3600",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(
        [
            "docker",
            "exec",
            "-i",
            lab.db_container,
            "sh",
            "-c",
            "mkdir -p /usr/local/bin && cat > /usr/local/bin/pg_dumpall && "
            "chmod 755 /usr/local/bin/pg_dumpall",
        ],
        input=script,
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )


# ── data ──────────────────────────────────────────────────────────────────────────────────

ODD_NAMES = [
    "plain.txt",
    "with space.txt",
    "new\nline.txt",
    "ünïcødé-日本語.txt",
    "-leading-dash",
    "back\\slash",
    "tab\tname",
    ".hidden",
    "quote'\"mix",
]


def make_tree(base: Path, *, seed: int = 7, large_mib: int = 6) -> None:
    """Small files, large files, hard links, symlinks, odd names, modes and empty folders."""
    rng = random.Random(seed)
    (base / "small").mkdir(parents=True, exist_ok=True)
    for i in range(120):
        (base / "small" / f"f{i:03}.txt").write_bytes(rng.randbytes(rng.randint(0, 4096)))
    (base / "large").mkdir(exist_ok=True)
    for i in range(2):
        (base / "large" / f"blob{i}.bin").write_bytes(rng.randbytes(large_mib * 1024 * 1024))
    odd = base / "odd"
    odd.mkdir(exist_ok=True)
    for name in ODD_NAMES:
        (odd / name).write_text(f"content of {name!r}\n")
    os.link(base / "small" / "f001.txt", base / "hardlink-to-f001")
    os.link(base / "large" / "blob0.bin", base / "large" / "blob0-link.bin")
    os.symlink("small/f002.txt", base / "rel-link")
    os.symlink("/etc/hostname", base / "abs-link")
    os.symlink("does/not/exist", base / "dangling-link")
    os.symlink("../small", base / "odd" / "dir-link")
    (base / "empty" / "nested" / "deeper").mkdir(parents=True, exist_ok=True)
    (base / "empty-top").mkdir(exist_ok=True)
    secret = base / "private.key"
    secret.write_text("not really a key\n")
    secret.chmod(0o600)
    script = base / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    (base / "group-dir").mkdir(exist_ok=True)
    (base / "group-dir").chmod(0o2770)
    (base / "cache").mkdir(exist_ok=True)
    (base / "cache" / "skip-me.tmp").write_text("excluded from backups\n")


def tree_listing(base: Path, *, skip: tuple[str, ...] = ()) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``base``: type, mode, symlink target or content bytes."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(base):
        rel_dir = os.path.relpath(dirpath, base)
        dirnames[:] = [
            d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d)) not in skip
        ]
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel in skip:
                continue
            st = os.lstat(path)
            mode = st.st_mode & 0o7777
            if path.is_symlink():
                out[rel] = ("symlink", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", mode)
            else:
                out[rel] = ("file", mode, path.read_bytes())
    return out


@contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def grep_tree(root: Path, values: list[str], *, skip: tuple[Path, ...] = ()) -> list[str]:
    """Files under ``root`` (not under ``skip``) that contain one of ``values``."""
    hits: list[str] = []
    encoded = [v.encode() for v in values if v]
    for dirpath, _, filenames in os.walk(root):
        if any(Path(dirpath).is_relative_to(s) for s in skip):
            continue
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            hits += [f"{path}: {v.decode()[:6]}…" for v in encoded if v in data]
    return hits


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
