"""Words for messages, without the heavy imports of :mod:`lares.units`: the lean watch loop and
the error path use them too."""

from __future__ import annotations


def counted(count: int | float, word: str, many: str | None = None) -> str:
    """``count`` and ``word`` in the number it takes: "1 stack", "2 stacks", "0 stacks".

    ``many`` is the plural when adding an "s" is wrong ("1 entry", "3 entries").
    """
    shown = f"{count:g}" if isinstance(count, float) else str(count)
    return f"{shown} {word if count == 1 else (many or word + 's')}"
