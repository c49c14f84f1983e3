"""The normalised container every audit rule reads, and the two mappings onto it.

A Compose service (as ``docker compose config --format json`` prints it) and a container (as
``docker inspect`` prints it) say the same things in different words; :func:`from_compose` and
:func:`from_inspect` turn both into one :class:`Container`, so each rule is written once and
checks files and running containers alike. Values a target cannot know stay ``None`` (a
compose file without a healthcheck may still get one from its image).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Exposure = Literal["internal", "lan", "public"]

#: Images whose containers hold a database: a network they are on is a database network.
DATABASE_IMAGE = re.compile(
    r"(^|/)(postgres|postgis|pgvecto-rs|mariadb|mysql|mongo|redis|valkey|keydb|"
    r"memcached|couchdb|influxdb|clickhouse)[^/]*$"
)


@dataclass(frozen=True)
class Port:
    """One published port: ``host_ip`` is "" when it listens on every interface."""

    host_ip: str
    host_port: int | None
    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class Mount:
    type: str  # bind | volume | tmpfs | npipe
    source: str
    target: str
    read_only: bool = False
    propagation: str = ""


@dataclass
class Container:
    """What the rules need to know about one container, from either target.

    ``project``/``service`` name it in Compose terms; ``app`` is the lares app (its label) or
    the service name. ``exposure`` and ``database_network`` are filled in once the whole
    project is known (see :func:`lares.audit.engine.annotate`).
    """

    name: str
    project: str
    service: str
    app: str
    image: str
    source: str  # the file, or "engine" for a running container
    privileged: bool = False
    network_mode: str = ""
    pid: str = ""
    ipc: str = ""
    uts: str = ""
    userns: str = ""
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    user: str = ""
    read_only: bool = False
    security_opt: tuple[str, ...] = ()
    memory: int | None = None
    cpus: float | None = None
    pids: int | None = None
    healthcheck: bool | None = None  # None: none declared here (the image may have one)
    restart: str = ""
    restart_retries: int | None = None
    ports: tuple[Port, ...] = ()
    mounts: tuple[Mount, ...] = ()
    devices: tuple[str, ...] = ()
    ulimits: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    networks: tuple[str, ...] = ()
    defaults: Mapping[str, str] = field(default_factory=dict)  # ${VAR:-default} of the file
    exposure: Exposure = "internal"
    database_network: bool = False

    @property
    def is_database(self) -> bool:
        return bool(DATABASE_IMAGE.search(self.image.split("@", 1)[0].rsplit(":", 1)[0]))

    @property
    def lares(self) -> tuple[str, str] | None:
        """(app, catalog container) for a container lares rendered, from its labels."""
        app, key = self.labels.get("io.lares.app"), self.labels.get("io.lares.container")
        return (app, key) if app and key else None


def _mapping(value: Any) -> dict[str, str]:
    """A Compose mapping, also in its list form (["KEY=value", …]) as written in a file."""
    if isinstance(value, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    out = {}
    for item in value or ():
        key, _, val = str(item).partition("=")
        out[key] = val
    return out


def _caps(values: Any) -> tuple[str, ...]:
    return tuple(sorted({str(v).upper().removeprefix("CAP_") for v in values or ()}))


def _int(value: Any) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _short_port(text: str) -> dict[str, Any]:
    """A port as written ("[ip:]host:container[/proto]"), in the long form's keys; Compose
    leaves one so when it loads a file without interpolation."""
    body, _, proto = text.partition("/")
    parts = body.rsplit(":", 2)
    if len(parts) == 1:
        return {"target": parts[0], "protocol": proto}
    ip = parts[0] if len(parts) == 3 else ""
    return {"host_ip": ip, "published": parts[-2], "target": parts[-1], "protocol": proto}


def _compose_ports(ports: Any) -> tuple[Port, ...]:
    out: list[Port] = []
    for p in ports or ():
        if not isinstance(p, Mapping):
            p = _short_port(str(p))
        # a port without a host port is published too, on one the engine picks
        first = str(p.get("published") or "").split("-", 1)[0]
        out.append(
            Port(
                str(p.get("host_ip") or ""),
                int(first) if first.isdigit() else None,
                int(target) if (target := str(p.get("target") or "0")).isdigit() else 0,
                str(p.get("protocol") or "tcp"),
            )
        )
    return tuple(out)


def _short_volume(text: str) -> dict[str, Any]:
    parts = text.split(":")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    source, target = parts[0], parts[1]
    kind = "bind" if source.startswith(("/", ".", "~", "$")) else "volume"
    return {"type": kind, "source": source, "target": target, "read_only": "ro" in parts[2:]}


def _compose_mounts(volumes: Any) -> tuple[Mount, ...]:
    volumes = [v if isinstance(v, Mapping) else _short_volume(str(v)) for v in volumes or ()]
    return tuple(
        Mount(
            str(v.get("type") or ""),
            str(v.get("source") or ""),
            str(v.get("target") or ""),
            bool(v.get("read_only")),
            str((v.get("bind") or {}).get("propagation") or ""),
        )
        for v in volumes or ()
    )


def _cpus(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "", 0) else None
    except (TypeError, ValueError):
        return None


def from_compose(
    project: str,
    service: str,
    spec: Mapping[str, Any],
    *,
    source: str,
    defaults: Mapping[str, str] | None = None,
) -> Container:
    """One service of a resolved Compose model (``docker compose config --format json``)."""
    deploy = spec.get("deploy") or {}
    limits = (deploy.get("resources") or {}).get("limits") or {}
    labels = _mapping(spec.get("labels"))
    health = spec.get("healthcheck")
    healthcheck = None
    if health:
        test = health.get("test") or []
        healthcheck = not (health.get("disable") or test[:1] == ["NONE"])
    restart = str(spec.get("restart") or "")
    retries = None
    if ":" in restart:
        restart, _, count = restart.partition(":")
        retries = _int(count)
    policy = deploy.get("restart_policy") or {}
    if not restart and policy:
        restart = {"any": "always"}.get(policy.get("condition", ""), policy.get("condition", ""))
        retries = _int(policy.get("max_attempts"))
    env = _mapping(spec.get("environment"))
    return Container(
        name=str(spec.get("container_name") or f"{project}-{service}-1"),
        project=project,
        service=service,
        app=labels.get("io.lares.app", service),
        image=str(spec.get("image") or ""),
        source=source,
        privileged=bool(spec.get("privileged")),
        network_mode=str(spec.get("network_mode") or ""),
        pid=str(spec.get("pid") or ""),
        ipc=str(spec.get("ipc") or ""),
        uts=str(spec.get("uts") or ""),
        userns=str(spec.get("userns_mode") or ""),
        cap_add=_caps(spec.get("cap_add")),
        cap_drop=_caps(spec.get("cap_drop")),
        user=str(spec.get("user") or ""),
        read_only=bool(spec.get("read_only")),
        security_opt=tuple(str(o) for o in spec.get("security_opt") or ()),
        memory=_int(spec.get("mem_limit")) or _int(limits.get("memory")),
        cpus=_cpus(spec.get("cpus")) or _cpus(limits.get("cpus")),
        pids=_int(spec.get("pids_limit")) or _int(limits.get("pids")),
        healthcheck=healthcheck,
        restart=restart,
        restart_retries=retries,
        ports=_compose_ports(spec.get("ports")),
        mounts=_compose_mounts(spec.get("volumes")),
        devices=tuple(
            str(d.get("source") if isinstance(d, Mapping) else d).split(":", 1)[0]
            for d in spec.get("devices") or ()
        ),
        ulimits=dict(spec.get("ulimits") or {}),
        environment=env,
        labels=labels,
        networks=tuple(spec.get("networks") or ()),
        defaults=dict(defaults or {}),
    )


def from_inspect(data: Mapping[str, Any]) -> Container:
    """One container as the Engine API's inspect returns it."""
    config = data.get("Config") or {}
    host = data.get("HostConfig") or {}
    labels = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
    name = str(data.get("Name") or "").lstrip("/")
    project = labels.get("com.docker.compose.project", "")
    service = labels.get("com.docker.compose.service", name)
    health = config.get("Healthcheck")
    healthcheck = None
    if health and health.get("Test"):
        healthcheck = health["Test"][:1] != ["NONE"]
    ports: list[Port] = []
    for key, bindings in (host.get("PortBindings") or {}).items():
        number, _, proto = key.partition("/")
        for b in bindings or ():
            hp = str(b.get("HostPort") or "")
            ports.append(
                Port(
                    str(b.get("HostIp") or ""),
                    int(hp) if hp.isdigit() else None,
                    int(number),
                    proto or "tcp",
                )
            )
    if host.get("PublishAllPorts"):
        for key in config.get("ExposedPorts") or {}:
            number, _, proto = key.partition("/")
            ports.append(Port("", None, int(number), proto or "tcp"))
    mounts = tuple(
        Mount(
            str(m.get("Type") or ""),
            str(m.get("Source") or ""),
            str(m.get("Destination") or ""),
            not m.get("RW", True),
            str(m.get("Propagation") or ""),
        )
        for m in data.get("Mounts") or ()
    )
    env: dict[str, str] = {}
    for item in config.get("Env") or ():
        key, _, value = str(item).partition("=")
        env[key] = value
    nano = host.get("NanoCpus") or 0
    quota, period = host.get("CpuQuota") or 0, host.get("CpuPeriod") or 100000
    cpus = nano / 1e9 if nano else (quota / period if quota > 0 else None)
    restart = host.get("RestartPolicy") or {}
    modes = {k: str(host.get(k) or "") for k in ("NetworkMode", "PidMode", "IpcMode", "UTSMode",
                                                  "UsernsMode")}  # fmt: skip
    return Container(
        name=name,
        project=project,
        service=service,
        app=labels.get("io.lares.app", service),
        image=str(config.get("Image") or data.get("Image") or ""),
        source="engine",
        privileged=bool(host.get("Privileged")),
        network_mode=modes["NetworkMode"],
        pid=modes["PidMode"],
        ipc="host" if modes["IpcMode"] == "host" else "",  # not private, shareable, none
        uts=modes["UTSMode"],
        userns=modes["UsernsMode"],
        cap_add=_caps(host.get("CapAdd")),
        cap_drop=_caps(host.get("CapDrop")),
        user=str(config.get("User") or ""),
        read_only=bool(host.get("ReadonlyRootfs")),
        security_opt=tuple(str(o) for o in host.get("SecurityOpt") or ()),
        memory=_int(host.get("Memory")),
        cpus=cpus,
        pids=_int(host.get("PidsLimit")) if (host.get("PidsLimit") or 0) > 0 else None,
        healthcheck=healthcheck,
        restart="" if restart.get("Name") in (None, "", "no") else str(restart["Name"]),
        restart_retries=_int(restart.get("MaximumRetryCount")),
        ports=tuple(ports),
        mounts=mounts,
        devices=tuple(str(d.get("PathOnHost") or "") for d in host.get("Devices") or ()),
        ulimits={
            str(u.get("Name")): {"soft": u.get("Soft"), "hard": u.get("Hard")}
            for u in host.get("Ulimits") or ()
        },
        environment=env,
        labels=labels,
        networks=tuple(((data.get("NetworkSettings") or {}).get("Networks") or {}).keys()),
    )


@dataclass(frozen=True)
class HostFiles:
    """The host's own settings a rule of the daemon and host families reads.

    ``daemon`` is daemon.json parsed; ``sshd`` the sshd directives, lower-cased, the first
    of each winning as in sshd itself; ``ufw`` the UFW commands (``ufw.sh`` as lares renders
    it, or ``ufw status verbose``'s text). Each is ``None`` when it was not read, and each rule
    only looks at the part it knows.
    """

    daemon: Mapping[str, Any] | None = None
    daemon_source: str = ""
    sshd: Mapping[str, str] | None = None
    sshd_source: str = ""
    ufw: str | None = None
    ufw_source: str = ""


def parse_sshd(text: str) -> dict[str, str]:
    """sshd_config directives, keyword lower-cased; the first value of each wins (as in
    sshd); ``Match`` blocks are left out, they apply only to some connections."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = line.replace("=", " ", 1).partition(" ")
        if key.lower() == "match":
            break
        out.setdefault(key.lower(), value.strip())
    return out
