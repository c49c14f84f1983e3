"""The LAN reverse proxy: a Caddyfile that serves every reachable app at ``<subdomain>.<domain>``.

Each site gets a certificate from Caddy's own CA (``tls internal``), a set of security headers
and a ``reverse_proxy`` to the app's web container over the Docker networks the Caddy container
shares with it (the host's LAN address for apps on the host network). Apps with exposure
``none`` get no site, so Caddy answers nothing for them. The dashboard (a ``dashboard:``
section) gets ``home.<domain>``.

The file lands in the Caddy app's folder of its stack (``infrastructure/caddy/Caddyfile``), next
to the compose file that mounts it. :func:`caddyfile` takes options to run the same file
elsewhere (other ports, upstreams on loopback) — the integration tests use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lares.catalog.resolve import System
from lares.catalog.web import PROXY_APP, reachable, web_target
from lares.plan.checks.dashboard import SUBDOMAIN as DASHBOARD_SUBDOMAIN
from lares.render._web import app_dir, header
from lares.render.bundle import Bundle, File

TARGET = "home"
SNIPPET = "lares_headers"
#: Caddy's data folder inside its container; the internal CA lives under it.
DATA_DIR = "/data"
ROOT_CERT = "caddy/pki/authorities/local/root.crt"

SECURITY_HEADERS = (
    ("Strict-Transport-Security", "max-age=31536000"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)


@dataclass(frozen=True)
class Site:
    """One name Caddy serves."""

    app: str
    stack: str
    exposure: str
    hostname: str  # e.g. cloud.home.lan
    upstream: str  # host:port
    scheme: str  # the upstream's scheme


def sites(system: System, upstreams: Mapping[str, str] | None = None) -> list[Site]:
    """Every site of the Caddyfile, in blueprint order.

    ``upstreams`` replaces the upstream ``host:port`` of the apps it names (by app id).
    """
    domain = system.blueprint.network.domain
    found: list[Site] = []
    for app in reachable(system):
        target = web_target(system, app)
        if target is None:
            continue
        upstream = (upstreams or {}).get(app.id, target.address)
        found.append(
            Site(
                app.id,
                app.stack,
                app.exposure,
                f"{app.subdomain}.{domain}",
                upstream,
                target.scheme,
            )
        )
    return found


def caddyfile(
    system: System,
    *,
    source: str = "lares.yaml",
    upstreams: Mapping[str, str] | None = None,
    http_port: int | None = None,
    https_port: int | None = None,
    admin: str | None = None,
) -> str:
    """The Caddyfile text.

    ``http_port``/``https_port`` move Caddy off 80/443 and ``admin`` sets its admin endpoint
    (``off`` disables it); by default the file keeps Caddy's defaults, which the Caddy container
    relies on (its healthcheck asks the admin API on localhost:2019).
    """
    lines = [header(source).rstrip("\n"), "{"]
    # Inside a container there is no system trust store to install the root into; people take
    # the root certificate with `lares ca export` instead.
    lines.append("\tskip_install_trust")
    if http_port is not None:
        lines.append(f"\thttp_port {http_port}")
    if https_port is not None:
        lines.append(f"\thttps_port {https_port}")
    if admin is not None:
        lines.append(f"\tadmin {admin}")
    lines += ["}", "", f"({SNIPPET}) {{", "\theader {"]
    lines += [f'\t\t{name} "{value}"' for name, value in SECURITY_HEADERS]
    lines += ["\t\t-Server", "\t}", "}"]
    for site in sites(system, upstreams):
        lines += ["", f"# {site.app} ({site.stack}), exposure {site.exposure}"]
        lines += [f"{site.hostname} {{", "\ttls internal", f"\timport {SNIPPET}"]
        if site.scheme == "https":
            # Apps that insist on TLS serve a self-signed certificate; the hop is on the
            # Docker network, so it is encrypted but not verified.
            lines += [
                f"\treverse_proxy https://{site.upstream} {{",
                "\t\ttransport http {",
                "\t\t\ttls_insecure_skip_verify",
                "\t\t}",
                "\t}",
            ]
        else:
            lines.append(f"\treverse_proxy {site.upstream}")
        lines.append("}")
    dashboard = dashboard_site(system)
    if dashboard is not None:
        lines += ["", "# the dashboard (lares serve), exposure " + dashboard.exposure]
        lines += [f"{dashboard.hostname} {{", "\ttls internal", f"\timport {SNIPPET}"]
        lines += [f"\treverse_proxy {dashboard.upstream}", "}"]
    return "\n".join(lines) + "\n"


def dashboard_site(system: System) -> Site | None:
    """The dashboard's site, ``home.<domain>`` → where ``lares serve`` listens, if declared.

    A server listening on every address (0.0.0.0) is reached at the server's LAN address, the
    way Caddy reaches apps on the host network.
    """
    bp = system.blueprint
    if bp.dashboard is None:
        return None
    host = bp.network.host_address
    upstream = bp.dashboard.address(host).replace("0.0.0.0:", f"{host}:")
    hostname = f"{DASHBOARD_SUBDOMAIN}.{bp.network.domain}"
    return Site("dashboard", "", bp.dashboard.exposure, hostname, upstream, "http")


def caddyfile_path(system: System) -> str:
    """Where the Caddyfile goes in the bundle."""
    return f"{app_dir(system, PROXY_APP, PROXY_APP)}/Caddyfile"


def root_certificate_path(system: System) -> str:
    """The host path of Caddy's root certificate, from the Caddy container's ``/data`` volume."""
    appdata = system.blueprint.paths.appdata
    view = system.app(PROXY_APP)
    if view is not None:
        for service in view.services:
            for volume in service.volumes:
                parts = volume.split(":")
                if len(parts) >= 2 and parts[1].rstrip("/") == DATA_DIR:
                    return f"{parts[0].rstrip('/')}/{ROOT_CERT}"
    return f"{appdata}/{PROXY_APP}/data/{ROOT_CERT}"


def render(system: System, source: str = "lares.yaml") -> Bundle:
    """The Caddyfile, when the blueprint runs the Caddy app."""
    if system.app(PROXY_APP) is None:
        return Bundle()
    path = caddyfile_path(system)
    return Bundle({path: File(path, caddyfile(system, source=source))})
