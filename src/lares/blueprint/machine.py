"""The blueprint's machine: host (CPU, memory, what is reserved), paths, storage, network."""

from __future__ import annotations

import re
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from lares.blueprint.fields import Model, Name, RelPath, RootPath, device_path
from lares.units import ByteSize, DriveSize, HostMemory

# ── host ────────────────────────────────────────────────────────────────────────────────────

CpuFeature = Literal["quicksync", "aes-ni", "vt-x", "vt-d", "avx2", "nvenc", "vaapi"]


class Cpu(Model):
    model: str = "unknown"
    cores: int = Field(ge=1)
    threads: int = Field(ge=1)
    features: tuple[CpuFeature, ...] = ()


class Reserved(Model):
    """Memory kept back from containers."""

    os: ByteSize = 2 * 1024**3
    docker: ByteSize = 1 * 1024**3

    @property
    def total(self) -> int:
        return self.os + self.docker


class Host(Model):
    name: Name
    cpu: Cpu
    memory: HostMemory
    reserved: Reserved = Reserved()
    timezone: str = "Etc/UTC"
    puid: int = Field(1000, ge=0, description="uid that owns app data on the host")
    pgid: int = Field(1000, ge=0, description="gid that owns app data on the host")
    groups: dict[Name, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="gids of host groups that containers join, e.g. render for /dev/dri "
        "(`getent group render`)",
    )


#: A Swarm node label's key (``docker node update --label-add KEY=VALUE``).
LABEL_KEY_RE = r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$"


class Node(Model):
    """One machine under ``hosts:``, for a blueprint that spans several (Docker Swarm).

    The machine ``host:`` describes is the first and default one: an entry with its name takes
    its memory, CPU and reserve from ``host:`` unless given here, and an app without
    ``placement:`` runs there.
    """

    name: Name = Field(description="the node's hostname, as `docker node ls` shows it")
    address: IPv4Address = Field(description="the node's LAN address")
    memory: HostMemory | None = Field(None, description="required for every host but host:")
    cpu: Cpu | None = None
    reserved: Reserved | None = None
    labels: dict[Annotated[str, Field(pattern=LABEL_KEY_RE)], str] = Field(
        default_factory=dict,
        description="Swarm node labels that `placement: {labels: ...}` selects on",
    )
    paths: tuple[RootPath, ...] | None = Field(
        None,
        description="the folders that exist on this machine (its disks' mount points); bind "
        "mounts of the apps placed here must be inside one. Default: paths.appdata and "
        "paths.pool",
    )
    reach: tuple[Name, ...] = Field(
        (),
        description="other hosts this one reaches although its address is outside network.lan "
        "(a routed subnet, a VPN between sites)",
    )


# ── paths and storage ──────────────────────────────────────────────────────────────────────

DEFAULT_FOLDERS = {
    "tv": "media/tv",
    "movies": "media/movies",
    "music": "media/music",
    "books": "media/books",
    "downloads": "downloads",
    "documents": "documents",
    "photos": "photos",
    "nextcloud": "nextcloud",
    "backups": "backups",
}


class Paths(Model):
    appdata: RootPath = Field(description="container configuration and databases (OS disk)")
    pool: RootPath = Field(description="the data pool's mount point")
    folders: dict[Name, RelPath] = Field(default_factory=lambda: dict(DEFAULT_FOLDERS))

    def folder(self, name: str) -> str:
        """Absolute path of the pool folder ``name``."""
        return f"{self.pool}/{self.folders[name]}"


MdadmLevel = Literal["raid0", "raid1", "raid5", "raid6", "raid10"]
BtrfsProfile = Literal["single", "raid0", "raid1", "raid1c3", "raid1c4", "raid10", "raid5", "raid6"]
MDADM_LEVELS = ("raid0", "raid1", "raid5", "raid6", "raid10")
BTRFS_PROFILES = ("single", "raid0", "raid1", "raid1c3", "raid1c4", "raid10", "raid5", "raid6")


class Device(Model):
    path: Annotated[str, AfterValidator(device_path)] = Field(pattern=r"^/dev/\S+$")
    size: DriveSize
    model: str | None = None


