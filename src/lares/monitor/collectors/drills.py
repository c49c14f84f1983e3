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


#: What each sample says when it counts something: its metric, the alert's key and severity, the
#: message (``{things}`` counted, ``{detail}`` what they are) and the hint.
_SAID: tuple[tuple[str, str, str, str, str | None], ...] = (
    (
        "leftovers",
        "drill-leftover",
        "warning",
        "a restore drill that did not finish left {things} behind that lares could not remove: "
        "{detail}",
        "remove them by hand (`docker rm -f -v NAME`, `rm -r FOLDER`); the next "
        "`lares backup drill` tries again first",
    ),
    (
        "swept",
        "drill-leftover:swept",
        "info",
        "removed {things} left by a restore drill that did not finish: {detail}",
        None,
    ),
)


@rule("drill-leftover")
def drill_leftovers(x: Inputs) -> Iterator[Condition]:
    for metric, key, severity, message, hint in _SAID:
        for sample in x.each("drills", metric):
            if sample.value:
                things = counted(sample.value, "thing")
                yield Condition(
                    key,
                    "drill-leftover",
                    severity,
                    sample.subject,
                    message.format(things=things, detail=sample.detail),
                    "backups",
                    hint=hint,
                )


RULES = (drill_leftovers,)
