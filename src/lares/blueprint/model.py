"""The blueprint: what a person says their home server is and should run.

These are frozen pydantic models. Unknown keys are errors; sizes and durations are written the
way people write them (see :mod:`lares.units`). The loader (:mod:`lares.blueprint.load`) turns
validation errors into messages with file:line:column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from lares import hostpaths
from lares.units import ByteSize, ContainerMemory, DriveSize, Duration, HostMemory

NAME_RE = r"^[a-z0-9][a-z0-9-]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_RE)]
Exposure = Literal["none", "lan", "public"]


def _absolute(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} must be an absolute path (start with /)")
    return value.rstrip("/") or "/"


def _relative(value: str) -> str:
    if value.startswith("/") or ".." in value.split("/"):
        raise ValueError(f"{value!r} must be a path relative to the pool, without '..'")
    return value.strip("/")


def _root(value: str) -> str:
    problem = hostpaths.root_problem(value)
    if problem:
        raise ValueError(problem)
    return hostpaths.normal(value)


def _device(value: str) -> str:
    problem = hostpaths.device_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _host_paths(value: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for path, reason in value.items():
        problem = hostpaths.declared_problem(path)
        if problem:
            raise ValueError(f"host_paths: {problem}")
        if len(reason.strip()) < 10:
            raise ValueError(f"host_paths: {path} needs a one-line reason")
        out[hostpaths.normal(path)] = reason
    return out


AbsPath = Annotated[str, AfterValidator(_absolute)]
RelPath = Annotated[str, AfterValidator(_relative)]
#: A folder the blueprint builds on: absolute, without '..', never a system folder.
RootPath = Annotated[str, AfterValidator(_root)]
#: Host paths outside the blueprint's roots that a container may mount, each with a reason.
HostPaths = Annotated[dict[str, str], AfterValidator(_host_paths)]


class Model(BaseModel):
    """Base of every blueprint object: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
    path: Annotated[str, AfterValidator(_device)] = Field(pattern=r"^/dev/\S+$")
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


class ContainerOverride(Model):
    """Per-container changes to a catalog app."""

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


