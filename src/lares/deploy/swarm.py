"""Docker Swarm, as ``lares up --engine swarm`` and ``lares ps --engine swarm`` drive it.

Every command goes through :mod:`lares.run` to the ``docker`` CLI, which talks to the engine
``DOCKER_HOST`` names (a Swarm manager). The pure parts are here too, next to the commands they
serve: the argv of ``docker stack deploy``, the stack file as deployed (immutable secrets and
configs named by a digest of their content) and the reading of ``docker service ls`` / ``docker
stack ps`` into one state per service.

Swarm secrets and configs cannot change: a new value needs a new object. Each one a stack file
declares from a file is named ``<stack>_<key>_<digest>``, the digest being the first 12 hex
digits of the SHA-256 of the file's bytes (never the value), so a changed value is a new object
and its services are updated to it; the objects of the stack no longer used are removed after
the deploy.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lares import run
from lares.errors import LaresError
from lares.plain import Plain

STACK_LABEL = "com.docker.stack.namespace"
APP_LABEL = "io.lares.app"
RESOLVE_IMAGE = ("always", "changed", "never")
NAME_MAX = 64  # Swarm's limit on a secret's or config's name
DIGEST_LEN = 12
UPDATING = {"updating", "rollback_started"}
UPDATE_FAILED = {"paused", "rollback_completed", "rollback_paused"}


class SwarmError(LaresError):
    code = "swarm"


# ── commands ───────────────────────────────────────────────────────────────────────────────


def known_resolve_image(resolve_image: str) -> None:
    """Raise unless ``resolve_image`` is one of ``docker stack deploy``'s modes."""
    if resolve_image not in RESOLVE_IMAGE:
        raise SwarmError(
            f"--resolve-image {resolve_image!r} is not one Docker knows",
            hint="use one of: " + ", ".join(RESOLVE_IMAGE),
        )


def deploy_argv(stack: str, file: Path, *, resolve_image: str = "always") -> tuple[str, ...]:
    """``docker stack deploy`` of one stack file; ``--prune`` removes the services the file no
    longer has, ``--detach`` returns at once (lares waits for the services itself)."""
    known_resolve_image(resolve_image)
    return (
        "docker",
        "stack",
        "deploy",
        "--compose-file",
        str(file),
        "--resolve-image",
        resolve_image,
        "--prune",
        "--detach",
        stack,
    )


def services_argv(stack: str) -> tuple[str, ...]:
    return (
        "docker",
        "service",
        "ls",
        "--filter",
        f"label={STACK_LABEL}={stack}",
        "--format",
        "json",
    )


def inspect_argv(ids: Sequence[str]) -> tuple[str, ...]:
    return ("docker", "service", "inspect", "--format", "json", *ids)


def tasks_argv(stack: str) -> tuple[str, ...]:
    return ("docker", "stack", "ps", stack, "--no-trunc", "--format", "json")


def manager_check() -> str:
    """The node id of the engine DOCKER_HOST names, if it is a Swarm manager; else raise."""
    result = run.run(
        ("docker", "info", "--format", "{{json .Swarm}}"),
        timeout=60,
        what="ask the Docker engine about its Swarm",
        hint="start Docker, or point DOCKER_HOST at a Swarm manager",
    )
    info = json.loads(result.stdout or "{}")
    if info.get("LocalNodeState") != "active" or not info.get("ControlAvailable"):
        state = info.get("LocalNodeState") or "unknown"
        raise SwarmError(
            f"this Docker engine is not a Swarm manager (swarm state: {state})",
            hint="run `docker swarm init` on it, or point DOCKER_HOST at a manager of your swarm",
        )
    return str(info.get("NodeID", ""))


def deploy(stack: str, file: Path, *, resolve_image: str = "always") -> run.Result:
    return run.run(
        deploy_argv(stack, file, resolve_image=resolve_image),
        timeout=300,
        cwd=file.parent,
        what=f"deploy the stack {stack} to the swarm",
        hint="see the error above; `docker stack ps --no-trunc " + stack + "` shows the tasks",
    )


