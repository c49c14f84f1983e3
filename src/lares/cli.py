"""The ``lares`` command: the app, its global options, and :func:`main`, which prints errors.

Each command is a thin function in a module of :mod:`lares.commands` named after what it serves
(``commands/plan.py`` holds `lares plan`); it calls a stage and prints its result.

Commands do not print errors or exit: they raise, and :func:`main` prints and picks the exit
code (:data:`EXIT_CODES`, shown at the end of `lares --help`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from typing import Annotated, Any

import typer

from lares.commands import options
from lares.errors import LaresError

#: What `lares` exits with, for every command.
EXIT_CODES = {
    0: "done, nothing wrong",
    1: "problems found (plan, doctor) or an operation failed",
    2: "bad usage (an unknown option or --check) or a bad blueprint or catalog file",
    70: "a bug in lares (the traceback is in a debug log)",
    130: "interrupted",
}

#: The app (read as ``lares.cli.app``, which puts every command on it first; see __getattr__).
app: typer.Typer
_app = options.group(
    "lares",
    "Run a personal cloud from one file: plan, render, deploy, back up and watch it.",
    pretty_exceptions_enable=False,
    epilog="Exit codes: " + "; ".join(f"{code} {what}" for code, what in EXIT_CODES.items()) + ".",
)


def print_version(value: bool) -> None:
    """Print the lares version and stop (the --version option and `lares version`)."""
    if value:
        from importlib.metadata import version as pkg_version

        print(f"lares {pkg_version('lares')}")
        raise typer.Exit(0)


@_app.callback()
def _options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every command lares runs to stderr.")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the lares version and exit.",
            is_eager=True,
            callback=print_version,
        ),
    ] = False,
) -> None:
    """Run a personal cloud from one file: plan, render, deploy, back up and watch it."""
    _setup_logging(verbose)


def _setup_logging(verbose: bool) -> None:
    """Log to the default state folder's lares.log until a command opens its own state folder."""
    import logging

    from lares.state import LOG_FORMAT, default_root, log_to

    root = logging.getLogger("lares")
    root.setLevel(logging.DEBUG)
    if verbose:
        err = logging.StreamHandler(sys.stderr)
        err.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(err)
    log_to(default_root() / "logs")


def _debug_log(exc: BaseException) -> str:
    """Write the traceback of an internal error to a 0600 file; return its path.

    The file goes beside lares.log in the state folder's ``logs/`` (0700), where the rest of
    lares's records are; when that folder cannot be written it goes to the temp folder.
    """
    from lares.state import log_folder

    text = "".join(traceback.format_exception(exc))
    name = f"debug-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}.log"
    folder = log_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        path = str(folder / name)
    except OSError:
        fd, path = tempfile.mkstemp(prefix="lares-debug-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return path


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app on ``argv`` (default: the process's arguments); the one
    place that prints errors and picks exit codes. Always ends in :class:`SystemExit`.

    Commands raise (see :data:`EXIT_CODES`): a :class:`~lares.errors.LaresError` is printed
    without a traceback (and as ``{"errors": [...]}`` on stdout when the command had --json),
    anything else as one line plus the path of a debug log that holds the traceback.
    """
    options.Requested.as_json = False
    try:
        # standalone: Typer reports usage errors itself and exits 2, and exits 0 when done
        _register(_command(sys.argv[1:] if argv is None else argv))
        _app(args=argv, prog_name="lares")
    except LaresError as exc:
        report(exc, as_json=options.Requested.as_json)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        path = _debug_log(exc)
        print(
            f"internal error: {type(exc).__name__}: {exc}\n"
            f"  this is a bug in lares; the traceback is in {path}",
            file=sys.stderr,
        )
        sys.exit(70)


def report(exc: LaresError, *, as_json: bool) -> None:
    """Print an error: as a person reads it on stderr, and as data on stdout under --json."""
    data = exc.errors_dict()
    if as_json and data["errors"]:
        print(json.dumps(data, indent=2))
    text = exc.render()
    if text:
        print(text, file=sys.stderr)


class _Registered:
    """Which commands are on the app: the modules of the commands asked for so far, or all."""

    loading = False
    everything = False


def _register(command: str | None = None) -> None:
    """Put the commands on the app: the one ``command`` names when its module holds it alone,
    else every command (see :func:`lares.commands.register`)."""
    if _Registered.loading or _Registered.everything:
        return
    from lares.commands import register

    _Registered.loading = True
    try:
        _Registered.everything = not register(_app, command)
    finally:
        _Registered.loading = False


def _command(argv: list[str]) -> str | None:
    """The command a command line names: its first word after the global options (which take
    no value), or None (`lares --help`, no command)."""
    for word in argv:
        if word in ("--verbose", "-v"):
            continue
        return None if word.startswith("-") else word
    return None


def __getattr__(name: str) -> Any:
    """``app``: the app with every command on it (imported by the command modules, and by
    whatever drives the app itself, such as tests)."""
    if name == "app":
        _register()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
