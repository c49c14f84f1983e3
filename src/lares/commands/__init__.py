"""Command groups beyond the core: one module per area (deploy, backup, monitor, access, …).

Each module registers its commands on :data:`lares.cli.app` when imported; :func:`register`
imports them all. Modules keep their heavy imports inside the command functions so that
``lares --help`` and ``lares plan`` stay fast.
"""

from __future__ import annotations

import importlib
import pkgutil


def register() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
