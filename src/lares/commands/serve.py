"""`lares serve`: the dashboard (web pages and a JSON API) over what lares keeps."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from lares.cli import app
from lares.commands.options import Shared, printer, uses
from lares.errors import UsageError

if TYPE_CHECKING:
    from lares.output import Out
    from lares.web.auth import Auth

DEFAULT_LISTEN = "127.0.0.1:8765"


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` (``[::1]:PORT`` for IPv6) as (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"cannot listen on {text!r}", hint="write --listen ADDRESS:PORT, e.g. 127.0.0.1:8765"
        )
    return (host.strip("[]") or "127.0.0.1"), int(port)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = typer.prompt("New admin password", hide_input=True)
        again = typer.prompt("Again", hide_input=True)
        if first != again:
            raise UsageError(
                "the two passwords differ", hint="run lares serve --set-password again"
            )
        return str(first)
    return sys.stdin.readline().rstrip("\n")


def first_login(auth: Auth, out: Out, *, terminal: bool) -> None:
    """Generate the admin password and say where it is: on the screen only to a terminal.

    A service's output ends up in the journal, which more people may read than the state
    folder's owner, so there lares names the 0600 file instead.
    """
    from lares.web.auth import USER

    password = auth.generate_password()
    if terminal:
        out.ok(f"the dashboard's login is {USER} with the password below (shown only now):")
        typer.echo(password)
    else:
        out.ok(f"the dashboard's login is {USER}; its password is in {auth.initial_file}")
    out.line("change it with `lares serve --set-password`")


@app.command()
@uses("file", "state_dir")
def serve(
    listen: Annotated[
        str, typer.Option("--listen", help="Address and port to serve on (ADDR:PORT).")
    ] = DEFAULT_LISTEN,
    set_password: Annotated[
        bool,
        typer.Option(
            "--set-password", help="Set the admin password (from stdin or a prompt) and stop."
        ),
    ] = False,
    new_token: Annotated[
        bool, typer.Option("--new-token", help="Add an API token, print it once and stop.")
    ] = False,
    *,
    shared: Shared,
) -> None:
    """Serve the dashboard: home, health, storage, backups, system, and the JSON API.

    Every page needs the admin's login (user admin); on first start a password is generated
    and printed once on a terminal; run as a service, it is only in
    `<state>/web/initial-password` (0600) until `--set-password` replaces it. The pages read
    what `lares watch` and `lares backup` record: run the watcher for live health.
    """
    from lares.state import StateDir
    from lares.web.auth import Auth

    out = printer(False)
    state = StateDir.open(shared.state_dir)
    auth = Auth(state.root / "web")
    if set_password:
        password = _read_password()
        if len(password) < 8:
            raise UsageError(
                "the password is shorter than 8 characters", hint="choose a longer one"
            )
        auth.set_password(password)
        out.ok("the admin password is set; sessions signed before have ended")
        return
    if new_token:
        token = auth.new_token()
        out.ok("a new API token (shown only now; send it as `Authorization: Bearer …`):")
        typer.echo(token)
        return
    host, port = parse_listen(listen)
    if not auth.password_set():
        first_login(auth, out, terminal=sys.stdout.isatty())
    import uvicorn

    from lares.web.app import create_app
    from lares.web.data import Settings

    settings = Settings(state_dir=state.root, file=shared.file, listen=f"{host}:{port}")
    web = create_app(settings)
    import gc

    # What is loaded now (blueprint, catalog, models, libraries) stays for the process's life:
    # kept out of the collector's full passes, which would otherwise walk it all (~0.1 s).
    gc.collect()
    gc.freeze()
    out.ok(f"serving the dashboard on http://{host}:{port}/")
    uvicorn.run(
        web,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=3,
    )
