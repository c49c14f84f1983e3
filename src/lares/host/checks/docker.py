"""Docker Engine and Compose v2: present, answering, and new enough."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from lares.host.doctor import DoctorContext, Finding

ID = "docker"
DESCRIPTION = "Docker Engine and Docker Compose v2 versions"
MIN_ENGINE = (20, 10)
MIN_COMPOSE = (2, 20)


def version_tuple(text: str) -> tuple[int, ...] | None:
    """(major, minor, patch) from a version such as ``v2.40.3`` or ``20.10.24+dfsg1``."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return tuple(int(g) for g in match.groups() if g is not None)


def parse_engine(stdout: str) -> str | None:
    """The server version from ``docker version --format '{{json .}}'``."""
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    server = data.get("Server") if isinstance(data, dict) else None
    if isinstance(server, dict) and server.get("Version"):
        return str(server["Version"])
    return None


def check(ctx: DoctorContext) -> Iterator[Finding]:
    out = ctx.probe.run(["docker", "version", "--format", "{{json .}}"], timeout=20)
    engine = parse_engine(out.stdout) if out.stdout else None
    if out.returncode == 127:
        yield ctx.finding(ID, "error", "docker is not installed", "install docker.io or docker-ce")
    elif engine is None:
        yield ctx.finding(
            ID,
            "error",
            "Docker Engine does not answer",
            "start it (systemctl start docker) and check you may use /var/run/docker.sock",
            stderr=out.stderr.strip()[-300:],
        )
    else:
        yield _new_enough(
            ctx, "Docker Engine", engine, MIN_ENGINE, "upgrade Docker Engine", "engine"
        )
    if out.returncode == 127:
        return
    comp = ctx.probe.run(["docker", "compose", "version", "--short"], timeout=20)
    version = comp.stdout.strip()
    if not comp.ok or version_tuple(version) is None:
        yield ctx.finding(
            ID,
            "error",
            "Docker Compose v2 is missing (`docker compose version` failed)",
            "install the compose plugin (docker-compose-plugin, or docker-compose-v2)",
        )
    else:
        yield _new_enough(
            ctx, "Docker Compose", version, MIN_COMPOSE, "upgrade the compose plugin", "compose"
        )


def _new_enough(
    ctx: DoctorContext, name: str, version: str, minimum: tuple[int, int], hint: str, key: str
) -> Finding:
    """ok for ``version`` of ``name`` (also when it cannot be read), an error when it is older
    than ``minimum``; the version is the finding's data under ``key``."""
    v = version_tuple(version)
    if v is not None and v[:2] < minimum:
        shown = ".".join(map(str, minimum))
        return ctx.finding(
            ID, "error", f"{name} {version} is older than {shown}", hint, **{key: version}
        )
    return ctx.finding(ID, "ok", f"{name} {version}", **{key: version})
