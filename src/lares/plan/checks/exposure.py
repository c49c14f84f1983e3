"""Exposure: public apps need a domain and the tunnel; admin UIs are never public."""

from __future__ import annotations

from collections.abc import Iterator

from lares.plan.context import PlanContext
from lares.plan.findings import Finding
from lares.text import counted

ID = "exposure"
DESCRIPTION = "public apps have a domain and a tunnel; admin UIs and the Docker socket stay private"
PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net")


def check(ctx: PlanContext) -> Iterator[Finding]:
    access = ctx.blueprint.access
    public = [a for a in ctx.system.apps if a.exposure == "public"]
    for app in ctx.system.apps:
        if app.exposure != "none" and app.app.web is None:
            yield ctx.finding(
                ID,
                "error",
                f"{app.id} has no web interface, so exposure {app.exposure} means nothing",
                *app.path,
                "exposure",
                hint="remove `exposure:` or set it to none",
            )
    for app in public:
        if app.app.admin:
            yield ctx.finding(
                ID,
                "error",
                f"{app.id} is an admin interface and cannot be public",
                *app.path,
                "exposure",
                hint="use exposure: lan and reach it over the LAN or a VPN",
            )
        if any(s.spec.docker_socket for s in app.services):
            yield ctx.finding(
                ID,
                "error",
                f"{app.id} holds the Docker socket and cannot be public",
                *app.path,
                "exposure",
            )
    if not public:
        return
    if not access.domain:
        yield ctx.finding(
            ID,
            "error",
            f"{counted(len(public), 'app')} {'is' if len(public) == 1 else 'are'} public "
            f"({', '.join(a.id for a in public)}) "
            "but access.domain is not set",
            "access",
            hint="set access.domain to the domain whose DNS points at the VPS",
        )
    if access.tunnel is None:
        yield ctx.finding(
            ID,
            "error",
            "apps are public but no tunnel is configured",
            "access",
            hint="add access.tunnel (Pangolin endpoint and site)",
        )
    elif not access.tunnel.sso:
        yield ctx.finding(
            ID,
            "warning",
            "public apps are reachable without the tunnel's single sign-on",
            "access",
            "tunnel",
            "sso",
            hint="keep sso: true unless every public app has strong login and 2FA",
        )
    if access.domain in PLACEHOLDER_DOMAINS:
        yield ctx.finding(
            ID,
            "warning",
            f"access.domain is the placeholder {access.domain}",
            "access",
            "domain",
            hint="set your own domain before deploying the tunnel",
        )
