"""The blueprint resolved against the catalog: every container as it will run.

:func:`resolve` is pure. It applies the person's overrides, fills placeholders, turns network
roles into the blueprint's networks, binds ports to addresses and names each Compose service. It
never fails on a bad reference: what it cannot resolve becomes a :class:`Problem` that the
``references`` check reports with its location, so ``lares plan`` shows every problem at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from lares.blueprint.model import AppSettings, Blueprint, ContainerOverride
from lares.catalog import overrides
from lares.catalog.load import Catalog
from lares.catalog.model import (
    LIST_SEPARATORS,
    PLACEHOLDER_RE,
    App,
    Container,
    Healthcheck,
    placeholders_in,
)

DEFAULT_NETWORK = "default"  # the stack's own Compose network


@dataclass(frozen=True)
class Problem:
    """Something in the blueprint that does not resolve."""

    path: tuple[str | int, ...]
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class PortBinding:
    address: str
    host: int
    container: int
    protocol: str
    bind: str  # lan | loopback | all, as the catalog asked

    def compose(self) -> str:
        return f"{self.address}:{self.host}:{self.container}/{self.protocol}"


@dataclass(frozen=True)
class Service:
    """One container, fully resolved."""

    name: str  # Compose service name and container name
    app: str
    key: str  # the container's name inside the app definition
    stack: str
    spec: Container  # the catalog definition (for exceptions and flags)
    image: str  # repository:tag
    user: str | None
    networks: tuple[str, ...]  # blueprint network names, or DEFAULT_NETWORK
    network_mode: str | None  # "host" or "service:<service name>"
    ports: tuple[PortBinding, ...]
    volumes: tuple[str, ...]
    tmpfs: tuple[str, ...]  # path[:options], placeholders filled
    environment: Mapping[str, str]
    # variable → template with {secret:<id>} markers, filled into a 0600 env file at write time
    env_secrets: Mapping[str, str]
    secrets: tuple[str, ...]  # secret ids mounted as files
    command: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    healthcheck: Healthcheck | None
    memory_reservation: int
    memory_limit: int
    memory_moved: str | None  # "reservation" or "limit": a catalog value moved to fit the person's
    devices: tuple[str, ...]
    group_add: tuple[int, ...]  # host gids the container's user joins
    groups_missing: tuple[str, ...]  # on a Quick Sync host, the groups host.groups lacks for it
    pids: int
    cpus: float | None
    depends_on: Mapping[str, str]  # service name → condition
    path: tuple[str | int, ...]  # where in the blueprint this came from
    digest: str | None = None  # the digest lares.lock holds for ``image``: what Compose runs
    # (catalog volume, the blueprint's in its place), filled: the mounts an override moved
    moved: tuple[tuple[str, str], ...] = ()

    @property
    def quicksync(self) -> bool:
        """Whether it got its Quick Sync devices (on top of the ones it always has)."""
        return len(self.devices) > len(self.spec.devices)

    @property
    def version(self) -> str:
        return self.image.rsplit(":", 1)[1] if ":" in self.image.rsplit("/", 1)[-1] else ""

    @property
    def is_main(self) -> bool:
        return self.key == self.app

    @property
    def uid(self) -> int | None:
        """The numeric uid the container runs as, when the blueprint says."""
        head = (self.user or "").split(":", 1)[0]
        return int(head) if head.isdigit() else None

    @property
    def gid(self) -> int | None:
        parts = (self.user or "").split(":", 1)
        return int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else self.uid

    @property
    def reader_uid(self) -> int:
        """The uid that must be able to read this container's secret files."""
        if self.spec.secret_uid is not None:
            return self.spec.secret_uid
        return self.uid or 0

    @property
    def reader_gid(self) -> int | None:
        """The group of the catalog's other secret readers (``secret_readers``), if any."""
        readers = self.spec.secret_readers
        return int(readers[0].split(":")[1]) if readers else None


@dataclass(frozen=True)
class AppView:
    """A catalog app as placed in a stack."""

    id: str
    stack: str
    app: App
    settings: AppSettings
    exposure: str
    subdomain: str | None
    lan_url: str | None
    public_url: str | None
    services: tuple[Service, ...]
    path: tuple[str | int, ...]

    @property
    def url(self) -> str | None:
        return self.public_url or self.lan_url


@dataclass(frozen=True)
class StackView:
    name: str
    network: str | None
    apps: tuple[AppView, ...]

    @property
    def services(self) -> list[Service]:
        return [s for app in self.apps for s in app.services]


