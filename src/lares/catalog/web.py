"""Where each app's web interface answers, and which apps the world can reach.

An app is *reachable* when it has a web interface, a subdomain and exposure ``lan`` or ``public``.
Its upstream is the Compose service of its web container on the app's port — or the host's LAN
address when that container runs on the host network, and the service it shares a network with
when it uses ``network_mode: service:…``. The *public resources* are the reachable apps with
exposure ``public``: what the tunnel publishes. The plan reports them; the proxy, DNS and tunnel
renderers are built from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from lares.catalog.resolve import AppView, Service, System

PROXY_APP = "caddy"
DNS_APP = "pihole"
TUNNEL_APP = "newt"


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
    return found


def public_urls(system: System) -> list[str]:
    """The set of public URLs, sorted: what the world can reach."""
    return sorted(r.url for r in public_resources(system))
