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
        v = version_tuple(engine)
        if v is not None and v[:2] < MIN_ENGINE:
            yield ctx.finding(
                ID,
                "error",
                f"Docker Engine {engine} is older than {'.'.join(map(str, MIN_ENGINE))}",
                "upgrade Docker Engine",
                engine=engine,
            )
        else:
            yield ctx.finding(ID, "ok", f"Docker Engine {engine}", engine=engine)
    if out.returncode == 127:
        return
    comp = ctx.probe.run(["docker", "compose", "version", "--short"], timeout=20)
    version = comp.stdout.strip()
    v = version_tuple(version) if comp.ok else None
    if v is None:
        yield ctx.finding(
            ID,
            "error",
            "Docker Compose v2 is missing (`docker compose version` failed)",
            "install the compose plugin (docker-compose-plugin, or docker-compose-v2)",
        )
    elif v[:2] < MIN_COMPOSE:
        yield ctx.finding(
            ID,
            "error",
            f"Docker Compose {version} is older than {'.'.join(map(str, MIN_COMPOSE))}",
            "upgrade the compose plugin",
            compose=version,
        )
    else:
        yield ctx.finding(ID, "ok", f"Docker Compose {version}", compose=version)
