"""How lares speaks: Rich tables and colour for people, plain JSON with --json.

Commands print through one :class:`Out`; with ``as_json`` only :meth:`Out.json` writes to stdout,
so the output can be piped to ``jq``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table


class Out:
    def __init__(self, *, as_json: bool = False) -> None:
        self.as_json = as_json
        self.console = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")

    def line(self, text: str = "", style: str | None = None) -> None:
        if not self.as_json:
            self.console.print(text, style=style, markup=False)

    def heading(self, text: str) -> None:
        if not self.as_json:
            self.console.print()
            self.console.print(text, style="bold", markup=False)

    def ok(self, text: str) -> None:
        if not self.as_json:
            self.console.print(f"✓ {text}", style="green", markup=False)

    def warn(self, text: str) -> None:
        self.err.print(f"! {text}", style="yellow", markup=False)

    def fail(self, text: str, hint: str | None = None) -> None:
        self.err.print(f"✗ {text}", style="red", markup=False)
        if hint:
            self.err.print(f"  hint: {hint}", markup=False)

    def table(self, table: Table) -> None:
        if not self.as_json:
            self.console.print(table)


def table(*columns: str, title: str | None = None, right: tuple[str, ...] = ()) -> Table:
    """A plain table whose columns named in ``right`` are right-aligned."""
    t = Table(title=title, title_justify="left", box=None, pad_edge=False, header_style="bold")
    for col in columns:
        t.add_column(col, justify="right" if col in right else "left")
    return t
