"""``lares.lock``: the versions ``lares update`` moved apps to, and each image's digest.

It lies beside the blueprint and belongs in the same version control, as a package manager's
lock file does. ``pins`` (``app/container`` → version) are what ``lares update`` chose; they
replace the catalog's version when lares resolves the blueprint, and a ``version:`` written in
``lares.yaml`` always wins over them (update refuses to move an app pinned there). ``images``
(``repository:tag`` → digest) are the digests seen when first pulled: a tag is a name that can be
moved (re-pushed) under you, a digest is the content, so ``lares outdated`` says "tag moved"
when a registry no longer serves the recorded digest.
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
        for key in pins:
            if not _PIN.match(key):
                raise _bad(path, f"pins: {key!r} is not app/container", f"pins.{key}")
        return cls(path, images, pins)

    def record(self, image: str, digest: str) -> bool:
        """Record ``image``'s digest unless one is recorded; True when that changed the lock."""
        if image in self.images or not _DIGEST.match(digest):
            return False
        self.images[image] = digest
        return True

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
        atomic_write(self.path, (HEADER + dump_yaml(doc)).encode(), mode=0o644)


def pins_beside(blueprint_dir: Path) -> dict[str, str]:
    """The pins of the lock beside a blueprint (none without a lock file): cheap when absent."""
    if not (blueprint_dir / NAME).exists():
        return {}
    return Lock.beside(blueprint_dir).pins


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
