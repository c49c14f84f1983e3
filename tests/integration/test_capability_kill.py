"""Why root in Nextcloud and Paperless gets KILL: on a real engine, root with every capability
dropped cannot signal a process of another uid (Apache's www-data children, the s6 services), so
`docker stop` would end in SIGKILL; with the catalog's capabilities it can."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from integration.conftest import IMAGES
from lares.catalog.load import load_catalog


def docker(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["docker", *argv], capture_output=True, text=True, timeout=60, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"docker {argv} exited {result.returncode}: {result.stderr}")
    return result


@pytest.fixture
def started() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        docker("rm", "-f", name, check=False)


def signal_other_uid(names: list[str], caps: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """Start a hardened container as root with ``caps``, run a process in it as uid 33 (as
    Apache's children run) and have root send it SIGTERM."""
    name = f"lt-kill-{uuid.uuid4().hex[:8]}"
    names.append(name)
    adds = [arg for cap in caps for arg in ("--cap-add", cap)]
    docker(
        "run", "-d", "--name", name, "--user", "0:0", "--cap-drop", "ALL", *adds,
        "--security-opt", "no-new-privileges:true", "--network", "none",
        IMAGES["busybox"], "sleep", "300",
    )  # fmt: skip
    docker("exec", "-d", "-u", "33:33", name, "sh", "-c", "echo $$ > /tmp/pid; exec sleep 301")
    for _ in range(50):
        pid = docker("exec", name, "cat", "/tmp/pid", check=False).stdout.strip()
        if pid.isdigit():
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the uid 33 process did not start")
    owner = docker("exec", name, "stat", "-c", "%u", f"/proc/{pid}").stdout.strip()
    assert owner == "33"
    return docker("exec", name, "kill", "-TERM", pid, check=False)


@pytest.mark.parametrize("app", ["nextcloud", "paperless", "stirling-pdf"])
def test_root_signals_the_apps_user_only_with_kill(started: list[str], app: str) -> None:
    caps = load_catalog()[app].main.cap_add
    assert "KILL" in caps
    without = signal_other_uid(started, tuple(c for c in caps if c != "KILL"))
    assert without.returncode != 0
    assert "Operation not permitted" in without.stderr
    with_kill = signal_other_uid(started, caps)
    assert with_kill.returncode == 0, with_kill.stderr
