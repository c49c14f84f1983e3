"""Host paths: no mount, device or backup path leaves its root or reaches a system folder."""

from __future__ import annotations

from collections.abc import Iterator

from lares.catalog.mounts import problems
from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "paths"
DESCRIPTION = "bind mounts, devices and backup paths stay inside their roots or are declared"


def check(ctx: PlanContext) -> Iterator[Finding]:
    views = {a.id: a for a in ctx.system.apps}
    for problem in problems(ctx.system):
        view = views[problem.app]
        if problem.origin == "catalog":
            location = ctx.catalog.locate(problem.app, *problem.path)
        else:
            location = ctx.locate(*view.path, *problem.path)
        yield Finding(
            ID,
            "error",
            f"{problem.service}: {problem.message}",
            location,
            problem.hint,
            ".".join(str(p) for p in (*view.path, *problem.path)),
        )
