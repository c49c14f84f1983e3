"""End of life: when a pinned release stops getting fixes (``catalog/lifecycles.yaml``).

The data names each product's images and its releases' end dates with the source they were read
from; :func:`end_of_life` says which product and date an image reference falls under.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from lares.yamlio import safe_load


@dataclass(frozen=True)
class EndOfLife:
    product: str  # the product's name, e.g. PostgreSQL
    release: str  # e.g. "14"
    ends: date
    source: str


@cache
def _by_image() -> dict[str, dict[str, EndOfLife]]:
    """image repository → release → its end of life."""
    text = resources.files("lares.catalog").joinpath("lifecycles.yaml").read_text("utf-8")
    products: dict[str, Any] = (safe_load(text) or {}).get("products") or {}
    found: dict[str, dict[str, EndOfLife]] = {}
    for product in products.values():
        name, source = str(product["name"]), str(product["source"])
        releases = {
            str(release): EndOfLife(name, str(release), date.fromisoformat(str(ends)), source)
            for release, ends in (product.get("releases") or {}).items()
        }
        for image in product.get("images") or ():
            found[str(image)] = releases
    return found


def end_of_life(image: str) -> EndOfLife | None:
    """The end of life of ``image`` (repository:tag)'s release, when the catalog knows it."""
    repository, tag = image, ""
    if ":" in image.rsplit("/", 1)[-1]:
        repository, tag = image.rsplit(":", 1)
    release = re.match(r"^v?(\d+)", tag)
    if release is None:
        return None
    return _by_image().get(repository, {}).get(release.group(1))
