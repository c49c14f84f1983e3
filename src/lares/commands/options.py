"""What the commands share: the options more than one of them takes (--file, --state-dir and
--json among them), loading the blueprint, the :class:`~lares.output.Out` a command prints
through, and printing a result and exiting by it.

A command module imports these and :data:`lares.cli.app`; nothing here imports pydantic, the
models or Rich, so importing it costs no more than starting the CLI.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Protocol, TypeVar, cast

import typer

if TYPE_CHECKING:
    from lares.blueprint.load import Loaded
    from lares.output import Out


class Requested:
    """What the command line asked for that :func:`lares.cli.main` needs to print an error:
    whether --json was given (set while the options are parsed, before the command runs)."""

    as_json = False


def _json_requested(value: bool) -> bool:
    Requested.as_json = Requested.as_json or bool(value)
    return value


# The options more than one command takes, each written once. A command's signature lists its
# own arguments and options first (written inline), then those of these it takes, in the order
# they are defined here; --file, --state-dir and --json, which nearly every command takes, come
# last, added by @uses. So every command's --help lists them the same way.

StacksArg = Annotated[list[str] | None, typer.Argument(help="Stacks (default: all).")]
RepoOpt = Annotated[
    str | None, typer.Option("--repo", "-r", help="Only this repository (a name in the blueprint).")
]
CheckOpt = Annotated[
    list[str] | None, typer.Option("--check", help="Run only this check (repeatable).")
]
TargetOpt = Annotated[
    str,
    typer.Option(
        "--target",
        "-t",
        help="home: the server's stacks; host: firewall, sshd, storage, timers; edge: the "
        "VPS; kubernetes: manifests for a cluster; swarm: stack files for docker stack deploy.",
    ),
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="compose: each stack a Compose project on this engine; swarm: each stack a "
        "`docker stack deploy` to the Swarm manager DOCKER_HOST names.",
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Go ahead without asking.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would change, then stop.")]
LockOpt = Annotated[
    float, typer.Option("--lock-timeout", help="Seconds to wait for another lares to finish.")
]
FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        help="The blueprint. Default: ./lares.yaml, else the embedded reference homelab.",
        envvar="LARES_FILE",
    ),
]
StateOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="lares's state folder: secrets, applied revisions, backup and monitor records. "
        "Default: /var/lib/lares as root, else ~/.local/state/lares.",
        envvar="LARES_STATE_DIR",
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help='Print the result as JSON (errors too: {"errors": [...]} on stdout).',
        callback=_json_requested,
    ),
]


@dataclass(frozen=True)
class Shared:
    """What a command was given of --file, --state-dir and --json (see :func:`uses`)."""

    file: Path | None = None
    state_dir: Path | None = None
    as_json: bool = False


_SHARED = {"file": (FileOpt, None), "state_dir": (StateOpt, None), "as_json": (JsonOpt, False)}
C = TypeVar("C", bound=Callable[..., None])


def uses(*names: str) -> Callable[[C], C]:
    """Give a command the shared options ``names`` (of ``file``, ``state_dir``, ``as_json``):
    Typer sees them after the command's own, always in that order, and the command receives
    them as its keyword argument ``shared``, a :class:`Shared` (the ones it does not take at
    their defaults)::

        @app.command()
        @uses("file", "as_json")
        def apps(*, shared: Shared) -> None: ...
    """
    unknown = set(names) - set(_SHARED)
    if unknown:
        raise ValueError(f"no shared option {', '.join(sorted(unknown))}")
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, (kind, default) in _SHARED.items()
        if name in names
    ]

    def decorate(func: C) -> C:
        signature = inspect.signature(func, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "shared"]

        @functools.wraps(func)
        def command(**given: Any) -> None:
            taken = {p.name: given.pop(p.name) for p in added}
            func(**given, shared=Shared(**taken))

        params = [*own, *added]
        command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return cast(C, command)

    return decorate


def group(name: str, help: str, **settings: Any) -> typer.Typer:
    """A command group as lares's CLI makes them: its help when called without a command, no
    shell-completion options, help text printed as written (no Rich markup)."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        **settings,
    )


def printer(as_json: bool) -> Out:
    """Where a command prints: text for people, or JSON alone on stdout with ``as_json``."""
    from lares.output import Out

    return Out(as_json=as_json)


class Result(Protocol):
    """What an action returns for a command to print and exit by: whether all of it went well,
    and its data as ``--json`` prints it."""

    @property
    def ok(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Result)


def print_and_exit(out: Out, result: R, text: Callable[[Out, R], None]) -> NoReturn:
    """Print ``result`` (its data under ``--json``, else ``text(out, result)``), then exit 0 when
    it is ok and 1 when something in it failed."""
    if out.as_json:
        out.json(result.to_dict())
    else:
        text(out, result)
    raise typer.Exit(0 if result.ok else 1)


def load_blueprint(file: Path | None) -> Loaded:
    """The blueprint of ``--file`` (else ./lares.yaml, else the embedded reference), validated.

    Raises :class:`~lares.errors.ConfigErrors` for a bad file and
    :class:`~lares.errors.LaresError` for one that cannot be read.
    """
    # The file is read (and a device, FIFO or oversized file refused) before pydantic and the
    # models are imported, so a refusal costs no more than starting the CLI.
    from lares.blueprint.source import Source

    source = Source.find(file)
    from lares.blueprint.load import load_source

    return load_source(source)
