"""Dashboard: `lares serve` is a LAN app; public only behind the tunnel's single sign-on."""

from __future__ import annotations

from collections.abc import Iterator

from lares.catalog.web import DASHBOARD_SUBDOMAIN, PROXY_APP
from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "dashboard"
DESCRIPTION = "the dashboard stays on the LAN unless the tunnel's SSO guards it; Caddy reaches it"
#: The name the Caddyfile serves the dashboard at, below network.domain (and the tunnel, below
#: access.domain).
SUBDOMAIN = DASHBOARD_SUBDOMAIN
LOOPBACK_PREFIX = "127."


def check(ctx: PlanContext) -> Iterator[Finding]:
    bp = ctx.blueprint
    dashboard = bp.dashboard
    if dashboard is None:
        return
    tunnel = bp.access.tunnel
    if dashboard.exposure == "public" and (tunnel is None or not tunnel.sso):
        why = "no tunnel is configured" if tunnel is None else "the tunnel's SSO is off"
        yield ctx.finding(
            ID,
            "error",
            f"the dashboard cannot be public: {why}, so anyone could reach its login page",
            "dashboard",
            "exposure",
            hint="use exposure: lan, or add access.tunnel with sso: true",
        )
    listen = dashboard.address(bp.network.host_address)
    if ctx.system.app(PROXY_APP) is None:
        yield ctx.finding(
            ID,
            "info",
            f"no Caddy app runs, so the dashboard is only at http://{listen}",
            "dashboard",
        )
        return
    hostname = f"{SUBDOMAIN}.{bp.network.domain}"
    for app in ctx.system.apps:
        if app.exposure != "none" and app.app.web is not None and app.subdomain == SUBDOMAIN:
            yield ctx.finding(
                ID,
                "error",
                f"{app.id} is served at {hostname}, where the dashboard is",
                *app.path,
                "subdomain",
                hint=f"give {app.id} another subdomain",
            )
    if listen.startswith(LOOPBACK_PREFIX):
        yield ctx.finding(
            ID,
            "warning",
            f"the dashboard listens on {listen}, which the Caddy container cannot reach, so "
            f"https://{hostname} will answer 502",
            "dashboard",
            "listen",
            hint=f"listen on the server's address ({bp.network.host_address}:8765), or leave "
            "listen out",
        )
