"""Render each stack as a Compose file: hardened services, external shared networks, file secrets.

Every value lares writes is literal: ``$`` is escaped as ``$$`` so Compose never interpolates.
Secrets are referenced as files under ``../secrets/`` (one copy per container, owned by the uid
that reads it, and group-readable by its other readers when the catalog names them); their values
never appear here.
"""

from __future__ import annotations

from typing import Any

from lares.catalog.resolve import DEFAULT_NETWORK, Service, StackView, System
from lares.render.bundle import SECRETS_DIR, Bundle, Directory, EnvFile, File, SecretCopy
from lares.units import compose_duration, compose_size
from lares.yamlio import dump_yaml

TARGET = "home"
LABEL = "io.lares"
# Watchtower's opt-in label: with label-enable it updates only containers where it is "true",
# and it never touches one where it is "false", even with label-enable turned off
WATCHTOWER_ENABLE = "com.centurylinklabs.watchtower.enable"
HEADER = (
    "# Rendered by lares from {source}. Edit lares.yaml and run `lares render` / `lares up`;\n"
    "# changes made here are replaced on the next apply.\n"
)


def _literal(value: str) -> str:
    return value.replace("$", "$$")


def _secret_name(service: Service, secret: str) -> str:
    return f"{service.name}.{secret}"


def service_block(service: Service, stack: StackView) -> dict[str, Any]:
    """The Compose service mapping for one resolved container."""
    spec = service.spec
    out: dict[str, Any] = {
        # with the digest lares.lock recorded, a tag moved by its registry is never run unseen
        "image": f"{service.image}@{service.digest}" if service.digest else service.image,
        "container_name": service.name,
        "restart": "unless-stopped",
    }
    if spec.init:
        # Docker's init (tini) as PID 1 passes SIGTERM on and reaps zombies: a shell or busybox
        # as PID 1 ignores SIGTERM, so every stop would wait out the 10 s grace and be killed.
        out["init"] = True
    if service.user:
        out["user"] = service.user
    if service.command:
        out["command"] = [_literal(c) for c in service.command]
    if service.entrypoint:
        out["entrypoint"] = [_literal(c) for c in service.entrypoint]
    out["read_only"] = spec.read_only
    if service.tmpfs:
        out["tmpfs"] = list(service.tmpfs)
    out["cap_drop"] = ["ALL"]
    if spec.cap_add:
        out["cap_add"] = sorted(spec.cap_add)
    out["security_opt"] = ["no-new-privileges:true"]
    if spec.privileged:
        out["privileged"] = True
    if service.devices:
        out["devices"] = list(service.devices)
    if service.group_add:
        out["group_add"] = list(service.group_add)
    out["mem_reservation"] = compose_size(service.memory_reservation)
    out["mem_limit"] = compose_size(service.memory_limit)
    out["pids_limit"] = service.pids
    if service.cpus:
        out["cpus"] = service.cpus
    if spec.shm_size:
        out["shm_size"] = compose_size(spec.shm_size)
    if service.environment:
        out["environment"] = {k: _literal(v) for k, v in sorted(service.environment.items())}
    if service.env_secrets:
        out["env_file"] = [f"../{SECRETS_DIR}/{service.name}.env"]
    if service.secrets:
        out["secrets"] = [
            {"source": _secret_name(service, s), "target": s} for s in service.secrets
        ]
    volumes = list(service.volumes)
    if spec.docker_socket and not any("docker.sock" in v for v in volumes):
        mode = "ro" if spec.docker_socket == "ro" else "rw"
        volumes.append(f"/var/run/docker.sock:/var/run/docker.sock:{mode}")
    if volumes:
        out["volumes"] = [_literal(v) for v in volumes]
    if service.network_mode:
        out["network_mode"] = service.network_mode
    else:
        out["networks"] = {n: {} for n in service.networks}
    if service.ports and service.network_mode != "host":
        out["ports"] = [p.compose() for p in service.ports]
    if service.healthcheck:
        hc = service.healthcheck
        out["healthcheck"] = {
            "test": [_literal(t) for t in hc.test],
            "interval": compose_duration(hc.interval),
            "timeout": compose_duration(hc.timeout),
            "retries": hc.retries,
            "start_period": compose_duration(hc.start_period),
        }
    depends = dict(service.depends_on)
    if service.network_mode and service.network_mode.startswith("service:"):
        depends.setdefault(service.network_mode.split(":", 1)[1], "service_started")
    if depends:
        out["depends_on"] = {name: {"condition": cond} for name, cond in depends.items()}
    if spec.stop_grace_period:
        out["stop_grace_period"] = compose_duration(spec.stop_grace_period)
    out["labels"] = {
        f"{LABEL}.stack": stack.name,
        f"{LABEL}.app": service.app,
        f"{LABEL}.container": service.key,
        WATCHTOWER_ENABLE: "true" if spec.auto_update else "false",
    }
    if spec.peer:
        out["labels"][f"{LABEL}.peer"] = spec.peer
    return out


