"""Find and load app definitions: the embedded ``catalog/apps/*.yaml`` plus a blueprint's folders.

A new app is one new YAML file; nothing else changes. An app in a blueprint folder replaces the
embedded app of the same id (so a person can adjust a definition without forking lares).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from lares.catalog.model import App
from lares.errors import ConfigError, ConfigErrors, Location
from lares.yamlio import MAX_APP_BYTES, load_yaml, locate, read_text, safe_load, validate


@dataclass(frozen=True)
class Catalog:
    """Apps by id, with the file each came from."""

    apps: Mapping[str, App]
    sources: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)  # each app's YAML, for positions

    def __contains__(self, app_id: object) -> bool:
        return app_id in self.apps

    def __getitem__(self, app_id: str) -> App:
        return self.apps[app_id]

    def ids(self) -> list[str]:
        return sorted(self.apps)

    def locate(self, app_id: str, *path: Any) -> Location:
        """Where in its file an app definition says ``path`` (e.g. containers, x, volumes, 0)."""
        return locate(self.data.get(app_id), path, self.sources.get(app_id))


def _embedded() -> list[tuple[str, str]]:
    folder = resources.files("lares.catalog").joinpath("apps")
    return sorted(
        (f"catalog/apps/{entry.name}", entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def _parse(name: str, text: str, *, trusted: bool) -> tuple[App, Any]:
    # The embedded catalog is checked by the tests, so it takes the fast loader; a person's
    # files take the round-trip loader that keeps line numbers for errors.
    data = safe_load(text) if trusted else load_yaml(text, filename=name)
    app = validate(App, data, filename=name, what="app definition")
    stem = Path(name).stem
    if app.id != stem:
        raise ConfigErrors(
            [
                ConfigError(
                    f"the app id {app.id!r} does not match the file name {stem!r}",
                    location=Location(name, 1, 1, "id"),
                    hint=f"rename the file to {app.id}.yaml or set id: {stem}",
                    code="catalog",
                )
            ]
        )
    if trusted:
        floating = [k for k, c in app.containers.items() if "floating_tag" in c.exceptions]
        if floating:  # lares's own apps name releases; only a person's file may float
            raise ConfigErrors(
                [
                    ConfigError(
                        f"{app.id}: container {floating[0]} runs a floating tag "
                        f"({app.containers[floating[0]].version}); the catalog pins releases",
                        location=Location(name, 1, 1, "containers"),
                        hint="set version: to a release tag and drop exceptions.floating_tag",
                        code="catalog",
                    )
                ]
            )
    return app, data


def load_catalog(extra_dirs: Iterable[Path] = ()) -> Catalog:
    """The embedded catalog, overlaid with the apps in ``extra_dirs`` (in order)."""
    apps: dict[str, App] = {}
    sources: dict[str, str] = {}
    problems: list[ConfigError] = []
    omitted = 0
    positions: dict[str, Any] = {}
    for name, text in _embedded():
        try:
            app, data = _parse(name, text, trusted=True)
        except ConfigErrors as exc:
            problems.extend(exc.errors)
            continue
        apps[app.id] = app
        sources[app.id] = name
        positions[app.id] = data
    for folder in extra_dirs:
        if not folder.is_dir():
            problems.append(
                ConfigError(
                    "catalog folder not found",
                    location=Location(str(folder)),
                    hint="fix the path under `catalog:` in the blueprint (relative to the file)",
                    code="catalog",
                )
            )
            continue
        for path in sorted(folder.glob("*.yaml")):
            try:
                app, data = _parse(str(path), read_text(path, limit=MAX_APP_BYTES), trusted=False)
            except ConfigErrors as exc:
                problems.extend(exc.errors)
                omitted += exc.omitted
                continue
            apps[app.id] = app
            sources[app.id] = str(path)
            positions[app.id] = data
    if problems:
        raise ConfigErrors(problems, omitted=omitted)
    return Catalog(apps, sources, positions)
