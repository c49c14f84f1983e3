"""The settings the LinuxServer.io images need, on the engine.

The real images cannot be pulled here, so the rendered services run the busybox test image
instead, with everything else as lares renders them.

- Sonarr (as the other non-root ones): the host user, a read-only root, no capabilities,
  no-new-privileges and the ``/run:uid=…,gid=…,exec`` tmpfs. A script checks what s6-overlay
  needs of them: ``/run`` owned by that user (how the image's init detects non-root mode, and
  where s6 writes its service files without becoming root) and programs in it executable.
- Kavita (as Emby): root with the rendered capabilities, which must let root signal the app it
  started as another user, or ``docker stop`` ends in SIGKILL.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker

from integration.conftest import DockerCleanup
from lares.blueprint.load import load_text, reference_text
from lares.deploy.engine import compose_command
from lares.plan import plan
from lares.render.compose import service_block
from lares.yamlio import dump_yaml

UID, GID = 1001, 1002

# $ doubled: Compose would otherwise interpolate it
CHECKS = r"""
set -e
test "$$(id -u):$$(id -g)" = "1001:1002" || { echo "user is $$(id -u):$$(id -g)"; exit 1; }
test "$$(stat -c %u:%g /run)" = "1001:1002" || { echo "/run is $$(stat -c %u:%g /run)"; exit 1; }
mkdir -p /run/s6/services /run/sonarr-temp
printf '#!/bin/sh\necho executed\n' > /run/s6/probe
chmod +x /run/s6/probe
/run/s6/probe
if touch /probe 2>/dev/null; then echo "the root is writable"; exit 1; fi
echo "checks passed"
"""


# root starts the app as another user (the busybox image's `app`), then signals it as
# s6-supervise does on `docker stop`
SIGNAL_THE_APP = r"""
su -s /bin/sh app -c "sleep 60" &
sleep 1
pid=$(ps -o pid,user,args | awk '$2 == "app" && /sleep 60/ {print $1}')
test -n "$pid" || { echo "the app did not start"; exit 2; }
if kill -TERM "$pid"; then echo signalled; else echo refused; fi
"""


def _media_block(name: str) -> dict[str, Any]:
    text = reference_text()
    text = re.sub(r"(?m)^(\s+)puid: 1000\b", rf"\g<1>puid: {UID}", text)
    text = re.sub(r"(?m)^(\s+)pgid: 1000\b", rf"\g<1>pgid: {GID}", text)
    system = plan(load_text(text, filename="lares.yaml", env={})).system
    stack = system.stack("media")
    service = next(s for s in stack.services if s.name == name)
    return service_block(service, stack)


def _signal_as_root(client: docker.DockerClient, image: str, name: str, cap_add: list[str]) -> str:
    out = client.containers.run(
        image,
        ["sh", "-c", SIGNAL_THE_APP],
        name=name,
        cap_drop=["ALL"],
        cap_add=cap_add,
        security_opt=["no-new-privileges:true"],
        remove=True,
    )
    return out.decode().strip().splitlines()[-1]


def test_kavita_capabilities_let_its_root_init_stop_the_app(
    docker_client: docker.DockerClient,
    test_images: dict[str, str],
    docker_cleanup: DockerCleanup,
    unique_name: Callable[..., str],
) -> None:
    block = _media_block("kavita")
    assert "user" not in block
    caps = block["cap_add"]
    image = test_images["busybox"]
    assert _signal_as_root(docker_client, image, docker_cleanup.track(unique_name("kv")), caps) == (
        "signalled"
    )
    # and the reason KILL is there: without it root cannot signal another uid
    without = [c for c in caps if c != "KILL"]
    name = docker_cleanup.track(unique_name("kv"))
    assert _signal_as_root(docker_client, image, name, without) == "refused"


def test_sonarr_settings_give_s6_a_run_folder_it_owns_and_can_execute_from(
    tmp_path: Path,
    test_images: dict[str, str],
    docker_cleanup: DockerCleanup,
    unique_name: Callable[..., str],
) -> None:
    block = _media_block("sonarr")
    assert block["tmpfs"] == [f"/run:uid={UID},gid={GID},exec"]
    project = docker_cleanup.project(unique_name("media"))
    name = docker_cleanup.track(f"{project}-sonarr")
    # what the test swaps: the image, the command, and the host paths and networks of the NAS
    block.update(
        image=test_images["busybox"],
        container_name=name,
        restart="no",
        command=["sh", "-c", CHECKS],
        volumes=[],
        networks={"default": {}},
    )
    block.pop("healthcheck")
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(dump_yaml({"name": project, "services": {"sonarr": block}}))
    compose = compose_command()
    proc = subprocess.run(
        [
            *compose.argv,
            "-f",
            str(compose_file),
            "up",
            "--abort-on-container-exit",
            "--exit-code-from",
            "sonarr",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "executed" in proc.stdout
    assert "checks passed" in proc.stdout
