"""Published ports must not collide on the host, per address and protocol."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from lares.catalog.resolve import Service
from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "ports"
DESCRIPTION = "host ports are unique per address and protocol (0.0.0.0 takes every address)"
ANY = "0.0.0.0"  # noqa: S104 - the wildcard we are checking for


def check(ctx: PlanContext) -> Iterator[Finding]:
    taken: dict[tuple[str, int, str], Service] = {}
    # a host-network container listens on every address of the host
    ordered = sorted(ctx.system.services, key=lambda s: s.network_mode != "host")
    for service in ordered:
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
                        hint="drop the port and reach the app through the proxy, "
                        "or choose another host port",
                    )
                    break
            taken[(port.address, port.host, port.protocol)] = service
