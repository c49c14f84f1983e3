"""The blueprint's costs: hardware, power, recurring costs, the SaaS it replaces."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from lares.blueprint.fields import Model, Name
from lares.units import ByteSize

# ── costs ──────────────────────────────────────────────────────────────────────────────────

Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]


class HardwareItem(Model):
    """Something bought for the server: its price, when, and how long it is expected to last."""

    price: Money
    bought: date | None = Field(None, description="the purchase date (YYYY-MM-DD)")
    lifetime_years: int | None = Field(
        None, ge=1, le=50, description="bought again after this many years; unset: never"
    )
    note: str | None = None


class Power(Model):
    """The server's draw at the wall and what a kWh costs."""

    idle_watts: Annotated[Decimal, Field(ge=0, le=10000)] | None = None
    load_watts: Annotated[Decimal, Field(ge=0, le=10000)] | None = None
    load_hours_per_day: Annotated[Decimal, Field(ge=0, le=24)] = Decimal(0)
    measured_watts: Annotated[Decimal, Field(ge=0, le=10000)] | None = Field(
        None, description="the average draw measured at the wall; replaces idle and load"
    )
    kwh_price: Money

    @model_validator(mode="after")
    def _watts(self) -> Power:
        if self.measured_watts is None and self.idle_watts is None:
            raise ValueError("give measured_watts, or idle_watts (and load_watts)")
        if self.load_hours_per_day and self.load_watts is None:
            raise ValueError("load_hours_per_day needs load_watts")
        return self


class Recurring(Model):
    """A bill that comes back: a VPS, a domain, a subscription the server needs."""

    amount: Money
    per: Literal["month", "year"]


class OffsiteStorage(Model):
    """Storage paid by the amount kept off the premises."""

    repository: Name = Field(description="the backup repository this pays for")
    per_tb_month: Money
    estimate: ByteSize = Field(description="the repository's size until it is measured")


class Stated(Model):
    """Figures stated elsewhere (a spreadsheet, a write-up), which `lares cost` checks."""

    investment: Money | None = None
    running_per_year: Money | None = None
    saas_per_month: Money | None = None
    break_even_years: Annotated[Decimal, Field(ge=0, le=100)] | None = None
    net_after_years: dict[Annotated[int, Field(ge=1, le=50)], Decimal] = Field(
        default_factory=dict, description="years → the cumulative net stated for them"
    )


class Costs(Model):
    """What the server costs and what it saves, for `lares cost`."""

    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    hardware: dict[Name, HardwareItem] = Field(default_factory=dict)
    power: Power | None = None
    recurring: dict[Name, Recurring] = Field(default_factory=dict)
    offsite: OffsiteStorage | None = None
    saas: dict[Name, Money] = Field(
        default_factory=dict,
        description="app → the monthly SaaS price it replaces, instead of the catalog's",
    )
    stated: Stated | None = None
