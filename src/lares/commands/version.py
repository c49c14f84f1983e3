"""`lares version`: the same as `lares --version`."""

from __future__ import annotations

from lares.cli import app, print_version


@app.command()
def version() -> None:
    """Print the lares version (as `lares --version` does)."""
    print_version(True)
