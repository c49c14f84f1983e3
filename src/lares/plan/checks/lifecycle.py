"""Releases past their end of life: a pinned image that no longer gets security fixes; and
pins older than ``updates.max_age``.

The end-of-life dates are catalog data with their source (``catalog/lifecycles.yaml``). When an
image was built is what ``lares up`` recorded in ``lares.lock`` as it pulled it (the ``created``
of its config). Today is the machine's date, or ``LARES_TODAY`` (YYYY-MM-DD) for a plan that
must read the same on any day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from lares.blueprint.model import Updates
from lares.catalog.lifecycle import end_of_life
from lares.catalog.resolve import Service
from lares.plan.context import PlanContext
from lares.plan.findings import Finding
from lares.update.age import describe, limit, today

ID = "lifecycle"
DESCRIPTION = "pinned releases past their end of life, or built longer ago than updates.max_age"


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
    yield from _old_pins(ctx, now)


def _old_pins(ctx: PlanContext, now: date) -> Iterator[Finding]:
    """One warning per image built longer ago than updates.max_age, at its first container."""
    max_age = (ctx.blueprint.updates or Updates()).max_age
    by_image: dict[str, list[Service]] = {}
    for service in ctx.system.services:
        by_image.setdefault(service.image, []).append(service)
    for image, services in by_image.items():
        built = ctx.built.get(image)
        if built is None or limit(date.fromisoformat(built), max_age) >= now:
            continue
        apps = " ".join(dict.fromkeys(s.app for s in services))
        yield ctx.finding(
            ID,
            "warning",
            f"{services[0].name} runs {image}, built {built} "
            f"({describe(date.fromisoformat(built), now)} ago): older than {max_age}",
            *services[0].path,
            hint=f"`lares outdated {apps}` shows its newer versions and `lares update {apps}` "
            "moves to one; updates.max_age sets how old is too old",
        )
