"""Findings: what a check has to say, with a stable id, a severity, a location and a hint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lares.errors import Location

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    """One thing a check found. ``id`` is stable across releases, so people can grep for it."""

    id: str
    severity: Severity
    message: str
    location: Location | None = None
    hint: str | None = None
    subject: str | None = None  # the object concerned, e.g. "apps.nextcloud"

    def render(self) -> str:
        head = f"{self.location}: " if self.location else ""
        text = f"{head}{self.severity} [{self.id}] {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "message": self.message,
            "location": self.location.to_dict() if self.location else None,
            "hint": self.hint,
            "subject": self.subject,
        }


def sort_key(finding: Finding) -> tuple[int, str, int, str]:
    loc = finding.location
    return (
        SEVERITY_ORDER[finding.severity],
        (loc.file or "") if loc else "",
        (loc.line or 0) if loc else 0,
        finding.id,
    )
