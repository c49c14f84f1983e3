"""Where a blueprint comes from, and its text parsed and interpolated — without validating it.

This module stays light (no pydantic) so a command can fingerprint its inputs quickly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lares.errors import MAX_ERRORS, ConfigError, ConfigErrors, Location
from lares.yamlio import load_yaml, locate, read_text

REFERENCE_NAME = "<reference>"
_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


@dataclass(frozen=True)
class Source:
    """A blueprint's text, the name errors use for it, and the folder its paths are relative to."""

    text: str
    filename: str
    base_dir: Path

    @classmethod
    def from_file(cls, path: Path) -> Source:
        return cls(read_text(path), str(path), path.parent.resolve())

    @classmethod
    def reference(cls) -> Source:
        return cls(reference_text(), REFERENCE_NAME, Path.cwd())

    @classmethod
    def find(cls, path: Path | None) -> Source:
        """``path`` when given; else ./lares.yaml when it exists; else the embedded reference."""
        if path is not None:
            return cls.from_file(path)
        default = Path("lares.yaml")
        return cls.from_file(default) if default.exists() else cls.reference()


def reference_text() -> str:
    """The embedded reference blueprint, with its comments."""
    return resources.files("lares.blueprint").joinpath("reference.yaml").read_text(encoding="utf-8")


def interpolate(data: Any, env: Mapping[str, str], filename: str) -> tuple[list[ConfigError], int]:
    """Replace ``${VAR}`` in every string value of ``data`` in place; return the problems
    (the first :data:`~lares.errors.MAX_ERRORS` of them) and how many more there are."""
    errors: list[ConfigError] = []
    unlisted = 0

    def substitute(text: str, path: list[Any]) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            nonlocal unlisted
            if len(errors) >= MAX_ERRORS:
                unlisted += 1
                return match.group(0)
            errors.append(
                ConfigError(
                    f"${{{name}}} is not set in the environment",
                    location=locate(data, path, filename),
                    hint=f"export {name}=…, or write ${{{name}:-default}}",
                    code="env-unset",
                )
            )
            return match.group(0)

        return _VAR.sub(one, text)

    def walk(node: Any, path: list[Any]) -> None:
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if isinstance(value, str) and "$" in value:
                    node[key] = substitute(value, [*path, key])
                else:
                    walk(value, [*path, key])
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str) and "$" in value:
                    node[i] = substitute(value, [*path, i])
                else:
                    walk(value, [*path, i])

    walk(data, [])
    return errors, unlisted


def parse(text: str, *, filename: str, env: Mapping[str, str] | None = None) -> Any:
    """YAML data of a blueprint with ``${VAR}`` filled in; raises :class:`ConfigErrors`."""
    data = load_yaml(text, filename=filename)
    if data is None:
        raise ConfigErrors(
            [
                ConfigError(
                    "the blueprint is empty",
                    location=Location(filename, 1, 1),
                    hint="run `lares init` for a commented starting point",
                    code="schema",
                )
            ]
        )
    problems, unlisted = interpolate(data, os.environ if env is None else env, filename)
    if problems:
        raise ConfigErrors(problems, omitted=unlisted)
    return data
