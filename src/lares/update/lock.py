"""``lares.lock``: the digest each pinned image had when lares first pulled it.

It lies beside the blueprint and belongs in the same version control: a tag is a name that can be
moved (re-pushed) under you, a digest is the content. ``lares outdated`` says "tag moved" when the
registry's digest for a pinned tag is no longer the one recorded here, instead of a different
image being run silently.
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
HEADER = (
    "# lares.lock: the digest of each image as lares first pulled it. Keep it with lares.yaml;\n"
    "# `lares outdated` says when a registry moved a tag away from what is recorded here.\n"
)


@dataclass
class Lock:
    path: Path
    images: dict[str, str] = field(default_factory=dict)  # repository:tag → digest

    @classmethod
    def beside(cls, blueprint_dir: Path) -> Lock:
        """The lock file of the blueprint in ``blueprint_dir`` (empty when there is none)."""
        path = blueprint_dir / NAME
        if not path.exists():
            return cls(path)
        data = safe_load(read_text(path)) or {}
        images = data.get("images") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or not isinstance(images, dict)
        ):
            raise ConfigError(
                f"{NAME} is not a lock file lares {FORMAT} wrote",
                location=Location(file=str(path)),
                hint="remove it and let lares record the digests again",
            )
        bad = [k for k, v in images.items() if not isinstance(v, str) or not _DIGEST.match(v)]
        if bad:
            raise ConfigError(
                f"{NAME}: {bad[0]} has no sha256 digest",
                location=Location(file=str(path), path=f"images.{bad[0]}"),
                hint="remove the line; the next pull records it again",
            )
        return cls(path, {str(k): str(v) for k, v in images.items()})

    def record(self, image: str, digest: str) -> bool:
        """Record ``image``'s digest unless one is recorded; True when that changed the lock."""
        if image in self.images or not _DIGEST.match(digest):
            return False
        self.images[image] = digest
        return True

    def save(self) -> None:
        body = dump_yaml({"format": FORMAT, "images": dict(sorted(self.images.items()))})
        atomic_write(self.path, (HEADER + body).encode(), mode=0o644)
