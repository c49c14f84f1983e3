"""Render: the resolved blueprint as files. Pure: returns a :class:`Bundle`, writes nothing."""

from __future__ import annotations

from lares.catalog.resolve import System
from lares.render.bundle import Bundle


def render_all(system: System, *, source: str = "lares.yaml") -> Bundle:
    """Everything lares renders for the home server."""
    from lares.render import compose

    return compose.render(system, source)
