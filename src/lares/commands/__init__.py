"""Command groups beyond the core: one module per area (deploy, backup, monitor, access, …).

Each module registers its commands on :data:`lares.cli.app` when imported; :func:`register`
imports them all. Modules keep their heavy imports inside the command functions so that
``lares --help`` and ``lares plan`` stay fast.
"""

from __future__ import annotations

from lares import plugins


def register() -> None:
    plugins.modules(__name__)
