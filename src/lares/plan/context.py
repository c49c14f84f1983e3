"""What every check is given: the loaded blueprint, the catalog and the resolved system."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lares.blueprint.load import Loaded
from lares.blueprint.model import Blueprint
from lares.catalog.load import Catalog
from lares.catalog.resolve import System
from lares.errors import Location
from lares.plan.findings import Finding
from lares.severity import PlanSeverity


@dataclass(frozen=True)
class PlanContext:
    loaded: Loaded
    catalog: Catalog
    system: System
    # ids of the secrets already set in the state folder (names only, never values); None when
    # the plan is made without one (render), so what the person provides is not checked
    secrets_set: frozenset[str] | None = None
    # what the plan is for: the render target (`lares plan --target swarm` adds what Swarm loses)
    target: str = "home"
    # repository:tag → the day the image was built, as lares.lock recorded it when pulled
    built: Mapping[str, str] = field(default_factory=dict)

    @property
    def blueprint(self) -> Blueprint:
        return self.loaded.blueprint

    def locate(self, *path: Any) -> Location:
        """The file position of a blueprint path (nearest existing parent when absent)."""
        return self.loaded.locate(*path)

    def finding(
        self,
        id: str,
        severity: PlanSeverity,
        message: str,
        *path: Any,
        hint: str | None = None,
    ) -> Finding:
        """A finding located at blueprint ``path``."""
        return Finding(
            id,
            severity,
            message,
            self.locate(*path) if path else None,
            hint,
            ".".join(str(p) for p in path) or None,
        )
