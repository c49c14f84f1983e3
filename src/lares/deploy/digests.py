"""The digest an image was pulled at, as the engine recorded it (``RepoDigests``)."""

from __future__ import annotations

import json

from lares import run


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
