"""Plan checks: one module per check family, found by scanning this package.

A check module defines ``ID`` (a short stable name), ``DESCRIPTION`` (one line) and
``check(ctx: PlanContext) -> Iterable[Finding]``. It reads the context and returns findings; it
never changes anything. Adding a check is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType
from typing import Protocol, cast

from lares.plan.context import PlanContext
from lares.plan.findings import Finding


class Check(Protocol):
    ID: str
    DESCRIPTION: str

    def check(self, ctx: PlanContext) -> Iterable[Finding]: ...


def discover() -> dict[str, Check]:
    """Every check module in this package, by ID (which is also its module name)."""
    found: dict[str, Check] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module: ModuleType = importlib.import_module(f"{__name__}.{info.name}")
        check = cast(Check, module)
        if check.ID in found:
            raise RuntimeError(f"two checks share the id {check.ID!r}")
        found[check.ID] = check
    return found
