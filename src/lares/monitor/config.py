"""What to watch: the blueprint boiled down to plain values the watch loop can carry.

:func:`build` reads a resolved :class:`~lares.catalog.resolve.System` (and which stacks were
deployed) once and returns a :class:`WatchConfig`: mounts, pools, apps with their containers and
databases, every web endpoint on the LAN and in public, backup repositories, thresholds,
intervals and where to send alerts. It is plain dataclasses, written to JSON and read back with
:meth:`WatchConfig.to_dict` / :meth:`WatchConfig.from_dict`, so the long-running loop never needs
pydantic, the YAML loader or the catalog in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from lares.notify import Target as NotifyTarget
from lares.plain import Plain

if TYPE_CHECKING:
    from lares.catalog.resolve import System

HTTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class MountTarget:
    """A filesystem whose space is watched: the app data folder or a pool's mount point."""

    path: str
    role: str  # "appdata" or "pool"
    pool: str | None = None


@dataclass(frozen=True)
class PoolTarget:
    name: str
    engine: str  # mdadm | btrfs
    level: str
    filesystem: str
    mount: str
    devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppTarget:
    """A deployed app: its containers (Compose service names), which are databases, its web."""

    id: str
    stack: str
    services: tuple[str, ...] = ()
    databases: tuple[str, ...] = ()
    web: bool = False
    backup: bool = False


@dataclass(frozen=True)
class Endpoint:
    """One URL to check. ``address`` is where to connect instead of resolving the name.

    LAN names (``<sub>.<domain>``) often do not resolve on the server itself, so LAN endpoints
    connect to ``network.host_address`` (where the proxy listens) and send the name as SNI and
    Host. ``verify`` is off for the LAN, whose certificates come from the proxy's own CA.
    """

    app: str
    stack: str
    kind: str  # "lan", "public", or "port" (a published port, when no proxy serves the name)
    url: str
    address: str | None = None
    verify: bool = True


@dataclass(frozen=True)
class RepoTarget:
    name: str
    schedule: str
    copy_from: str | None = None
    offsite: bool = False  # filled by restic copy, or not a folder of this machine


@dataclass(frozen=True)
class WatchConfig(Plain):
    host: str
    state_dir: str = ""
    interval: float = 30.0
    intervals: Mapping[str, float] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    history_days: int = 90
    notify: tuple[NotifyTarget, ...] = ()
    mounts: tuple[MountTarget, ...] = ()
    pools: tuple[PoolTarget, ...] = ()
    apps: tuple[AppTarget, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    repositories: tuple[RepoTarget, ...] = ()
    drill_schedule: str | None = None
    drill_repository: str | None = None
    proxy: str | None = None  # service name of the LAN reverse proxy
    stacks: tuple[str, ...] = ()
    drives: tuple[str, ...] = ()  # devices the blueprint names (pools and the OS disk)
    backed_up: tuple[str, ...] = ()  # every app with a backup spec, deployed or not
    docker_host: str | None = None
    http_timeout: float = HTTP_TIMEOUT

    def interval_for(self, collector: str, default: float | None) -> float:
        """Seconds between runs of ``collector``: the blueprint's, else its own, else the base."""
        if collector in self.intervals:
            return float(self.intervals[collector])
        return float(default) if default is not None else self.interval

    def app(self, app_id: str) -> AppTarget | None:
        return next((a for a in self.apps if a.id == app_id), None)

    def app_of_service(self, service: str) -> AppTarget | None:
        return next((a for a in self.apps if service in a.services), None)

    @property
    def databases(self) -> dict[str, str]:
        """Database service name → the app it belongs to."""
        return {db: a.id for a in self.apps for db in a.databases}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WatchConfig:
        """Read back what :meth:`to_dict` wrote; unknown keys are ignored."""
        nested: dict[str, type[Any]] = {
            "notify": NotifyTarget,
            "mounts": MountTarget,
            "pools": PoolTarget,
            "apps": AppTarget,
            "endpoints": Endpoint,
            "repositories": RepoTarget,
        }
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            if key in nested:
                values[key] = tuple(_make(nested[key], item) for item in value or ())
            elif isinstance(value, list):
                values[key] = tuple(value)
            else:
                values[key] = value
        return cls(**values)


def _make(kind: type[Any], item: Mapping[str, Any]) -> Any:
    names = {f.name for f in fields(kind)}
    return kind(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in item.items() if k in names}
    )


