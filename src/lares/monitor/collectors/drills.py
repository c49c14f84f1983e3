"""Drill leftovers: throwaway databases and folders of restore drills that were killed.

A drill removes what it made when it ends, and every drill first removes what killed ones left
(:mod:`lares.throwaway`); so does this collector, each time `lares status` or the watcher runs
it: a database container running with the restored data and no password, or a folder of
restored files taking space, is not left waiting for the next drill. What it removed is said
(``swept``); what it could not remove stays a problem (``leftovers``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from lares.monitor.collectors import Context
from lares.monitor.rules import Condition, Inputs, rule
from lares.monitor.sample import Sample
from lares.text import counted

ID = "drills"
DEFAULT_INTERVAL: float | None = 300.0


def collect(ctx: Context) -> list[Sample]:
    from lares import throwaway

    state = ctx.state()
    swept = [str(item) for item in throwaway.sweep(state)]
    return samples([str(item) for item in throwaway.find(state)], swept)


def samples(leftovers: Sequence[str], swept: Sequence[str] = ()) -> list[Sample]:
    """How many leftovers there are and what they are; how many were just removed, and what."""
    return [
        Sample(
            ID,
            "drill",
            "leftovers",
            float(len(leftovers)),
            "leftover" if leftovers else "clean",
            "; ".join(leftovers),
        ),
        Sample(
            ID, "drill", "swept", float(len(swept)), "swept" if swept else "clean", "; ".join(swept)
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Rules: what a killed drill left behind


@rule("drill-leftover")
def drill_leftovers(x: Inputs) -> Iterator[Condition]:
    for sample in x.each("drills", "leftovers"):
        if sample.value:
            yield Condition(
                "drill-leftover",
                "drill-leftover",
                "warning",
                sample.subject,
                "a restore drill that did not finish left "
                f"{counted(sample.value, 'thing')} behind that lares could not remove: "
                f"{sample.detail}",
                "backups",
                hint="remove them by hand (`docker rm -f -v NAME`, `rm -r FOLDER`); the next "
                "`lares backup drill` tries again first",
            )
    for sample in x.each("drills", "swept"):
        if sample.value:
            yield Condition(
                "drill-leftover:swept",
                "drill-leftover",
                "info",
                sample.subject,
                f"removed {counted(sample.value, 'thing')} left by a restore drill that did not "
                f"finish: {sample.detail}",
                "backups",
            )


RULES = (drill_leftovers,)
