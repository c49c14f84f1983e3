"""What the access renderers share: which apps are reached by name, and where their web UI is.

An app is *reachable* when it has a web interface, a subdomain and exposure ``lan`` or ``public``.
Its upstream is the Compose service of its web container on the app's port — or the host's LAN
address when that container runs on the host network, and the service it shares a network with
when it uses ``network_mode: service:…``.
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


def app_dir(system: System, app_id: str, fallback: str) -> str:
    """The bundle folder for files of ``app_id``: ``<its stack>/<app>``, else ``fallback``.

    Files inside a stack's folder belong to that stack's revision, so deploy applies, records
    and rolls them back together with its compose file.
    """
    view = system.app(app_id)
    return f"{view.stack}/{app_id}" if view is not None else fallback


HEADER = (
    "Rendered by lares from {source}. Edit lares.yaml and run `lares render` / `lares up`;\n"
    "changes made here are replaced on the next apply.\n"
)


def header(source: str, comment: str = "#") -> str:
    """The "rendered by lares" banner, as comment lines starting with ``comment``."""
    return "".join(f"{comment} {line}\n" for line in HEADER.format(source=source).splitlines())
