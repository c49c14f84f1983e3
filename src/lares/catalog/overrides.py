"""How a blueprint's container override changes a catalog container's volumes and ports.

A volume of the override whose container path is one the catalog container mounts replaces
that mount (the data lives where the person keeps it); its other volumes are added. A port of
the override whose container port and protocol the catalog container publishes replaces that
binding (another host port, another address); its other ports are published too. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from lares.blueprint.model import ContainerOverride, PortOverride
from lares.catalog.model import Port
from lares.hostpaths import volume_target

Origin = Literal["catalog", "blueprint"]


def volumes(
    catalog: Sequence[str], override: ContainerOverride | None
) -> list[tuple[str, Origin, int]]:
    """The container's volumes as (template, where it is written, its index there): each of
    the catalog's, or the override's volume for the same container path in its place, then the
    override's others, in their order."""
    theirs = override.volumes if override is not None else ()
    by_target = {t: i for i, v in enumerate(theirs) if (t := volume_target(v)) is not None}
    out: list[tuple[str, Origin, int]] = []
    taken: set[int] = set()
    for i, template in enumerate(catalog):
        j = by_target.get(volume_target(template) or "")
        if j is None:
            out.append((template, "catalog", i))
        else:
            out.append((theirs[j], "blueprint", j))
            taken.add(j)
    out += [(v, "blueprint", j) for j, v in enumerate(theirs) if j not in taken]
    return out


def replaced(catalog: Sequence[str], override: ContainerOverride | None) -> list[tuple[str, str]]:
    """(catalog template, the override's template) for each catalog volume the override maps
    elsewhere."""
    theirs = override.volumes if override is not None else ()
    by_target = {t: v for v in theirs if (t := volume_target(v)) is not None}
    return [
        (template, by_target[target])
        for template in catalog
        if (target := volume_target(template)) is not None and target in by_target
    ]


def ports(
    catalog: Sequence[Port], override: ContainerOverride | None
) -> list[tuple[Port | PortOverride, Origin]]:
    """The container's published ports: each of the catalog's, or the override's for the same
    container port and protocol in its place, then the override's others."""
    theirs = override.ports if override is not None else ()
    by_key = {(p.container, p.protocol): p for p in theirs}
    out: list[tuple[Port | PortOverride, Origin]] = []
    for p in catalog:
        mine = by_key.pop((p.container, p.protocol), None)
        out.append((mine, "blueprint") if mine is not None else (p, "catalog"))
    out += [(p, "blueprint") for p in theirs if (p.container, p.protocol) in by_key]
    return out
