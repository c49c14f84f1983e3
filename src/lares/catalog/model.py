"""What lares knows about an app: its containers, how to harden them, back them up and reach them.

One YAML file per app under ``catalog/apps/``; each is validated by :class:`App`. Values in
``volumes``, ``environment`` and ``command`` may use placeholders that the renderer fills from the
blueprint (see :data:`PLACEHOLDERS`).

Hardening is the default: a container runs as a non-root ``user``, with a read-only root, no
capabilities, ``no-new-privileges``, memory and pid limits and a healthcheck. Every departure from
that is declared in ``exceptions`` with a one-line reason, and ``lares plan`` reports any that is
not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lares.blueprint.model import HostPaths
from lares.catalog.capabilities import CAPABILITIES
from lares.units import ByteSize, ContainerMemory, Duration

NAME_RE = r"^[a-z0-9][a-z0-9-]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_RE)]
SecretName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]

#: Placeholders a catalog value may use, and what they become.
PLACEHOLDERS = {
    "appdata": "the app's folder under paths.appdata (e.g. /DATA/AppData/nextcloud)",
    "pool": "the data pool's mount point (paths.pool)",
    "folder:NAME": "a pool folder from paths.folders (e.g. {folder:photos})",
    "tz": "host.timezone",
    "puid": "host.puid",
    "pgid": "host.pgid",
    "domain": "network.domain, the LAN domain",
    "public_domain": "access.domain",
    "host_address": "network.host_address",
    "service:NAME": "the Compose service name of this app's container NAME",
    "url": "the app's own URL (public when exposed publicly, else its LAN URL); web.proxy only",
    "urls": "every URL the app answers at, LAN and public (urls:comma joins with commas); "
    "web.proxy only",
    "hosts": "every host name the app answers to, LAN and public (hosts:comma); web.proxy only",
    "trusted_proxies": "the subnets the proxy and the tunnel reach the app from "
    "(trusted_proxies:comma); web.proxy only",
    "secret_file:NAME": "the path of this app's secret NAME inside the container",
    "secret:NAME": "the secret's value, passed through a 0600 env file (needs plain_env_secret)",
}
#: Placeholders that say where the proxy reaches an app: they are filled only in ``web.proxy``,
#: so every app behind the proxy takes them from one place and gets none when not proxied.
PROXY_PLACEHOLDERS = frozenset({"url", "urls", "hosts", "trusted_proxies"})
LIST_SEPARATORS = {None: " ", "space": " ", "comma": ","}
PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)(?::([a-z0-9_-]+))?\}")


def placeholders_in(texts: Iterable[str]) -> set[tuple[str, str | None]]:
    """Every (placeholder, argument) used in ``texts``."""
    return {(m.group(1), m.group(2)) for text in texts for m in PLACEHOLDER_RE.finditer(text)}


ExceptionKind = Literal[
    "root",  # runs as root (no non-root user works for this image)
    "writable_root",  # root filesystem cannot be read-only
    "capabilities",  # needs cap_add
    "devices",  # needs host devices
    "docker_socket",  # mounts the Docker socket
    "privileged",  # privileged mode
    "host_network",  # network_mode: host
    "no_healthcheck",  # the image offers no way to check health
    "plain_env_secret",  # image reads a secret only from a plain environment variable
    "bridges_stacks",  # joins the networks of other stacks
    "all_interfaces",  # publishes a port on every interface
    "own_init",  # the image's own init is PID 1 (s6-overlay must be): no Docker init (tini)
    "floating_tag",  # runs a tag that moves (latest): pinned by its digest in lares.lock
]
NetworkRole = Literal["stack", "database", "vpn", "proxied"]

#: What each exception allows, as the container must do it: an exception the container does not
#: use is refused, so a declared reason always describes a setting that is rendered.
EXCEPTION_USE: dict[str, str] = {
    "root": "runs without a `user:`",
    "writable_root": "sets `read_only: false`",
    "capabilities": "adds capabilities (`cap_add`)",
    "devices": "has `devices` or `quicksync`",
    "docker_socket": "mounts the Docker socket",
    "privileged": "sets `privileged: true`",
    "host_network": "sets `network_mode: host`",
    "no_healthcheck": "has no `healthcheck`",
    "plain_env_secret": "passes a {secret:NAME} in its environment",
    "bridges_stacks": "joins the `proxied` networks",
    "all_interfaces": "publishes a port with `bind: all`",
    "own_init": "sets `init: false` (its image's own init is PID 1)",
    "floating_tag": "has a `version` that moves (latest, stable, …)",
}
#: Tags that name no release: what they run changes under you. The embedded catalog never uses
#: one; a person's app file may, declaring ``exceptions.floating_tag``, and then ``lares up``
#: pins the digest it pulled in lares.lock (every later up runs that digest).
FLOATING_TAGS = frozenset({"latest", "stable", "edge", "nightly", "main", "master"})

_CAP_WORD = re.compile(r"\b(?:CAP_)?([A-Z][A-Z_]*[A-Z])\b")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Port(Model):
    container: int = Field(ge=1, le=65535)
    host: int | None = Field(None, ge=1, le=65535, description="defaults to the container port")
    protocol: Literal["tcp", "udp"] = "tcp"
    bind: Literal["lan", "loopback", "all"] = "lan"
    description: str | None = None

    @property
    def host_port(self) -> int:
        return self.host if self.host is not None else self.container


class Healthcheck(Model):
    test: tuple[str, ...] = Field(min_length=1, description="exec form: [CMD, arg, ...]")
    interval: Duration = 30
    timeout: Duration = 10
    retries: int = Field(3, ge=1)
    start_period: Duration = 30

    @model_validator(mode="after")
    def _exec_form(self) -> Healthcheck:
        if self.test[0] not in ("CMD", "CMD-SHELL"):
            raise ValueError("a healthcheck test starts with CMD or CMD-SHELL")
        return self


class Memory(Model):
    reservation: ContainerMemory
    limit: ContainerMemory

    @model_validator(mode="after")
    def _ordered(self) -> Memory:
        if self.limit < self.reservation:
            raise ValueError("the memory limit is below the reservation")
        return self


class QuickSync(Model):
    """What a container gets when the host has Quick Sync (``host.cpu.features``)."""

    devices: tuple[str, ...] = Field(("/dev/dri:/dev/dri",), min_length=1)
    groups: tuple[Name, ...] = Field(
        (),
        description="host groups the container's user joins to open the devices (render), by "
        "name: their gids come from host.groups, as they differ from machine to machine",
    )


class Verified(Model):
    """One upstream source read to check a container's settings against the real image."""

    source: str = Field(
        min_length=8,
        description="what was read: repository@tag:path (the Dockerfile, the entrypoint) or a "
        "documentation URL",
    )
    read: date = Field(description="the day it was read")
    facts: str = Field(
        min_length=10,
        description="what it says that the settings here depend on (user, writable paths, "
        "the *_FILE variables it reads, the healthcheck endpoint)",
    )


