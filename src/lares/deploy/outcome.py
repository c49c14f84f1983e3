"""What `lares up` left running, app by app: up, failed (and why), or waiting for an outside peer.

A stack's compose file says everything needed to judge it: each service's app
(``io.lares.app``), the outside peer its health depends on (``io.lares.peer``: the tunnel's
server, the VPN endpoint) and what it waits for (``depends_on``). The engine says the rest:
each container's state, health log, exit code and log tail.

A container whose health depends on a peer is *waiting for* that peer while it runs without
being healthy, and so is a container held back by such a container (qBittorrent waits for a
healthy Gluetun). Waiting is not a failure: the settings are right and the peer is not ours to
bring up; the next `lares up` after the peer answers starts what was held back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lares.deploy.status import ContainerState
from lares.plain import Plain

PEER_LABEL = "io.lares.peer"
APP_LABEL = "io.lares.app"

Status = Literal["up", "failed", "waiting"]


@dataclass(frozen=True)
class ServiceSpec:
    """One service of a rendered stack, as far as readiness is concerned."""

    name: str
    app: str
    peer: str | None
    healthy_deps: tuple[str, ...]  # services it waits to be healthy before it starts
    started_deps: tuple[str, ...]


def stack_services(compose_doc: Mapping[str, Any]) -> dict[str, ServiceSpec]:
    """The services of a parsed compose file, by name."""
    out = {}
    for name, spec in (compose_doc.get("services") or {}).items():
        labels = spec.get("labels") or {}
        deps = spec.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        healthy = tuple(
            d for d, c in deps.items() if (c or {}).get("condition") == "service_healthy"
        )
        started = tuple(d for d in deps if d not in healthy)
        out[name] = ServiceSpec(
            name, str(labels.get(APP_LABEL) or name), labels.get(PEER_LABEL), healthy, started
        )
    return out


def waiting_on(services: Mapping[str, ServiceSpec]) -> dict[str, str]:
    """The services whose readiness depends on an outside peer, each with the peer's name.

    A service with a peer of its own, and every service that (through any chain) waits for
    one of those to be healthy.
    """
    found: dict[str, str] = {s.name: s.peer for s in services.values() if s.peer}
    changed = True
    while changed:
        changed = False
        for s in services.values():
            if s.name in found:
                continue
            for dep in s.healthy_deps:
                if dep in found:
                    found[s.name] = found[dep]
                    changed = True
                    break
    return found


@dataclass(frozen=True)
class ServiceOutcome(Plain):
    service: str
    status: Status
    state: str  # "running, healthy", "exited (3)", "not created", ...
    why: str = ""  # one line: what is wrong, or what it waits for
    health: tuple[str, ...] = ()  # the last healthcheck outputs
    logs: tuple[str, ...] = ()  # the last log lines
    compose: tuple[str, ...] = ()  # what Compose said about it


@dataclass(frozen=True)
class AppOutcome:
    stack: str
    app: str
    services: tuple[ServiceOutcome, ...]

    @property
    def status(self) -> Status:
        states = {s.status for s in self.services}
        if "failed" in states:
            return "failed"
        return "waiting" if "waiting" in states else "up"

    @property
    def why(self) -> str:
        """The first reason among its services that are not up."""
        for wanted in ("failed", "waiting"):
            for s in self.services:
                if s.status == wanted:
                    return f"{s.service}: {s.why}" if len(self.services) > 1 else s.why
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "app": self.app,
            "status": self.status,
            "why": self.why,
            "services": [s.to_dict() for s in self.services],
        }


@dataclass(frozen=True)
class StackOutcome:
    stack: str
    apps: tuple[AppOutcome, ...]
    recorded: bool = False  # whether this revision became the stack's good revision
    had_record: bool = True  # whether the stack had a good revision before (to roll back to)

    def _with(self, status: str) -> list[AppOutcome]:
        return [a for a in self.apps if a.status == status]

    @property
    def failed(self) -> list[AppOutcome]:
        return self._with("failed")

    @property
    def waiting(self) -> list[AppOutcome]:
        return self._with("waiting")


@dataclass
class Outcome:
    """Every stack `up` applied, in order."""

    stacks: list[StackOutcome] = field(default_factory=list)

    @property
    def apps(self) -> list[AppOutcome]:
        return [a for s in self.stacks for a in s.apps]

    @property
    def ok(self) -> bool:
        return not any(a.status == "failed" for a in self.apps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "apps": [a.to_dict() for a in self.apps],
            "recorded": [s.stack for s in self.stacks if s.recorded],
        }


@dataclass(frozen=True)
class Seen:
    """What the engine showed of one container (read by the caller, so this stays pure)."""

    state: ContainerState
    health: tuple[str, ...] = ()
    logs: tuple[str, ...] = ()


def _describe(st: ContainerState) -> str:
    if st.state == "running":
        text = f"running, {st.health}" if st.health else "running"
    elif st.state in ("exited", "dead", "restarting"):
        text = f"{st.state} (exit code {st.exit_code})"
        text += ", out of memory" if st.oom_killed else ""
    else:
        text = st.state
    return text + (f", restarted {st.restarts} times" if st.restarts else "")


def judge(
    stack: str,
    services: Mapping[str, ServiceSpec],
    seen: Mapping[str, Seen],
    compose_said: Mapping[str, tuple[str, ...]] | None = None,
) -> StackOutcome:
    """Judge every service of a stack from what the engine shows, and group them by app.

    ``compose_said`` holds, per service, the lines Compose printed about it when it was
    applied on its own (an image it could not find, a port already taken).
    """
    compose_said = compose_said or {}
    peers = waiting_on(services)
    verdicts: dict[str, ServiceOutcome] = {}

    def verdict(name: str) -> ServiceOutcome:
        if name in verdicts:
            return verdicts[name]
        spec = services[name]
        said = compose_said.get(name, ())
        s = seen.get(name)
        if s is None:
            out = ServiceOutcome(
                name,
                "failed",
                "not created",
                said[0] if said else "Compose did not create it",
                compose=said,
            )
        else:
            out = _one(spec, s, peers, verdict, said)
        verdicts[name] = out
        return out

    for name in services:
        verdict(name)
    apps: dict[str, list[ServiceOutcome]] = {}
    for name, spec in services.items():
        apps.setdefault(spec.app, []).append(verdicts[name])
    return StackOutcome(
        stack, tuple(AppOutcome(stack, app, tuple(outs)) for app, outs in apps.items())
    )


def _one(
    spec: ServiceSpec,
    s: Seen,
    peers: Mapping[str, str],
    verdict: Callable[[str], ServiceOutcome],
    said: tuple[str, ...],
) -> ServiceOutcome:
    st = s.state
    described = _describe(st)
    looping = st.restarts > 0 and st.state in ("running", "restarting")
    if st.state == "running" and st.health in ("", "healthy"):
        return ServiceOutcome(spec.name, "up", described)
    if st.state == "running" and spec.peer and not looping:
        return ServiceOutcome(spec.name, "waiting", described, f"waiting for {spec.peer}", s.health)
    if st.state == "created":
        for dep in (*spec.healthy_deps, *spec.started_deps):
            v = verdict(dep)
            if v.status == "waiting":
                why = f"held back until {dep} is healthy ({v.why})"
                return ServiceOutcome(spec.name, "waiting", "created", why)
            if v.status == "failed":
                why = f"not started: {dep} did not come up"
                return ServiceOutcome(spec.name, "failed", "created", why)
        if spec.name in peers:
            why = f"waiting for {peers[spec.name]}"
            return ServiceOutcome(spec.name, "waiting", "created", why)
        why = said[0] if said else "created but never started"
        return ServiceOutcome(spec.name, "failed", "created", why, compose=said)
    if looping:
        # between two crashes it is briefly running again, and Docker shows exit code 0
        code = f"last exit code {st.exit_code}" if st.exit_code else f"{st.restarts} restarts"
        why = f"the process keeps exiting ({code})"
    elif st.state == "running" and st.health == "starting" and spec.name in peers:
        why = f"starting (waits for {peers[spec.name]})"
        return ServiceOutcome(spec.name, "waiting", described, why)
    elif st.state == "running" and st.health == "starting":
        why = said[0] if said else "still starting when lares stopped waiting"
    elif st.state == "running":
        why = "its healthcheck fails"
    elif st.oom_killed:
        why = "killed: out of memory (raise its memory limit)"
    elif st.state in ("exited", "dead", "restarting"):
        why = f"the process exited with code {st.exit_code}"
    else:
        why = st.state
    return ServiceOutcome(spec.name, "failed", described, why, s.health, s.logs, said)


def summary(outcome: Outcome) -> list[str]:
    """What did not come up and why, line by line: state, health output, log tail, Compose."""
    lines = []
    for app in outcome.apps:
        if app.status != "failed":
            continue
        lines.append(f"{app.stack}/{app.app}: {app.status}, {app.why}")
        for s in app.services:
            if s.status == "up":
                continue
            lines.append(f"  {s.service}: {s.state}")
            lines += [f"    health: {h}" for h in s.health]
            lines += [f"    | {line}" for line in s.logs]
            lines += [f"    compose: {line}" for line in s.compose]
    return lines