def read_services(stack: str) -> list[ServiceState]:
    """The services of ``stack`` as the swarm has them now (empty when it has none)."""
    listed = json_lines(run.run(services_argv(stack), timeout=60).stdout)
    if not listed:
        return []
    ids = [str(s["ID"]) for s in listed]
    inspected = json.loads(run.run(inspect_argv(ids), timeout=60).stdout or "[]")
    tasks = json_lines(run.run(tasks_argv(stack), timeout=60, check=False).stdout)
    return service_states(stack, listed, inspected, tasks)


def objects(kind: str, stack: str) -> list[str]:
    """The names of the ``kind`` (``secret`` or ``config``) objects of ``stack``."""
    out = run.run(
        ("docker", kind, "ls", "--filter", f"label={STACK_LABEL}={stack}", "--format", "{{.Name}}"),
        timeout=60,
    ).stdout
    return sorted(out.split())


def remove_objects(kind: str, names: Iterable[str]) -> list[str]:
    """Remove ``names``; return those removed (one still used by a task stays)."""
    gone = []
    for name in names:
        if run.run(("docker", kind, "rm", name), timeout=60, check=False).ok:
            gone.append(name)
    return gone


# ── the stack file as deployed ─────────────────────────────────────────────────────────────


def object_name(stack: str, key: str, content: bytes) -> str:
    """The Swarm name of a secret or config: ``<stack>_<key>_<digest of content>``."""
    digest = hashlib.sha256(content).hexdigest()[:DIGEST_LEN]
    head = re.sub(r"[^A-Za-z0-9_.-]", "-", f"{stack}_{key}")[: NAME_MAX - DIGEST_LEN - 1]
    return f"{head}_{digest}"