class Need(Model):
    """A setting the container cannot start without, checked by `lares plan` (prerequisites)."""

    env: str = Field(
        pattern=r"^[A-Z][A-Z0-9_]*$",
        description="the variable that must have a value (from the catalog or the blueprint)",
    )
    what: str = Field(min_length=5, description="what the value is, for the person to find it")
    secret: SecretName | None = Field(
        None,
        description="a secret of the app that, once set (`lares secret set`), stands in for it",
    )
    when: dict[str, str] = Field(
        default_factory=dict,
        description="only when these variables have these values (e.g. VPN_SERVICE_PROVIDER: "
        "custom)",
    )


class Container(Model):
    image: str = Field(pattern=r"^[a-z0-9][a-z0-9._/-]*(:\d+/[a-z0-9._/-]+)?$")
    version: str = Field(
        min_length=1,
        description="image tag; a floating one (latest) only with exceptions.floating_tag",
    )
    role: Literal["app", "database", "cache", "worker", "sidecar"] = "app"
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = Field(
        None, description="replaces the image's entrypoint; Docker then drops its default command"
    )
    user: str | None = Field(
        None,
        pattern=r"^(\d+|\{puid\})(:(\d+|\{pgid\}))?$",
        description="uid:gid or {puid}:{pgid}; None runs as the image's user (root)",
    )
    secret_uid: int | None = Field(
        None,
        ge=0,
        description="uid that reads secret files inside the container; defaults to the uid of "
        "`user` (0 when unset). Secret files are 0600 and owned by it: Compose bind-mounts them "
        "as they are, so an image that drops from root to another user (postgres: 70 on "
        "alpine, 999 on debian) must name that uid here",
    )
    secret_readers: tuple[Annotated[str, Field(pattern=r"^\d+:\d+$")], ...] = Field(
        (),
        description="other uid:gid that read the secret files: a process the entrypoint drops "
        "to, or a `docker exec -u` user (www-data, 33:33, running occ). They share one gid; the "
        "files are then 0640, owned by secret_uid and that group, never readable by others",
    )
    read_only: bool = True
    tmpfs: tuple[str, ...] = Field(
        (),
        description="tmpfs mounts, path[:options]; placeholders allowed, so a mount can be "
        "owned by the container's user (/run:uid={puid},gid={pgid},exec)",
    )
    cap_add: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    quicksync: QuickSync | None = Field(
        None,
        description="devices and groups for hardware transcoding, given only on a host "
        "with Quick Sync, so the app still starts on one without",
    )
    docker_socket: Literal[False, "ro", "rw"] = False
    privileged: bool = False
    network_mode: str | None = Field(None, pattern=r"^(host|service:[a-z0-9-]+)$")
    networks: tuple[NetworkRole, ...] = ("stack",)
    ports: tuple[Port, ...] = Field(
        (),
        description="published ports; with network_mode host, the host ports it listens on",
    )
    volumes: tuple[str, ...] = ()
    host_paths: HostPaths = Field(
        default_factory=dict,
        description="host paths outside paths.appdata and paths.pool that `volumes` mount (a "
        "folder and everything in it), each with a one-line reason; below /etc only read-only",
    )
    environment: dict[str, str] = Field(default_factory=dict)
    healthcheck: Healthcheck | None = None
    memory: Memory
    pids: int = Field(256, ge=16)
    cpus: float | None = Field(None, gt=0)
    shm_size: ByteSize | None = None
    depends_on: dict[Name, Literal["service_started", "service_healthy"]] = Field(
        default_factory=dict
    )
    stop_grace_period: Duration | None = None
    init: bool = Field(
        True,
        description="Docker's init (tini) as PID 1, which passes signals on and reaps zombies; "
        "false for an image whose own init must be PID 1 (s6-overlay, dumb-init)",
    )
    auto_update: bool = Field(
        False,
        description="Watchtower, when deployed, reports a rebuild of the pinned tag (and, told "
        "to update, pulls it and recreates the container; it watches only containers that opt "
        "in): for images whose publisher rebuilds the same tag with base-image fixes, never "
        "for a server the LAN depends on",
    )
    peer: str | None = Field(
        None,
        min_length=3,
        description="the outside peer its health depends on (the tunnel's server, the VPN "
        "endpoint), as shown in 'waiting for <peer>': `lares up` starts it without waiting for "
        "it to be healthy, never counts it as failed while it runs, and starts what waits for it "
        "last",
    )
    needs: tuple[Need, ...] = Field(
        (),
        description="settings it cannot start without; `lares plan` errs while one is missing "
        "(every provided secret of the app is needed too)",
    )
    exceptions: dict[ExceptionKind, str] = Field(default_factory=dict)
    verified: tuple[Verified, ...] = Field(
        (),
        description="the upstream sources these settings were checked against, at the pinned tag",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Container:
        if self.version in FLOATING_TAGS and "floating_tag" not in self.exceptions:
            raise ValueError(
                f"pin a version; {self.version!r} changes under you (or declare "
                "exceptions.floating_tag: lares then pins its digest in lares.lock)"
            )
        if any("$$" in t for t in self.texts()):
            raise ValueError(
                "write $ as the container should see it: lares escapes it for Compose ($$)"
            )
        for kind, reason in self.exceptions.items():
            if len(reason.strip()) < 10:
                raise ValueError(f"exception {kind!r} needs a one-line reason")
        unused = sorted(set(self.exceptions) - self.departures())
        if unused:
            raise ValueError(
                f"exceptions.{unused[0]} is declared, but the container does not use it: "
                f"it applies only to a container that {EXCEPTION_USE[unused[0]]}; "
                "remove the exception or make the setting it explains"
            )
        if self.cap_add:
            self._capability_reasons()
        readers = {r.split(":")[1] for r in self.secret_readers}
        if len(readers) > 1:
            raise ValueError(
                "every secret reader shares one group, which the secret files are readable by: "
                f"secret_readers name the gids {', '.join(sorted(readers))}"
            )
        if self.network_mode is not None and self.networks != ("stack",):
            raise ValueError(
                "a container with network_mode shares another's network: "
                "it cannot have networks of its own"
            )
        if self.peer is not None and self.healthcheck is None:
            raise ValueError(
                "a container whose health depends on a peer needs the healthcheck that says so"
            )
        if self.network_mode and self.network_mode.startswith("service:") and self.ports:
            raise ValueError(
                "a container sharing another's network publishes nothing itself: "
                "put the ports on the container it shares"
            )
        return self

    def departures(self) -> set[str]:
        """The exceptions this definition needs by itself (see :data:`EXCEPTION_USE`).

        The hardening plan check adds what a blueprint's overrides bring (a Docker socket in
        its volumes, a {secret:…} in its env) to the same set.
        """
        found: set[str] = set()
        if self.user is None:
            found.add("root")
        if not self.read_only:
            found.add("writable_root")
        if self.cap_add:
            found.add("capabilities")
        if self.devices or self.quicksync:
            found.add("devices")
        if self.docker_socket or any("docker.sock" in v for v in self.volumes):
            found.add("docker_socket")
        if self.privileged:
            found.add("privileged")
        if self.network_mode == "host":
            found.add("host_network")
        if self.healthcheck is None:
            found.add("no_healthcheck")
        if any(kind == "secret" for kind, _ in placeholders_in(self.environment.values())):
            found.add("plain_env_secret")
        if "proxied" in self.networks:
            found.add("bridges_stacks")
        if any(p.bind == "all" for p in self.ports):
            found.add("all_interfaces")
        if not self.init:
            found.add("own_init")
        if self.version in FLOATING_TAGS:
            found.add("floating_tag")
        return found

    def _capability_reasons(self) -> None:
        """Every added capability is named in exceptions.capabilities, and it names no other:
        the reason says what each one is for."""
        reason = self.exceptions.get("capabilities", "")
        named = {m.group(1) for m in _CAP_WORD.finditer(reason)} & CAPABILITIES
        added = {c.removeprefix("CAP_") for c in self.cap_add}
        unknown = sorted(added - CAPABILITIES)
        if unknown:
            raise ValueError(f"cap_add: {unknown[0]} is not a Linux capability")
        if reason and added - named:
            raise ValueError(
                "exceptions.capabilities gives no reason for "
                + ", ".join(sorted(added - named))
                + ": name each added capability with what it is for"
            )
        if named - added:
            raise ValueError(
                "exceptions.capabilities names "
                + ", ".join(sorted(named - added))
                + ", which cap_add does not add"
            )

    def texts(self) -> list[str]:
        """Every value that may hold placeholders: volumes, tmpfs, environment, command,
        entrypoint, user and healthcheck."""
        texts = [*self.volumes, *self.tmpfs, *self.environment.values(), *(self.command or ())]
        texts += [*(self.entrypoint or ()), *(self.healthcheck.test if self.healthcheck else ())]
        return [*texts, self.user] if self.user else texts

    def placeholders(self) -> set[tuple[str, str | None]]:
        """Every (placeholder, argument) this container uses."""
        return placeholders_in(self.texts())


class Web(Model):
    container: Name
    port: int = Field(ge=1, le=65535)
    subdomain: str = Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    scheme: Literal["http", "https"] = "http"
    health_path: str = "/"
    proxy: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str] = Field(
        default_factory=dict,
        description="environment of the web container that says how the proxy reaches it, "
        "set only while the app is served by name (exposure lan or public): the app's URL "
        "({url}, {urls}), its host names ({hosts}) and the subnets the proxy and the tunnel "
        "connect from ({trusted_proxies}), or fixed values (OVERWRITEPROTOCOL: https)",
    )


