"""The running system as Docker reports it: containers per stack, drift from what was applied."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lares.deploy.record import Record
from lares.plain import Plain

if TYPE_CHECKING:
    from lares.dockerapi import DockerAPI

COMPOSE_HASH = "com.docker.compose.config-hash"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_PROJECT = "com.docker.compose.project"


@dataclass(frozen=True)
class ContainerState(Plain):
    stack: str
    app: str
    service: str
    name: str
    image: str
    state: str  # running, exited, restarting, created, paused, dead
    health: str  # healthy, unhealthy, starting, or "" when the container has no healthcheck
    started_at: float | None
    restarts: int
    oom_killed: bool
    exit_code: int
    ports: tuple[str, ...]
    config_hash: str

    @property
    def uptime(self) -> float | None:
        if self.state != "running" or self.started_at is None:
            return None
        return max(time.time() - self.started_at, 0.0)

    @property
    def ok(self) -> bool:
        return self.state == "running" and self.health in ("", "healthy")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "uptime": self.uptime}


def _timestamp(text: str | None) -> float | None:
    if not text or text.startswith("0001-"):
        return None
    # Docker writes nanoseconds; datetime takes microseconds.
    main, _, frac = text.rstrip("Z").partition(".")
    iso = f"{main}.{frac[:6]}+00:00" if frac else f"{main}+00:00"
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


def _ports(attrs: dict[str, Any]) -> tuple[str, ...]:
    out = []
    for container_port, bindings in sorted(
        ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items()
    ):
        for b in bindings or []:
            out.append(f"{b.get('HostIp')}:{b.get('HostPort')}->{container_port}")
    return tuple(out)


def container_state(attrs: dict[str, Any]) -> ContainerState:
    """Read one container's inspect data into a :class:`ContainerState`."""
    name = str(attrs.get("Name") or attrs.get("Id", "?")).lstrip("/")
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    st = attrs.get("State") or {}
    return ContainerState(
        stack=labels.get("io.lares.stack") or labels.get(COMPOSE_PROJECT, ""),
        app=labels.get("io.lares.app", ""),
        service=labels.get(COMPOSE_SERVICE, name),
        name=name,
        image=(attrs.get("Config") or {}).get("Image", ""),
        state=st.get("Status", "unknown"),
        health=((st.get("Health") or {}).get("Status") or ""),
        started_at=_timestamp(st.get("StartedAt")),
        restarts=int(attrs.get("RestartCount") or 0),
        oom_killed=bool(st.get("OOMKilled")),
        exit_code=int(st.get("ExitCode") or 0),
        ports=_ports(attrs),
        config_hash=labels.get(COMPOSE_HASH, ""),
    )


_EXITED = re.compile(r"Exited \((-?\d+)\)")


def container_from_list(entry: dict[str, Any]) -> ContainerState:
    """A :class:`ContainerState` from one item of the engine's container list (no inspect).

    The list has no start time, restart count or OOM flag; health comes from its Status text.
    """
    labels = entry.get("Labels") or {}
    status = str(entry.get("Status") or "")
    health = ""
    for word, value in (
        ("(healthy)", "healthy"),
        ("(unhealthy)", "unhealthy"),
        ("(health: starting)", "starting"),
    ):
        if word in status:
            health = value
    exited = _EXITED.search(status)
    names = entry.get("Names") or [""]
    return ContainerState(
        stack=labels.get("io.lares.stack") or labels.get(COMPOSE_PROJECT, ""),
        app=labels.get("io.lares.app", ""),
        service=labels.get(COMPOSE_SERVICE, names[0].lstrip("/")),
        name=names[0].lstrip("/"),
        image=str(entry.get("Image", "")),
        state=str(entry.get("State", "unknown")),
        health=health,
        started_at=None,
        restarts=0,
        oom_killed=False,
        exit_code=int(exited.group(1)) if exited else 0,
        ports=(),
        config_hash=labels.get(COMPOSE_HASH, ""),
    )


def stack_containers(
    client: DockerAPI, stacks: Iterable[str] | None = None
) -> list[ContainerState]:
    """Every container lares manages (label io.lares.stack), optionally for some stacks only."""
    wanted = set(stacks) if stacks is not None else None
    found = [container_state(data) for data in client.inspect_all("io.lares.stack")]
    found = [st for st in found if wanted is None or st.stack in wanted]
    return sorted(found, key=lambda s: (s.stack, s.app, s.service))


OUTSIDE = "configuration changed outside lares"


@dataclass(frozen=True)
class Drift:
    service: str
    problem: str

    def __str__(self) -> str:
        return f"{self.service}: {self.problem}"


def drift(
    record: Record | None,
    expected: dict[str, str],
    running: list[ContainerState],
) -> list[Drift]:
    """How the running stack differs from what lares applied.

    ``expected`` maps each service the rendered stack defines to its image. With no record the
    stack was never applied and drift is not meaningful (the whole stack is a change).
    """
    if record is None:
        return []
    by_service = {c.service: c for c in running}
    out: list[Drift] = []
    for service, image in expected.items():
        c = by_service.get(service)
        if c is None:
            out.append(Drift(service, "container missing"))
            continue
        if c.state != "running":
            out.append(Drift(service, f"{c.state} (exit code {c.exit_code})"))
        elif c.health == "unhealthy":
            out.append(Drift(service, "unhealthy"))
        if c.image != image:
            out.append(Drift(service, f"runs image {c.image}, lares applied {image}"))
        applied_hash = (record.containers.get(service) or {}).get("hash")
        if applied_hash and c.config_hash and c.config_hash != applied_hash:
            out.append(Drift(service, OUTSIDE))
    for c in running:
        if c.service not in expected:
            out.append(Drift(c.service, "not in the blueprint (orphan)"))
    return out
