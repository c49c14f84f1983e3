"""Drill leftovers: throwaway databases and folders of restore drills that were killed.

A drill removes what it made when it ends, and every drill first removes what killed ones left
(:mod:`lares.throwaway`). Until then such a leftover is a problem: a database container running
with the restored data and no password, a folder of restored files taking space.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lares.monitor.collectors import Context, Sample

ID = "drills"
DEFAULT_INTERVAL: float | None = 300.0


def collect(ctx: Context) -> list[Sample]:
    from lares import throwaway
    from lares.state import StateDir

    state = StateDir(Path(ctx.config.state_dir)) if ctx.config.state_dir else None
    return samples([str(item) for item in throwaway.find(state)])


def samples(leftovers: Sequence[str]) -> list[Sample]:
    """One sample: how many leftovers there are, and what they are."""
    return [
        Sample(
            ID,
            "drill",
            "leftovers",
            float(len(leftovers)),
            "leftover" if leftovers else "clean",
            "; ".join(leftovers),
        )
    ]