class DatabaseBackup(Model):
    container: Name
    engine: Literal["postgres", "mariadb", "sqlite"]
    user: str | None = None
    database: str | None = None
    path: str | None = Field(None, description="sqlite: the database file inside the container")
    password_secret: SecretName | None = None

    @model_validator(mode="after")
    def _complete(self) -> DatabaseBackup:
        if self.engine == "sqlite" and not self.path:
            raise ValueError("a sqlite backup names the database file (path)")
        if self.engine != "sqlite" and not self.user:
            raise ValueError(f"a {self.engine} backup names the database user")
        return self


class BackupSpec(Model):
    databases: tuple[DatabaseBackup, ...] = ()
    paths: tuple[str, ...] = Field((), description="host paths, placeholders allowed")
    exclude: tuple[str, ...] = ()

    def key(self, db: DatabaseBackup) -> str:
        """The name ``db`` goes by in snapshot tags, file names and reports: its container,
        and when that container holds several databases, the file's stem (or the database's
        name) after it — ``emby-library`` for /config/data/library.db of emby."""
        if sum(d.container == db.container for d in self.databases) == 1:
            return db.container
        which = PurePosixPath(db.path).stem if db.path else (db.database or "all")
        return f"{db.container}-{re.sub(r'[^A-Za-z0-9._-]+', '-', which)}"

    @model_validator(mode="after")
    def _keys_unique(self) -> BackupSpec:
        keys = [self.key(db) for db in self.databases]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(
                f"two backup databases would both be named {twice[0]!r}: give them "
                "files (or database names) that differ"
            )
        return self


