"""Load a blueprint from ``lares.yaml`` (or the embedded reference) into a frozen model.

``${VAR}`` and ``${VAR:-default}`` in string values are replaced from the environment before
validation (``$${`` keeps a literal ``${``). Every problem — YAML syntax, unknown keys, wrong
types, unset variables — is collected and raised together as :class:`ConfigErrors`, each with its
file:line:column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lares.blueprint.model import Blueprint
from lares.blueprint.source import REFERENCE_NAME, Source, interpolate, parse, reference_text
from lares.errors import Location
from lares.yamlio import locate, validate

__all__ = [
    "REFERENCE_NAME",
    "Loaded",
    "interpolate",
    "load",
    "load_file",
    "load_reference",
    "load_text",
    "reference_text",
]


@dataclass(frozen=True)
class Loaded:
    """A validated blueprint and where it came from (for locating findings)."""

    blueprint: Blueprint
    filename: str
    data: Any  # the round-trip YAML, for positions
    base_dir: Path

    def locate(self, *path: Any) -> Location:
        """The file position of a blueprint path such as ("stacks", "media", "apps", "sonarr")."""
        return locate(self.data, path, self.filename)

    @property
    def source_name(self) -> str:
        """How output names the blueprint: its file, or "the reference homelab"."""
        return "the reference homelab" if self.filename.startswith("<") else self.filename


def load_text(
    text: str,
    *,
    filename: str,
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Loaded:
    """Parse, interpolate and validate blueprint ``text``."""
    data = parse(text, filename=filename, env=env)
    blueprint = validate(Blueprint, data, filename=filename, what="blueprint")
    return Loaded(blueprint, filename, data, base_dir or Path.cwd())


def load_file(path: Path, *, env: Mapping[str, str] | None = None) -> Loaded:
    """Load the blueprint at ``path``."""
    return load_source(Source.from_file(path), env=env)


def load_reference() -> Loaded:
    """The embedded reference homelab."""
    return load_source(Source.reference())


def load_source(source: Source, *, env: Mapping[str, str] | None = None) -> Loaded:
    if source.filename == REFERENCE_NAME:
        env = {}
    return load_text(source.text, filename=source.filename, base_dir=source.base_dir, env=env)


def load(path: Path | None, *, env: Mapping[str, str] | None = None) -> Loaded:
    """``path`` when given; else ./lares.yaml when it exists; else the embedded reference."""
    return load_source(Source.find(path), env=env)
