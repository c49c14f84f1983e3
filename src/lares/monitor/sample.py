"""One reading of the monitor: what collectors make, the store keeps and rules judge.

Its own module, so that the store, the rules and the collectors import it without importing each
other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lares.monitor.parsers.health import Unparsed

__all__ = ["Sample", "health_sample", "iso_time", "readings", "unparsed_samples"]


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


def health_sample(
    collector: str,
    subject: str,
    level: str,
    reasons: Iterable[str],
    labels: Mapping[str, str] | None = None,
    *,
    metric: str = "health",
) -> Sample:
    """A parser's verdict as a sample: 1 when ``ok``, else 0, with the level and its reasons."""
    return Sample(
        collector,
        subject,
        metric,
        1.0 if level == "ok" else 0.0,
        str(level),
        "; ".join(r for r in reasons if r),
        labels or {},
    )


def iso_time(text: object) -> float | None:
    """The epoch seconds of an ISO 8601 time in a lares record; None for anything else."""
    from datetime import datetime

    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def readings(
    collector: str,
    subject: str,
    values: Iterable[tuple[str, float | None]],
    labels: Mapping[str, str] | None = None,
) -> list[Sample]:
    """One sample per (metric, number) that has a number; None means "not reported"."""
    return [
        Sample(collector, subject, metric, float(value), labels=labels or {})
        for metric, value in values
        if value is not None
    ]


def unparsed_samples(
    collector: str,
    subject: str,
    unparsed: Sequence[Unparsed | str],
    *,
    metric: str = "unparsed",
    most: int = 5,
) -> list[Sample]:
    """What a parser did not understand, as one sample quoting the first ``most`` lines (none
    when it understood everything), so that the ``unparsed`` rule can tell."""
    if not unparsed:
        return []
    quoted = "; ".join(
        item.strip() if isinstance(item, str) else f"line {item.line}: {item.text.strip()}"
        for item in unparsed[:most]
    )
    return [Sample(collector, subject, metric, float(len(unparsed)), detail=quoted)]