@dataclass(frozen=True)
class System:
    """The resolved blueprint."""

    blueprint: Blueprint
    stacks: tuple[StackView, ...]
    problems: tuple[Problem, ...] = ()
    secrets: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # id → (app, name)

    @property
    def apps(self) -> list[AppView]:
        return [app for stack in self.stacks for app in stack.apps]

    @property
    def services(self) -> list[Service]:
        return [s for stack in self.stacks for s in stack.services]

    def placed_on(self, what: AppView | Service) -> tuple[str, ...]:
        """The hosts an app (or a container, by its app) may run on: see ``Blueprint.placed_on``."""
        app = what.id if isinstance(what, AppView) else what.app
        return self.blueprint.placed_on(self.blueprint.stacks[what.stack].apps[app])

    def app(self, app_id: str) -> AppView | None:
        return next((a for a in self.apps if a.id == app_id), None)

    def stack(self, name: str) -> StackView:
        return next(s for s in self.stacks if s.name == name)


def _lan_address(bp: Blueprint, stack: str, app: str) -> str:
    """The LAN address an app's ports are on: that of the one host it is placed on."""
    hosts = bp.placed_on(bp.stacks[stack].apps[app])
    node = next((n for n in bp.nodes() if (n.name,) == hosts), None)
    return str(node.address if node else bp.network.host_address)


def secret_id(app: str, name: str) -> str:
    return f"{app}_{name}"


SECRET_MOUNT = "/run/secrets"  # noqa: S105 - a folder, not a password


class _Filler:
    """Fills the placeholders of one app's values; collects what it cannot fill."""

    def __init__(
        self,
        bp: Blueprint,
        app: App,
        view_url: str | None,
        path: tuple[str | int, ...],
        urls: tuple[str, ...] = (),
    ):
        self.bp = bp
        self.app = app
        self.url = view_url
        self.urls = urls
        self.path = path
        self.trusted: tuple[str, ...] = ()  # set for the web container, from its networks
        self.problems: list[Problem] = []
        self.env_secret = False

    def fill(self, text: str, where: str) -> str:
        def one(match: re.Match[str]) -> str:
            kind, arg = match.group(1), match.group(2)
            value = self._value(kind, arg, where)
            return match.group(0) if value is None else value

        return PLACEHOLDER_RE.sub(one, text)

    def _value(self, kind: str, arg: str | None, where: str) -> str | None:
        bp, app = self.bp, self.app
        if kind == "appdata":
            return f"{bp.paths.appdata}/{app.id}"
        if kind == "pool":
            return bp.paths.pool
        if kind == "folder":
            if arg in bp.paths.folders:
                return bp.paths.folder(arg)
            self.problems.append(
                Problem(
                    ("paths", "folders"),
                    f"app {app.id} needs the pool folder {arg!r} ({where}), "
                    "which paths.folders does not define",
                    hint=f"add `{arg}: <folder inside the pool>` under paths.folders",
                )
            )
            return None
        if kind == "tz":
            return bp.host.timezone
        if kind == "puid":
            return str(bp.host.puid)
        if kind == "pgid":
            return str(bp.host.pgid)
        if kind == "domain":
            return bp.network.domain
        if kind == "public_domain":
            return bp.access.domain or ""
        if kind == "host_address":
            return str(bp.network.host_address)
        if kind == "service" and arg:
            return app.service_name(arg)
        if kind == "url":
            return self.url or ""
        sep = LIST_SEPARATORS.get(arg, " ")
        if kind == "urls":
            return sep.join(self.urls)
        if kind == "hosts":
            return sep.join(u.removeprefix("https://") for u in self.urls)
        if kind == "trusted_proxies":
            return sep.join(self.trusted)
        if kind == "secret_file" and arg:
            return f"{SECRET_MOUNT}/{secret_id(app.id, arg)}"
        if kind == "secret" and arg:
            # kept as a marker: the value is only ever written to a 0600 env file
            self.env_secret = True
            return "{secret:" + secret_id(app.id, arg) + "}"
        return None


