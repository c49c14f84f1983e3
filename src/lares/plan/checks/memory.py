"""Memory budget: reservations must fit the host; limits may overcommit, with a warning."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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


def budget(ctx: PlanContext) -> Budget:
    host = ctx.blueprint.host
    by_app = [
        (
            app.stack,
            app.id,
            len(app.services),
            sum(s.memory_reservation for s in app.services),
            sum(s.memory_limit for s in app.services),
        )
        for app in ctx.system.apps
    ]
    return Budget(
        host.memory,
        host.reserved.os,
        host.reserved.docker,
        sum(row[3] for row in by_app),
        sum(row[4] for row in by_app),
        by_app,
    )


def check(ctx: PlanContext) -> Iterator[Finding]:
    b = budget(ctx)
    if b.available <= 0:
        yield ctx.finding(
            ID,
            "error",
            f"the reserve ({format_size(b.os + b.docker)}) leaves nothing of "
            f"{format_size(b.total)} for containers",
            "host",
            "reserved",
            hint="lower host.reserved or correct host.memory",
        )
        return
    if b.reservations > b.available:
        yield ctx.finding(
            ID,
            "error",
            f"containers reserve {format_size(b.reservations)}, more than the "
            f"{format_size(b.available)} left after the OS and Docker reserve",
            "host",
            "memory",
            hint="disable apps, lower their memory reservations, or add memory",
        )
    elif b.reservations > 0.8 * b.available:
        yield ctx.finding(
            ID,
            "warning",
            f"containers reserve {format_size(b.reservations)} of {format_size(b.available)} "
            "available: little is left for the page cache",
            "host",
            "memory",
            hint="the page cache is what makes a NAS feel fast; consider more memory",
        )
    if b.limits > b.available:
        yield ctx.finding(
            ID,
            "warning",
            f"memory limits add up to {format_size(b.limits)}, above the "
            f"{format_size(b.available)} available: if every app peaks at once the kernel "
            "will kill one",
            "host",
            "memory",
            hint="acceptable when peaks do not coincide; lower the largest limits to be safe",
        )
    for service in ctx.system.services:
        if service.memory_limit > b.available:
            yield ctx.finding(
                ID,
                "error",
                f"{service.name}'s memory limit {format_size(service.memory_limit)} is more "
                f"than the host has for containers ({format_size(b.available)})",
                *service.path,
                hint="lower memory.limit for this app",
            )
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
