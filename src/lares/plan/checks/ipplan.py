"""IP plan: fixed addresses are inside the LAN, outside the DHCP range, and unique."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address

from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "ipplan"
DESCRIPTION = "static addresses inside the LAN, outside DHCP, unique; ranges inside the LAN"


def check(ctx: PlanContext) -> Iterator[Finding]:
    net = ctx.blueprint.network
    lan = net.lan
    usable_first, usable_last = lan.network_address + 1, lan.broadcast_address - 1

    def usable(address: IPv4Address) -> bool:
        return usable_first <= address <= usable_last

    singles: list[tuple[str, IPv4Address, tuple[str, ...]]] = [
        ("host_address", net.host_address, ("network", "host_address"))
    ]
    if net.gateway:
        singles.append(("gateway", net.gateway, ("network", "gateway")))
    if net.dns_address:
        singles.append(("dns_address", net.dns_address, ("network", "dns_address")))
    for name, address in net.statics.items():
        singles.append((f"statics.{name}", address, ("network", "statics", name)))
    for label, address, path in singles:
        if not usable(address):
            yield ctx.finding(
                ID,
                "error",
                f"{label} {address} is not a usable address in the LAN {lan}",
                *path,
                hint=f"use an address from {usable_first} to {usable_last}",
            )
        elif net.dhcp and address in net.dhcp:
            yield ctx.finding(
                ID,
                "error",
                f"{label} {address} is inside the DHCP range {net.dhcp}: "
                "the DHCP server may hand it to another device",
                *path,
                hint="pick an address outside the DHCP range, or shrink the range",
            )
    owners: dict[IPv4Address, str] = {}
    for name, address in net.statics.items():
        if address in owners:
            yield ctx.finding(
                ID,
                "error",
                f"statics {owners[address]} and {name} share {address}",
                "network",
                "statics",
                name,
            )
        owners[address] = name
    if net.statics and net.host_address not in owners:
        yield ctx.finding(
            ID,
            "warning",
            f"host_address {net.host_address} is not among the statics",
            "network",
            "statics",
            hint="list the server under statics so nothing else is given its address",
        )
    for label, rng in (("dhcp", net.dhcp), ("static_range", net.static_range)):
        if rng is None:
            continue
        if not (usable(rng.start) and usable(rng.end)):
            yield ctx.finding(
                ID,
                "error",
                f"{label} {rng} is not inside the LAN {lan}",
                "network",
                label,
            )
    if net.dhcp and net.static_range:
        a, b = net.dhcp, net.static_range
        if a.start <= b.end and b.start <= a.end:
            yield ctx.finding(
                ID,
                "error",
                f"the static range {b} overlaps the DHCP range {a}",
                "network",
                "static_range",
            )
