"""Findings: what a check has to say, with a stable id, a severity, a location and a hint."""

from __future__ import annotations

from dataclasses import dataclass

from lares.errors import Location
from lares.plain import Plain
from lares.severity import PlanSeverity, rank, render_finding


@dataclass(frozen=True)
class Finding(Plain):
    """One thing a check found. ``id`` is stable across releases, so people can grep for it."""

    id: str
    severity: PlanSeverity
    message: str
    location: Location | None = None
    hint: str | None = None
    subject: str | None = None  # the object concerned, e.g. "apps.nextcloud"

    def render(self) -> str:
        return render_finding(
            self.severity, self.id, self.message, location=self.location, hint=self.hint
        )


def sort_key(finding: Finding) -> tuple[int, str, int, str]:
    loc = finding.location
    return (
        rank(finding.severity),
        (loc.file or "") if loc else "",
        (loc.line or 0) if loc else 0,
        finding.id,
    )
