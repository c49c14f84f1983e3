"""Plan checks: one module per check family, found by scanning this package.

A check module defines ``ID`` (a short stable name), ``DESCRIPTION`` (one line) and
``check(ctx: PlanContext) -> Iterable[Finding]``. It reads the context and returns findings; it
never changes anything. Adding a check is adding a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, cast

from lares import plugins
from lares.plan.context import PlanContext
from lares.plan.findings import Finding


class Check(Protocol):
    ID: str
    DESCRIPTION: str

    def check(self, ctx: PlanContext) -> Iterable[Finding]: ...


def discover() -> dict[str, Check]:
    """Every check module in this package, by ID (which is also its module name)."""
    return {k: cast(Check, m) for k, m in plugins.by_id(__name__, "checks").items()}
