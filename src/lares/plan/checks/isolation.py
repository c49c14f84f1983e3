"""Network isolation: databases live on internal networks, reachable from their own app only,
and no container joins another stack's network unless its definition says why."""

from __future__ import annotations

from collections.abc import Iterator

from lares.catalog.resolve import DEFAULT_NETWORK
from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "isolation"
DESCRIPTION = "databases on internal networks and reachable from their app; no undeclared bridges"


def check(ctx: PlanContext) -> Iterator[Finding]:
    docker = ctx.blueprint.network.docker
    stack_networks = {
        name: stack.network for name, stack in ctx.blueprint.stacks.items() if stack.network
    }
    for app in ctx.system.apps:
        for db in (s for s in app.services if s.spec.role == "database"):
            exposed = [n for n in db.networks if n == DEFAULT_NETWORK or not docker[n].internal]
            if exposed:
                yield ctx.finding(
                    ID,
                    "error",
                    f"database {db.name} is on {', '.join(exposed)}, which is not internal",
                    *db.path,
                    hint="databases belong only on an internal network (`purpose: database`)",
                )
            if db.ports:
                yield ctx.finding(
                    ID,
                    "error",
                    f"database {db.name} publishes a port on the host",
                    *db.path,
                    hint="apps reach their database by name over the internal network",
                )
            clients = [
                s for s in app.services if s is not db and (db.name in s.depends_on or s.is_main)
            ]
            if (
                db.network_mode is None
                and clients
                and not any(set(c.networks) & set(db.networks) for c in clients)
            ):
                yield ctx.finding(
                    ID,
                    "error",
                    f"no container of {app.id} shares a network with its database {db.name}",
                    *db.path,
                    hint="put the app on the database network too",
                )
        for service in app.services:
            own = stack_networks.get(app.stack)
            foreign = [
                n
                for n in service.networks
                if n != DEFAULT_NETWORK
                and n != own
                and docker[n].purpose == "apps"
                and n in stack_networks.values()
            ]
            if foreign and "bridges_stacks" not in service.spec.exceptions:
                yield ctx.finding(
                    ID,
                    "error",
                    f"{service.name} joins the networks of other stacks ({', '.join(foreign)}) "
                    "without a declared reason",
                    *service.path,
                    hint="declare exceptions.bridges_stacks in the app definition, "
                    "or move the app into that stack",
                )
