"""Published ports must not collide on the host, per address and protocol.

With several ``hosts:``, ports collide per machine: two apps on different hosts may publish the
same port, two on the same host may not, whatever address each binds to (a Swarm port is
published on every address of the node that runs it). An app placed by labels that several
hosts have may run on any of them, so it collides with what each of them publishes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from lares.catalog.resolve import Service
from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "ports"
DESCRIPTION = "host ports are unique per host, address and protocol (0.0.0.0 takes every address)"
ANY = "0.0.0.0"  # noqa: S104 - the wildcard we are checking for
HINT = "drop the port and reach the app through the proxy, or choose another host port"


def _ordered(ctx: PlanContext) -> list[Service]:
    # a host-network container listens on every address of the host
    return sorted(ctx.system.services, key=lambda s: s.network_mode != "host")


def check(ctx: PlanContext) -> Iterator[Finding]:
    if len(ctx.blueprint.nodes()) > 1:
        yield from _per_host(ctx)
        return
    taken: dict[tuple[str, int, str], Service] = {}
    for service in _ordered(ctx):
        for port in service.ports:
            if service.network_mode == "host":
                port = replace(port, address=ANY, host=port.container)
            for (address, number, proto), other in taken.items():
                if number != port.host or proto != port.protocol:
                    continue
                if address == port.address or ANY in (address, port.address):
                    where = "every address" if ANY in (address, port.address) else address
                    yield ctx.finding(
                        ID,
                        "error",
                        f"host port {port.host}/{port.protocol} on {where} is used by both "
                        f"{other.name} and {service.name}",
                        *service.path,
                        hint=HINT,
                    )
                    break
            taken[(port.address, port.host, port.protocol)] = service


def _per_host(ctx: PlanContext) -> Iterator[Finding]:
    taken: dict[tuple[str, int, str], Service] = {}
    for service in _ordered(ctx):
        hosts = ctx.system.placed_on(service)
        for port in service.ports:
            number = port.container if service.network_mode == "host" else port.host
            for host in hosts:
                other = taken.get((host, number, port.protocol))
                if other is not None and other is not service:
                    yield ctx.finding(
                        ID,
                        "error",
                        f"host port {number}/{port.protocol} on host {host} is used by both "
                        f"{other.name} and {service.name}",
                        *service.path,
                        hint=HINT + ", or place the apps on different hosts",
                    )
                    break
            for host in hosts:
                taken.setdefault((host, number, port.protocol), service)
