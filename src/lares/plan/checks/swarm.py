"""What Docker Swarm does not apply of each app, for `lares plan --target swarm`.

`docker stack deploy` says only "Ignoring unsupported options" for what it drops (Engine 20.10:
``network_mode``, ``privileged``, ``devices``, ``security_opt``; the short ``tmpfs`` form without
a word). The Swarm render (:mod:`lares.render.swarm`) leaves those keys out; this check says,
app by app, what that costs: an error where it breaks the app or its isolation, a warning with
what is lost otherwise, and the ways out. Without ``--target swarm`` it finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from lares.catalog.resolve import AppView, Service
from lares.plan.context import PlanContext
from lares.plan.findings import Finding
from lares.render.swarm import lost_tmpfs_options
from lares.severity import PlanSeverity

ID = "swarm"
DESCRIPTION = "what Docker Swarm does not apply of each app (lares plan --target swarm)"
COMPOSE_WAY_OUT = (
    "keep this app on Docker Compose: run its stack with `lares up` on one machine, outside "
    "the Swarm blueprint"
)
#: The longest name Swarm gives a service (``<stack>_<service>``): a DNS label.
SERVICE_NAME_MAX = 63
DAEMON_JSON = (
    'set "no-new-privileges": true in /etc/docker/daemon.json on every node and restart '
    "Docker: the daemon then applies it to every container"
)


def _names(services: list[Service]) -> str:
    return ", ".join(s.name for s in services)


def _app_findings(ctx: PlanContext, app: AppView) -> Iterator[Finding]:
    def finding(severity: PlanSeverity, message: str, hint: str) -> Finding:
        return ctx.finding(ID, severity, message, *app.path, hint=hint)

    services = list(app.services)
    for s in services:
        mode = s.network_mode or ""
        if mode.startswith("service:"):
            peer = mode.split(":", 1)[1]
            yield finding(
                "error",
                f"Swarm ignores {s.name}'s network_mode {mode}: it gets a network of its own "
                f"and its traffic no longer goes only through {peer} (the isolation is broken)",
                COMPOSE_WAY_OUT,
            )
    privileged = [s for s in services if s.spec.privileged]
    if privileged:
        yield finding(
            "error",
            f"Swarm ignores privileged for {_names(privileged)}: it starts without the devices "
            "and capabilities it asks for",
            COMPOSE_WAY_OUT,
        )
    for s in services:
        needed = [d for d in s.devices if d in s.spec.devices]
        gpu = [d for d in s.devices if d not in s.spec.devices]
        if needed:
            yield finding(
                "error",
                f"Swarm ignores devices: {s.name} does not get {', '.join(needed)}, "
                "which it cannot work without",
                COMPOSE_WAY_OUT,
            )
        if gpu:
            yield finding(
                "warning",
                f"Swarm ignores devices: {s.name} does not get {', '.join(gpu)} (Quick Sync), "
                "so it transcodes on the CPU"
                + (" (nor group_add, which lets it open them)" if s.group_add else ""),
                "acceptable for a few streams; for hardware transcoding keep this app on "
                "Docker Compose (`lares up` on the machine with the GPU)",
            )
    yield finding(
        "warning",
        f"Swarm ignores security_opt: no-new-privileges is not set for {_names(services)}",
        DAEMON_JSON,
    )
    for s in services:
        for entry in s.tmpfs:
            lost = lost_tmpfs_options(entry)
            if lost:
                path = entry.partition(":")[0]
                yield finding(
                    "warning",
                    f"{s.name}'s tmpfs {path} loses {','.join(lost)}: Swarm's tmpfs mount "
                    "carries only its size, so it is noexec and owned by root (mode 1777)",
                    "an image whose init runs from it (s6-overlay on /run) may not start; "
                    "check the app after `docker stack deploy`, or keep it on Docker Compose",
                )
    env = [s for s in services if s.env_secrets]
    if env:
        yield finding(
            "warning",
            f"{_names(env)} {'reads' if len(env) == 1 else 'read'} secrets from the "
            "environment: docker stack deploy copies the env file into the service, where "
            "`docker service inspect` shows the values",
            "only people with access to the Swarm manager's Docker socket see them; prefer "
            "images that read *_FILE secrets",
        )
    socket = [s for s in services if s.spec.docker_socket]
    if socket:
        yield finding(
            "warning",
            f"{_names(socket)} {'uses' if len(socket) == 1 else 'use'} the Docker socket of the "
            "node it runs on: it sees that node's containers only, and the ones it recreates "
            "are Swarm's tasks, which Swarm replaces",
            "under Swarm, change versions in the blueprint and deploy the stack again, or keep "
            "this app on Docker Compose",
        )
    for s in services:
        full = f"{app.stack}_{s.name}"
        if len(full) > SERVICE_NAME_MAX:
            yield finding(
                "error",
                f"Swarm names {s.name}'s service {full}, {len(full)} characters: "
                f"`docker stack deploy` refuses names over {SERVICE_NAME_MAX}",
                f"give stack {app.stack} or app {app.id} a shorter name",
            )
    loopback = [s for s in services if any(p.bind == "loopback" for p in s.ports)]
    if loopback:
        yield finding(
            "warning",
            f"{_names(loopback)} publish on 127.0.0.1 under Compose; Swarm has no host "
            "address for a port, so it is open on every address of the node",
            "drop the port and reach the app through the proxy, or firewall it on the node",
        )


def check(ctx: PlanContext) -> Iterator[Finding]:
    if ctx.target != "swarm":
        return
    for app in ctx.system.apps:
        yield from _app_findings(ctx, app)
