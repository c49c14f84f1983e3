"""`lares init`: write the reference homelab as a blueprint to start from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lares.cli import app
from lares.commands.options import printer
from lares.errors import Failed


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

    if path.exists() and not force:
        raise Failed(
            f"{path} already exists; nothing was written", hint="pass --force to replace it"
        )
    atomic_write(path, reference_text(), mode=0o644)
    printer(False).ok(f"wrote {path}: edit it, then run `lares plan`")