def render_stack(system: System, stack: StackView, source: str) -> tuple[File, Bundle]:
    """One stack's compose file and the secrets it refers to."""
    services: dict[str, Any] = {}
    networks: set[str] = set()
    secrets: dict[str, Any] = {}
    copies: list[SecretCopy] = []
    env_files: list[EnvFile] = []
    dirs: list[Directory] = []
    appdata = system.blueprint.paths.appdata.rstrip("/") + "/"
    for service in stack.services:
        dirs.extend(_owned_dirs(service, appdata))
        services[service.name] = service_block(service, stack)
        networks.update(n for n in service.networks if n != DEFAULT_NETWORK)
        for sid in service.secrets:
            path = f"{SECRETS_DIR}/{service.name}/{sid}"
            secrets[_secret_name(service, sid)] = {"file": f"../{path}"}
            copies.append(SecretCopy(sid, path, service.reader_uid, service.reader_gid))
        if service.env_secrets:
            env_files.append(
                EnvFile(f"{SECRETS_DIR}/{service.name}.env", dict(service.env_secrets))
            )
    doc: dict[str, Any] = {"name": stack.name, "services": services}
    if networks:
        doc["networks"] = {n: {"name": n, "external": True} for n in sorted(networks)}
    if secrets:
        doc["secrets"] = dict(sorted(secrets.items()))
    text = HEADER.format(source=source) + dump_yaml(doc)
    specs = {}
    for app in stack.apps:
        for name, spec in app.app.secrets.items():
            specs[f"{app.id}_{name}"] = spec
    return File(f"{stack.name}/compose.yaml", text), Bundle(
        {}, specs, tuple(copies), tuple(env_files), tuple(dirs)
    )


def _owned_dirs(service: Service, appdata: str) -> list[Directory]:
    """App-data folders a non-root container mounts, to create owned by it."""
    if service.uid is None or service.uid == 0:
        return []
    out = []
    for volume in service.volumes:
        host = volume.split(":", 1)[0]
        # a name with a dot is taken for a file (a config file mounted on its own)
        if host.startswith(appdata) and "." not in host.rsplit("/", 1)[-1]:
            out.append(Directory(host, service.uid, service.gid or service.uid))
    return out


def render_networks(system: System, source: str = "lares.yaml") -> File:
    """The shared networks, declared once: deploy creates them before any stack."""
    nets = system.blueprint.network.docker
    doc = {
        "networks": {
            name: {
                "subnet": str(net.subnet),
                "internal": net.internal,
                "purpose": net.purpose,
            }
            for name, net in nets.items()
        }
    }
    return File("networks.yaml", HEADER.format(source=source) + dump_yaml(doc))


def render(system: System, source: str = "lares.yaml") -> Bundle:
    """Every stack's compose file and the shared network declarations."""
    files = {}
    bundle = Bundle()
    for stack in system.stacks:
        if not stack.apps:
            continue
        file, extra = render_stack(system, stack, source)
        files[file.path] = file
        bundle = bundle.merge(extra)
    net = render_networks(system, source)
    files[net.path] = net
    return Bundle(files, bundle.secrets, bundle.copies, bundle.env_files, bundle.dirs)
