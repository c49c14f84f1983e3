"""What `lares plan` and friends print: findings, the memory table, storage, public URLs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lares.blueprint.model import Blueprint
from lares.catalog.load import Catalog
from lares.output import Out, table
from lares.plan import Plan
from lares.plan.capacity import capacity
from lares.plan.findings import Finding
from lares.text import counted
from lares.units import format_size


def gb(n: float) -> str:
    """Memory as the seed writes it: 10.5 GB (binary gigabytes)."""
    return f"{n / 1024**3:.1f} GB"


def findings_report(out: Out, findings: Iterable[Finding]) -> None:
    for f in findings:
        out.finding(f.severity, f.render())


def errors_json(findings: Iterable[Finding]) -> dict[str, Any]:
    """Plan errors that stop a command, as ``--json`` prints them (the shape of a bad file's)."""
    return {"errors": [f.to_dict() for f in findings], "omitted": 0}


def memory_rows(p: Plan) -> dict[str, Any]:
    from lares.plan.checks.memory import budget

    b = budget(p.context)
    heavy = sorted(b.by_app, key=lambda r: -r[3])
    return {"budget": b, "apps": heavy}


def memory_table(out: Out, p: Plan) -> None:
    """The allocation tree, in the shape the reference homelab documents it."""
    data = memory_rows(p)
    b = data["budget"]
    apps = data["apps"]
    several = len(p.system.blueprint.nodes()) > 1
    out.heading(f"Memory of {p.system.blueprint.host.name}" if several else "Memory")
    lines = [
        f"Total RAM: {gb(b.total)}",
        f"├─ OS & System:        {gb(b.os):>9}",
        f"├─ Docker Daemon:      {gb(b.docker):>9}",
        f"├─ Containers:         {gb(b.reservations):>9} reserved, {gb(b.limits)} limit",
    ]
    top = apps[:5]
    rest = apps[5:]
    for stack, app, n, res, lim in top:
        label = f"{app} ({n})"
        lines.append(f"│   ├─ {label:<20}{gb(res):>9}   limit {gb(lim):>9}   [{stack}]")
    if rest:
        res = sum(r[3] for r in rest)
        lim = sum(r[4] for r in rest)
        n = sum(r[2] for r in rest)
        label = f"{len(rest)} more apps ({n})"
        lines.append(f"│   └─ {label:<20}{gb(res):>9}   limit {gb(lim):>9}")
    lines.append(f"└─ Cache & Buffer:     {gb(b.cache):>9}")
    for line in lines:
        out.line(line)


def host_rows(p: Plan) -> list[dict[str, Any]]:
    """Each machine of a blueprint with several hosts: its address and the memory budget of the
    apps placed there (an app placed by labels counts on every host it may land on)."""
    from lares.plan.checks.memory import budget

    nodes = p.system.blueprint.nodes()
    if len(nodes) < 2:
        return []
    rows = []
    for node in nodes:
        b = budget(p.context, node)
        rows.append(
            {
                "name": node.name,
                "address": str(node.address),
                "labels": dict(node.labels),
                "available": b.available,
                "containers_reserved": b.reservations,
                "containers_limit": b.limits,
                "apps": [row[1] for row in b.by_app],
            }
        )
    return rows


def hosts_table(out: Out, p: Plan) -> None:
    rows = host_rows(p)
    if not rows:
        return
    out.heading("Hosts")
    out.rows(
        ("host", "address", "for containers", "reserved", "limits", "apps"),
        [
            (
                r["name"],
                r["address"],
                gb(r["available"]),
                gb(r["containers_reserved"]),
                gb(r["containers_limit"]),
                ", ".join(r["apps"]) or "—",
            )
            for r in rows
        ],
        right=("for containers", "reserved", "limits"),
    )


def storage_table(out: Out, bp: Blueprint) -> None:
    if not bp.storage.pools:
        return
    out.heading("Storage")
    for name, pool in bp.storage.pools.items():
        cap = capacity(pool)
        sizes = ", ".join(format_size(d.size, binary=False, precision=0) for d in pool.devices)
        drives = f"{cap.tolerates} drive{'s' if cap.tolerates != 1 else ''}"
        out.line(f"{name} ({pool.mount}): {pool.engine} {pool.level} + {pool.filesystem}")
        out.line(f"  devices   {sizes} = {format_size(cap.raw, binary=False)} raw")
        usable = f"{format_size(cap.usable, binary=False)} ({format_size(cap.usable)})"
        out.line(f"  usable    {usable}, survives the loss of {drives}")
        if cap.unused:
            out.line(f"  unused    {format_size(cap.unused, binary=False)} (mixed drive sizes)")


def public_table(out: Out, p: Plan) -> None:
    """The apps something serves, with the URLs that answer (see ``served_urls``), then the
    reachable apps nothing serves."""
    from lares.catalog.web import PROXY_APP, reachable, served_urls

    served = [(a, served_urls(p.system, a)) for a in reachable(p.system)]
    rows = [(a, u) for a, u in served if u.any]
    if rows:
        public = [a for a, u in rows if u.public]
        out.heading(f"Reachable ({len(public)} public through the tunnel, {len(rows)} on the LAN)")
        out.rows(
            ("app", "LAN", "public"),
            [(a.id, u.lan or ", ".join(u.direct) or "—", u.public or "—") for a, u in rows],
        )
    # with the proxy every reachable app has its LAN name, so only a blueprint without it has these
    unserved = [a.id for a, u in served if not u.any]
    if unserved:
        out.line(
            f"No URL (no {PROXY_APP}, no port published): {', '.join(unserved)}", style="yellow"
        )


def plan_json(p: Plan, source: str) -> dict[str, Any]:
    from lares.catalog.web import served_urls

    data = memory_rows(p)
    b = data["budget"]
    bp = p.system.blueprint
    return {
        "source": source,
        "summary": {
            "stacks": len([s for s in p.system.stacks if s.apps]),
            "apps": len(p.system.apps),
            "containers": len(p.system.services),
            "errors": len(p.errors),
            "warnings": len(p.warnings),
        },
        "findings": [f.to_dict() for f in p.findings],
        "memory": {
            "total": b.total,
            "reserved_os": b.os,
            "reserved_docker": b.docker,
            "containers_reserved": b.reservations,
            "containers_limit": b.limits,
            "cache": b.cache,
            "apps": [
                {"stack": s, "app": a, "containers": n, "reservation": r, "limit": lim}
                for s, a, n, r, lim in data["apps"]
            ],
        },
        "storage": {
            name: {
                "engine": pool.engine,
                "level": pool.level,
                "raw": capacity(pool).raw,
                "usable": capacity(pool).usable,
                "tolerates": capacity(pool).tolerates,
            }
            for name, pool in bp.storage.pools.items()
        },
        "stacks": {
            s.name: {a.id: [svc.name for svc in a.services] for a in s.apps}
            for s in p.system.stacks
        },
        **({"hosts": hosts} if (hosts := host_rows(p)) else {}),
        "urls": {
            a.id: {
                "exposure": a.exposure,
                "lan": u.lan,
                "public": u.public,
                "direct": list(u.direct),
            }
            for a, u in ((a, served_urls(p.system, a)) for a in p.system.apps)
            if a.exposure != "none"
        },
    }


def plan_report(out: Out, p: Plan, source: str) -> None:
    if out.as_json:
        out.json(plan_json(p, source))
        return
    bp = p.system.blueprint
    stacks = [s for s in p.system.stacks if s.apps]
    out.line(
        f"lares plan — {source}: host {bp.host.name}, {counted(len(stacks), 'stack')}, "
        f"{counted(len(p.system.apps), 'app')}, {counted(len(p.system.services), 'container')}",
        style="bold",
    )
    out.heading("Stacks")
    out.rows(
        ("stack", "network", "containers", "apps"),
        [
            (s.name, s.network or "(own)", str(len(s.services)), ", ".join(a.id for a in s.apps))
            for s in stacks
        ],
        right=("containers",),
    )
    hosts_table(out, p)
    memory_table(out, p)
    storage_table(out, bp)
    public_table(out, p)
    if p.findings:
        out.heading("Findings")
        findings_report(out, p.findings)
    out.line()
    infos = len(p.findings) - len(p.errors) - len(p.warnings)
    summary = (
        f"{counted(len(p.errors), 'error')}, {counted(len(p.warnings), 'warning')}, "
        f"{counted(infos, 'note')}"
    )
    if p.errors:
        out.line(f"✗ {summary}", style="red bold")
    else:
        out.line(f"✓ {summary}", style="green bold")


def catalog_report(out: Out, catalog: Catalog, bp: Blueprint) -> None:
    used = bp.app_stack()
    if out.as_json:
        out.json(
            [
                {
                    "id": a.id,
                    "name": a.name,
                    "category": a.category,
                    "containers": list(a.containers),
                    "stack": used.get(a.id),
                    "source": catalog.sources.get(a.id),
                }
                for a in (catalog[i] for i in catalog.ids())
            ]
        )
        return
    t = table("app", "name", "containers", "images", "in stack")
    for app_id in catalog.ids():
        a = catalog[app_id]
        t.add_row(
            a.id,
            a.name,
            str(len(a.containers)),
            ", ".join(f"{c.image}:{c.version}" for c in a.containers.values()),
            used.get(a.id, "—"),
        )
    out.table(t)


def containers_table(out: Out, states: Iterable[Any]) -> None:
    """Per stack and app, the containers with state, health, uptime, restarts and ports."""
    from lares.units import format_duration

    states = list(states)
    if not states:
        out.line("no containers managed by lares are running")
        return
    t = table("stack", "app", "container", "state", "health", "uptime", "restarts", "ports")
    for s in states:
        style = "green" if s.ok else "red"
        t.add_row(
            s.stack,
            s.app,
            s.name,
            f"[{style}]{s.state}[/]",
            s.health or "—",
            format_duration(s.uptime) if s.uptime is not None else "—",
            str(s.restarts),
            ", ".join(s.ports) or "—",
        )
    out.table(t)
