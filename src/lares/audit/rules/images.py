"""Images: what exactly the container runs."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import table

FAMILY = "images"


def _tag(image: str) -> str | None:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def _latest(c: Container) -> list[str]:
    if not c.image or c.image.startswith("sha256:"):
        return []
    tag = _tag(c.image)
    if "@" in c.image:
        return []
    if tag is None:
        return [f"{c.image} has no tag, so it is latest"]
    if tag in ("latest", "stable", "release", "main", "master", "nightly", "edge"):
        return [f"{c.image} follows a moving tag"]
    return []


def _digest(c: Container) -> list[str]:
    if not c.image or "@" in c.image or c.image.startswith("sha256:") or _latest(c):
        return []
    return [f"{c.image} is pinned by tag, not by digest"]


RULES = table(
    FAMILY,
    {
        "image-latest": _latest,
        "image-no-digest": _digest,
    },
)