def _quicksync(
    bp: Blueprint, spec: Container
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    """The container's devices and extra gids, with its Quick Sync ones when the host has it,
    and the groups that host.groups lacks for them.

    Without Quick Sync, or without the gids its groups need, the app starts all the same and
    transcodes on the CPU.
    """
    qs = spec.quicksync
    if qs is None or "quicksync" not in bp.host.cpu.features:
        return spec.devices, (), ()
    unknown = tuple(g for g in qs.groups if g not in bp.host.groups)
    if unknown:
        return spec.devices, (), unknown
    gids = tuple(bp.host.groups[g] for g in qs.groups)
    return (*spec.devices, *qs.devices), gids, ()


def _image(spec: Container, override: ContainerOverride | None) -> str:
    image = spec.image
    version = spec.version
    if override is not None:
        if override.image:
            image = override.image
            if ":" in image.rsplit("/", 1)[-1]:
                image, version = image.rsplit(":", 1)
        if override.version:
            version = override.version
    return f"{image}:{version}"


def suggest(name: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def resolve(
    bp: Blueprint,
    catalog: Catalog,
    pins: Mapping[str, str] | None = None,
    digests: Mapping[str, str] | None = None,
) -> System:
    """Resolve every enabled app of every stack (see the module docstring).

    ``pins`` (``app/container`` → version, from ``lares.lock``: what ``lares update`` moved to)
    replace the catalog's version where the blueprint sets none of its own; ``digests``
    (``repository:tag`` → digest, also from the lock) are what each image was first pulled as.
    """
    problems: list[Problem] = []
    secrets: dict[str, tuple[str, str]] = {}
    database_nets = bp.network.networks_for("database")
    vpn_nets = bp.network.networks_for("vpn")
    proxied: list[str] = []
    for stack in bp.stacks.values():
        net = stack.network or None
        if net and net not in proxied:
            proxied.append(net)

    stacks: list[StackView] = []
    for stack_name, stack in bp.stacks.items():
        views: list[AppView] = []
        for app_id, settings in stack.apps.items():
            path: tuple[str | int, ...] = ("stacks", stack_name, "apps", app_id)
            if app_id not in catalog:
                problems.append(
                    Problem(
                        path,
                        f"there is no app {app_id!r} in the catalog",
                        hint=suggest(app_id, catalog.ids())
                        or "add its definition to a folder listed under `catalog:`",
                    )
                )
                continue
            if not settings.enabled:
                continue
            app = catalog[app_id]
            for key in settings.containers:
                if key not in app.containers:
                    problems.append(
                        Problem(
                            (*path, "containers", key),
                            f"app {app_id} has no container {key!r}",
                            hint=suggest(key, list(app.containers))
                            or "containers: " + ", ".join(app.containers),
                        )
                    )
            exposure = settings.exposure or app.default_exposure
            subdomain = settings.subdomain or (app.web.subdomain if app.web else None)
            lan_url = public_url = None
            if app.web is not None and exposure != "none" and subdomain:
                lan_url = f"https://{subdomain}.{bp.network.domain}"
                if exposure == "public" and bp.access.domain:
                    public_url = f"https://{subdomain}.{bp.access.domain}"
            urls = tuple(u for u in (lan_url, public_url) if u)
            filler = _Filler(bp, app, public_url or lan_url, path, urls)
            for name in app.secrets:
                secrets[secret_id(app_id, name)] = (app_id, name)
            services: list[Service] = []
            for key, spec in app.containers.items():
                override: ContainerOverride | None = (
                    settings if key == app.id else settings.containers.get(key)
                )
                pin = (pins or {}).get(f"{app_id}/{key}")
                if pin and not (override and (override.version or override.image)):
                    override = (override or ContainerOverride()).model_copy(update={"version": pin})
                service = _service(
                    bp,
                    app,
                    key,
                    spec,
                    override,
                    stack_name,
                    stack.network,
                    filler,
                    database_nets,
                    vpn_nets,
                    proxied,
                    path,
                )
                digest = (digests or {}).get(service.image)
                services.append(replace(service, digest=digest) if digest else service)
            problems.extend(filler.problems)
            views.append(
                AppView(
                    app_id,
                    stack_name,
                    app,
                    settings,
                    exposure,
                    subdomain,
                    lan_url,
                    public_url,
                    tuple(services),
                    path,
                )
            )
        stacks.append(StackView(stack_name, stack.network, tuple(views)))
    return System(bp, tuple(stacks), tuple(problems), secrets)


def _service(
    bp: Blueprint,
    app: App,
    key: str,
    spec: Container,
    override: ContainerOverride | None,
    stack_name: str,
    stack_network: str | None,
    filler: _Filler,
    database_nets: list[str],
    vpn_nets: list[str],
    proxied: list[str],
    path: tuple[str | int, ...],
) -> Service:
    where = f"container {key}"
    cpath = path if key == app.id else (*path, "containers", key)

    networks: list[str] = []
    if spec.network_mode is None:
        for role in spec.networks:
            if role == "stack":
                targets = [stack_network or DEFAULT_NETWORK]
            elif role == "database":
                if not database_nets:
                    filler.problems.append(
                        Problem(
                            ("network", "docker"),
                            f"{app.service_name(key)} belongs on a database network, "
                            "and network.docker has none",
                            hint="add an internal network with `purpose: database`",
                        )
                    )
                targets = database_nets[:1]
            elif role == "vpn":
                targets = vpn_nets[:1] or [stack_network or DEFAULT_NETWORK]
            else:  # proxied: every stack network, plus its own stack's
                targets = [*proxied, stack_network or DEFAULT_NETWORK]
            for t in targets:
                if t not in networks:
                    networks.append(t)
    network_mode = None
    if spec.network_mode == "host":
        network_mode = "host"
    elif spec.network_mode:
        network_mode = "service:" + app.service_name(spec.network_mode.split(":", 1)[1])

    address = {
        "lan": _lan_address(bp, stack_name, app.id),
        "loopback": "127.0.0.1",
        "all": "0.0.0.0",  # noqa: S104
    }
    ports = tuple(
        PortBinding(address[p.bind], p.host_port, p.container, p.protocol, p.bind)
        for p, _ in overrides.ports(spec.ports, override)
    )
    if override is not None and override.ports and spec.network_mode is not None:
        filler.problems.append(
            Problem(
                (*path, *(() if key == app.id else ("containers", key)), "ports"),
                f"{app.service_name(key)} shares another's network (network_mode "
                f"{spec.network_mode}): it publishes no ports of its own",
                hint="publish the port on the container whose network it shares",
            )
        )

    environment: dict[str, str] = {}
    env_secrets: dict[str, str] = {}
    merged_env = {**spec.environment, **(override.env if override else {})}
    if app.web is not None and key == app.web.container and filler.url:
        # served by name: the image learns its URL and the proxy's subnets from web.proxy
        filler.trusted = tuple(
            str(bp.network.docker[n].subnet)
            for n in networks
            if n in proxied and n in bp.network.docker
        )
        merged_env = {**app.web.proxy, **merged_env}
    for var, raw in merged_env.items():
        filler.env_secret = False
        value = filler.fill(raw, f"{where}, {var}")
        if filler.env_secret:
            env_secrets[var] = value
        else:
            environment[var] = value
    volumes = tuple(
        filler.fill(v, f"{where}, volumes") for v, _, _ in overrides.volumes(spec.volumes, override)
    )
    relocated = tuple(
        (filler.fill(old, f"{where}, volumes"), filler.fill(new, f"{where}, volumes"))
        for old, new in overrides.replaced(spec.volumes, override)
    )
    tmpfs = tuple(filler.fill(t, f"{where}, tmpfs") for t in spec.tmpfs)
    command = override.command if override and override.command else spec.command
    command = tuple(filler.fill(c, f"{where}, command") for c in command) if command else None
    entrypoint = (
        tuple(filler.fill(c, f"{where}, entrypoint") for c in spec.entrypoint)
        if spec.entrypoint
        else None
    )
    healthcheck = spec.healthcheck
    if healthcheck is not None:
        healthcheck = healthcheck.model_copy(
            update={
                "test": tuple(filler.fill(t, f"{where}, healthcheck") for t in healthcheck.test)
            }
        )
    # secrets this container uses: the ones its own values name
    used = _secret_refs(spec, override, app)

    reservation, limit = spec.memory.reservation, spec.memory.limit
    moved: str | None = None
    if override is not None and override.memory is not None:
        # what the person set is kept; the catalog value they left alone moves to fit it
        mine = override.memory
        reservation = mine.reservation or reservation
        limit = mine.limit or limit
        if limit < reservation:
            moved = "limit" if mine.limit is None else "reservation"
            limit, reservation = (reservation, reservation) if moved == "limit" else (limit, limit)

    devices, group_add, groups_missing = _quicksync(bp, spec)
    return Service(
        name=app.service_name(key),
        app=app.id,
        key=key,
        stack=stack_name,
        spec=spec,
        image=_image(spec, override),
        user=filler.fill(spec.user, f"{where}, user") if spec.user else None,
        networks=tuple(networks),
        network_mode=network_mode,
        ports=ports,
        volumes=volumes,
        tmpfs=tmpfs,
        environment=environment,
        env_secrets=env_secrets,
        secrets=tuple(sorted(used)),
        command=command,
        entrypoint=entrypoint,
        healthcheck=healthcheck,
        memory_reservation=reservation,
        memory_limit=limit,
        memory_moved=moved,
        devices=devices,
        group_add=group_add,
        groups_missing=groups_missing,
        pids=override.pids if override and override.pids else spec.pids,
        cpus=override.cpus if override and override.cpus else spec.cpus,
        depends_on={app.service_name(k): v for k, v in spec.depends_on.items()},
        path=cpath,
        moved=relocated,
    )


def _secret_refs(spec: Container, override: ContainerOverride | None, app: App) -> set[str]:
    """The secrets a container's own values name with {secret_file:…}, overrides included."""
    used = spec.placeholders()
    if override is not None:
        texts = [*override.env.values(), *(override.command or ()), *override.volumes]
        used |= placeholders_in(texts)
    return {secret_id(app.id, arg) for kind, arg in used if kind == "secret_file" and arg}
