"""Releases past their end of life: a pinned image that no longer gets security fixes.

The dates are catalog data with their source (``catalog/lifecycles.yaml``). Today is the
machine's date, or ``LARES_TODAY`` (YYYY-MM-DD) for a plan that must read the same on any day.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date

from lares.catalog.lifecycle import end_of_life
from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "lifecycle"
DESCRIPTION = "pinned releases past their end of life"


def today() -> date:
    fixed = os.environ.get("LARES_TODAY")
    return date.fromisoformat(fixed) if fixed else date.today()


def check(ctx: PlanContext) -> Iterator[Finding]:
    now = today()
    for service in ctx.system.services:
        eol = end_of_life(service.image)
        if eol is None or eol.ends > now:
            continue
        yield ctx.finding(
            ID,
            "warning",
            f"{service.name} runs {eol.product} {eol.release}, which gets no fixes since "
            f"{eol.ends:%Y-%m-%d} ({eol.source})",
            *service.path,
            hint=f"move {service.app} to a supported release (`lares outdated {service.app}`); "
            "a database's major upgrade needs its data migrated: read the app's upgrade notes",
        )
