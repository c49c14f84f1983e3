"""Ports the blueprint publishes that something on this machine already listens on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lares.catalog.web import DNS_APP, reachable, web_target
from lares.host.doctor import DoctorContext, Finding

ID = "ports"
DESCRIPTION = "host ports the blueprint needs that are already taken"
WILDCARDS = {"0.0.0.0", "::", ""}  # noqa: S104 - matched against, never bound


def needed(ctx: DoctorContext) -> list[tuple[str, str, int, str]]:
    """(proto, address, port, who) the blueprint binds on the host."""
    system = ctx.system
    host = str(system.blueprint.network.host_address)
    out: list[tuple[str, str, int, str]] = []
    for service in system.services:
        if service.network_mode == "host":
            continue  # listed below, by what it serves
        for p in service.ports:
            out.append((p.protocol, p.address, p.host, service.name))
    for app in reachable(system):
        target = web_target(system, app)
        if target is not None and target.host_network:
            out.append(("tcp", host, target.port, target.service.name))
    if system.app(DNS_APP) is not None:
        out += [("tcp", host, 53, DNS_APP), ("udp", host, 53, DNS_APP)]
    return out


def conflicts(
    wanted: Iterable[tuple[str, str, int, str]], listening: Iterable[tuple[str, str, int]]
) -> list[tuple[str, str, int, str, str]]:
    """(proto, address, port, who, taken by address) for each wanted binding already in use."""
    taken: dict[tuple[str, int], list[str]] = {}
    for proto, address, port in listening:
        taken.setdefault((proto, port), []).append(address)
    found = []
    for proto, address, port, who in wanted:
        for other in taken.get((proto, port), []):
            if other in WILDCARDS or address in WILDCARDS or other == address:
                found.append((proto, address, port, who, other or "*"))
                break
    return found


def check(ctx: DoctorContext) -> Iterator[Finding]:
    listening = ctx.probe.listening()
    if listening is None:
        yield ctx.sockets_unknown(ID)
        return
    wanted = needed(ctx)
    clashes = conflicts(wanted, listening)
    for proto, address, port, who, other in clashes:
        yield ctx.finding(
            ID,
            "warning",
            f"{who} needs {address}:{port}/{proto}, and something listens on {other}:{port}",
            "stop what uses it (ss -lntup shows which process), or change the port; "
            "if it is this blueprint's own container, all is well",
            proto=proto,
            address=address,
            port=port,
            service=who,
        )
    if not clashes:
        yield ctx.finding(ID, "ok", f"all {len(wanted)} host ports the blueprint needs are free")
