"""Render each stack as a `docker stack deploy -c` file for Docker Swarm.

One self-contained file per stack, ``swarm/<stack>.yaml``. Each service is the compose render's
service (:func:`lares.render.compose.service_block`) carried over to what Swarm applies
(Engine 20.10, see TESTING.md):

- placement: ``node.hostname == <host>`` for an app placed on a host, ``node.labels.<k> == <v>``
  for one placed by label, the ``host:`` machine otherwise;
- ``deploy.resources`` (memory and pids limits, memory reservation, cpus) instead of
  ``mem_limit``/``pids_limit``, which Swarm rejects, and ``restart_policy`` instead of
  ``restart``, which it ignores;
- ``update_config``/``rollback_config``: a failed update rolls back; ``start-first`` only for a
  service with nothing to write and no host port (a database, or an app on its data folder,
  must never have two writers at once, and a host port cannot be bound twice), ``stop-first``
  for the rest;
- tmpfs in the long syntax (``type: tmpfs``): Swarm drops the short form without a word;
- file secrets (owned by the uid that reads them, as the compose render places them) and, for
  the files lares renders for an app (the Caddyfile, Pi-hole's records), Swarm configs;
- published ports in host mode on the node that runs the app (not the routing mesh, which
  would open them on every node).

Networks are overlays: the blueprint's shared networks are declared (``name:`` kept, so Swarm
does not prefix them) by the first stack in deploy order that uses them and are external in the
others; database networks stay internal; a network whose containers run on more than one host
is ``encrypted`` (IPsec between the nodes: overlay traffic is plain VXLAN on the LAN otherwise).
``network_mode: host`` becomes Swarm's ``host`` network.

Not carried, because Swarm ignores or has no such thing: ``container_name`` (Swarm names
tasks), ``depends_on`` (stacks start together; services retry until their peer answers),
``security_opt`` (no-new-privileges must come from each node's daemon.json), ``privileged``,
``devices``, ``network_mode: service:`` — each loss is a finding of `lares plan --target
swarm` (the ``swarm`` check) and a line of ``swarm/NOTES.txt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lares.blueprint.model import Blueprint
from lares.catalog.model import SecretSpec
from lares.catalog.resolve import DEFAULT_NETWORK, Service, StackView, System
from lares.render import compose
from lares.render.bundle import Bundle, Directory, EnvFile, File, SecretCopy
from lares.units import compose_duration, compose_size, parse_size
from lares.yamlio import dump_yaml

TARGET = "swarm"
DIR = "swarm"
HOST_NETWORK = "host"  # Swarm's network for containers on the node's own network stack
VERSION = "3.9"
HEADER = (
    "# Rendered by lares from {source} for Docker Swarm, to deploy in the order NOTES.txt gives:\n"
    "#   docker stack deploy -c {stack}.yaml {stack}\n"
    "# Edit lares.yaml and run `lares render --target swarm`; changes here are replaced.\n"
)
#: compose keys Swarm ignores or rejects, dropped here (what they did is in NOTES.txt);
#: group_add and shm_size pass docker stack config, but the CLI's conversion to a service spec
#: has no place for them (docker/cli cli/compose/convert/service.go), so they vanish unsaid
DROPPED = (
    "group_add",
    "shm_size",
    "container_name",
    "restart",
    "security_opt",
    "privileged",
    "devices",
    "network_mode",
    "depends_on",
    "mem_limit",
    "mem_reservation",
    "pids_limit",
    "cpus",
    "tmpfs",
)


def constraints(bp: Blueprint, service: Service) -> list[str]:
    settings = bp.stacks[service.stack].apps[service.app]
    placement = settings.placement
    if placement is not None and placement.labels:
        return [f"node.labels.{k} == {v}" for k, v in sorted(placement.labels.items())]
    return [f"node.hostname == {placement.host if placement else bp.host.name}"]


def writes(service: Service) -> bool:
    """Whether the container writes to a host folder (so two copies would be two writers)."""
    binds = [v for v in service.volumes if not v.startswith("./")]
    return any("ro" not in (v.split(":")[2].split(",") if v.count(":") >= 2 else []) for v in binds)


def update_order(service: Service) -> str:
    """start-first only when a second copy next to the first harms nothing."""
    if service.spec.role == "database" or writes(service) or service.ports:
        return "stop-first"
    if service.network_mode == "host" or service.spec.docker_socket == "rw":
        return "stop-first"
    if service.spec.peer:  # one identity at its outside peer (a tunnel, a VPN): one at a time
        return "stop-first"
    return "start-first"


def tmpfs_mount(entry: str) -> dict[str, Any]:
    """A short-form tmpfs (path[:options]) in the long syntax Swarm applies.

    docker stack deploy's long syntax carries only the size (its loader drops ``mode``): the
    mount is then Docker's default, mode 1777 and noexec, nosuid, nodev.
    """
    path, _, options = entry.partition(":")
    mount: dict[str, Any] = {"type": "tmpfs", "target": path}
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        if key == "size":
            mount["tmpfs"] = {"size": parse_size(value)}
    return mount


def lost_tmpfs_options(entry: str) -> list[str]:
    """The options of a short tmpfs that the long syntax cannot carry (all but the size)."""
    _, _, options = entry.partition(":")
    return [o for o in options.split(",") if o and o.split("=", 1)[0] != "size"]


def _deploy(bp: Blueprint, service: Service) -> dict[str, Any]:
    limits: dict[str, Any] = {"memory": compose_size(service.memory_limit), "pids": service.pids}
    if service.cpus:
        limits["cpus"] = str(service.cpus)
    order = update_order(service)
    monitor = "30s"
    if service.healthcheck:
        hc = service.healthcheck
        monitor = compose_duration(hc.start_period + hc.interval * hc.retries)
    return {
        "replicas": 1,
        "placement": {"constraints": constraints(bp, service)},
        "resources": {
            "limits": limits,
            "reservations": {"memory": compose_size(service.memory_reservation)},
        },
        "restart_policy": {"condition": "any", "delay": "5s"},
        "update_config": {
            "parallelism": 1,
            "order": order,
            "failure_action": "rollback",
            "monitor": monitor,
        },
        "rollback_config": {"parallelism": 1, "order": order, "failure_action": "pause"},
    }


def _ports(service: Service) -> list[dict[str, Any]]:
    return [
        {"target": p.container, "published": p.host, "protocol": p.protocol, "mode": "host"}
        for p in service.ports
    ]


def service_block(
    bp: Blueprint, service: Service, stack: StackView, configs: list[dict[str, Any]]
) -> dict[str, Any]:
    """The stack-file service for one container: the compose service as Swarm applies it."""
    out = compose.service_block(service, stack)
    for key in DROPPED:
        out.pop(key, None)
    if service.secrets:
        uid, gid = service.reader_uid, service.reader_gid
        out["secrets"] = [
            {
                "source": f"{service.name}.{s}",
                "target": s,
                "uid": str(uid),
                "gid": str(gid if gid is not None else uid),
                "mode": 0o440 if gid is not None else 0o400,
            }
            for s in service.secrets
        ]
    volumes: list[Any] = [v for v in out.pop("volumes", []) if not v.startswith("./")]
    volumes.extend(tmpfs_mount(t) for t in service.tmpfs)
    if service.spec.shm_size:
        # shm_size does not reach the service; a tmpfs of that size on /dev/shm does the same
        volumes.append(
            {"type": "tmpfs", "target": "/dev/shm", "tmpfs": {"size": service.spec.shm_size}}
        )
    if volumes:
        out["volumes"] = volumes
    if configs:
        out["configs"] = configs
    if service.network_mode == "host":
        out["networks"] = {HOST_NETWORK: {}}
    elif service.network_mode:
        # Swarm ignores network_mode: service:, so the container is on the stack's network
        out["networks"] = {DEFAULT_NETWORK: {}}
    if "ports" in out:
        out["ports"] = _ports(service)
    out["deploy"] = _deploy(bp, service)
    return out


def _configs(
    service: Service, stack: StackView, home: Mapping[str, File]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The files lares renders for a container's ``./folder`` mounts, as Swarm configs: the
    mounts and the config definitions (name → file path relative to ``swarm/``)."""
    mounts: list[dict[str, Any]] = []
    defined: dict[str, str] = {}
    uid = service.uid or 0
    for volume in service.volumes:
        if not volume.startswith("./"):
            continue
        folder, target = volume[2:].split(":")[:2]
        prefix = f"{stack.name}/{folder.rstrip('/')}/"
        for path in sorted(p for p in home if p.startswith(prefix)):
            rel = path[len(prefix) :]
            name = f"{service.name}.{rel.replace('/', '.')}"
            defined[name] = path
            mounts.append(
                {
                    "source": name,
                    "target": f"{target.rstrip('/')}/{rel}",
                    "uid": str(uid),
                    "gid": str(service.gid or uid),
                    "mode": 0o444,
                }
            )
    return mounts, defined


