"""The commands: one module per command or group, named after what it serves (``plan.py`` holds
`lares plan`, ``backup.py`` the `lares backup` group); :mod:`lares.commands.options` holds what
they share (the options more than one command takes, loading the blueprint, printing).

Each module registers its commands on :data:`lares.cli.app` when imported; :func:`register`
imports them all, the everyday ones first so that `lares --help` lists them first. A command
line that names a command whose module is named after it (`lares plan`, `lares backup run`)
needs that module alone: :func:`register` with that name imports just it, and the others only
when something asks for the whole app. Modules keep their heavy imports inside the command
functions so that ``lares --help`` and ``lares plan`` stay fast.
"""

from __future__ import annotations

import importlib
import importlib.util

import typer
from typer.models import CommandInfo, TyperInfo

from lares import plugins

#: The commands `lares --help` lists first, in this order; the rest follow by module name.
FIRST = ("plan", "render", "schema", "init", "apps", "version", "doctor")


def register(app: typer.Typer, command: str | None = None) -> bool:
    """Import the command modules onto ``app``: with ``command``, the module named after it
    alone when it holds that command (True), else every module (False).

    Every module, after some were imported for single commands, leaves ``app``'s commands in
    the order a first import of every module gives, so `lares --help` lists them the same way.
    """
    if command and _register_one(app, command):
        return True
    partial = bool(app.registered_commands or app.registered_groups)
    order = [f"{__name__}.{name}" for name in FIRST]
    for name in FIRST:
        importlib.import_module(f"{__name__}.{name}")
    order += [m.__name__ for m in plugins.modules(__name__).values() if m.__name__ not in order]
    if partial:
        rank = {module: index for index, module in enumerate(order)}
        app.registered_commands.sort(key=lambda info: rank.get(_module(info), len(rank)))
        app.registered_groups.sort(key=lambda info: rank.get(_module(info), len(rank)))
    return False


def _register_one(app: typer.Typer, command: str) -> bool:
    module = f"{__name__}.{command}"
    if not command.isidentifier() or command.startswith("_"):
        return False
    if importlib.util.find_spec(module) is None:
        return False
    importlib.import_module(module)
    return command in _names(app, module)


def _names(app: typer.Typer, module: str) -> set[str]:
    """The top-level command and group names that ``module`` put on ``app``."""
    names = set()
    for info in app.registered_commands:
        if _module(info) == module and info.callback is not None:
            names.add(info.name or typer.main.get_command_name(info.callback.__name__))
    for group in app.registered_groups:
        name = group.name if isinstance(group.name, str) else None
        if name is None and group.typer_instance is not None:
            name = group.typer_instance.info.name
        if _module(group) == module and isinstance(name, str):
            names.add(name)
    return names


def _module(info: CommandInfo | TyperInfo) -> str:
    """The command module that registered a command or a group on the app: the module of its
    function, or of the group's first command."""
    if isinstance(info, CommandInfo):
        return info.callback.__module__ if info.callback else ""
    group = info.typer_instance
    if group is None:
        return ""
    infos: list[CommandInfo | TyperInfo] = [*group.registered_commands, *group.registered_groups]
    return _module(infos[0]) if infos else ""
