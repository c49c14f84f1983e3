"""Public: the set of URLs the tunnel publishes, and public apps that Pangolin cannot reach."""

from __future__ import annotations

from collections.abc import Iterator

from lares.catalog.resolve import DEFAULT_NETWORK
from lares.catalog.web import TUNNEL_APP, public_resources, web_target
from lares.plan.context import PlanContext
from lares.plan.findings import Finding
from lares.text import counted

ID = "public"
DESCRIPTION = "the public URL set; every public app behind SSO and reachable by the tunnel"


def check(ctx: PlanContext) -> Iterator[Finding]:
    system = ctx.system
    tunnel = ctx.blueprint.access.tunnel
    resources = public_resources(system)
    if resources:
        urls = ", ".join(sorted(r.url for r in resources))
        yield ctx.finding(
            ID,
            "info",
            f"{counted(len(resources), 'app')} {'is' if len(resources) == 1 else 'are'} public "
            f"through the tunnel: {urls}",
            "access",
        )
    newt = system.app(TUNNEL_APP)
    newt_nets = {n for s in newt.services for n in s.networks} if newt else set()
    for r in resources:
        app = system.app(r.app)
        if app is None:  # the dashboard: its own check holds it to SSO; Newt reaches the host
            continue
        if tunnel is not None and not tunnel.sso:
            yield ctx.finding(
                ID,
                "warning",
                f"{r.app} is public at {r.url} without Pangolin's single sign-on",
                *app.path,
                "exposure",
                hint="turn access.tunnel.sso back on, or make the app lan-only",
            )
        if newt is None:
            continue
        target = web_target(system, app)
        if target is None or target.service.network_mode:
            continue
        shared = set(target.service.networks) & newt_nets
        if DEFAULT_NETWORK in shared and app.stack != newt.stack:
            shared.discard(DEFAULT_NETWORK)
        if not shared:
            yield ctx.finding(
                ID,
                "warning",
                f"{r.app} is public, but Newt shares no network with it, so Pangolin cannot "
                "reach it",
                "stacks",
                app.stack,
                hint=f"give stack {app.stack} a network (stacks.{app.stack}.network)",
            )
