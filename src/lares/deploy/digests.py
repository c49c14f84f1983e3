"""The digest an image was pulled at, as the engine recorded it (``RepoDigests``, read through
:mod:`lares.dockerapi`), and when it was built (``Created``, from the image's config), and
recording both in ``lares.lock`` (see :mod:`lares.update.lock`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from lares.catalog.resolve import Service
    from lares.dockerapi import DockerAPI


def pulled(image: str, api: DockerAPI | None = None) -> tuple[str | None, str | None]:
    """The ``sha256:`` digest of ``image`` (repository:tag) as pulled from its registry (None
    for an image the engine built or imported itself, which has no registry digest, or lacks)
    and the day it was built (YYYY-MM-DD, UTC)."""
    from lares.dockerapi import DockerAPI

    data = (api or DockerAPI()).get(f"/images/{quote(image, safe='/:@')}/json") or {}
    created = str(data.get("Created") or "")
    built = created[:10] if re.match(r"^\d{4}-\d\d-\d\dT", created) else None
    return _digest(image, data), built


def _digest(image: str, data: dict[str, Any]) -> str | None:
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    for entry in data.get("RepoDigests") or []:
        name, _, digest = str(entry).partition("@")
        if name == repository and digest.startswith("sha256:"):
            return digest
    return None


def record_pulled(base_dir: Path, services: Iterable[Service]) -> list[str]:
    """Record in the lares.lock beside the blueprint the digest each image was pulled at and the
    day it was built, for those it holds none of yet; the images recorded now. Images the
    engine built or imported (no registry digest) are left out."""
    from lares.dockerapi import DockerAPI
    from lares.update.lock import lock_beside

    lock = lock_beside(base_dir)
    recorded: list[str] = []
    api = DockerAPI()
    try:
        for image in dict.fromkeys(s.image for s in services):
            if image in lock.images and image in lock.built:
                continue
            digest, built = pulled(image, api)
            if digest and lock.record(image, digest, built):
                recorded.append(image)
    finally:
        api.close()
    if recorded:
        lock.save()
    return recorded
