"""Every app, container, folder and network the blueprint names must exist."""

from __future__ import annotations

from collections.abc import Iterator

from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "references"
DESCRIPTION = "apps, containers, pool folders and networks named in the blueprint exist"


def check(ctx: PlanContext) -> Iterator[Finding]:
    for problem in ctx.system.problems:
        yield ctx.finding(ID, "error", problem.message, *problem.path, hint=problem.hint)
    seen: dict[str, str] = {}
    for service in ctx.system.services:
        if service.name in seen:
            yield ctx.finding(
                ID,
                "error",
                f"two containers are both named {service.name!r} "
                f"(apps {seen[service.name]} and {service.app})",
                *service.path,
                hint="container names are global on a Docker host: rename one app",
            )
        seen[service.name] = service.app
    subdomains: dict[str, str] = {}
    for app in ctx.system.apps:
        if app.exposure != "none" and app.subdomain:
            if app.subdomain in subdomains:
                yield ctx.finding(
                    ID,
                    "error",
                    f"apps {subdomains[app.subdomain]} and {app.id} both use the subdomain "
                    f"{app.subdomain!r}",
                    *app.path,
                    hint="set `subdomain:` on one of them",
                )
            subdomains[app.subdomain] = app.id
