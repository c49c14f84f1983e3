"""With several hosts: each database and the apps that use it run on hosts that reach each other.

An app reaches a database of another app over a database network (an internal overlay under
Swarm). Two hosts reach each other when they are the same, when both addresses are in
``network.lan``, or when one lists the other under ``reach:`` (a routed subnet, a VPN between
sites). An app placed by labels may run on any host with them, so every pair must reach.
"""

from __future__ import annotations

from collections.abc import Iterator

from lares.blueprint.model import Blueprint, Node
from lares.catalog.resolve import Service
from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "reach"
DESCRIPTION = "with several hosts, a database and the apps that use it are on hosts that reach"


def reaches(bp: Blueprint, a: Node, b: Node) -> bool:
    """Whether traffic between hosts ``a`` and ``b`` is possible (see the module docstring)."""
    if a.name == b.name:
        return True
    lan = bp.network.lan
    if a.address in lan and b.address in lan:
        return True
    return b.name in a.reach or a.name in b.reach


def check(ctx: PlanContext) -> Iterator[Finding]:
    bp = ctx.blueprint
    nodes = {n.name: n for n in bp.nodes()}
    if len(nodes) < 2:
        return
    database_nets = set(bp.network.networks_for("database"))
    databases: dict[str, list[Service]] = {}  # database network → the databases on it
    for s in ctx.system.services:
        if s.spec.role == "database":
            for net in database_nets & set(s.networks):
                databases.setdefault(net, []).append(s)
    for app in ctx.system.apps:
        for service in app.services:
            users = {
                db.name: db
                for net in database_nets & set(service.networks)
                for db in databases.get(net, ())
                if db.app != app.id
            }
            for db in users.values():
                pair = next(
                    (
                        (h, d)
                        for h in ctx.system.placed_on(app)
                        for d in ctx.system.placed_on(db)
                        if not reaches(bp, nodes[h], nodes[d])
                    ),
                    None,
                )
                if pair is None:
                    continue
                here, there = nodes[pair[0]], nodes[pair[1]]
                outside = there if there.address not in bp.network.lan else here
                yield ctx.finding(
                    ID,
                    "error",
                    f"{service.name} on {here.name} cannot reach its database {db.name} on "
                    f"{there.name}: {outside.name} ({outside.address}) is outside "
                    f"network.lan {bp.network.lan} and neither host lists the other under reach:",
                    *app.path,
                    hint="place them on hosts of one LAN, or add the other host to reach: when "
                    "a route exists (Swarm needs TCP 2377 and 7946, UDP 7946 and 4789 between "
                    "them)",
                )
