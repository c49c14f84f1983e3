"""`lares capacity`: how much room is left, when it runs out, and what to buy first. Pure.

Inputs are the memory budget (:func:`lares.plan.checks.memory.budget`) and what the watcher has
measured (:class:`Measured`, read from its history by :mod:`lares.monitor.capacity`). Without a
history the report is the budget alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lares.forecast import Forecast, Trend, full_in, theil_sen
from lares.plain import Plain
from lares.plan.checks.memory import Budget

WINDOW_DAYS = 30  # history the fill forecasts are fitted on


@dataclass(frozen=True)
class MountHistory:
    path: str
    role: str  # "appdata" (the OS disk) or "pool"
    pool: str | None
    size: float
    used: float
    avail: float
    points: tuple[tuple[float, float], ...]  # (unix time, used bytes), hourly


@dataclass(frozen=True)
class Measured:
    """What the watcher recorded: host memory, containers' memory, filesystems, Docker's disk."""

    memory_total: float | None = None
    memory_peak_used: float | None = None  # the most used (total − available) in the window
    containers_memory: float | None = None  # the containers' latest use, summed
    mounts: tuple[MountHistory, ...] = ()
    docker_disk: Mapping[str, float] = field(default_factory=dict)  # images, volumes, …
    # backup repository → (unix time, bytes stored) after each run that measured it
    repositories: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Memory:
    available: int  # for containers: host memory minus the reserve
    reservations: int
    limits: int
    peak_used: float | None
    containers: float | None

    @property
    def budget_headroom(self) -> int:
        return self.available - self.reservations

    @property
    def measured_headroom(self) -> float | None:
        if self.containers is None:
            return None
        return self.available - self.containers

    def to_dict(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "reservations": self.reservations,
            "limits": self.limits,
            "budget_headroom": self.budget_headroom,
            "peak_used": self.peak_used,
            "containers": self.containers,
            "measured_headroom": self.measured_headroom,
        }


@dataclass(frozen=True)
class Fill:
    path: str
    role: str
    pool: str | None
    size: float
    used: float
    forecast: Forecast

    @property
    def used_percent(self) -> float:
        total = self.used + self.forecast.avail
        return 100.0 * self.used / total if total > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "role": self.role,
            "pool": self.pool,
            "size": self.size,
            "used": self.used,
            "used_percent": round(self.used_percent, 2),
            "forecast": self.forecast.to_dict(),
        }


@dataclass(frozen=True)
class Growth:
    """How fast a backup repository grows: what offsite storage will cost next."""

    repository: str
    size: float
    trend: Trend | None  # None: too few measurements

    @property
    def per_month(self) -> float | None:
        return None if self.trend is None else self.trend.per_day * 365 / 12

    def to_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "size": self.size,
            "per_month": self.per_month,
            "trend": self.trend.to_dict() if self.trend else None,
        }


@dataclass(frozen=True)
class Binding(Plain):
    """The constraint that runs out first, and what relieves it."""

    what: str
    days: float | None  # 0: already; None: nothing runs out at the current pace
    buy: str


@dataclass(frozen=True)
class Capacity:
    memory: Memory
    fills: tuple[Fill, ...]
    docker_disk: Mapping[str, float]
    binding: Binding | None
    measured: bool
    growth: tuple[Growth, ...] = ()
    pools: Mapping[str, int] = field(default_factory=dict)  # pool → usable bytes, from the plan

    def to_dict(self) -> dict[str, Any]:
        return {
            "measured": self.measured,
            "memory": self.memory.to_dict(),
            "fills": [f.to_dict() for f in self.fills],
            "docker_disk": dict(self.docker_disk),
            "binding": self.binding.to_dict() if self.binding else None,
            "repositories": [g.to_dict() for g in self.growth],
            "pools": dict(self.pools),
        }


def _buy(fill: Fill) -> str:
    if fill.role == "pool":
        return f"drives for pool {fill.pool or fill.path} (larger or more)"
    return "a larger OS disk (app data and Docker's images live there)"


def binding(memory: Memory, fills: Sequence[Fill]) -> Binding | None:
    """What runs out first: memory already over, else the filesystem that fills soonest."""
    if memory.budget_headroom < 0 or (
        memory.measured_headroom is not None and memory.measured_headroom < 0
    ):
        return Binding("memory", 0.0, "more memory, or fewer apps")
    growing = [f for f in fills if f.forecast.days is not None]
    if growing:
        first = min(growing, key=lambda f: f.forecast.days or 0.0)
        return Binding(first.path, first.forecast.days, _buy(first))
    if fills:
        return Binding("nothing", None, "nothing yet: no filesystem grows at the current pace")
    return None


def capacity(
    budget: Budget, measured: Measured | None = None, pools: Mapping[str, int] | None = None
) -> Capacity:
    """The headroom report; ``pools`` are the blueprint's usable pool sizes, for reference."""
    measured = measured or Measured()
    memory = Memory(
        budget.available,
        budget.reservations,
        budget.limits,
        measured.memory_peak_used,
        measured.containers_memory,
    )
    fills = tuple(
        Fill(m.path, m.role, m.pool, m.size, m.used, full_in(m.points, m.avail))
        for m in measured.mounts
    )
    growth = tuple(
        Growth(name, points[-1][1], theil_sen(points))
        for name, points in sorted(measured.repositories.items())
        if points
    )
    has_history = bool(measured.mounts) or measured.memory_total is not None
    return Capacity(
        memory,
        fills,
        measured.docker_disk,
        binding(memory, fills),
        has_history,
        growth,
        dict(pools or {}),
    )