class AppSettings(ContainerOverride):
    """A catalog app placed in a stack, with the person's changes.

    ``image``, ``version``, ``memory``, ``env``, ``volumes`` and ``command`` apply to the app's
    main container; ``containers`` changes the others by name.
    """

    enabled: bool = True
    exposure: Exposure | None = None
    subdomain: str | None = Field(None, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    containers: dict[Name, ContainerOverride] = Field(default_factory=dict)


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


# ── backup ─────────────────────────────────────────────────────────────────────────────────


class Retention(Model):
    keep_last: int | None = Field(None, ge=1)
    keep_daily: int = Field(7, ge=0)
    keep_weekly: int = Field(4, ge=0)
    keep_monthly: int = Field(12, ge=0)
    keep_yearly: int = Field(0, ge=0)


#: An environment variable name, as restic's backends read them (``AWS_SECRET_ACCESS_KEY``).
ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
#: A restic extended option (``-o``): ``backend.option``, e.g. ``s3.storage-class``.
OPTION_RE = re.compile(r"^[a-z][a-z0-9]*\.[a-z0-9][a-z0-9._-]*$")
#: What lares itself gives restic: the repository, its password (a file) and the other
#: repository of a copy. None of these may come from a repository's env or secret_env.
RESERVED_ENV = ("RESTIC_REPOSITORY", "RESTIC_PASSWORD", "RESTIC_FROM_", "RESTIC_CACHE_DIR")


def _backend_env_names(values: Mapping[str, Any], key: str) -> None:
    for var in values:
        if not ENV_NAME_RE.match(var):
            raise ValueError(
                f"{key}: {var!r} is not an environment variable name "
                "(upper-case letters, digits and _, e.g. AWS_SECRET_ACCESS_KEY)"
            )
        if var.startswith("RESTIC_PASSWORD"):
            raise ValueError(
                f"{key}: {var} cannot be set here: lares keeps each repository's password as "
                "the secret restic_<repository> and gives it to restic as a file"
            )
        if var.startswith(RESERVED_ENV):
            raise ValueError(f"{key}: {var} is set by lares itself")


class Repository(Model):
    """A restic repository, and what its backend needs: environment, secrets and options.

    restic's backends read their settings and credentials from the environment. ``env`` holds
    the values that are not secret (a region, an endpoint); ``secret_env`` names, for each
    secret variable, the lares secret that holds its value (``lares secret set NAME``): it is
    read when restic runs and reaches restic only through its environment, never its
    arguments or a log. ``options`` are restic's extended options (``-o key=value``), given to
    every restic command on the repository; they are visible in the process list, so they
    never carry a secret.
    """

    url: str = Field(description="a restic repository: a path, sftp:, s3:, b2:, rest:, rclone:")
    schedule: str = Field("daily", description="systemd OnCalendar expression")
    copy_from: Name | None = Field(None, description="fill this repository with restic copy")
    retention: Retention | None = None
    env: dict[str, str] = Field(
        default_factory=dict,
        description="non-secret environment for the backend (e.g. AWS_DEFAULT_REGION: eu-west-1)",
    )
    secret_env: dict[str, str] = Field(
        default_factory=dict,
        description="secret environment for the backend: variable → the name of the lares "
        "secret holding its value (e.g. AWS_SECRET_ACCESS_KEY: offsite-s3-key), "
        "set with `lares secret set NAME`",
    )
    options: dict[str, str] = Field(
        default_factory=dict,
        description="restic extended options, passed as -o key=value to every restic command "
        "on this repository (e.g. sftp.command, s3.storage-class); never secrets",
    )

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        known = ("/", "sftp:", "s3:", "b2:", "rest:", "rclone:", "azure:", "gs:", "swift:")
        if not value.startswith(known):
            raise ValueError(
                f"{value!r} is not a restic repository; use an absolute path or one of "
                "sftp:, s3:, b2:, rest:, rclone:, azure:, gs:, swift:"
            )
        if value.startswith("/"):
            problem = hostpaths.root_problem(value)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("env", "secret_env")
    @classmethod
    def _env_names(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        _backend_env_names(value, str(info.field_name))
        if info.field_name == "secret_env":
            for var, name in value.items():
                if not re.match(NAME_RE, name):
                    raise ValueError(
                        f"secret_env: {var}: {name!r} is not a secret name "
                        "(lower-case letters, digits and -, e.g. offsite-s3-key)"
                    )
        return value

    @field_validator("options")
    @classmethod
    def _option_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not OPTION_RE.match(key):
                raise ValueError(
                    f"{key!r} is not a restic option; options are backend.name "
                    "(e.g. sftp.command, s3.storage-class)"
                )
            if any(c in text for c in "\n\r\0"):
                raise ValueError(f"the value of option {key} must be one line")
        return value

    @model_validator(mode="after")
    def _env_or_secret(self) -> Repository:
        both = sorted(set(self.env) & set(self.secret_env))
        if both:
            raise ValueError(
                f"{', '.join(both)} is both in env and in secret_env; "
                "keep a secret value only in secret_env"
            )
        return self

    def backend_env(self) -> dict[str, tuple[str, str]]:
        """Each backend variable → ("env", value) or ("secret", secret name)."""
        out = {var: ("env", value) for var, value in self.env.items()}
        out |= {var: ("secret", name) for var, name in self.secret_env.items()}
        return out


def shared_run_conflicts(a: Repository, b: Repository) -> list[str]:
    """What ``a`` and ``b`` set differently although restic runs with one environment and one
    set of options for both (``restic copy``, ``init --copy-chunker-params``)."""
    out: list[str] = []
    env_a, env_b = a.backend_env(), b.backend_env()
    for var in sorted(set(env_a) & set(env_b)):
        if env_a[var] != env_b[var]:
            out.append(var)
    for key in sorted(set(a.options) & set(b.options)):
        if a.options[key] != b.options[key]:
            out.append(f"option {key}")
    return out


class DrillQuery(Model):
    """A question a restored database must answer exactly, e.g. that the admin account is there."""

    db: Name | None = Field(
        None,
        description="which of the app's databases, as backup reports name it (db:<this>): its "
        "container, or container-file when a container holds several; needed when the app "
        "backs up more than one",
    )
    database: str | None = Field(None, description="the database to connect to, if not the default")
    sql: str = Field(min_length=1, description="a read-only query")
    expect: list[str] = Field(
        description="the rows it must return, one string per row, columns joined by | "
        "(as `psql -At`, `mariadb --batch` and the sqlite3 shell print them)"
    )


class Drill(Model):
    schedule: str = "monthly"
    repository: Name | None = None
    queries: dict[Name, list[DrillQuery]] = Field(
        default_factory=dict,
        description="per app id: queries its restored databases must answer, beside the row "
        "counts every drill compares",
    )


class Check(Model):
    schedule: str = "weekly"
    read_data_subset: str = Field("5%", pattern=r"^(\d{1,3}%|\d+/\d+)$")


SNAPSHOTS_WHEN = ("before-backup", "off")


class Backup(Model):
    snapshots: Annotated[
        Literal["before-backup"] | None,
        WithJsonSchema({"enum": [*SNAPSHOTS_WHEN, None]}),
    ] = Field(
        "before-backup",
        description="before-backup: every backup run first takes read-only btrfs snapshots of "
        "the folders it backs up and reads them, so files and databases are saved as of one "
        "moment; off (or null): the live folders are read",
    )
    repositories: dict[Name, Repository] = Field(default_factory=dict)
    retention: Retention = Retention()
    snapshot_retention: int = Field(7, ge=0, description="read-only snapshots kept on the pool")
    check: Check = Check()
    drill: Drill = Drill()

    @field_validator("snapshots", mode="before")
    @classmethod
    def _snapshots_when(cls, value: Any) -> Any:
        if value is None or value is False or value == "off":
            return None
        if value == "before-backup":
            return value
        text = value.strip() if isinstance(value, str) else ""
        if text.lower() in ("hourly", "daily", "weekly", "monthly") or re.match(
            r"^([A-Za-z]{3}\S* )?\*-", text
        ):
            raise ValueError(
                f"{value!r} is a schedule, but snapshots have none of their own: every backup "
                "run takes them first, at the repositories' schedules; write before-backup, "
                "or off"
            )
        raise ValueError(f"{value!r} is not one of {', '.join(SNAPSHOTS_WHEN)}")

    @model_validator(mode="after")
    def _copy_sources_exist(self) -> Backup:
        for name, repo in self.repositories.items():
            if repo.copy_from is not None and repo.copy_from not in self.repositories:
                raise ValueError(
                    f"repository {name!r} copies from {repo.copy_from!r}, which is not defined"
                )
            if repo.copy_from == name:
                raise ValueError(f"repository {name!r} cannot copy from itself")
            if repo.copy_from is not None:
                clash = shared_run_conflicts(repo, self.repositories[repo.copy_from])
                if clash:
                    raise ValueError(
                        f"repository {name!r} copies from {repo.copy_from!r}, but they set "
                        f"{', '.join(clash)} differently; restic copy runs with one environment "
                        "and one set of options for both repositories"
                    )
        if self.drill.repository and self.drill.repository not in self.repositories:
            raise ValueError(f"drill repository {self.drill.repository!r} is not defined")
        return self


# ── monitor ────────────────────────────────────────────────────────────────────────────────


class Notify(Model):
    """Where alerts go: an Apprise URL, or the name of a secret file holding one."""

    url: str | None = None
    secret: Name | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Notify:
        if (self.url is None) == (self.secret is None):
            raise ValueError("give either url or secret")
        return self


class Thresholds(Model):
    disk_warn: float = Field(80, gt=0, le=100)
    disk_crit: float = Field(90, gt=0, le=100)
    drive_temp_warn: float = 45
    drive_temp_crit: float = 55
    cpu_temp_warn: float = 80
    cert_days: int = Field(14, ge=1)
    forecast_days: float = Field(7, gt=0, description="alert when a disk is full in fewer days")
    restart_loop: int = Field(3, ge=1, description="restarts within the window that alert")
    pending_samples: int = Field(2, ge=1, description="samples a problem must last to fire")
    repeat: Duration = 6 * 3600

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.disk_crit < self.disk_warn:
            raise ValueError("disk_crit must not be below disk_warn")
        if self.drive_temp_crit < self.drive_temp_warn:
            raise ValueError("drive_temp_crit must not be below drive_temp_warn")
        return self


class Monitor(Model):
    interval: Duration = 30
    intervals: dict[str, Duration] = Field(
        default_factory=dict, description="per collector, e.g. smart: 1h, http: 1m"
    )
    notify: tuple[Notify, ...] = ()
    thresholds: Thresholds = Thresholds()
    history_days: int = Field(90, ge=1)


# ── costs ──────────────────────────────────────────────────────────────────────────────────

Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]


class HardwareItem(Model):
    """Something bought for the server: its price, when, and how long it is expected to last."""

    price: Money
    bought: date | None = Field(None, description="the purchase date (YYYY-MM-DD)")
    lifetime_years: int | None = Field(
        None, ge=1, le=50, description="bought again after this many years; unset: never"
    )
    note: str | None = None


class Power(Model):
    """The server's draw at the wall and what a kWh costs."""

    idle_watts: Annotated[Decimal, Field(ge=0, le=10000)] | None = None
    load_watts: Annotated[Decimal, Field(ge=0, le=10000)] | None = None
    load_hours_per_day: Annotated[Decimal, Field(ge=0, le=24)] = Decimal(0)
    measured_watts: Annotated[Decimal, Field(ge=0, le=10000)] | None = Field(
        None, description="the average draw measured at the wall; replaces idle and load"
    )
    kwh_price: Money

    @model_validator(mode="after")
    def _watts(self) -> Power:
        if self.measured_watts is None and self.idle_watts is None:
            raise ValueError("give measured_watts, or idle_watts (and load_watts)")
        if self.load_hours_per_day and self.load_watts is None:
            raise ValueError("load_hours_per_day needs load_watts")
        return self


class Recurring(Model):
    """A bill that comes back: a VPS, a domain, a subscription the server needs."""

    amount: Money
    per: Literal["month", "year"]


class OffsiteStorage(Model):
    """Storage paid by the amount kept off the premises."""

    repository: Name = Field(description="the backup repository this pays for")
    per_tb_month: Money
    estimate: ByteSize = Field(description="the repository's size until it is measured")


class Stated(Model):
    """Figures stated elsewhere (a spreadsheet, a write-up), which `lares cost` checks."""

    investment: Money | None = None
    running_per_year: Money | None = None
    saas_per_month: Money | None = None
    break_even_years: Annotated[Decimal, Field(ge=0, le=100)] | None = None
    net_after_years: dict[Annotated[int, Field(ge=1, le=50)], Decimal] = Field(
        default_factory=dict, description="years → the cumulative net stated for them"
    )


class Costs(Model):
    """What the server costs and what it saves, for `lares cost`."""

    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    hardware: dict[Name, HardwareItem] = Field(default_factory=dict)
    power: Power | None = None
    recurring: dict[Name, Recurring] = Field(default_factory=dict)
    offsite: OffsiteStorage | None = None
    saas: dict[Name, Money] = Field(
        default_factory=dict,
        description="app → the monthly SaaS price it replaces, instead of the catalog's",
    )
    stated: Stated | None = None


# ── the whole blueprint ────────────────────────────────────────────────────────────────────


class AuditAccept(Model):
    """A finding of `lares audit` the person accepts for one app, with the reason."""

    rule: str = Field(pattern=r"^[a-z0-9-]+$", description="the audit rule's id, e.g. root-user")
    app: Name
    reason: str = Field(min_length=10, description="why it is acceptable here, in one line")


class Audit(Model):
    accept: tuple[AuditAccept, ...] = Field(
        (), description="audit findings accepted beyond the catalog's exceptions, each with why"
    )


class Dashboard(Model):
    """`lares serve`: where it listens (the server's LAN address by default) and who reaches it."""

    listen: str | None = Field(None, pattern=r"^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$")
    exposure: Literal["lan", "public"] = "lan"

    def address(self, host: IPv4Address) -> str:
        """The ADDR:PORT `lares serve` listens on (host: the server's LAN address)."""
        return self.listen or f"{host}:8765"


class Blueprint(Model):
    """Everything about one home server."""

    version: Literal[1] = 1
    host: Host
    paths: Paths
    storage: Storage = Storage()
    network: Network
    stacks: dict[Name, Stack]
    access: Access = Access()
    backup: Backup = Backup()
    monitor: Monitor = Monitor()
    costs: Costs = Costs()
    audit: Audit = Audit()
    dashboard: Dashboard | None = None
    catalog: tuple[str, ...] = Field(
        (), description="extra folders of app definitions, relative to this file"
    )

    @model_validator(mode="after")
    def _references(self) -> Blueprint:
        seen: dict[str, str] = {}
        for stack_name, stack in self.stacks.items():
            if stack.network is not None and stack.network not in self.network.docker:
                raise ValueError(
                    f"stack {stack_name!r} uses network {stack.network!r}, "
                    "which network.docker does not define"
                )
            for dep in stack.depends_on:
                if dep not in self.stacks:
                    raise ValueError(f"stack {stack_name!r} depends on unknown stack {dep!r}")
            for app in stack.apps:
                if app in seen:
                    raise ValueError(
                        f"app {app!r} is in both stacks {seen[app]!r} and {stack_name!r}"
                    )
                seen[app] = stack_name
        offsite = self.costs.offsite
        if offsite is not None and offsite.repository not in self.backup.repositories:
            raise ValueError(
                f"costs.offsite names repository {offsite.repository!r}, "
                "which backup.repositories does not define"
            )
        return self

    def app_stack(self) -> dict[str, str]:
        """App id → the stack it is in."""
        return {app: name for name, stack in self.stacks.items() for app in stack.apps}

    def stack_order(self) -> list[str]:
        """Stacks in dependency order (depends_on first), then in file order."""
        order: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in order:
                return
            if name in visiting:
                raise ValueError(f"stacks depend on each other in a cycle through {name!r}")
            visiting.add(name)
            for dep in self.stacks[name].depends_on:
                visit(dep)
            visiting.discard(name)
            order.append(name)

        for name in self.stacks:
            visit(name)
        return order


def is_secret_like(key: str) -> bool:
    """Whether an environment key looks like it carries a secret value."""
    return bool(re.search(r"(PASS|SECRET|TOKEN|KEY|PRIVATE|CREDENTIAL)", key.upper()))
