"""Memory budget: reservations must fit the host; limits may overcommit, with a warning.

With several ``hosts:``, each machine has its own budget: the apps placed there against its
memory minus its reserve. An app placed by labels that several hosts have counts on each of
them (Swarm may run it on any).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lares.blueprint.model import Node
from lares.plan.context import PlanContext
from lares.plan.findings import Finding
from lares.units import format_size

ID = "memory"
DESCRIPTION = "sum of memory reservations and limits against host memory minus the reserve"


@dataclass(frozen=True)
class Budget:
    total: int
    os: int
    docker: int
    reservations: int
    limits: int
    by_app: list[tuple[str, str, int, int, int]]  # stack, app, containers, reservation, limit

    @property
    def available(self) -> int:
        return self.total - self.os - self.docker

    @property
    def cache(self) -> int:
        """What is left for the page cache when every reservation is in use."""
        return max(self.available - self.reservations, 0)


def budget(ctx: PlanContext, node: Node | None = None) -> Budget:
    """The budget of one machine (``host:`` by default): the apps placed on it."""
    node = node or ctx.blueprint.nodes()[0]
    assert node.memory is not None and node.reserved is not None  # filled in by nodes()
    by_app = [
        (
            app.stack,
            app.id,
            len(app.services),
            sum(s.memory_reservation for s in app.services),
            sum(s.memory_limit for s in app.services),
        )
        for app in ctx.system.apps
        if node.name in ctx.system.placed_on(app)
    ]
    return Budget(
        node.memory,
        node.reserved.os,
        node.reserved.docker,
        sum(row[3] for row in by_app),
        sum(row[4] for row in by_app),
        by_app,
    )


def _where(ctx: PlanContext, node: Node) -> tuple[str | int, ...]:
    """The blueprint path of a machine's entry: its hosts: item, or host:."""
    for i, entry in enumerate(ctx.blueprint.hosts):
        main = entry.name == ctx.blueprint.host.name
        if entry.name == node.name and (not main or entry.memory is not None):
            return ("hosts", i)
    return ("host",)


def _budget_findings(ctx: PlanContext, node: Node, several: bool) -> Iterator[Finding]:
    b = budget(ctx, node)
    where = _where(ctx, node)
    on = f"on {node.name}, " if several else ""
    section = "hosts" if where[0] == "hosts" else "host"
    if b.available <= 0:
        yield ctx.finding(
            ID,
            "error",
            f"{on}the reserve ({format_size(b.os + b.docker)}) leaves nothing of "
            f"{format_size(b.total)} for containers",
            *where,
            "reserved",
            hint=f"lower {section}.reserved or correct {section}.memory",
        )
        return
    if b.reservations > b.available:
        yield ctx.finding(
            ID,
            "error",
            f"{on}containers reserve {format_size(b.reservations)}, more than the "
            f"{format_size(b.available)} left after the OS and Docker reserve",
            *where,
            "memory",
            hint="disable apps, lower their memory reservations, or add memory"
            + (", or place apps on another host" if several else ""),
        )
    elif b.reservations > 0.8 * b.available:
        yield ctx.finding(
            ID,
            "warning",
            f"{on}containers reserve {format_size(b.reservations)} of "
            f"{format_size(b.available)} available: little is left for the page cache",
            *where,
            "memory",
            hint="the page cache is what makes a NAS feel fast; consider more memory",
        )
    if b.limits > b.available:
        yield ctx.finding(
            ID,
            "warning",
            f"{on}memory limits add up to {format_size(b.limits)}, above the "
            f"{format_size(b.available)} available: if every app peaks at once the kernel "
            "will kill one",
            *where,
            "memory",
            hint="acceptable when peaks do not coincide; lower the largest limits to be safe",
        )
    for app in ctx.system.apps:
        if node.name not in ctx.system.placed_on(app):
            continue
        for service in app.services:
            if service.memory_limit > b.available:
                host = node.name if several else "the host"
                yield ctx.finding(
                    ID,
                    "error",
                    f"{service.name}'s memory limit {format_size(service.memory_limit)} is "
                    f"more than {host} has for containers ({format_size(b.available)})",
                    *service.path,
                    hint="lower memory.limit for this app",
                )


def check(ctx: PlanContext) -> Iterator[Finding]:
    nodes = ctx.blueprint.nodes()
    for node in nodes:
        yield from _budget_findings(ctx, node, len(nodes) > 1)
    if len(nodes) == 1 and budget(ctx, nodes[0]).available <= 0:
        return
    for service in ctx.system.services:
        spec = service.spec.memory
        if service.memory_moved == "reservation":
            yield ctx.finding(
                ID,
                "info",
                f"{service.name}: memory.limit {format_size(service.memory_limit)} is below the "
                f"catalog's reservation of {format_size(spec.reservation)}, so it reserves "
                f"{format_size(service.memory_reservation)}",
                *service.path,
                "memory",
                "limit",
                hint="the app may need more; raise memory.limit if it gets killed",
            )
        elif service.memory_moved == "limit":
            yield ctx.finding(
                ID,
                "info",
                f"{service.name}: memory.reservation {format_size(service.memory_reservation)} "
                f"is above the catalog's limit of {format_size(spec.limit)}, so the limit is "
                f"{format_size(service.memory_limit)}",
                *service.path,
                "memory",
                "reservation",
                hint="set memory.limit too to allow the app room above its reservation",
            )
