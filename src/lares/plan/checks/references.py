"""Every app, container, folder and network the blueprint names must exist."""

from __future__ import annotations

from collections.abc import Iterator

from lares.catalog.resolve import suggest
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
    yield from _drill_queries(ctx)
    yield from _update_exclusions(ctx)


def _update_exclusions(ctx: PlanContext) -> Iterator[Finding]:
    """``updates.exclude`` names apps of the blueprint: a misspelt one would be updated."""
    if ctx.blueprint.updates is None:
        return
    known = [a.id for a in ctx.system.apps]
    for i, name in enumerate(ctx.blueprint.updates.exclude):
        if name not in known:
            yield ctx.finding(
                ID,
                "error",
                f"updates.exclude names {name!r}, which is no enabled app; the scheduled "
                "update would not leave out the app meant",
                "updates",
                "exclude",
                i,
                hint=suggest(name, known) or "remove it, or name an app as `lares plan` lists it",
            )


def _drill_queries(ctx: PlanContext) -> Iterator[Finding]:
    """Drill queries name an app that backs up databases, and one of those databases."""
    apps = {a.id: a for a in ctx.system.apps}
    for app_id, queries in ctx.blueprint.backup.drill.queries.items():
        where = ("backup", "drill", "queries", app_id)
        view = apps.get(app_id)
        spec = view.app.backup if view is not None else None
        keys = [spec.key(db) for db in spec.databases] if spec is not None else []
        if not keys:
            with_dbs = [a.id for a in ctx.system.apps if a.app.backup and a.app.backup.databases]
            yield ctx.finding(
                ID,
                "error",
                f"drill queries for {app_id!r}, which is not an enabled app with a database "
                "to back up",
                *where,
                hint="apps with databases: " + (", ".join(with_dbs) or "none"),
            )
            continue
        for i, query in enumerate(queries):
            if query.db is None and len(keys) > 1:
                yield ctx.finding(
                    ID,
                    "error",
                    f"{app_id} backs up {len(keys)} databases; say which this query asks",
                    *where,
                    i,
                    hint="db: one of " + ", ".join(keys),
                )
            elif query.db is not None and query.db not in keys:
                yield ctx.finding(
                    ID,
                    "error",
                    f"{app_id} backs up no database {query.db!r}",
                    *where,
                    i,
                    "db",
                    hint="its databases: " + ", ".join(keys),
                )
