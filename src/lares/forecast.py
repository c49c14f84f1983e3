"""When something fills up: a robust line through a history of used amounts. Pure.

The slope is the Theil–Sen estimator (the median of the slopes between every pair of points), so a
one-off spike — a large download deleted the next day, a sample taken mid-copy — moves it little,
where a least-squares line would follow it. Its range is Sen's confidence interval for that median
(about 95 %: the slopes ranked ±1.96 standard deviations of Kendall's S around the middle), so
"full in N days" comes with the days the data cannot rule out.

Histories longer than :data:`MAX_POINTS` are thinned evenly before fitting (the pair count grows
with the square of the points).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lares.plain import Plain

MAX_POINTS = 300
MIN_POINTS = 3
MIN_SPAN = 6 * 3600.0  # seconds of history before a trend means anything
Z95 = 1.96


@dataclass(frozen=True)
class Trend(Plain):
    """Growth per day (amount units), with a low and high bound; ``points`` fitted."""

    per_day: float
    low: float
    high: float
    points: int


@dataclass(frozen=True)
class Forecast(Plain):
    """When ``avail`` is used up at the fitted pace.

    ``state``: ``growing`` (``days`` set, ``days_low``/``days_high`` its range, ``days_high`` None
    when the slower bound does not grow), ``no-growth`` (flat or shrinking), or ``too-little``
    history to say.
    """

    state: str
    avail: float
    trend: Trend | None = None
    days: float | None = None
    days_low: float | None = None
    days_high: float | None = None


def _thin(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MAX_POINTS:
        return list(points)
    step = (len(points) - 1) / (MAX_POINTS - 1)
    return [points[round(i * step)] for i in range(MAX_POINTS)]


def theil_sen(points: Sequence[tuple[float, float]]) -> Trend | None:
    """The Theil–Sen slope of (unix time, amount) points, per day, with Sen's ~95 % interval.

    None with fewer than :data:`MIN_POINTS` points at distinct times or a span under
    :data:`MIN_SPAN`.
    """
    pts = sorted(_thin(sorted(points)))
    times = {t for t, _ in pts}
    if len(times) < MIN_POINTS or max(times) - min(times) < MIN_SPAN:
        return None
    slopes = sorted(
        (y2 - y1) / (t2 - t1)
        for i, (t1, y1) in enumerate(pts)
        for t2, y2 in pts[i + 1 :]
        if t2 != t1
    )
    n_slopes = len(slopes)
    mid = n_slopes // 2
    median = slopes[mid] if n_slopes % 2 else (slopes[mid - 1] + slopes[mid]) / 2
    n = len(pts)
    spread = Z95 * math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    lo_rank = max(int((n_slopes - spread) / 2), 0)
    hi_rank = min(math.ceil((n_slopes + spread) / 2), n_slopes - 1)
    day = 86400.0
    return Trend(median * day, slopes[lo_rank] * day, slopes[hi_rank] * day, n)


def full_in(points: Sequence[tuple[float, float]], avail: float) -> Forecast:
    """Days until ``avail`` more is used, at the Theil–Sen pace of ``points``."""
    avail = max(avail, 0.0)
    trend = theil_sen(points)
    if trend is None:
        return Forecast("too-little", avail)
    if trend.per_day <= 0:
        return Forecast("no-growth", avail, trend)
    return Forecast(
        "growing",
        avail,
        trend,
        days=avail / trend.per_day,
        days_low=avail / trend.high if trend.high > 0 else None,
        days_high=avail / trend.low if trend.low > 0 else None,
    )