class SecretSpec(Model):
    length: int = Field(32, ge=12, le=256)
    alphabet: Literal["alnum", "hex", "urlsafe"] = "alnum"
    description: str | None = None
    provided: bool = Field(
        False,
        description="the person supplies the value (a tunnel credential, a VPN key) with "
        "`lares secret set`; lares never generates it",
    )


class Replaces(Model):
    service: str
    eur_month: float = Field(ge=0)


class App(Model):
    id: Name
    name: str
    description: str
    category: Literal[
        "infrastructure", "media", "productivity", "security", "files", "photos", "notes", "tools"
    ]
    homepage: str | None = None
    admin: bool = Field(False, description="an admin UI: never exposed publicly")
    exposure: Literal["none", "lan", "public"] | None = None
    web: Web | None = None
    secrets: dict[SecretName, SecretSpec] = Field(default_factory=dict)
    containers: dict[Name, Container] = Field(min_length=1)
    backup: BackupSpec | None = None
    replaces: tuple[Replaces, ...] = ()
    requires: tuple[Literal["quicksync", "tun", "docker"], ...] = ()
    release_notes: str | None = Field(
        None,
        pattern=r"^https://[^\s{}]+(\{(version|tag)\}[^\s{}]*)+$",
        description="the upstream page of a release, {version} its number (33.0.7 of "
        "33.0.7-apache or of v33.0.7) and {tag} the image tag as is, e.g. "
        "https://github.com/nextcloud/server/releases/tag/v{version}; shown by lares outdated "
        "and lares update for the version they offer",
    )
    majors: Literal["any", "one-at-a-time"] = Field(
        "any",
        description="one-at-a-time: upstream upgrades through every major version in turn, so "
        "`lares update --major` moves one major at a time",
    )
    notes: str | None = None

    @model_validator(mode="after")
    def _references(self) -> App:
        if self.id not in self.containers:
            raise ValueError(f"the app's main container must be named after the app ({self.id!r})")
        names = set(self.containers)
        if self.web is not None and self.web.container not in names:
            raise ValueError(f"web.container {self.web.container!r} is not one of the containers")
        if self.web is not None:
            self._proxy_values(self.web)
        for cname, container in self.containers.items():
            for dep in container.depends_on:
                if dep not in names:
                    raise ValueError(f"{cname} depends on {dep!r}, which is not a container here")
            for need in container.needs:
                if need.secret is not None and need.secret not in self.secrets:
                    raise ValueError(f"{cname}: need {need.env} names an undeclared secret")
            if container.network_mode and container.network_mode.startswith("service:"):
                target = container.network_mode.split(":", 1)[1]
                if target not in names:
                    raise ValueError(f"{cname} shares the network of unknown container {target!r}")
            for kind, arg in container.placeholders():
                if kind not in {p.split(":")[0] for p in PLACEHOLDERS}:
                    raise ValueError(f"{cname}: unknown placeholder {{{kind}}}")
                if kind in ("secret_file", "secret") and arg not in self.secrets:
                    raise ValueError(f"{cname}: {{{kind}:{arg}}} names an undeclared secret")
                if kind == "service" and arg not in names:
                    raise ValueError(f"{cname}: {{service:{arg}}} names an unknown container")
                if kind in PROXY_PLACEHOLDERS:
                    raise ValueError(
                        f"{cname}: {{{kind}}} is filled only in web.proxy: move the variable "
                        "there, so it is set from where the proxy reaches the app"
                    )
        if self.backup:
            for db in self.backup.databases:
                if db.container not in names:
                    raise ValueError(f"backup database container {db.container!r} is unknown")
        return self

    def _proxy_values(self, web: Web) -> None:
        own = self.containers[web.container].environment
        for var, value in web.proxy.items():
            if var in own:
                raise ValueError(f"{var} is set both in web.proxy and in {web.container}'s env")
            for kind, arg in placeholders_in([value]):
                if kind not in PROXY_PLACEHOLDERS:
                    raise ValueError(
                        f"web.proxy.{var}: {{{kind}}} is not a proxy placeholder "
                        f"({', '.join(sorted(PROXY_PLACEHOLDERS))})"
                    )
                if kind != "url" and arg not in LIST_SEPARATORS:
                    raise ValueError(f"web.proxy.{var}: {{{kind}:{arg}}}: write space or comma")

    @property
    def main(self) -> Container:
        return self.containers[self.id]

    @property
    def default_exposure(self) -> str:
        if self.exposure is not None:
            return self.exposure
        return "lan" if self.web is not None else "none"

    def service_name(self, container: str) -> str:
        """The Compose service (and container) name of one of this app's containers."""
        return self.id if container == self.id else f"{self.id}-{container}"
