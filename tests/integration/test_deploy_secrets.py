"""Day-two `lares up` on a real Docker engine: changed secrets, a lost state folder, a killed run.

The blueprint is the deploy tests' one (tests/data/deploy) with its names, subnets and port moved
(``lds-``, 10.199.2x, 18090), so these tests never meet test_deploy's containers.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from integration.deploy_lab import DeployLab as Lab

STACKS = ("lds-data", "lds-front")
NETWORKS = ("lds-database", "lds-front")
SECRET = "lds-db_password"
MOVES = (
    ("ld-", "lds-"),
    ("10.199.10.", "10.199.20."),
    ("10.199.11.", "10.199.21."),
    ("18080", "18090"),
)


@pytest.fixture
def lab(deploy_lab: Callable[..., Lab]) -> Lab:
    always = lambda command: True  # noqa: E731
    return deploy_lab(
        "deploy", stacks=STACKS, networks=NETWORKS, moves=MOVES, state_for=always, file_for=always
    )


def container_id(name: str) -> str:
    return subprocess.run(
        ["docker", "inspect", "-f", "{{.Id}}", name], capture_output=True, text=True, check=True
    ).stdout.strip()


def stop_containers() -> None:
    """Remove the lab's containers as a lost machine would have (data folders stay)."""
    subprocess.run(["docker", "rm", "-f", "lds-db", "lds-web"], capture_output=True, check=True)


def dexec(name: str, *cmd: str, env: dict[str, str] | None = None) -> str:
    flags = [f"-e{k}={v}" for k, v in (env or {}).items()]
    result = subprocess.run(
        ["docker", "exec", "-u", "postgres", *flags, name, *cmd],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def login(password: str, sql: str) -> str:
    """Run ``sql`` as the app would: over TCP, with the password (from the environment)."""
    argv = ("psql", "-h", "127.0.0.1", "-U", "app", "-d", "app", "-At", "-c", sql)
    return dexec("lds-db", *argv, env={"PGPASSWORD": password})


def test_a_changed_secret_recreates_exactly_its_readers(lab: Lab) -> None:
    lab.lares("up", "--yes")
    before = {n: container_id(n) for n in ("lds-db", "lds-web")}
    old = lab.secret(SECRET)
    assert "nothing to do" in lab.lares("up", "--yes").stdout

    new = "a-new-database-password-42"
    lab.lares("secret", "set", SECRET, input=new + "\n")
    pending = lab.lares("diff", check=False)
    assert pending.returncode == 1
    assert "lds-data: update" in pending.stdout
    assert "lds-front: up to date" in pending.stdout
    changed = [line for line in pending.stdout.splitlines() if line.startswith(("-", "+"))]
    label = [line for line in changed if "io.lares.secrets:" in line]
    assert len(label) == 2, pending.stdout  # the old digest out, the new one in
    assert new not in pending.stdout and old not in pending.stdout

    applied = lab.lares("up", "--yes")
    assert "applied lds-data" in applied.stdout
    assert container_id("lds-db") != before["lds-db"]
    assert container_id("lds-web") == before["lds-web"]
    assert dexec("lds-db", "cat", f"/run/secrets/{SECRET}") == new
    for text in [applied.stdout, applied.stderr] + [
        p.read_text() for p in (lab.state / "live").rglob("compose.yaml")
    ]:
        assert new not in text and old not in text
    # the digest is keyed: the label is not a plain hash of the value
    digest = label[1].split("io.lares.secrets:")[1].strip().strip('"')
    assert digest not in hashlib.sha256(new.encode()).hexdigest()
    again = lab.lares("up", "--yes")
    assert "nothing to do" in again.stdout
    assert lab.lares("diff").returncode == 0


def test_a_lost_state_folder_stops_up_before_anything_changes(lab: Lab) -> None:
    lab.lares("up", "--yes")
    password = lab.secret(SECRET)
    login(password, "create table kept (v int); insert into kept values (7)")
    stop_containers()
    shutil.rmtree(lab.state)

    refused = lab.lares("up", "--yes", check=False)
    assert refused.returncode == 1
    data = lab.root / "data" / "appdata" / "lds-db" / "data"
    assert (
        "1 app has data but lares holds none of its secrets:\n"
        f"  lds-db: {SECRET} missing; data in {data}\nnothing was changed"
    ) in refused.stderr
    assert "lares secret set NAME" in refused.stderr
    assert "--fresh-secrets lds-db" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (lab.state / "secrets" / SECRET).exists()
    assert not (lab.state / "live").exists()
    found = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=lds-data"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == ""
    # --dry-run refuses too, so the person learns before a real run
    assert lab.lares("up", "--dry-run", check=False).returncode == 1

    # the old value given back: the app logs in and finds its data
    lab.lares("secret", "set", SECRET, input=password + "\n")
    lab.lares("up", "--yes")
    assert login(password, "select v from kept") == "7"


def test_fresh_secrets_starts_an_app_over_on_request(lab: Lab) -> None:
    lab.lares("up", "--yes")
    old = lab.secret(SECRET)
    stop_containers()
    shutil.rmtree(lab.state)
    unknown = lab.lares("up", "--yes", "--fresh-secrets", "nope", check=False)
    assert unknown.returncode == 2
    assert "--fresh-secrets: no app named nope in the blueprint" in unknown.stderr
    lab.lares("up", "--yes", "--fresh-secrets", "lds-db")
    assert lab.secret(SECRET) != old


def compose_processes() -> list[str]:
    """Command lines of running Compose processes working on this lab's stacks."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if state != "Z" and any("compose" in w for w in words[:2]) and "lds-data" in words:
            found.append(" ".join(words))
    return found


def lock_is_free(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_a_killed_up_leaves_no_compose_running_without_the_lock(lab: Lab) -> None:
    proc = subprocess.Popen(
        lab.argv("up", "--yes"), env=lab.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not compose_processes():
        time.sleep(0.05)
    assert compose_processes(), "compose never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # until the last compose process is gone the lock stays held; after, nothing runs alone
    deadline = time.monotonic() + 60
    while compose_processes():
        if lock_is_free(lab.state / "lock"):
            left = compose_processes()
            assert not left, f"the lock was free while compose still ran: {left}"
        assert time.monotonic() < deadline, compose_processes()
        time.sleep(0.05)
    again = lab.lares("up", "--yes")
    assert "applied" in again.stdout or "nothing to do" in again.stdout
    assert (
        subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Health.Status}}", "lds-web"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        == "healthy"
    )


def test_sigterm_stops_up_and_its_compose(lab: Lab) -> None:
    proc = subprocess.Popen(
        lab.argv("up", "--yes"), env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not compose_processes():
        time.sleep(0.05)
    assert compose_processes(), "compose never started"
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    # lares waited for its children: none is left once it has exited
    assert proc.returncode == 130
    assert b"Traceback" not in err
    assert compose_processes() == []
    assert lock_is_free(lab.state / "lock")
    lab.lares("up", "--yes")
