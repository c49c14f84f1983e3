"""The integration test environment itself works: images, engine, compose, btrfs on loops.

If one of these fails, the other integration tests' failures say little: fix this first.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import docker

    from .conftest import DockerCleanup, LoopBtrfs


def _logs(container: Any) -> str:
    try:
        return str(container.logs().decode("utf-8", "replace"))
    except Exception as exc:  # gone already
        return f"<no logs: {exc}>"


def _wait_healthy(container: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "exited":
            raise AssertionError(f"{container.name} exited:\n{_logs(container)}")
        health = container.attrs["State"].get("Health", {}).get("Status")
        if health == "healthy":
            return
        time.sleep(0.25)
    raise AssertionError(f"{container.name} not healthy after {timeout}s:\n{_logs(container)}")


def test_busybox_runs_as_app_user(
    docker_client: docker.DockerClient,
    test_images: dict[str, str],
    unique_name: Callable[..., str],
    docker_cleanup: DockerCleanup,
) -> None:
    name = docker_cleanup.track(unique_name("id"))
    out = docker_client.containers.run(
        test_images["busybox"],
        ["sh", "-c", "id -u; id -un; id -gn; ls -ld /tmp; id -u nobody"],
        user="app",
        name=name,
    )
    uid, user, group, tmp, nobody = out.decode().splitlines()
    assert (uid, user, group) == ("1000", "app", "app")
    assert tmp.startswith("drwxrwxrwt")
    assert nobody == "65534"


def test_busybox_httpd_serves_file_across_a_user_network(
    docker_client: docker.DockerClient,
    test_images: dict[str, str],
    unique_name: Callable[..., str],
    docker_cleanup: DockerCleanup,
) -> None:
    net = docker_cleanup.track(unique_name("net"))
    server = docker_cleanup.track(unique_name("web"))
    client = docker_cleanup.track(unique_name("get"))
    token = uuid.uuid4().hex
    docker_client.networks.create(net, driver="bridge")
    docker_client.containers.run(
        test_images["busybox"],
        [
            "sh",
            "-c",
            f"mkdir -p /tmp/www && echo {token} > /tmp/www/index.html"
            " && exec httpd -f -p 8080 -h /tmp/www",
        ],
        user="1000:1000",
        name=server,
        network=net,
        detach=True,
    )
    out = docker_client.containers.run(
        test_images["busybox"],
        [
            "sh",
            "-c",
            f"for i in $(seq 100); do wget -q -O - http://{server}:8080/index.html"
            " && exit 0; sleep 0.1; done; exit 1",
        ],
        name=client,
        network=net,
    )
    assert out.decode().strip() == token


def test_postgres_with_password_file(
    docker_client: docker.DockerClient,
    test_images: dict[str, str],
    unique_name: Callable[..., str],
    docker_cleanup: DockerCleanup,
    tmp_path: Path,
) -> None:
    password = uuid.uuid4().hex
    secret = tmp_path / "db_password"
    secret.write_text(password + "\n")
    secret.chmod(0o644)
    net = docker_cleanup.track(unique_name("net"))
    db = docker_cleanup.track(unique_name("db"))
    docker_client.networks.create(net, driver="bridge")
    container = docker_client.containers.run(
        test_images["postgres"],
        name=db,
        network=net,
        detach=True,
        environment={
            "POSTGRES_USER": "lares",
            "POSTGRES_DB": "appdb",
            "POSTGRES_PASSWORD_FILE": "/run/secrets/db_password",
        },
        volumes={str(secret): {"bind": "/run/secrets/db_password", "mode": "ro"}},
        healthcheck={
            "test": ["CMD", "pg_isready", "-U", "lares", "-d", "appdb", "-h", "127.0.0.1"],
            "interval": 500_000_000,
            "timeout": 5_000_000_000,
            "retries": 60,
        },
    )
    _wait_healthy(container)

    sql = (
        "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);"
        "INSERT INTO notes (body) VALUES ('first'), ('second');"
        "SELECT string_agg(body, ',' ORDER BY id) FROM notes;"
    )
    # Over TCP from another container, with the password from the file: scram host auth and
    # listen_addresses='*' both work.
    psql = ["-h", db, "-U", "lares", "-d", "appdb", "-v", "ON_ERROR_STOP=1", "-tA", "-c"]
    out = docker_client.containers.run(
        test_images["postgres"],
        [*psql, sql],
        entrypoint=["psql"],
        environment={"PGPASSWORD": password},
        network=net,
        name=docker_cleanup.track(unique_name("psql")),
    )
    assert out.decode().splitlines()[-1] == "first,second"

    # Inside the server container too, and the wrong password is refused.
    res = container.exec_run(["psql", *psql[2:], "SELECT count(*) FROM notes"], user="postgres")
    assert (res.exit_code, res.output.decode().strip()) == (0, "2")
    res = container.exec_run(
        ["psql", "-h", "127.0.0.1", *psql[2:], "SELECT 1"],
        environment={"PGPASSWORD": "wrong"},
    )
    assert res.exit_code != 0
    assert b"password authentication failed" in res.output


def test_docker_compose_is_v2_and_brings_a_stack_up(
    tmp_path: Path,
    test_images: dict[str, str],
    unique_name: Callable[..., str],
    docker_cleanup: DockerCleanup,
    docker_client: docker.DockerClient,
) -> None:
    version = subprocess.run(
        ["docker", "compose", "version", "--short"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    assert version.lstrip("v").startswith("2."), version

    project = docker_cleanup.project(unique_name("stack"))
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(
        f"""\
services:
  web:
    image: {test_images["busybox"]}
    command: ["sh", "-c", "echo ok > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"]
    user: "1000:1000"
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html"]
      interval: 1s
      timeout: 2s
      retries: 30
"""
    )
    subprocess.run(
        ["docker", "compose", "-p", project, "-f", str(compose_file), "up", "-d", "--wait"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    containers = docker_client.containers.list(
        filters={"label": f"com.docker.compose.project={project}"}
    )
    assert [c.labels["com.docker.compose.service"] for c in containers] == ["web"]
    assert containers[0].attrs["State"]["Health"]["Status"] == "healthy"


def test_loop_btrfs_raid1(loop_btrfs: LoopBtrfs) -> None:
    fs = loop_btrfs(2, profile="raid1")
    assert fs.mountpoint is not None
    assert len(fs.devices) == 2
    assert all(d.startswith("/dev/loop") for d in fs.devices)
    df = subprocess.run(
        ["btrfs", "filesystem", "df", str(fs.mountpoint)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert "Data, RAID1" in df, df
    assert "Metadata, RAID1" in df, df
    show = subprocess.run(
        ["btrfs", "filesystem", "show", str(fs.mountpoint)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert all(d in show for d in fs.devices), show
    (fs.mountpoint / "hello.txt").write_text("mirrored")
    assert (fs.mountpoint / "hello.txt").read_text() == "mirrored"
