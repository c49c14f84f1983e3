"""Images: what exactly the container runs."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import Rule

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


RULES = (
    Rule(
        id="image-latest",
        title="Unpinned image",
        severity="medium",
        compose_lint=("CL-0004",),
        checks="an image without a tag, or with latest (or another moving tag)",
        why="the next pull silently runs other code: an update you did not review, or a broken "
        "release, arrives on a restart",
        fix="pin a version tag (nextcloud:30.0.17-apache), and update on purpose",
        blueprint="stacks.*.apps.{app}.version",
        test=_latest,
    ),
    Rule(
        id="image-no-digest",
        title="Image pinned by tag only",
        severity="info",
        compose_lint=("CL-0019",),
        checks="an image pinned by a tag but not by @sha256: digest",
        why="a tag can be moved by whoever controls the registry account",
        fix="append the digest (image:tag@sha256:…) where supply-chain tampering matters",
        test=_digest,
    ),
)
