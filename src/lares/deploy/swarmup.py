"""``lares up --engine swarm`` and ``lares ps --engine swarm``: the blueprint deployed to a Docker
Swarm with ``docker stack deploy``, one stack file per lares stack.

``up`` plans (refusing a plan with errors — Swarm's among them, such as an app that needs
``network_mode: service:`` — unless ``force``), renders the ``swarm`` target into the state
folder (``swarm/swarm/<stack>.yaml``, the secret files beside them), writes each stack file as
deployed (``<stack>.deployed.yaml``: secrets and configs named by a digest of their content, see
:mod:`lares.deploy.swarm`), deploys the stacks in dependency order to the manager ``DOCKER_HOST``
names, then waits until every service runs all its replicas and no update is under way, or an
update failed (Swarm paused or rolled it back), or ``timeout`` passed. What it returns says per
app where the swarm is with it. Nothing here prints: ``progress``, ``on_states`` and ``warn``
hear what a person should see, as for the compose ``up`` (:mod:`lares.deploy.actions`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lares.deploy import swarm
from lares.deploy.swarm import ServiceState
from lares.state import StateDir

Say = Callable[[str], None]
OnStates = Callable[[str, dict[str, str]], None]
POLL = 1.0
FOLDER = "swarm"  # the state folder's subfolder the swarm render is written into


def _quiet(_: str) -> None:
    pass


@dataclass
class SwarmStack:
    """One stack as deployed: its stack file and its services' states when the wait ended."""

    stack: str
    file: str
    services: list[ServiceState] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # secrets/configs no longer used, removed

    @property
    def ok(self) -> bool:
        return bool(self.services) and all(s.state == "running" for s in self.services)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "file": self.file,
            "ok": self.ok,
            "services": [s.to_dict() for s in self.services],
            "removed": self.removed,
        }


@dataclass
class SwarmUpResult:
    stacks: list[SwarmStack]
    waited: float
    timed_out: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when a service does not run all its replicas (``lares up`` then exits 1)."""
        return all(s.ok for s in self.stacks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": "swarm",
            "ok": self.ok,
            "waited": round(self.waited, 1),
            "timed_out": self.timed_out,
            "stacks": [s.to_dict() for s in self.stacks],
            "warnings": self.warnings,
        }


def up(
    state: StateDir,
    file: Path | None = None,
    stacks: Sequence[str] = (),
    *,
    force: bool = False,
    resolve_image: str = "always",
    plain_overlays: bool = False,
    timeout: float = 300.0,
    lock_timeout: float = 300.0,
    progress: Say = _quiet,
    on_states: OnStates | None = None,
    warn: Say | None = None,
) -> SwarmUpResult:
    """Deploy the blueprint's stacks (all, or ``stacks``) to the swarm and wait for them."""
    from lares.deploy.actions import prepare
    from lares.deploy.files import prepare_dirs, write_bundle

    swarm.known_resolve_image(resolve_image)  # a bad value fails first
    result, bundle = prepare(file, state, target="swarm", force=force)
    order = [
        s for s in result.system.blueprint.stack_order() if f"{FOLDER}/{s}.yaml" in bundle.files
    ]
    unknown = sorted(set(stacks) - set(order))
    if unknown:
        from lares.errors import UsageError

        raise UsageError(
            f"no stack named {', '.join(unknown)} with apps in the blueprint",
            hint="name one of: " + ", ".join(order),
        )
    wanted = [s for s in order if not stacks or s in stacks]
    warnings = []
    if plain_overlays:
        warnings.append(
            "overlay networks are deployed without encryption: traffic between the nodes "
            "crosses the LAN as plain VXLAN"
        )
    with state.lock(timeout=lock_timeout, purpose="up --engine swarm", on_wait=warn):
        swarm.manager_check()
        root = state.root / FOLDER
        written = write_bundle(bundle, root, secrets_dir=state.secrets)
        if written.missing:
            warnings.append(
                "these secrets are yours to provide (`lares secret set NAME`); their files "
                "are empty: " + ", ".join(written.missing)
            )
        for made in prepare_dirs(bundle):
            progress(f"created {made}")
        deployed: dict[str, tuple[Path, list[str], dict[str, list[str]]]] = {}
        for stack in wanted:
            path, services, names = _write_deployed(
                root / FOLDER / f"{stack}.yaml", stack, plain_overlays
            )
            progress(f"{stack}: docker stack deploy ({', '.join(services)})")
            swarm.deploy(stack, path, resolve_image=resolve_image)
            deployed[stack] = (path, services, names)
        started = time.monotonic()
        states, timed_out = _wait(deployed, timeout, on_states)
        out = []
        for stack, (path, _, names) in deployed.items():
            done = SwarmStack(stack, str(path), states.get(stack, []))
            for kind, current in names.items():
                old = [n for n in swarm.objects(kind, stack) if n not in current]
                done.removed += swarm.remove_objects(kind, old)
            out.append(done)
    for w in warnings:
        if warn is not None:
            warn(w)
    return SwarmUpResult(out, time.monotonic() - started, timed_out, warnings)


def _write_deployed(
    rendered: Path, stack: str, plain_overlays: bool
) -> tuple[Path, list[str], dict[str, list[str]]]:
    """Write ``<stack>.deployed.yaml`` next to the rendered file; its services and objects."""
    from lares.fsutil import atomic_write
    from lares.yamlio import dump_yaml, safe_load

    doc = safe_load(rendered.read_text(encoding="utf-8")) or {}
    out, names = swarm.as_deployed(doc, stack, rendered.parent, plain_overlays=plain_overlays)
    target = rendered.with_name(f"{stack}.deployed.yaml")
    atomic_write(target, dump_yaml(out), mode=0o600)
    return target, sorted(out.get("services") or {}), names


def _wait(
    deployed: dict[str, tuple[Path, list[str], dict[str, list[str]]]],
    timeout: float,
    on_states: OnStates | None,
) -> tuple[dict[str, list[ServiceState]], bool]:
    """Poll every stack until each expected service runs or failed, or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while True:
        states = {stack: swarm.read_services(stack) for stack in deployed}
        for stack, now in states.items():
            if on_states is not None:
                on_states(stack, {s.name: s.state for s in now})
        if all(swarm.settled(states[s], services) for s, (_, services, _) in deployed.items()):
            return states, False
        if time.monotonic() >= deadline:
            return states, True
        time.sleep(POLL)


# ── ps ─────────────────────────────────────────────────────────────────────────────────────


@dataclass
class SwarmPs:
    stacks: dict[str, list[ServiceState]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": "swarm",
            "stacks": [
                {"stack": name, "services": [s.to_dict() for s in states]}
                for name, states in self.stacks.items()
            ],
        }


def ps(stacks: Sequence[str] = ()) -> SwarmPs:
    """The services of ``stacks`` (default: every stack on the swarm) as the swarm has them."""
    from lares import run

    swarm.manager_check()
    names = (
        list(stacks)
        or run.run(("docker", "stack", "ls", "--format", "{{.Name}}"), timeout=60).stdout.split()
    )
    return SwarmPs({name: swarm.read_services(name) for name in names})
