"""How lares speaks: text and colour for people, plain JSON with --json.

Commands print through one :class:`Out`; with ``as_json`` only :meth:`Out.json` writes to stdout,
so the output can be piped to ``jq``. Lines, headings and simple tables are written directly
(colour only on a terminal, and never with NO_COLOR set); Rich is imported only by the commands
that draw richer tables or progress bars, which keeps `lares plan` quick to start.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

_ANSI = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
    "red bold": "1;31",
    "green bold": "1;32",
}


def _colour(stream: IO[str]) -> bool:
    return not os.environ.get("NO_COLOR") and stream.isatty()


def _pipe_width() -> int | None:
    """No width limit when stdout is not a terminal (a pipe, a file) and COLUMNS is unset.

    Rich would assume 80 columns there and cut or fold table cells, so ``lares ps | grep``
    would miss what a wide terminal shows; a terminal keeps its own width.
    """
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return None
    return 10_000


class Out:
    def __init__(self, *, as_json: bool = False) -> None:
        self.as_json = as_json
        self._console: Console | None = None
        self._err: Console | None = None

    @property
    def console(self) -> Console:
        """A Rich console on stdout, for commands that draw with Rich."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=True, width=_pipe_width())
        return self._console

    @property
    def err(self) -> Console:
        """A Rich console on stderr (progress bars)."""
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")

    @staticmethod
    def _write(stream: IO[str], text: str, style: str | None) -> None:
        code = _ANSI.get(style or "")
        if code and _colour(stream):
            text = f"\x1b[{code}m{text}\x1b[0m"
        stream.write(text + "\n")

    def line(self, text: str = "", style: str | None = None) -> None:
        if not self.as_json:
            self._write(sys.stdout, text, style)

    def heading(self, text: str) -> None:
        if not self.as_json:
            self._write(sys.stdout, "", None)
            self._write(sys.stdout, text, "bold")

    def ok(self, text: str) -> None:
        if not self.as_json:
            self._write(sys.stdout, f"✓ {text}", "green")

    def warn(self, text: str) -> None:
        self._write(sys.stderr, f"! {text}", "yellow")

    def fail(self, text: str, hint: str | None = None) -> None:
        self._write(sys.stderr, f"✗ {text}", "red")
        if hint:
            self._write(sys.stderr, f"  hint: {hint}", None)

    def finding(self, severity: str, text: str) -> None:
        """A finding as :func:`lares.severity.render_finding` wrote it, coloured by severity."""
        from lares.severity import STYLE

        head, _, rest = text.partition("\n")
        self.line(head, style=STYLE[severity])
        if rest:
            self.line(rest, style="dim")

    def table(self, table: Table) -> None:
        if not self.as_json:
            self.console.print(table)

    def rows(
        self, headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[str] = ()
    ) -> None:
        """A plain table: columns as wide as their widest cell, two spaces apart."""
        if self.as_json:
            return
        body = [[str(c) for c in r] for r in rows]
        widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]

        def fmt(cells: Sequence[str]) -> str:
            parts = [
                c.rjust(w) if headers[i] in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(parts).rstrip()

        self._write(sys.stdout, fmt(headers), "bold")
        for r in body:
            self._write(sys.stdout, fmt(r), None)


def table(*columns: str, title: str | None = None, right: tuple[str, ...] = ()) -> Table:
    """A Rich table whose columns named in ``right`` are right-aligned."""
    from rich.table import Table

    t = Table(title=title, title_justify="left", box=None, pad_edge=False, header_style="bold")
    for col in columns:
        t.add_column(col, justify="right" if col in right else "left")
    return t
