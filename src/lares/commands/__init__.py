"""The commands: one module per command or group, named after what it serves (``plan.py`` holds
`lares plan`, ``backup.py`` the `lares backup` group); :mod:`lares.commands.options` holds what
they share (the --file, --json and --state-dir options, loading the blueprint, printing).

Each module registers its commands on :data:`lares.cli.app` when imported; :func:`register`
imports them all, the everyday ones first so that `lares --help` lists them first. Modules keep
their heavy imports inside the command functions so that ``lares --help`` and ``lares plan``
stay fast.
"""

from __future__ import annotations

import importlib

from lares import plugins

#: The commands `lares --help` lists first, in this order; the rest follow by module name.
FIRST = ("plan", "render", "schema", "init", "apps", "version", "doctor")


def register() -> None:
    for name in FIRST:
        importlib.import_module(f"{__name__}.{name}")
    plugins.modules(__name__)
