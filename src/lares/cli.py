"""The ``lares`` command. Each command is a thin function that calls a stage and prints its result.

Exit codes: 0 ok, 1 findings or a failed operation, 2 bad usage or bad configuration. Errors
lares raises on purpose are printed in compiler style without a traceback (and, when the
command was given --json, as ``{"errors": [...]}`` on stdout as well); anything else is printed
as one line plus the path of a debug log holding the traceback.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lares.errors import LaresError

if TYPE_CHECKING:
    from lares.blueprint.load import Loaded
    from lares.output import Out

app = typer.Typer(
    name="lares",
    help="Run a personal cloud from one file: plan, render, deploy, back up and watch it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        help="The blueprint. Default: ./lares.yaml, else the embedded reference homelab.",
        envvar="LARES_FILE",
    ),
]


class _Errors:
    """How :func:`main` prints an error: whether the command line asked for --json."""

    as_json = False


def _json_requested(value: bool) -> bool:
    # Parsed before the command runs, so an error the command raises is printed as JSON too.
    _Errors.as_json = _Errors.as_json or bool(value)
    return value


JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help='Print the result as JSON (errors too: {"errors": [...]} on stdout).',
        callback=_json_requested,
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


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version as pkg_version

        print(f"lares {pkg_version('lares')}")
        raise typer.Exit(0)


@app.callback()
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
            callback=_print_version,
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


def main() -> None:
    """Console entry point: run the app, turning errors into messages and exit codes."""
    _Errors.as_json = False
    try:
        app()  # standalone: Typer reports usage errors itself and exits 2
    except LaresError as exc:
        if _Errors.as_json:
            print(json.dumps(exc.errors_dict(), indent=2))
        print(exc.render(), file=sys.stderr)
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


def _out(as_json: bool) -> Out:
    from lares.output import Out

    return Out(as_json=as_json)


def _load(file: Path | None) -> Loaded:
    # The file is read (and a device, FIFO or oversized file refused) before pydantic and the
    # models are imported, so a refusal costs no more than starting the CLI.
    from lares.blueprint.source import Source

    source = Source.find(file)
    from lares.blueprint.load import load_source

    return load_source(source)


def _source(loaded: Loaded) -> str:
    return "the reference homelab" if loaded.filename.startswith("<") else loaded.filename


# ── commands ───────────────────────────────────────────────────────────────────────────────


@app.command()
def plan(
    file: FileOpt = None,
    as_json: JsonOpt = False,
    check: Annotated[
        list[str] | None, typer.Option("--check", help="Run only this check (repeatable).")
    ] = None,
    state_dir: StateOpt = None,
) -> None:
    """Check the blueprint and show what it would run: findings, memory, storage, public URLs.

    Also names the stacks `lares up` applied that the blueprint no longer has.

    Secrets you must provide are looked up by name in the state folder (never read).
    """
    loaded = _load(file)
    from lares.plan import plan as run_plan
    from lares.plan import secrets_set_in
    from lares.report import plan_report
    from lares.state import default_root

    have = secrets_set_in((state_dir or default_root()) / "secrets")
    result = run_plan(loaded, only=check or (), secrets_set=have)
    out = _out(as_json)
    plan_report(out, result, _source(loaded))
    if not as_json:
        _applied_elsewhere(out, loaded, state_dir)
    raise typer.Exit(1 if result.errors else 0)


def _applied_elsewhere(out: Out, loaded: Loaded, state_dir: Path | None) -> None:
    """Warn about the stacks the state folder records as applied and the blueprint lacks
    (read only: plan never creates the state folder)."""
    from lares.deploy import record
    from lares.state import StateDir, default_root

    state = StateDir(state_dir or default_root())
    if not state.applied.is_dir():
        return
    for name in record.stacks(state):
        if name not in loaded.blueprint.stacks:
            out.warn(
                f"stack {name} is applied but not in the blueprint: `lares up` shows it, "
                f"`lares down {name}` or `lares up --prune` removes it"
            )


@app.command()
def render(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write into.")],
    file: FileOpt = None,
    as_json: JsonOpt = False,
    force: Annotated[
        bool, typer.Option("--force", help="Render even when the plan has errors.")
    ] = False,
    target: Annotated[
        str,
        typer.Option(
            "--target",
            "-t",
            help="home: the server's stacks; host: firewall, sshd, storage, timers; edge: the VPS.",
        ),
    ] = "home",
) -> None:
    """Render the Compose stacks and configuration into a folder (secrets generated once)."""
    loaded = _load(file)
    from lares.deploy.files import write_bundle
    from lares.plan import plan as run_plan
    from lares.render import render_all
    from lares.text import counted

    result = run_plan(loaded)
    out = _out(as_json)
    if result.errors and not force:
        from lares.report import errors_json, findings_report

        if as_json:
            out.json(errors_json(result.errors))
        findings_report(out, result.errors)
        out.fail(
            f"{counted(len(result.errors), 'error')} in the plan; nothing was written",
            hint="fix them (see `lares plan`), or pass --force",
        )
        raise typer.Exit(1)
    bundle = render_all(result.system, source=_source(loaded), target=target)
    written = write_bundle(bundle, output)
    if as_json:
        out.json(
            {
                "output": str(output),
                "files": sorted(written.files),
                "secrets_created": written.created,
                "secrets_missing": written.missing,
            }
        )
    else:
        out.ok(
            f"wrote {counted(len(written.files), 'file')} to {output}"
            + (
                f"; generated {counted(len(written.created), 'new secret')}"
                if written.created
                else ""
            )
        )
        for path in sorted(written.files):
            out.line(f"  {path}")
        if written.missing:
            out.warn(
                "these secrets are yours to provide (`lares secret set NAME`): "
                + ", ".join(written.missing)
            )


@app.command()
def schema() -> None:
    """Print the blueprint's JSON Schema (for editor completion and validation)."""
    from lares.blueprint.model import Blueprint

    doc = Blueprint.model_json_schema(mode="validation")
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "lares.yaml"
    print(json.dumps(doc, indent=2))


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the blueprint.")] = Path(
        "lares.yaml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write the reference homelab, commented, as a starting point to edit."""
    from lares.blueprint.load import reference_text
    from lares.fsutil import atomic_write

    out = _out(False)
    if path.exists() and not force:
        out.fail(f"{path} already exists; nothing was written", hint="pass --force to replace it")
        raise typer.Exit(1)
    atomic_write(path, reference_text(), mode=0o644)
    out.ok(f"wrote {path}: edit it, then run `lares plan`")


@app.command("apps")
def apps_cmd(file: FileOpt = None, as_json: JsonOpt = False) -> None:
    """List the apps lares knows (the catalog, plus the blueprint's own folders)."""
    from lares.plan import catalog_for
    from lares.report import catalog_report

    loaded = _load(file)
    catalog_report(_out(as_json), catalog_for(loaded), loaded.blueprint)


@app.command()
def version() -> None:
    """Print the lares version (as `lares --version` does)."""
    _print_version(True)


def _register_commands() -> None:
    from lares.commands import register

    register()


_register_commands()
