"""Render: the resolved blueprint as files. Pure: returns a :class:`Bundle`, writes nothing.

Each renderer is one module in this package that defines ``TARGET`` (``home`` for what runs on
the server, ``host`` for the machine's own configuration, ``edge`` for the VPS) and
``render(system, source) -> Bundle``. :func:`render_all` merges every renderer of a target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

from lares import plugins
from lares.catalog.resolve import System
from lares.errors import UsageError
from lares.render.bundle import Bundle

TARGETS = ("home", "host", "edge", "kubernetes", "swarm")


class Renderer(Protocol):
    TARGET: str
    render: Callable[[System, str], Bundle]


def renderers() -> dict[str, Renderer]:
    """Every renderer module, by module name."""
    found = plugins.modules(__name__, require=("TARGET", "render"), skip=("bundle",))
    return {name: cast(Renderer, module) for name, module in found.items()}


def known_target(target: str) -> str:
    """``target`` when it is one of :data:`TARGETS`; raises :class:`UsageError` otherwise."""
    if target not in TARGETS:
        raise UsageError(
            f"unknown render target {target!r}", hint="use one of: " + ", ".join(TARGETS)
        )
    return target


def render_all(system: System, *, source: str = "lares.yaml", target: str = "home") -> Bundle:
    """Everything lares renders for ``target``.

    Raises :class:`~lares.errors.ConfigErrors` when a host path would leave its root or reach
    a system folder (the ``paths`` plan check's errors): unlike other plan errors, no --force
    writes those into a compose file.
    """
    known_target(target)
    _refuse_escaping_paths(system)
    bundle = Bundle()
    for module in renderers().values():
        if target == module.TARGET:
            bundle = bundle.merge(module.render(system, source))
    return bundle


def _refuse_escaping_paths(system: System) -> None:
    from lares.catalog.mounts import problems
    from lares.errors import ConfigError, ConfigErrors, Location

    found = problems(system)
    if found:
        raise ConfigErrors(
            ConfigError(
                f"{p.service}: {p.message}",
                location=Location(path=".".join(str(x) for x in ("apps", p.app, *p.path))),
                hint=f"{p.hint} (see `lares plan --check paths`; --force does not skip this)",
                code="paths",
            )
            for p in found
        )
