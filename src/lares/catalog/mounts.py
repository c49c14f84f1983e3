"""Where each container's bind mounts, devices and backup paths land on the host, and which may not.

A host path is judged after its placeholders are filled and it is normalised
(:mod:`lares.hostpaths`):

* written from a root — ``{appdata}`` (the app's own folder), ``{pool}``, ``{folder:NAME}`` — it
  must stay inside that root: ``{appdata}/../../etc`` leaves it;
* relative (``./caddy``) it is inside the stack's folder, and must stay there;
* absolute, it must be inside paths.appdata or paths.pool, or declared by the container (the
  catalog's or the blueprint's ``host_paths``, with a reason; the Docker socket by its
  ``docker_socket`` exception);
* never one that :func:`lares.hostpaths.refused` names, declared or not.

:func:`problems` is pure; the ``paths`` plan check locates what it returns (the catalog file for a
catalog's value, the blueprint line for an override) and the renderer refuses to write a compose
file while any is left.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from lares.blueprint.model import Blueprint, ContainerOverride
from lares.catalog import overrides
from lares.catalog.model import App
from lares.catalog.resolve import AppView, Service, System
from lares.hostpaths import DOCKER_SOCKETS, device_problem, normal, refused, under, volume_parts

_ROOT = re.compile(r"^\{(appdata|pool|folder:([a-z0-9_-]+))\}")


@dataclass(frozen=True)
class MountProblem:
    """A host path that may not be used, and where it was written."""

    app: str
    service: str
    origin: Literal["catalog", "blueprint"]
    #: within the app definition (catalog) or below the app in the blueprint (blueprint)
    path: tuple[str | int, ...]
    message: str
    hint: str


def source_of(volume: str) -> str:
    """The host side of a short-syntax volume (``SRC:DST[:MODE]``), placeholders kept whole."""
    return volume_parts(volume)[0]


def _read_only(volume: str) -> bool:
    parts = volume.split(":")
    return len(parts) >= 3 and "ro" in parts[-1].split(",")


def _root(template: str, bp: Blueprint, app: App) -> tuple[str, str] | None:
    """The root placeholder ``template`` starts with, and its value, or None."""
    match = _ROOT.match(template)
    if match is None:
        return None
    if match.group(1) == "appdata":
        return "{appdata}", f"{bp.paths.appdata}/{app.id}"
    if match.group(1) == "pool":
        return "{pool}", bp.paths.pool
    folder = match.group(2)
    if folder not in bp.paths.folders:
        return None  # reported by the references check
    return match.group(0), bp.paths.folder(folder)


def judge(
    template: str,
    filled: str,
    *,
    bp: Blueprint,
    app: App,
    declared: Mapping[str, str] = {},
    read_only: bool = False,
    socket: bool = False,
) -> tuple[str, str] | None:
    """(message, hint) when the host path ``filled`` (written as ``template``) may not be
    mounted; None when it may. ``socket``: the container declares the docker_socket exception."""
    if "{" in filled:
        return None  # a placeholder that did not resolve: the references check says so
    if filled.startswith("~"):
        return (
            f"{template!r} is in a home folder, which Compose takes from whoever runs it",
            "write an absolute path under paths.appdata or paths.pool",
        )
    if not filled.startswith("/"):
        if not filled.startswith("."):
            return None  # a named volume, not a host path
        relative = posixpath.normpath(filled)
        if relative == ".." or relative.startswith("../"):
            return (
                f"{template!r} leaves the stack's folder",
                "a relative path stays inside the folder lares renders for the stack",
            )
        return None
    path = normal(filled)
    root = _root(template, bp, app)
    if root is not None and not under(path, normal(root[1])):
        return (
            f"{template!r} leaves {root[0]} ({root[1]}): it is {path}",
            f"keep it inside {root[0]}; '..' cannot climb out of it",
        )
    why = refused(path)
    if why:
        return why, "mount a folder of its own under paths.appdata or paths.pool instead"
    if under(path, bp.paths.appdata) or under(path, bp.paths.pool):
        return None
    if socket and path in DOCKER_SOCKETS:
        return None
    for allowed in declared:
        if under(path, allowed):
            if under(path, "/etc") and not read_only:
                return f"{path} is below /etc and mounted writable", "mount it read-only (:ro)"
            return None
    return (
        f"{path} is outside paths.appdata ({bp.paths.appdata}) and paths.pool "
        f"({bp.paths.pool}), and not declared",
        f"declare it under host_paths with a one-line reason (`{path}: why it is needed`), "
        "or move it under paths.appdata or the pool",
    )


def problems(system: System) -> list[MountProblem]:
    """Every host path in ``system`` that may not be used (see the module docstring)."""
    return [p for app in system.apps for p in _app_problems(system.blueprint, app)]


def _app_problems(bp: Blueprint, view: AppView) -> Iterator[MountProblem]:
    app = view.app
    for service in view.services:
        yield from _service_problems(bp, view, service)
    for i, template in enumerate(app.backup.paths if app.backup else ()):
        filled = _fill_root(template, bp, app)
        if filled is None:
            continue
        found = judge(template, filled, bp=bp, app=app)
        if found:
            yield MountProblem(app.id, app.id, "catalog", ("backup", "paths", i), *found)


def _fill_root(template: str, bp: Blueprint, app: App) -> str | None:
    root = _root(template, bp, app)
    if root is None:
        return template if not template.startswith("{") else None
    return root[1] + template[len(root[0]) :]


def _service_problems(bp: Blueprint, view: AppView, service: Service) -> Iterator[MountProblem]:
    app, spec = view.app, service.spec
    override: ContainerOverride | None = (
        view.settings if service.is_main else view.settings.containers.get(service.key)
    )
    declared = {**spec.host_paths, **(override.host_paths if override is not None else {})}
    socket = "docker_socket" in spec.exceptions
    here: tuple[str | int, ...] = ("containers", service.key)
    mine: tuple[str | int, ...] = () if service.is_main else ("containers", service.key)
    written = [
        (t, origin, (*(here if origin == "catalog" else mine), "volumes", i))
        for t, origin, i in overrides.volumes(spec.volumes, override)
    ]
    for (template, origin, where), filled in zip(written, service.volumes, strict=False):
        found = judge(
            source_of(template),
            source_of(filled),
            bp=bp,
            app=app,
            declared=declared,
            read_only=_read_only(filled),
            socket=socket,
        )
        if found:
            yield MountProblem(app.id, service.name, origin, where, *found)
    devices = [((*here, "devices", i), d) for i, d in enumerate(spec.devices)]
    if spec.quicksync is not None:
        devices += [
            ((*here, "quicksync", "devices", i), d) for i, d in enumerate(spec.quicksync.devices)
        ]
    for where, device in devices:
        problem = device_problem(device.split(":", 1)[0])
        if problem:
            yield MountProblem(
                app.id,
                service.name,
                "catalog",
                where,
                problem,
                "a device entry names a device node (host:container, e.g. /dev/dri:/dev/dri)",
            )
