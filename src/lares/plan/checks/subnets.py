"""The LAN and the Docker networks must not overlap, or replies go to the wrong place."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Network

from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "subnets"
DESCRIPTION = "the LAN, the Docker networks and Docker's default bridge do not overlap"
DOCKER_BRIDGE = IPv4Network("172.17.0.0/16")


def check(ctx: PlanContext) -> Iterator[Finding]:
    net = ctx.blueprint.network
    named: list[tuple[str, IPv4Network, tuple[str, ...]]] = [
        ("the LAN", net.lan, ("network", "lan"))
    ]
    for name, docker in net.docker.items():
        named.append((f"network {name}", docker.subnet, ("network", "docker", name, "subnet")))
    for i, (a_name, a_net, _) in enumerate(named):
        for b_name, b_net, b_path in named[i + 1 :]:
            if a_net.overlaps(b_net):
                yield ctx.finding(
                    ID,
                    "error",
                    f"{b_name} ({b_net}) overlaps {a_name} ({a_net})",
                    *b_path,
                    hint="give each network its own range, e.g. 172.20.0.0/16, 172.21.0.0/16, …",
                )
    for label, subnet, path in named:
        if subnet.overlaps(DOCKER_BRIDGE):
            yield ctx.finding(
                ID,
                "warning",
                f"{label} ({subnet}) overlaps Docker's default bridge ({DOCKER_BRIDGE})",
                *path,
                hint="move it, or set another bip in Docker's daemon.json",
            )
    for name, docker in net.docker.items():
        if docker.purpose == "database" and not docker.internal:
            yield ctx.finding(
                ID,
                "error",
                f"network {name} holds databases but is not internal: they could reach the "
                "internet and be reached from the host's bridge",
                "network",
                "docker",
                name,
                hint="set `internal: true`",
            )
