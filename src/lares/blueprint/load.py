"""Load a blueprint from ``lares.yaml`` (or the embedded reference) into a frozen model.

``${VAR}`` and ``${VAR:-default}`` in string values are replaced from the environment before
validation (``$${`` keeps a literal ``${``). Every problem — YAML syntax, unknown keys, wrong
types, unset variables — is collected and raised together as :class:`ConfigErrors`, each with its
file:line:column.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lares.blueprint.model import Blueprint
from lares.errors import ConfigError, ConfigErrors, Location
from lares.yamlio import load_yaml, locate, read_text, validate

REFERENCE_NAME = "<reference>"
_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


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


def reference_text() -> str:
    """The embedded reference blueprint, with its comments."""
    return resources.files("lares.blueprint").joinpath("reference.yaml").read_text(encoding="utf-8")


def interpolate(data: Any, env: Mapping[str, str], filename: str) -> list[ConfigError]:
    """Replace ``${VAR}`` in every string value of ``data`` in place; return the problems."""
    errors: list[ConfigError] = []

    def substitute(text: str, path: list[Any]) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
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
    return errors


def load_text(
    text: str,
    *,
    filename: str,
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Loaded:
    """Parse, interpolate and validate blueprint ``text``."""
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
    problems = interpolate(data, os.environ if env is None else env, filename)
    if problems:
        raise ConfigErrors(problems)
    blueprint = validate(Blueprint, data, filename=filename, what="blueprint")
    return Loaded(blueprint, filename, data, base_dir or Path.cwd())


def load_file(path: Path, *, env: Mapping[str, str] | None = None) -> Loaded:
    """Load the blueprint at ``path``."""
    return load_text(read_text(path), filename=str(path), base_dir=path.parent.resolve(), env=env)


def load_reference() -> Loaded:
    """The embedded reference homelab."""
    return load_text(reference_text(), filename=REFERENCE_NAME, env={})


def load(path: Path | None, *, env: Mapping[str, str] | None = None) -> Loaded:
    """``path`` when given; else ./lares.yaml when it exists; else the embedded reference."""
    if path is not None:
        return load_file(path, env=env)
    default = Path("lares.yaml")
    if default.exists():
        return load_file(default, env=env)
    return load_reference()