def network_hosts(system: System) -> dict[str, set[str]]:
    """Each overlay network (blueprint networks by name, a stack's own as ``<stack>_default``)
    → the hosts its containers may run on."""
    out: dict[str, set[str]] = {}
    for service in system.services:
        if service.network_mode:
            nets = [] if service.network_mode == "host" else [DEFAULT_NETWORK]
        else:
            nets = list(service.networks)
        for net in nets:
            key = f"{service.stack}_default" if net == DEFAULT_NETWORK else net
            out.setdefault(key, set()).update(system.placed_on(service))
    return out


def _network(
    system: System, name: str, key: str, spread: dict[str, set[str]]
) -> tuple[dict[str, Any], bool]:
    """An overlay network's declaration, and whether it is encrypted."""
    net: dict[str, Any] = {"driver": "overlay"}
    if name != DEFAULT_NETWORK:
        net = {"name": name, **net}
        spec = system.blueprint.network.docker[name]
        if spec.internal:
            net["internal"] = True
        net["ipam"] = {"config": [{"subnet": str(spec.subnet)}]}
    encrypted = len(spread.get(key, ())) > 1
    if encrypted:
        net["driver_opts"] = {"encrypted": "true"}
    return net, encrypted


def render_stack(
    system: System,
    stack: StackView,
    source: str,
    home: Mapping[str, File],
    declared: set[str],
    spread: dict[str, set[str]],
) -> tuple[list[File], list[str]]:
    """One stack's file, the config files it points at, and the notes on what it drops."""
    bp = system.blueprint
    services: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    configs: dict[str, Any] = {}
    files: list[File] = []
    notes: list[str] = []
    nets: set[str] = set()
    for service in stack.services:
        mounts, defined = _configs(service, stack, home)
        block = service_block(bp, service, stack, mounts)
        services[service.name] = block
        nets.update(block.get("networks", {}))
        for sid in service.secrets:
            path = f"{compose.SECRETS_DIR}/{service.name}/{sid}"
            secrets[f"{service.name}.{sid}"] = {"file": f"../{path}"}
        for name, path in defined.items():
            configs[name] = {"file": f"./{path}"}
            files.append(File(f"{DIR}/{path}", home[path].content, home[path].mode))
        notes.extend(f"{stack.name}/{service.name}: {n}" for n in dropped(service))
    networks: dict[str, Any] = {}
    encrypted: list[str] = []
    for name in sorted(nets):
        if name == HOST_NETWORK:
            networks[name] = {"name": HOST_NETWORK, "external": True}
            continue
        key = f"{stack.name}_default" if name == DEFAULT_NETWORK else name
        if name != DEFAULT_NETWORK and name in declared:
            networks[name] = {"name": name, "external": True}
            continue
        declared.add(name)
        networks[name], secret = _network(system, name, key, spread)
        if secret:
            encrypted.append(key)
    doc: dict[str, Any] = {"version": VERSION, "services": services}
    if networks:
        doc["networks"] = networks
    if secrets:
        doc["secrets"] = dict(sorted(secrets.items()))
    if configs:
        doc["configs"] = dict(sorted(configs.items()))
    head = HEADER.format(source=source, stack=stack.name)
    if encrypted:
        head += (
            f"# encrypted: {', '.join(encrypted)}: its containers run on more than one host, and\n"
            "# overlay traffic between nodes is plain VXLAN on the LAN unless encrypted (IPsec).\n"
        )
    files.insert(0, File(f"{DIR}/{stack.name}.yaml", head + dump_yaml(doc)))
    return files, notes


