"""``lares outdated``: for every pinned image, the newer tags of its scheme, moved tags, and
how old the pinned version is.

Per distinct image: its tags, its manifest and config (``created``: when it was built), and for
a locked image the tag's digest now; images that several containers share are asked about once,
and several images at a time. A registry that cannot be reached is reported for its images and
the others go on. An image built longer ago than ``max_age`` (``updates.max_age``) is flagged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lares.catalog.resolve import System
from lares.update import age
from lares.update.lock import Lock
from lares.update.registry import Reference, Registry, RegistryError
from lares.update.versions import LEVELS, Newer, newer, release_notes


@dataclass(frozen=True)
class Row:
    image: str  # repository:tag as pinned
    services: tuple[str, ...]  # the containers that run it (stack/service)
    newer: Newer | None = None
    unversioned: bool = False  # the tag is no version lares can compare
    moved: bool = False  # the tag points at another digest than lares.lock records
    digest: str | None = None  # the registry's digest for the tag, when asked
    built: date | None = None  # when the pinned version was built (its config's `created`)
    age: str | None = None  # how long ago, as a person says it
    too_old: bool = False  # built longer ago than max_age
    notes: dict[str, str] = field(default_factory=dict)  # newer tag → its release notes
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
            "built": self.built.isoformat() if self.built else None,
            "age": self.age,
            "too_old": self.too_old,
            "release_notes": dict(self.notes),
            "error": self.error,
        }


@dataclass(frozen=True)
class Report:
    rows: tuple[Row, ...] = field(default_factory=tuple)
    max_age: str = age.DEFAULT

    @property
    def outdated(self) -> list[Row]:
        return [r for r in self.rows if r.newer is not None and r.newer.level is not None]

    @property
    def moved(self) -> list[Row]:
        return [r for r in self.rows if r.moved]

    @property
    def errors(self) -> list[Row]:
        return [r for r in self.rows if r.error]

    @property
    def too_old(self) -> list[Row]:
        return [r for r in self.rows if r.too_old]

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": [r.to_dict() for r in self.rows],
            "outdated": len(self.outdated),
            "moved": len(self.moved),
            "unreachable": len(self.errors),
            "max_age": self.max_age,
            "too_old": len(self.too_old),
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


WORKERS = 8  # images asked about at a time


def outdated(
    system: System,
    lock: Lock,
    *,
    registry: Registry | None = None,
    only: Iterable[str] = (),
    max_age: str = age.DEFAULT,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Ask the registries about every image of ``system`` (or those of the apps in ``only``),
    several at a time; the rows in the order of the images' names."""
    today = today or date.today()
    images = images_of(system, only)
    with registry or Registry() as reg, ThreadPoolExecutor(WORKERS) as pool:
        asked = [
            pool.submit(_row, reg, image, services, lock, max_age, today, _notes(system, image))
            for image, services in images.items()
        ]
        rows: list[Row] = []
        for image, future in zip(images, asked, strict=True):
            rows.append(future.result())
            if progress:
                progress(image)
    return Report(tuple(rows), max_age)


def _row(
    reg: Registry,
    image: str,
    services: tuple[str, ...],
    lock: Lock,
    max_age: str,
    today: date,
    notes: str | None = None,
) -> Row:
    ref = Reference.parse(image)
    try:
        tags = reg.tags(ref)
        locked = lock.images.get(image)
        digest = reg.digest(ref) if locked else None
        built = reg.created(ref).date()
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
        built=built,
        age=age.describe(built, today),
        too_old=age.too_old(built, max_age, today),
        notes={
            tag: url
            for level in LEVELS
            if found and (tag := found.at(level)) and (url := release_notes(notes, tag))
        },
    )


def _notes(system: System, image: str) -> str | None:
    """The release-notes template of the app whose main container runs ``image``."""
    for service in system.services:
        if service.image == image and service.key == service.app:
            view = system.app(service.app)
            return view.app.release_notes if view is not None else None
    return None