def as_deployed(
    doc: Mapping[str, Any], stack: str, base: Path, *, plain_overlays: bool = False
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``doc`` (a stack file) with each file-backed secret and config named by its content
    (see :func:`object_name`; ``base`` is the folder relative paths start from), and with
    ``plain_overlays`` its overlays not encrypted. Returns it and the names, by kind.

    A secret file that does not exist raises :class:`SwarmError`, naming it.
    """
    out = dict(doc)
    names: dict[str, list[str]] = {"secret": [], "config": []}
    for kind, section in (("secret", "secrets"), ("config", "configs")):
        declared = doc.get(section) or {}
        renamed: dict[str, Any] = {}
        for key, spec in declared.items():
            spec = dict(spec or {})
            if "file" in spec and not spec.get("external"):
                path = base / str(spec["file"])
                try:
                    content = path.read_bytes()
                except OSError as exc:
                    raise SwarmError(
                        f"{stack}: the file of {kind} {key} cannot be read: {path}: "
                        f"{exc.strerror or exc}",
                        hint="run `lares up --engine swarm` again (it writes the secret files)",
                    ) from None
                spec["name"] = object_name(stack, key, content)
                names[kind].append(spec["name"])
            renamed[key] = spec
        if declared:
            out[section] = renamed
    if plain_overlays:
        nets = {}
        for key, spec in (doc.get("networks") or {}).items():
            spec = dict(spec or {})
            opts = {k: v for k, v in (spec.get("driver_opts") or {}).items() if k != "encrypted"}
            spec.pop("driver_opts", None)
            if opts:
                spec["driver_opts"] = opts
            nets[key] = spec
        out["networks"] = nets
    return out, names


# ── reading the swarm ──────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Task(Plain):
    """One task of a service: where it runs (or was meant to), and in what state."""

    slot: str  # "1", or the node id for a global service
    node: str
    state: str  # lower-cased first word of CurrentState: running, starting, pending, shutdown ...
    desired: str
    error: str = ""


@dataclass(frozen=True)
class ServiceState:
    """A service of a stack and where the swarm is with it."""

    stack: str
    name: str  # the service as the stack file names it (sw-web), not <stack>_<service>
    app: str
    running: int
    desired: int
    update: str  # "" (never updated), updating, completed, paused, rollback_completed ...
    tasks: tuple[Task, ...] = ()

    @property
    def state(self) -> str:
        """``running`` (every replica runs, no update under way), ``updating``, ``starting``
        (fewer replicas than wanted), ``failed`` (an update was paused or rolled back)."""
        if self.update in UPDATE_FAILED:
            return "failed"
        if self.update in UPDATING:
            return "updating"
        if self.running < self.desired:
            return "starting"
        return "running"

    @property
    def nodes(self) -> list[str]:
        return sorted({t.node for t in self.tasks if t.desired == "running" and t.node})

    @property
    def errors(self) -> list[str]:
        """Why a replica does not run, as the swarm says it ("no suitable node …", "bind
        source path does not exist …"): per slot without a running task, the newest error
        (``docker stack ps`` lists a slot's newest task first)."""
        found: dict[str, str] = {}
        running = {t.slot for t in self.tasks if t.state == "running" and t.desired == "running"}
        for t in self.tasks:
            if t.error and t.slot not in running and t.slot not in found:
                found[t.slot] = t.error
        return sorted(set(found.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "service": self.name,
            "app": self.app,
            "state": self.state,
            "running": self.running,
            "desired": self.desired,
            "update": self.update,
            "nodes": self.nodes,
            "errors": self.errors,
        }


def json_lines(text: str) -> list[dict[str, Any]]:
    """One JSON object per line (``--format json`` of docker's list commands)."""
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def _replicas(text: str) -> tuple[int, int]:
    """``docker service ls``'s Replicas: "2/3", "1/1 (max 1 per node)", "0/0"."""
    m = re.match(r"\s*(\d+)/(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def service_states(
    stack: str,
    listed: Sequence[Mapping[str, Any]],
    inspected: Sequence[Mapping[str, Any]],
    tasks: Sequence[Mapping[str, Any]],
) -> list[ServiceState]:
    """Join ``docker service ls`` (replicas), ``service inspect`` (labels, update status) and
    ``stack ps`` (tasks) into one state per service, sorted by name."""
    by_name = {str((s.get("Spec") or {}).get("Name", "")): s for s in inspected}
    prefix = f"{stack}_"
    out = []
    for entry in listed:
        full = str(entry.get("Name", ""))
        name = full.removeprefix(prefix)
        spec = by_name.get(full, {})
        labels = (spec.get("Spec") or {}).get("Labels") or {}
        _, desired = _replicas(str(entry.get("Replicas", "")))
        update = str(((spec.get("UpdateStatus") or {}).get("State")) or "")
        mine = []
        for t in tasks:
            task_name = str(t.get("Name", ""))
            service, _, slot = task_name.rpartition(".")
            if service != full:
                continue
            mine.append(
                Task(
                    slot=slot,
                    node=str(t.get("Node", "")),
                    state=str(t.get("CurrentState", "")).split(" ")[0].lower(),
                    desired=str(t.get("DesiredState", "")).lower(),
                    error=str(t.get("Error", "")),
                )
            )
        # Counted from the tasks, not Replicas: that counts a task on a node that went down
        # as running until the node comes back, although the swarm has replaced it.
        running = sum(1 for t in mine if t.desired == "running" and t.state == "running")
        out.append(
            ServiceState(
                stack=stack,
                name=name,
                app=str(labels.get(APP_LABEL) or name),
                running=running,
                desired=desired,
                update=update,
                tasks=tuple(mine),
            )
        )
    return sorted(out, key=lambda s: s.name)


def converged(states: Sequence[ServiceState], expected: Iterable[str]) -> bool:
    """True when every service of ``expected`` is there and ``running`` (all replicas, no
    update under way). A failed update is settled too, but not converged: see :func:`settled`."""
    have = {s.name: s for s in states}
    return all(name in have and have[name].state == "running" for name in expected)


def settled(states: Sequence[ServiceState], expected: Iterable[str]) -> bool:
    """True when waiting longer changes nothing: each expected service runs or failed."""
    have = {s.name: s for s in states}
    return all(name in have and have[name].state in ("running", "failed") for name in expected)
