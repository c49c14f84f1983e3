"""The blueprint's stacks: their apps (settings and overrides), how they are reached."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from lares.blueprint.fields import Exposure, HostPaths, Model, Name
from lares.hostpaths import volume_target
from lares.units import ContainerMemory

# ── apps and stacks ────────────────────────────────────────────────────────────────────────


class MemoryOverride(Model):
    reservation: ContainerMemory | None = None
    limit: ContainerMemory | None = None

    @model_validator(mode="after")
    def _ordered(self) -> MemoryOverride:
        if (
            self.limit is not None
            and self.reservation is not None
            and self.limit < self.reservation
        ):
            raise ValueError("the memory limit is below the reservation")
        return self


class PortOverride(Model):
    """A port the container publishes: in place of the catalog's binding of the same container
    port and protocol, or besides them."""

    container: int = Field(ge=1, le=65535)
    host: int | None = Field(None, ge=1, le=65535, description="defaults to the container port")
    protocol: Literal["tcp", "udp"] = "tcp"
    bind: Literal["lan", "loopback", "all"] = "lan"

    @property
    def host_port(self) -> int:
        return self.host if self.host is not None else self.container


class ContainerOverride(Model):
    """Per-container changes to a catalog app. A volume for a container path the catalog
    mounts replaces that mount, and a port for a container port it publishes replaces that
    binding; the others are added."""

    image: str | None = None
    version: str | None = None
    memory: MemoryOverride | None = None
    cpus: float | None = Field(None, gt=0)
    pids: int | None = Field(None, ge=16)
    env: dict[str, str] = Field(default_factory=dict)
    volumes: tuple[str, ...] = ()
    host_paths: HostPaths = Field(
        default_factory=dict,
        description="host paths outside paths.appdata and paths.pool that `volumes` may mount "
        "(a folder and everything in it), each with a one-line reason, e.g. "
        "/mnt/usb/media: the old media library on a USB disk",
    )
    command: tuple[str, ...] | None = None
    ports: tuple[PortOverride, ...] = Field(
        (),
        description="published ports: one for a container port the catalog publishes replaces "
        "its binding (another host port, or loopback), others are published besides",
    )

    @model_validator(mode="after")
    def _once_each(self) -> ContainerOverride:
        seen: set[tuple[int, str]] = set()
        for p in self.ports:
            if (p.container, p.protocol) in seen:
                raise ValueError(f"ports: {p.container}/{p.protocol} is given twice")
            seen.add((p.container, p.protocol))
        targets = [t for v in self.volumes if (t := volume_target(v)) is not None]
        twice = sorted({t for t in targets if targets.count(t) > 1})
        if twice:
            raise ValueError(f"volumes: two volumes mount the container path {twice[0]}")
        return self


class Placement(Model):
    """Where an app runs when the blueprint has several ``hosts:``: one host by name, or any host
    whose labels include all of ``labels``. Every container of the app runs there."""

    host: Name | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_way(self) -> Placement:
        if (self.host is None) == (not self.labels):
            raise ValueError("give either host: NAME or labels: {key: value}")
        return self


class AppSettings(ContainerOverride):
    """A catalog app placed in a stack, with the person's changes.

    ``image``, ``version``, ``memory``, ``env``, ``volumes`` and ``command`` apply to the app's
    main container; ``containers`` changes the others by name.
    """

    enabled: bool = True
    exposure: Exposure | None = None
    subdomain: str | None = Field(None, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    containers: dict[Name, ContainerOverride] = Field(default_factory=dict)
    placement: Placement | None = Field(
        None, description="which of hosts: runs the app (default: the host: machine)"
    )


class Stack(Model):
    description: str | None = None
    network: Name | None = Field(None, description="the Docker network the stack's apps share")
    depends_on: tuple[Name, ...] = ()
    apps: dict[Name, AppSettings] = Field(default_factory=dict)

    @field_validator("apps", mode="before")
    @classmethod
    def _list_or_map(cls, value: Any) -> Any:
        # `apps: [sonarr, radarr]` is shorthand for `apps: {sonarr: {}, radarr: {}}`.
        if isinstance(value, list | tuple):
            out: dict[Any, Any] = {}
            for item in value:
                if isinstance(item, str):
                    out[item] = {}
                else:
                    raise ValueError("list each app by name, or use a mapping of name: settings")
            return out
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value


# ── access ─────────────────────────────────────────────────────────────────────────────────


class Tunnel(Model):
    provider: Literal["pangolin"] = "pangolin"
    endpoint: str = Field(pattern=r"^https://\S+$", description="the Pangolin dashboard URL")
    site: Name = Field(description="the Pangolin site this server connects as")
    vps_address: IPv4Address | None = None
    sso: bool = Field(True, description="require Pangolin SSO in front of public apps")


class Proxy(Model):
    kind: Literal["caddy"] = "caddy"
    tls: Literal["internal", "acme"] = "internal"


class Access(Model):
    domain: str | None = Field(None, pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.[a-z]{2,}$")
    tunnel: Tunnel | None = None
    proxy: Proxy = Proxy()
