"""``lares.lock``: the versions ``lares update`` moved apps to, and each image's digest.

It lies beside the blueprint and belongs in the same version control, as a package manager's
lock file does. ``pins`` (``app/container`` → version) are what ``lares update`` chose; they
replace the catalog's version when lares resolves the blueprint, and a ``version:`` written in
``lares.yaml`` always wins over them (update refuses to move an app pinned there). ``images``
(``repository:tag`` → digest) are the digests seen when first pulled: a tag is a name that can be
moved (re-pushed) under you, a digest is the content, so ``lares outdated`` says "tag moved"
when a registry no longer serves the recorded digest. ``built`` (``repository:tag`` → date) is
when each image was built, as the engine read it from the image's config at that pull, for
``lares plan`` to tell a pin older than ``updates.max_age``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lares.errors import ConfigError, Location
from lares.fsutil import atomic_write
from lares.yamlio import dump_yaml, read_text, safe_load

NAME = "lares.lock"
FORMAT = 1
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_PIN = re.compile(r"^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
HEADER = (
    "# lares.lock: the versions `lares update` chose and the digest of each image as first\n"
    "# pulled. Keep it with lares.yaml; a version written in lares.yaml wins over a pin here.\n"
)


@dataclass
class Lock:
    path: Path
    images: dict[str, str] = field(default_factory=dict)  # repository:tag → digest
    pins: dict[str, str] = field(default_factory=dict)  # app/container → version
    built: dict[str, str] = field(default_factory=dict)  # repository:tag → YYYY-MM-DD

    @classmethod
    def beside(cls, blueprint_dir: Path) -> Lock:
        """The lock file of the blueprint in ``blueprint_dir`` (empty when there is none)."""
        path = blueprint_dir / NAME
        if not path.exists():
            return cls(path)
        data = safe_load(read_text(path)) or {}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise _bad(path, f"{NAME} is not a lock file lares {FORMAT} wrote", None)
        images = _mapping(path, data, "images", _DIGEST, "a sha256 digest")
        pins = _mapping(path, data, "pins", _TAG, "an image tag")
        built = _mapping(path, data, "built", _DATE, "a date (YYYY-MM-DD)")
        for key in pins:
            if not _PIN.match(key):
                raise _bad(path, f"pins: {key!r} is not app/container", f"pins.{key}")
        return cls(path, images, pins, built)

    def record(self, image: str, digest: str, built: str | None = None) -> bool:
        """Record ``image``'s digest unless one is recorded, and the date it was built
        (YYYY-MM-DD) unless one is; True when that changed the lock."""
        changed = False
        if image not in self.images and _DIGEST.match(digest):
            self.images[image] = digest
            changed = True
        if built and image not in self.built and _DATE.match(built):
            self.built[image] = built
            changed = True
        return changed

    def pin(self, app: str, container: str, version: str | None) -> None:
        """Pin ``app/container`` at ``version``, or drop its pin with None."""
        key = f"{app}/{container}"
        if version is None:
            self.pins.pop(key, None)
        else:
            self.pins[key] = version

    def save(self) -> None:
        doc: dict[str, object] = {"format": FORMAT}
        if self.pins:
            doc["pins"] = dict(sorted(self.pins.items()))
        doc["images"] = dict(sorted(self.images.items()))
        if self.built:
            doc["built"] = dict(sorted(self.built.items()))
        atomic_write(self.path, (HEADER + dump_yaml(doc)).encode(), mode=0o644)


def lock_beside(blueprint_dir: Path) -> Lock:
    """The lock beside a blueprint: cheap when there is none (one stat)."""
    if not (blueprint_dir / NAME).exists():
        return Lock(blueprint_dir / NAME)
    return Lock.beside(blueprint_dir)


def _mapping(
    path: Path, data: dict[object, object], key: str, pattern: re.Pattern[str], what: str
) -> dict[str, str]:
    found = data.get(key) or {}
    if not isinstance(found, dict):
        raise _bad(path, f"{NAME}: {key} is not a mapping", key)
    for k, v in found.items():
        if not isinstance(v, str) or not pattern.match(v):
            raise _bad(path, f"{NAME}: {key}.{k} is not {what}", f"{key}.{k}")
    return {str(k): str(v) for k, v in found.items()}


def _bad(path: Path, message: str, where: str | None) -> ConfigError:
    return ConfigError(
        message,
        location=Location(file=str(path), path=where),
        hint=f"fix or remove the entry; lares writes {NAME} itself (lares update, lares up)",
    )