class Pool(Model):
    engine: Literal["mdadm", "btrfs"]
    level: str
    filesystem: Literal["btrfs", "ext4", "xfs"] = "btrfs"
    mount: RootPath
    devices: tuple[Device, ...] = Field(min_length=1)
    metadata: str | None = Field(None, description="btrfs metadata profile (btrfs engine)")
    compression: str | None = "zstd:3"

    @model_validator(mode="after")
    def _level_fits_engine(self) -> Pool:
        allowed = MDADM_LEVELS if self.engine == "mdadm" else BTRFS_PROFILES
        if self.level not in allowed:
            raise ValueError(
                f"level {self.level!r} is not a {self.engine} level; use one of "
                + ", ".join(allowed)
            )
        if self.engine == "btrfs" and self.filesystem != "btrfs":
            raise ValueError("a btrfs-native pool has filesystem btrfs")
        if self.metadata is not None and self.metadata not in BTRFS_PROFILES:
            raise ValueError(f"metadata {self.metadata!r} is not a btrfs profile")
        return self


class Storage(Model):
    os_disk: Device | None = None
    pools: dict[Name, Pool] = Field(default_factory=dict)


# ── network ────────────────────────────────────────────────────────────────────────────────


class AddressRange(Model):
    start: IPv4Address
    end: IPv4Address

    @model_validator(mode="after")
    def _ordered(self) -> AddressRange:
        if int(self.end) < int(self.start):
            raise ValueError(f"range ends ({self.end}) before it starts ({self.start})")
        return self

    def __contains__(self, address: object) -> bool:
        return isinstance(address, IPv4Address) and self.start <= address <= self.end

    def __str__(self) -> str:
        return f"{self.start}–{self.end}"


MAC_RE = r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$"


def _lower(value: str) -> str:
    return value.lower()


Mac = Annotated[str, Field(pattern=MAC_RE), AfterValidator(_lower)]


class DockerNetwork(Model):
    subnet: IPv4Network
    internal: bool = False
    purpose: Literal["apps", "database", "vpn"] = "apps"
    description: str | None = None


class Network(Model):
    lan: IPv4Network
    gateway: IPv4Address | None = None
    host_address: IPv4Address = Field(description="the server's LAN address")
    dns_address: IPv4Address | None = Field(None, description="the LAN DNS server (Pi-hole)")
    statics: dict[Name, IPv4Address] = Field(
        default_factory=dict,
        description="devices with a fixed address: `name: address`, or `name: {address, mac}` "
        "to also give the device its address by DHCP",
        json_schema_extra={
            "additionalProperties": {
                "anyOf": [
                    {"type": "string", "format": "ipv4"},
                    {
                        "type": "object",
                        "properties": {
                            "address": {"type": "string", "format": "ipv4"},
                            "mac": {"type": "string", "pattern": MAC_RE},
                        },
                        "required": ["address"],
                        "additionalProperties": False,
                    },
                ]
            }
        },
    )
    macs: dict[Name, Mac] = Field(
        default_factory=dict,
        description="MAC addresses of statics, for DHCP static leases (filled from the "
        "`{address, mac}` form of statics)",
    )
    static_range: AddressRange | None = None
    dhcp: AddressRange | None = None
    dns: tuple[IPv4Address, ...] = ()
    domain: str = Field("home.lan", pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
    docker: dict[Name, DockerNetwork] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _statics_with_macs(cls, data: Any) -> Any:
        # `statics: {tv: {address: …, mac: …}}` is the long form of `statics: {tv: …}` plus
        # `macs: {tv: …}`: every consumer of statics keeps seeing plain addresses.
        if not isinstance(data, Mapping) or not isinstance(data.get("statics"), Mapping):
            return data
        statics: dict[Any, Any] = {}
        macs: dict[Any, Any] = dict(data.get("macs") or {})
        for name, value in data["statics"].items():
            if isinstance(value, Mapping):
                unknown = set(value) - {"address", "mac"}
                if unknown:
                    raise ValueError(
                        f"statics.{name}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                        "write an address, or {address, mac}"
                    )
                statics[name] = value.get("address")
                mac = value.get("mac")
                if mac is not None:
                    if not isinstance(mac, str) or not re.match(MAC_RE, mac):
                        raise ValueError(
                            f"statics.{name}.mac {mac!r} is not a MAC address "
                            "(write it as aa:bb:cc:dd:ee:ff)"
                        )
                    macs[name] = mac
            else:
                statics[name] = value
        return {**data, "statics": statics, "macs": macs}

    @model_validator(mode="after")
    def _macs_belong_to_statics(self) -> Network:
        for name in self.macs:
            if name not in self.statics:
                raise ValueError(f"macs.{name} has no address: add {name} under statics")
        return self

    def networks_for(self, purpose: str) -> list[str]:
        return [name for name, net in self.docker.items() if net.purpose == purpose]
