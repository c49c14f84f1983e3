"""The blueprint around the imported apps: host, paths, network and one stack per project."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from lares import hostpaths
from lares.importer import service
from lares.importer.load import Project
from lares.importer.mapping import Imported, Paths, app_id

_POOL_ROOTS = ("/mnt/", "/media/")
#: Where Docker's own address pools start; the stacks' networks are numbered from here.
_FIRST_SUBNET = ipaddress.IPv4Network("172.20.0.0/16")


def _binds(projects: Iterable[Project]) -> list[str]:
    out = []
    for project in projects:
        for spec in project.services.values():
            for vol in service.volumes(spec):
                src = hostpaths.normal(vol.source) if vol.kind == "bind" else ""
                if src.startswith("/") and not vol.socket and not hostpaths.declared_problem(src):
                    out.append(src)
    return out


def _root(paths: Sequence[str], depth: int) -> str | None:
    """The most common folder ``depth`` levels deep among ``paths`` that can be a root."""
    counts = Counter(
        "/" + "/".join(p.strip("/").split("/")[:depth])
        for p in paths
        if len(p.strip("/").split("/")) > depth
    )
    for folder, _ in counts.most_common():
        if hostpaths.root_problem(folder) is None:
            return folder
    return None


def choose_paths(projects: Sequence[Project]) -> Paths:
    """paths.appdata and paths.pool from where the services keep their data: the pool where
    most of the binds under /mnt or /media are, app data where most of the others are (the
    project folder, for binds beside the compose file). What lies outside both is declared
    per container (host_paths)."""
    binds = _binds(projects)
    pooled = [b for b in binds if b.startswith(_POOL_ROOTS)]
    pool = _root(pooled, 2) or "/srv/pool"
    folders = [str(p.source.workdir.resolve()) for p in projects]
    near = [b for b in binds if not b.startswith(_POOL_ROOTS)]
    under_project = [f for f in folders if any(hostpaths.under(b, f) for b in near)]
    appdata = None
    if under_project:
        common = os.path.commonpath(under_project)
        appdata = common if hostpaths.root_problem(common) is None else None
    appdata = appdata or _root(near, 2) or "/srv/appdata"
    if hostpaths.under(appdata, pool) or hostpaths.under(pool, appdata):
        pool = "/srv/pool" if appdata != "/srv/pool" else "/srv/data"
    return Paths(appdata, pool)


def stack_name(project: Project, taken: set[str]) -> str:
    name = app_id(project.name) or "imported"
    while name in taken:
        name = f"{name}-2"
    taken.add(name)
    return name


def _subnets(projects: Iterable[Project]) -> list[ipaddress.IPv4Network]:
    out = []
    for project in projects:
        for net in (project.resolved.get("networks") or {}).values():
            for cfg in ((net or {}).get("ipam") or {}).get("config") or ():
                try:
                    out.append(ipaddress.IPv4Network(str(cfg.get("subnet")), strict=False))
                except (ValueError, TypeError):
                    continue
    return out


def database_network(stacks: Sequence[str]) -> str:
    """The internal database network's name: the stack's, when there is one stack."""
    return f"{stacks[0]}-db" if len(stacks) == 1 else "databases"


def networks(
    projects: Sequence[Project],
    stacks: Sequence[str],
    database: bool,
    taken: Sequence[ipaddress.IPv4Network] = (),
) -> dict[str, Any]:
    """One network per stack (the project's own subnet when it set one), and an internal
    database network when an app has a database container; new subnets miss ``taken`` (the
    engine's networks)."""
    known = {}
    for project, stack in zip(projects, stacks, strict=True):
        subnets = _subnets([project])
        if subnets:
            known[stack] = subnets[0]
    used = [*known.values(), *taken]
    out: dict[str, Any] = {}
    candidate = _FIRST_SUBNET
    db = database_network(stacks)
    for stack in [*stacks, *([db] if database else [])]:
        net = known.get(stack)
        if net is None:
            while any(candidate.overlaps(u) for u in used):
                candidate = ipaddress.IPv4Network((int(candidate.network_address) + 2**16, 16))
            net = candidate
            used.append(net)
        out[stack] = {"subnet": str(net)}
        if stack == db and database and stack not in known:
            out[stack] |= {"internal": True, "purpose": "database"}
    return out


def local_address() -> ipaddress.IPv4Address | None:
    """This machine's address on its LAN: the one its default route leaves from (a UDP
    socket's connect sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            return ipaddress.IPv4Address(s.getsockname()[0])
    except OSError:
        return None


def _host_facts() -> dict[str, Any]:
    """This machine, as `lares doctor` sees it: name, CPU and memory."""
    name = app_id(socket.gethostname().split(".")[0]) or "server"
    threads = os.cpu_count() or 2
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            model = m[1].strip() if m else model
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    gib = max(1, memory // 1024**3)
    return {
        "name": name,
        "cpu": {"model": model, "cores": max(1, threads // 2), "threads": threads},
        "memory": f"{gib}GiB",
    }


def blueprint(
    projects: Sequence[Project],
    stacks: Sequence[str],
    apps: Sequence[Imported],
    paths: Paths,
    *,
    taken: Sequence[ipaddress.IPv4Network] = (),
) -> dict[str, Any]:
    """The blueprint's data: the apps in their stacks, with the folder of custom app files.
    The LAN is this machine's (a /24 around its address), else 192.168.1.0/24."""
    here = local_address()
    host_address = str(here) if here and not here.is_loopback else "192.168.1.2"
    lan = str(ipaddress.IPv4Network(f"{host_address}/24", strict=False))
    database = any(
        spec.get("role") == "database" or "database" in (spec.get("networks") or ())
        for a in apps
        if a.custom
        for spec in a.custom["containers"].values()
    ) or any(a.catalog for a in apps)
    out: dict[str, Any] = {"version": 1}
    if any(a.custom for a in apps):
        out["catalog"] = ["catalog"]
    out["host"] = _host_facts()
    out["paths"] = {"appdata": paths.appdata, "pool": paths.pool}
    out["network"] = {
        "lan": lan,
        "host_address": host_address,
        "docker": networks(projects, stacks, database, taken),
    }
    out["stacks"] = {}
    for stack in stacks:
        members = {a.id: a.settings for a in apps if a.stack == stack}
        if members:
            out["stacks"][stack] = {"network": stack, "apps": members}
    return out
