"""Quick Sync on a real Docker engine: a non-root container opens the render node through the
host group lares gives it, and only then.

There is no GPU here, so the "render node" is a character device made for the test (the same
major:minor as /dev/null), owned by root and a group only the blueprint's gid names, mode 0660:
the permissions of /dev/dri/renderD128 on a real host.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from integration.conftest import DockerCleanup
from integration.lares_lab import lares_process

pytestmark = pytest.mark.integration

RENDER_GID = 64123  # no group on this machine has it
APP = """\
id: {name}
name: GPU test
description: a non-root container that writes to the render node
category: media
containers:
  {name}:
    image: lares-test/busybox
    version: "1"
    user: "1000:1000"
    command: [sleep, "3600"]
    quicksync: {{devices: ["{node}:/dev/dri/renderD128"], groups: [render]}}
    healthcheck:
      test: [CMD, "true"]
      interval: 1s
    memory: {{reservation: 16MiB, limit: 32MiB}}
    exceptions:
      devices: the test writes to its render node as the render group
"""
BLUEPRINT = """\
version: 1
host:
  name: lt-gpu
  cpu: {{cores: 2, threads: 2, features: [quicksync]}}
  memory: 4GiB
  reserved: {{os: 512MiB, docker: 256MiB}}
{groups}paths:
  appdata: {root}/appdata
  pool: {root}/pool
network:
  lan: 127.0.0.0/24
  host_address: 127.0.0.2
  domain: lt.test
  docker:
    {name}: {{subnet: 10.199.31.0/24}}
stacks:
  {name}:
    network: {name}
    apps: [{name}]
catalog: [catalog]
"""


def _lares(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    state = ["--state-dir", str(root / "state")] if args[0] == "up" else []
    return lares_process(*args, "-f", str(root / "lares.yaml"), *state, timeout=240, check=True)


def _exec(name: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", name, "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_render_group_opens_the_render_node(
    tmp_path: Path,
    test_images: dict[str, str],
    unique_name: Callable[..., str],
    docker_cleanup: DockerCleanup,
) -> None:
    name = unique_name()
    docker_cleanup.project(name)
    docker_cleanup.track(name)
    node = tmp_path / "renderD128"
    os.mknod(node, 0o660 | 0o020000, os.makedev(1, 3))
    os.chown(node, 0, RENDER_GID)
    node.chmod(0o660)
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / f"{name}.yaml").write_text(APP.format(name=name, node=node))

    def blueprint(groups: str) -> None:
        text = BLUEPRINT.format(name=name, root=tmp_path, groups=groups)
        (tmp_path / "lares.yaml").write_text(text)

    # the blueprint's gid is the node's group: the app's user (1000) writes to it
    blueprint(f"  groups: {{render: {RENDER_GID}}}\n")
    _lares(tmp_path, "up", "--yes")
    ids = _exec(name, "id -G")
    assert ids.returncode == 0, ids.stderr
    assert str(RENDER_GID) in ids.stdout.split()
    wrote = _exec(name, "echo frame > /dev/dri/renderD128 && echo ok")
    assert (wrote.returncode, wrote.stdout.strip()) == (0, "ok"), wrote.stderr

    # a gid that is not the node's: the device is there, and the user may not open it
    blueprint(f"  groups: {{render: {RENDER_GID + 1}}}\n")
    _lares(tmp_path, "up", "--yes")
    denied = _exec(name, "echo frame > /dev/dri/renderD128")
    assert denied.returncode != 0
    assert "Permission denied" in denied.stderr

    # no gid at all: no device either, the app runs on the CPU, and plan says why
    blueprint("")
    plan = _lares(tmp_path, "plan")
    assert f"{name} transcodes on the CPU: host.groups.render is not set" in plan.stdout
    _lares(tmp_path, "up", "--yes")
    assert _exec(name, "test -e /dev/dri/renderD128").returncode == 1
    assert _exec(name, "true").returncode == 0
