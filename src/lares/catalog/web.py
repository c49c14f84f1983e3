"""Where each app's web interface answers, and which apps the world can reach.

An app is *reachable* when it has a web interface, a subdomain and exposure ``lan`` or ``public``.
Its upstream is the Compose service of its web container on the app's port — or the host's LAN
address when that container runs on the host network, and the service it shares a network with
when it uses ``network_mode: service:…``. The *public resources* are the reachable apps with
exposure ``public``: what the tunnel publishes. The plan reports them; the proxy, DNS and tunnel
renderers are built from them.

A URL exists only when something serves it (:func:`served_urls`): the LAN name needs the proxy
app, the public name the tunnel (``access.tunnel`` and its Newt app); a port the web container
publishes on the host is a URL of its own (``http://<address>:<port>``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lares.catalog.resolve import DEFAULT_NETWORK, AppView, Service, System

PROXY_APP = "caddy"
DNS_APP = "pihole"
TUNNEL_APP = "newt"
#: Docker's default address pools, where a stack without a declared network gets its subnet.
DOCKER_POOL = "172.16.0.0/12"


@dataclass(frozen=True)
class WebTarget:
    """Where one reachable app's web interface answers, seen from the Docker networks."""

    app: AppView
    service: Service
    host: str  # a Compose service name, or the host's LAN address
    port: int
    scheme: str  # http | https
    host_network: bool

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def source_subnets(system: System, app_id: str) -> list[str]:
    """The subnets ``app_id``'s containers connect from, in order, each once (none when it does
    not run): its blueprint networks' subnets, and Docker's pool for a stack's default one."""
    view = system.app(app_id)
    docker = system.blueprint.network.docker
    found: list[str] = []
    for service in view.services if view is not None else ():
        for net in service.networks:
            if net == DEFAULT_NETWORK:
                found.append(DOCKER_POOL)
            elif net in docker:
                found.append(str(docker[net].subnet))
    return list(dict.fromkeys(found))


def reachable(system: System) -> list[AppView]:
    """Apps served by name (exposure lan or public, with a web interface), in blueprint order."""
    return [
        a
        for a in system.apps
        if a.exposure in ("lan", "public") and a.app.web is not None and a.subdomain
    ]


def web_target(system: System, app: AppView) -> WebTarget | None:
    """The upstream of ``app``'s web interface, or None when it has none."""
    web = app.app.web
    if web is None:
        return None
    service = next((s for s in app.services if s.key == web.container), None)
    if service is None:
        return None
    mode = service.network_mode or ""
    if mode == "host":
        host = str(system.blueprint.network.host_address)
    elif mode.startswith("service:"):
        host = mode.split(":", 1)[1]
    else:
        host = service.name
    return WebTarget(app, service, host, web.port, web.scheme, mode == "host")


@dataclass(frozen=True)
class PublicResource:
    """One app published through the tunnel."""

    key: str  # the resource's stable id in Pangolin (the app id)
    app: str
    name: str
    full_domain: str
    site: str
    hostname: str  # where Newt sends the traffic
    port: int
    method: str  # http | https
    sso: bool

    @property
    def url(self) -> str:
        return f"https://{self.full_domain}"


def public_resources(system: System) -> list[PublicResource]:
    """The apps with exposure public that have a public URL, in blueprint order."""
    access = system.blueprint.access
    site = access.tunnel.site if access.tunnel else ""
    sso = access.tunnel.sso if access.tunnel else True
    found: list[PublicResource] = []
    for app in system.apps:
        if app.exposure != "public" or not app.public_url:
            continue
        target = web_target(system, app)
        if target is None:
            continue
        found.append(
            PublicResource(
                key=app.id,
                app=app.id,
                name=app.app.name,
                full_domain=app.public_url.removeprefix("https://"),
                site=site,
                hostname=target.host,
                port=target.port,
                method=target.scheme,
                sso=sso,
            )
        )
    dashboard = dashboard_resource(system)
    if dashboard is not None:
        found.append(dashboard)
    return found


#: The dashboard's resource key in Pangolin, and its name below the public domain.
DASHBOARD_KEY = "lares-dashboard"
DASHBOARD_SUBDOMAIN = "home"


def dashboard_resource(system: System) -> PublicResource | None:
    """The dashboard (``lares serve`` on the host) as a public resource, with exposure public.

    Newt reaches it at the server's LAN address, as Caddy does. Its single sign-on is always
    on: the ``dashboard`` plan check refuses a public dashboard without it.
    """
    bp = system.blueprint
    tunnel = bp.access.tunnel
    if bp.dashboard is None or bp.dashboard.exposure != "public" or tunnel is None:
        return None
    if not bp.access.domain:
        return None
    host = str(bp.network.host_address)
    address = bp.dashboard.address(bp.network.host_address).replace("0.0.0.0:", f"{host}:")
    hostname, _, port = address.rpartition(":")
    return PublicResource(
        key=DASHBOARD_KEY,
        app="dashboard",
        name="lares dashboard",
        full_domain=f"{DASHBOARD_SUBDOMAIN}.{bp.access.domain}",
        site=tunnel.site,
        hostname=hostname,
        port=int(port),
        method="http",
        sso=True,
    )


@dataclass(frozen=True)
class ServedUrls:
    """The URLs at which something answers for one app."""

    lan: str | None  # through the proxy
    public: str | None  # through the tunnel
    direct: tuple[str, ...]  # the web container's published ports

    @property
    def any(self) -> bool:
        return bool(self.lan or self.public or self.direct)


def proxy_enabled(system: System) -> bool:
    return system.app(PROXY_APP) is not None


def tunnel_enabled(system: System) -> bool:
    return system.blueprint.access.tunnel is not None and system.app(TUNNEL_APP) is not None


def served_urls(system: System, app: AppView) -> ServedUrls:
    """The URLs of ``app`` that are served: its LAN name only with the proxy app enabled, its
    public name only with the tunnel, and ``http(s)://address:port`` for each host port of its
    web container that maps the web port."""
    direct: list[str] = []
    web = app.app.web
    target = web_target(system, app) if web is not None and app.exposure != "none" else None
    if target is not None and web is not None:
        if target.host_network:
            direct.append(f"{web.scheme}://{system.blueprint.network.host_address}:{web.port}")
        for port in target.service.ports:
            if port.container == web.port and port.protocol == "tcp":
                address = system.blueprint.network.host_address if port.bind == "all" else None
                direct.append(f"{web.scheme}://{address or port.address}:{port.host}")
    return ServedUrls(
        app.lan_url if proxy_enabled(system) else None,
        app.public_url if tunnel_enabled(system) else None,
        tuple(dict.fromkeys(direct)),
    )


def public_urls(system: System) -> list[str]:
    """The set of public URLs, sorted: what the world can reach."""
    return sorted(r.url for r in public_resources(system))
