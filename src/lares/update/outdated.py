"""``lares outdated``: for every pinned image, the newer tags of its scheme, and moved tags.

One registry question per distinct image (tags) and one per locked image (the tag's digest now);
images that several containers share are asked about once. A registry that cannot be reached is
reported for its images and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lares.catalog.resolve import System
from lares.update.lock import Lock
from lares.update.registry import Reference, Registry, RegistryError
from lares.update.versions import Newer, newer


@dataclass(frozen=True)
class Row:
    image: str  # repository:tag as pinned
    services: tuple[str, ...]  # the containers that run it (stack/service)
    newer: Newer | None = None
    unversioned: bool = False  # the tag is no version lares can compare
    moved: bool = False  # the tag points at another digest than lares.lock records
    digest: str | None = None  # the registry's digest for the tag, when asked
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "services": list(self.services),
            "newer": self.newer.to_dict() if self.newer else None,
            "level": self.newer.level if self.newer else None,
            "unversioned": self.unversioned,
            "moved": self.moved,
            "digest": self.digest,
            "error": self.error,
        }


@dataclass(frozen=True)
class Report:
    rows: tuple[Row, ...] = field(default_factory=tuple)

    @property
    def outdated(self) -> list[Row]:
        return [r for r in self.rows if r.newer is not None and r.newer.level is not None]

    @property
    def moved(self) -> list[Row]:
        return [r for r in self.rows if r.moved]

    @property
    def errors(self) -> list[Row]:
        return [r for r in self.rows if r.error]

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": [r.to_dict() for r in self.rows],
            "outdated": len(self.outdated),
            "moved": len(self.moved),
            "unreachable": len(self.errors),
        }


def images_of(system: System, apps: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """Every pinned image of the system (of ``apps`` only, when given) and the services that
    run it, as stack/service."""
    wanted = set(apps)
    found: dict[str, list[str]] = {}
    for service in system.services:
        if not wanted or service.app in wanted:
            found.setdefault(service.image, []).append(f"{service.stack}/{service.name}")
    return {image: tuple(names) for image, names in sorted(found.items())}


def outdated(
    system: System,
    lock: Lock,
    *,
    registry: Registry | None = None,
    only: Iterable[str] = (),
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Ask the registries about every image of ``system`` (or those of the apps in ``only``)."""
    rows: list[Row] = []
    with registry or Registry() as reg:
        for image, services in images_of(system, only).items():
            if progress:
                progress(image)
            rows.append(_row(reg, image, services, lock))
    return Report(tuple(rows))


def _row(reg: Registry, image: str, services: tuple[str, ...], lock: Lock) -> Row:
    ref = Reference.parse(image)
    try:
        tags = reg.tags(ref)
        locked = lock.images.get(image)
        digest = reg.digest(ref) if locked else None
    except RegistryError as exc:
        return Row(image, services, error=exc.message)
    found = newer(ref.tag, tags)
    return Row(
        image,
        services,
        newer=found,
        unversioned=found is None,
        moved=bool(locked and digest and digest != locked),
        digest=digest,
    )