def dropped(service: Service) -> list[str]:
    """What the compose service has that its Swarm service does not."""
    spec = service.spec
    out = []
    if service.network_mode and service.network_mode.startswith("service:"):
        out.append(f"network_mode {service.network_mode} (it has its own network stack)")
    if spec.privileged:
        out.append("privileged")
    if service.devices:
        out.append("devices " + ", ".join(service.devices))
    if service.group_add:
        out.append("group_add " + ", ".join(map(str, service.group_add)))
    for entry in service.tmpfs:
        lost = lost_tmpfs_options(entry)
        if lost:
            out.append(f"tmpfs {entry.partition(':')[0]} options {','.join(lost)}")
    return out


def render(system: System, source: str = "lares.yaml") -> Bundle:
    """Every stack's stack file, the config files they mount and NOTES.txt; the secrets they
    refer to are the compose render's (the same files under ``secrets/``)."""
    from lares.render import render_all

    home = render_all(system, source=source, target="home").files
    spread = network_hosts(system)
    files: dict[str, File] = {}
    notes: list[str] = []
    declared: set[str] = set()
    specs: dict[str, SecretSpec] = {}
    copies: list[SecretCopy] = []
    env_files: list[EnvFile] = []
    dirs: list[Directory] = []
    order = system.blueprint.stack_order()
    for stack in sorted(system.stacks, key=lambda s: order.index(s.name)):
        if not stack.apps:
            continue
        out, lost = render_stack(system, stack, source, home, declared, spread)
        files.update((f.path, f) for f in out)
        notes.extend(lost)
        _, extra = compose.render_stack(system, stack, source)
        specs.update(extra.secrets)
        copies.extend(extra.copies)
        env_files.extend(extra.env_files)
        dirs.extend(extra.dirs)
    text = (
        "Deploy the stacks in this order (a stack declares the shared networks it is the first\n"
        "to use; the later ones find them): "
        + ", ".join(s for s in order if f"{DIR}/{s}.yaml" in files)
        + ".\n\nNot in the stack files, because Swarm ignores it or has no such thing:\n"
        "- container_name: Swarm names the tasks <stack>_<service>.<n>\n"
        "- depends_on: the stacks start together; each service restarts until its peer answers\n"
        "- security_opt no-new-privileges: set it on every node, in /etc/docker/daemon.json:\n"
        '  "no-new-privileges": true\n'
        "- folders: bind-mount sources must exist on the node that runs the app\n"
        "- changing a secret: Swarm secrets cannot change in place; after `lares secret set`,\n"
        "  remove the stack (docker stack rm) before deploying it again\n"
    )
    text += "".join(f"- {n}\n" for n in notes)
    files[f"{DIR}/NOTES.txt"] = File(f"{DIR}/NOTES.txt", text)
    return Bundle(files, specs, tuple(copies), tuple(env_files), tuple(dirs))