def build(
    system: System,
    *,
    state_dir: str = "",
    deployed: Iterable[str] | None = None,
    docker_host: str | None = None,
) -> WatchConfig:
    """The watch configuration of a resolved blueprint.

    ``deployed`` names the stacks that were applied (their containers are expected to run, their
    endpoints to answer); None means every stack of the blueprint.
    """
    from lares.catalog.web import served_urls

    bp = system.blueprint
    wanted = set(deployed) if deployed is not None else None
    mounts = [MountTarget(bp.paths.appdata, "appdata")]
    pools: list[PoolTarget] = []
    drives: list[str] = []
    if bp.storage.os_disk is not None:
        drives.append(bp.storage.os_disk.path)
    for name, pool in bp.storage.pools.items():
        pools.append(
            PoolTarget(
                name,
                pool.engine,
                pool.level,
                pool.filesystem,
                pool.mount,
                tuple(d.path for d in pool.devices),
            )
        )
        drives.extend(d.path for d in pool.devices)
        if all(m.path != pool.mount for m in mounts):
            mounts.append(MountTarget(pool.mount, "pool", name))
    if all(m.path != bp.paths.pool for m in mounts):
        mounts.append(MountTarget(bp.paths.pool, "pool"))

    apps: list[AppTarget] = []
    endpoints: list[Endpoint] = []
    proxy: str | None = None
    for view in system.apps:
        if wanted is not None and view.stack not in wanted:
            continue
        apps.append(
            AppTarget(
                view.id,
                view.stack,
                tuple(s.name for s in view.services),
                tuple(s.name for s in view.services if s.spec.role == "database"),
                web=view.app.web is not None,
                backup=view.app.backup is not None,
            )
        )
        if view.id == bp.access.proxy.kind:
            proxy = view.app.service_name(view.id)
        web = view.app.web
        path = web.health_path if web is not None else "/"
        urls = served_urls(system, view)
        if urls.lan:
            endpoints.append(
                Endpoint(
                    view.id,
                    view.stack,
                    "lan",
                    urls.lan + path,
                    address=str(bp.network.host_address),
                    verify=False,
                )
            )
        elif urls.direct:
            # no proxy serves its name: the published port is how the LAN reaches it
            endpoints.append(
                Endpoint(view.id, view.stack, "port", urls.direct[0] + path, verify=False)
            )
        if urls.public:
            endpoints.append(Endpoint(view.id, view.stack, "public", urls.public + path))

    monitor = bp.monitor
    return WatchConfig(
        host=bp.host.name,
        state_dir=state_dir,
        interval=float(monitor.interval),
        intervals={k: float(v) for k, v in monitor.intervals.items()},
        thresholds={k: float(v) for k, v in monitor.thresholds.model_dump().items()},
        history_days=monitor.history_days,
        notify=tuple(NotifyTarget(n.url, n.secret) for n in monitor.notify),
        mounts=tuple(mounts),
        pools=tuple(pools),
        apps=tuple(apps),
        endpoints=tuple(endpoints),
        repositories=tuple(
            RepoTarget(
                name,
                repo.schedule,
                repo.copy_from,
                offsite=repo.copy_from is not None or not repo.url.startswith("/"),
            )
            for name, repo in bp.backup.repositories.items()
        ),
        drill_schedule=bp.backup.drill.schedule,
        drill_repository=bp.backup.drill.repository,
        proxy=proxy,
        stacks=tuple(name for name in bp.stack_order() if wanted is None or name in wanted),
        drives=tuple(dict.fromkeys(drives)),
        docker_host=docker_host,
        backed_up=tuple(view.id for view in system.apps if view.app.backup is not None),
    )
