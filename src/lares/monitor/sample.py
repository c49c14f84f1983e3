"""One reading of the monitor: what collectors make, the store keeps and rules judge.

Its own module, so that the store, the rules and the collectors import it without importing each
other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Sample"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading: a ``metric`` of a ``subject`` (a mount, a drive, a container, a URL).

    ``value`` is the number kept in history and exported to Prometheus (None when the reading
    has no number). ``state`` is a word for enumerations (``running``, ``degraded``) and
    ``detail`` says why, in words an alert can quote. ``labels`` carry the rest (the app a
    container belongs to, a drive's model).
    """

    collector: str
    subject: str
    metric: str
    value: float | None = None
    state: str | None = None
    detail: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def series(self) -> tuple[str, str, str]:
        return (self.collector, self.subject, self.metric)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "collector": self.collector,
            "subject": self.subject,
            "metric": self.metric,
        }
        if self.value is not None:
            data["value"] = self.value
        if self.state is not None:
            data["state"] = self.state
        if self.detail:
            data["detail"] = self.detail
        if self.labels:
            data["labels"] = dict(self.labels)
        return data
