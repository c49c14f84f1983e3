"""Port 53 on the host: a DNS server on the host network needs it, and systemd-resolved's stub
listener (127.0.0.53:53, on by default on Debian and Ubuntu with systemd-resolved) holds it.

Whether the stub listener runs is a fact of the machine, not of the blueprint: this says which
container needs the port and how the host render frees it (`lares doctor` checks the machine).
"""

from __future__ import annotations

from collections.abc import Iterator

from lares.catalog.resolve import Service, System
from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "hostdns"
DESCRIPTION = "port 53 of the host for a DNS server on the host network"
DNS_PORT = 53
DROPIN = "systemd/resolved.conf.d/10-lares-dns.conf"


def host_dns_servers(system: System) -> list[Service]:
    """The containers on the host network that listen on port 53."""
    return [
        s
        for s in system.services
        if s.network_mode == "host" and any(p.container == DNS_PORT for p in s.ports)
    ]


def check(ctx: PlanContext) -> Iterator[Finding]:
    for service in host_dns_servers(ctx.system):
        yield ctx.finding(
            ID,
            "info",
            f"{service.name} serves DNS on port 53 of the host itself, which systemd-resolved's "
            "stub listener holds where it runs",
            *service.path,
            hint=f"`lares render --target host` writes {DROPIN} (DNSStubListener=no) with how to "
            "install it; `lares doctor` shows what listens on port 53 now",
        )
