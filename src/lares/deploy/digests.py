"""The digest an image was pulled at, as the engine recorded it (``RepoDigests``), and
recording it in ``lares.lock`` (see :mod:`lares.update.lock`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from lares import run

if TYPE_CHECKING:
    from lares.catalog.resolve import Service


def repo_digests(image: str) -> str | None:
    """The ``sha256:`` digest of ``image`` (repository:tag) as pulled from its registry, or None
    for an image the engine built or imported itself (it has no registry digest)."""
    result = run.run(
        ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", image],
        check=False,
        timeout=30,
    )
    if not result.ok:
        return None
    try:
        digests = json.loads(result.stdout or "[]") or []
    except ValueError:
        return None
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    for entry in digests:
        name, _, digest = str(entry).partition("@")
        if name == repository and digest.startswith("sha256:"):
            return digest
    return None


def record_pulled(base_dir: Path, services: Iterable[Service]) -> list[str]:
    """Record in the lares.lock beside the blueprint the digest each image was pulled at, for
    those it holds none of yet; the images recorded now. Images the engine built or imported
    (no registry digest) are left out."""
    from lares.update.lock import lock_beside

    lock = lock_beside(base_dir)
    recorded: list[str] = []
    for image in dict.fromkeys(s.image for s in services):
        if image in lock.images:
            continue
        digest = repo_digests(image)
        if digest and lock.record(image, digest):
            recorded.append(image)
    if recorded:
        lock.save()
    return recorded
