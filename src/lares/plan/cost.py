"""What the server costs and what it saves: the blueprint's ``costs:`` as a cash-flow model. Pure.

The model runs month by month from the first purchase. Hardware is paid when it is bought (month
0 when the blueprint gives no date) and again every ``lifetime_years`` inside the horizon; running
costs (electricity from the watts, recurring bills, offsite storage by size) and the SaaS prices
the enabled apps replace accrue one twelfth of their yearly amount each month. Arithmetic is
exact (:class:`~fractions.Fraction`); amounts are rounded to cents only when they are shown.

Break-even is the first month whose cumulative net (SaaS saved − everything paid) is zero or
more. When the horizon ends before that, it is extrapolated at the steady monthly net, assuming
nothing else is bought.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from lares.blueprint.model import Blueprint
from lares.catalog.model import App
from lares.plain import Plain

HOURS_PER_YEAR = 24 * 365
TB = 10**12  # storage is billed per decimal terabyte
CENT = Decimal("0.01")


def cents(value: Fraction) -> Decimal:
    """An exact amount rounded to cents, half up (as a bill is)."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        CENT, rounding=ROUND_HALF_UP
    )


class _Shown(Plain):
    """A dataclass whose data is its fields, each exact amount rounded to cents."""

    def to_dict(self) -> dict[str, Any]:
        values = super().to_dict()
        return {k: cents(v) if isinstance(v, Fraction) else v for k, v in values.items()}


def _frac(value: Decimal | int) -> Fraction:
    return Fraction(value)


@dataclass(frozen=True)
class Purchase(_Shown):
    """One payment for a hardware item: the first one, or a replacement at the end of its life."""

    item: str
    price: Fraction
    month: int  # months after the first purchase
    replacement: bool


@dataclass(frozen=True)
class Running(_Shown):
    """A yearly running cost: electricity, a recurring bill or offsite storage."""

    name: str
    per_year: Fraction
    detail: str


@dataclass(frozen=True)
class Saving(_Shown):
    """A SaaS subscription an enabled app replaces, per month."""

    app: str
    service: str
    per_month: Fraction
    source: str  # "catalog" or "blueprint" (costs.saas)


@dataclass(frozen=True)
class Year(_Shown):
    year: int
    bought: Fraction
    running: Fraction
    saas: Fraction
    net: Fraction
    cumulative: Fraction


@dataclass(frozen=True)
class Difference:
    """A stated figure beside lares's own, and what the stated figures themselves imply."""

    what: str
    stated: Fraction
    computed: Fraction
    implied: Fraction | None  # the same figure computed from the stated inputs alone
    note: str

    @property
    def agrees(self) -> bool:
        """Whether the two round to the same shown figure (cents; years to two places)."""
        return _show(self.what, self.stated) == _show(self.what, self.computed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "stated": _show(self.what, self.stated),
            "computed": _show(self.what, self.computed),
            "implied": None if self.implied is None else _show(self.what, self.implied),
            "agrees": self.agrees,
            "note": self.note,
        }


def _show(what: str, value: Fraction) -> Decimal:
    if what == "break_even_years":
        return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
    return cents(value)


@dataclass(frozen=True)
class CostModel:
    currency: str
    years: int
    purchases: tuple[Purchase, ...]
    running: tuple[Running, ...]
    savings: tuple[Saving, ...]
    # the cumulative net at the end of each month; [0] is right after month 0's purchases
    curve: tuple[Fraction, ...]
    saas_curve: tuple[Fraction, ...]  # cumulative SaaS saved, the same months
    break_even_month: int | None
    break_even_extrapolated: bool
    differences: tuple[Difference, ...]
    unknown_saas: tuple[str, ...] = ()  # costs.saas names that no stack runs

    @property
    def investment(self) -> Fraction:
        """What is paid in month 0."""
        return sum((p.price for p in self.purchases if p.month == 0), Fraction(0))

    @property
    def bought(self) -> Fraction:
        """Every purchase inside the horizon, replacements included."""
        return sum((p.price for p in self.purchases), Fraction(0))

    @property
    def running_per_year(self) -> Fraction:
        return sum((r.per_year for r in self.running), Fraction(0))

    @property
    def saas_per_month(self) -> Fraction:
        return sum((s.per_month for s in self.savings), Fraction(0))

    @property
    def saas_per_year(self) -> Fraction:
        return self.saas_per_month * 12

    @property
    def net_per_year(self) -> Fraction:
        """The steady yearly net once the hardware is paid: SaaS saved − running costs."""
        return self.saas_per_year - self.running_per_year

    @property
    def break_even_years(self) -> Fraction | None:
        """When the cumulative net reaches zero, in years, between months on a straight line."""
        month = self.break_even_month
        if month is None:
            return None
        if month == 0:
            return Fraction(0)
        if self.break_even_extrapolated:
            months = len(self.curve) - 1 - self.curve[-1] / ((self.net_per_year) / 12)
            return months / 12
        before, after = self.curve[month - 1], self.curve[month]
        return (month - 1 + -before / (after - before)) / 12

    @property
    def tco(self) -> Fraction:
        """Total cost of ownership over the horizon: purchases plus running costs."""
        return self.bought + self.running_per_year * self.years

    @property
    def per_month(self) -> Fraction:
        return self.tco / (12 * self.years)

    def year_rows(self) -> list[Year]:
        rows = []
        for y in range(1, self.years + 1):
            lo, hi = 12 * (y - 1), 12 * y
            bought = sum((p.price for p in self.purchases if lo <= p.month < hi), Fraction(0))
            net = self.saas_per_year - self.running_per_year - bought
            rows.append(
                Year(y, bought, self.running_per_year, self.saas_per_year, net, self.curve[hi])
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "years": self.years,
            "investment": cents(self.investment),
            "purchases": [p.to_dict() for p in self.purchases],
            "running": [r.to_dict() for r in self.running],
            "running_per_year": cents(self.running_per_year),
            "saas": [s.to_dict() for s in self.savings],
            "saas_per_month": cents(self.saas_per_month),
            "saas_per_year": cents(self.saas_per_year),
            "net_per_year": cents(self.net_per_year),
            "by_year": [r.to_dict() for r in self.year_rows()],
            "break_even_month": self.break_even_month,
            "break_even_extrapolated": self.break_even_extrapolated,
            "break_even_years": None
            if self.break_even_years is None
            else _show("break_even_years", self.break_even_years),
            "tco": cents(self.tco),
            "per_month": cents(self.per_month),
            "net_after": cents(self.curve[-1]),
            "stated": [d.to_dict() for d in self.differences],
            "unknown_saas": list(self.unknown_saas),
        }


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def purchases(blueprint: Blueprint, years: int) -> list[Purchase]:
    """Every hardware payment inside ``years``: first purchases and replacements, in month order."""
    items = blueprint.costs.hardware
    dates = [i.bought for i in items.values() if i.bought is not None]
    start = min(dates) if dates else None
    horizon = 12 * years
    out: list[Purchase] = []
    for name, item in items.items():
        month = _months_between(start, item.bought) if start and item.bought else 0
        replacement = False
        while month < horizon:
            out.append(Purchase(name, _frac(item.price), month, replacement))
            if item.lifetime_years is None:
                break
            month += 12 * item.lifetime_years
            replacement = True
    return sorted(out, key=lambda p: (p.month, p.item))


def electricity(blueprint: Blueprint) -> Running | None:
    power = blueprint.costs.power
    if power is None:
        return None
    currency = blueprint.costs.currency
    if power.measured_watts is not None:
        watt_hours_day = _frac(power.measured_watts) * 24
        how = f"{power.measured_watts} W measured"
    else:
        assert power.idle_watts is not None  # the model requires one of the two
        load_hours = _frac(power.load_hours_per_day)
        load = _frac(power.load_watts) if power.load_watts is not None else Fraction(0)
        watt_hours_day = _frac(power.idle_watts) * (24 - load_hours) + load * load_hours
        how = f"{power.idle_watts} W idle"
        if load_hours:
            how += f", {power.load_watts} W for {power.load_hours_per_day} h a day"
    kwh = watt_hours_day * 365 / 1000
    price = _frac(power.kwh_price)
    return Running(
        "electricity",
        kwh * price,
        f"{how}: {float(kwh):.1f} kWh at {power.kwh_price} {currency}/kWh",
    )


def offsite(blueprint: Blueprint, measured_bytes: int | None) -> Running | None:
    spec = blueprint.costs.offsite
    if spec is None:
        return None
    size = measured_bytes if measured_bytes is not None else int(spec.estimate)
    source = "measured" if measured_bytes is not None else "estimated"
    tb = Fraction(size, TB)
    return Running(
        f"offsite ({spec.repository})",
        tb * _frac(spec.per_tb_month) * 12,
        f"{float(tb):.2f} TB {source} at {spec.per_tb_month} {blueprint.costs.currency}/TB-month",
    )


def running(blueprint: Blueprint, *, offsite_bytes: int | None = None) -> list[Running]:
    """Yearly running costs: electricity, recurring bills, offsite storage."""
    out = [r for r in (electricity(blueprint),) if r is not None]
    for name, bill in blueprint.costs.recurring.items():
        per_year = _frac(bill.amount) * (12 if bill.per == "month" else 1)
        out.append(Running(name, per_year, f"{bill.amount} {blueprint.costs.currency}/{bill.per}"))
    storage = offsite(blueprint, offsite_bytes)
    if storage is not None:
        out.append(storage)
    return out


def savings(blueprint: Blueprint, catalog: Mapping[str, App]) -> list[Saving]:
    """The SaaS each enabled app replaces: the catalog's prices unless ``costs.saas`` says."""
    out: list[Saving] = []
    for stack in blueprint.stacks.values():
        for app_id, settings in stack.apps.items():
            if not settings.enabled:
                continue
            app = catalog.get(app_id)
            services = [r.service for r in app.replaces] if app is not None else []
            if app_id in blueprint.costs.saas:
                label = " + ".join(services) or "(set in costs.saas)"
                out.append(Saving(app_id, label, _frac(blueprint.costs.saas[app_id]), "blueprint"))
                continue
            for r in app.replaces if app is not None else ():
                out.append(Saving(app_id, r.service, Fraction(str(r.eur_month)), "catalog"))
    return out


def curve(
    bought: list[Purchase], running_per_year: Fraction, saas_per_year: Fraction, years: int
) -> tuple[list[Fraction], list[Fraction]]:
    """Cumulative net and cumulative SaaS saved at the end of each month 0 … 12 × years."""
    by_month: dict[int, Fraction] = {}
    for p in bought:
        by_month[p.month] = by_month.get(p.month, Fraction(0)) + p.price
    monthly = (saas_per_year - running_per_year) / 12
    net = [-by_month.get(0, Fraction(0))]
    saved = [Fraction(0)]
    for m in range(1, 12 * years + 1):
        net.append(net[-1] + monthly - by_month.get(m, Fraction(0)))
        saved.append(saved[-1] + saas_per_year / 12)
    return net, saved


def break_even(net: list[Fraction], monthly: Fraction) -> tuple[int | None, bool]:
    """The first month whose cumulative net is ≥ 0, and whether it lies past the curve's end."""
    for month, value in enumerate(net):
        if value >= 0:
            return month, False
    if monthly <= 0:
        return None, False
    return len(net) - 1 + math.ceil(-net[-1] / monthly), True


def model(
    blueprint: Blueprint,
    catalog: Mapping[str, App],
    *,
    years: int = 5,
    offsite_bytes: int | None = None,
) -> CostModel:
    """The cost model of ``blueprint`` over ``years`` (≥ 1)."""
    if years < 1:
        raise ValueError("years must be at least 1")
    bought = purchases(blueprint, years)
    costs = running(blueprint, offsite_bytes=offsite_bytes)
    saved = savings(blueprint, catalog)
    running_per_year = sum((r.per_year for r in costs), Fraction(0))
    saas_per_year = sum((s.per_month for s in saved), Fraction(0)) * 12
    net, saas_curve = curve(bought, running_per_year, saas_per_year, years)
    month, extrapolated = break_even(net, (saas_per_year - running_per_year) / 12)
    partial = CostModel(
        blueprint.costs.currency,
        years,
        tuple(bought),
        tuple(costs),
        tuple(saved),
        tuple(net),
        tuple(saas_curve),
        month,
        extrapolated,
        (),
        tuple(a for a in blueprint.costs.saas if a not in blueprint.app_stack()),
    )
    return replace(partial, differences=tuple(compare(blueprint, partial)))


def _crossing_years(investment: Fraction, net_per_year: Fraction) -> Fraction | None:
    """When a straight cumulative line starting at −investment reaches zero, in years."""
    if investment <= 0:
        return Fraction(0)
    if net_per_year <= 0:
        return None
    return investment / net_per_year


def compare(blueprint: Blueprint, cost: CostModel) -> list[Difference]:
    """Each figure in ``costs.stated`` beside lares's own, with what explains a gap."""
    stated = blueprint.costs.stated
    if stated is None:
        return []
    currency = blueprint.costs.currency
    investment = _frac(stated.investment) if stated.investment is not None else cost.investment
    run = (
        _frac(stated.running_per_year)
        if stated.running_per_year is not None
        else cost.running_per_year
    )
    saas = _frac(stated.saas_per_month) * 12 if stated.saas_per_month is not None else None
    saas_year = saas if saas is not None else cost.saas_per_year
    out: list[Difference] = []
    if stated.investment is not None:
        gap = investment - cost.investment
        note = "the hardware's prices add up to the same"
        recurring = sum(
            (
                _frac(b.amount) * (12 if b.per == "month" else 1)
                for b in blueprint.costs.recurring.values()
            ),
            Fraction(0),
        )
        counted = gap / recurring if recurring else None
        if gap > 0 and counted is not None and counted.denominator == 1 and counted <= cost.years:
            names = ", ".join(blueprint.costs.recurring)
            note = (
                f"the stated figure adds {int(counted)} years of {names} "
                f"({cents(gap)} {currency}), which the running costs count again every year"
            )
        elif gap:
            note = f"{cents(abs(gap))} {currency} {'more' if gap > 0 else 'less'} than the hardware"
        out.append(Difference("investment", investment, cost.investment, None, note))
    if stated.running_per_year is not None:
        out.append(
            Difference(
                "running_per_year",
                run,
                cost.running_per_year,
                None,
                _parts_note(cost, currency),
            )
        )
    if saas is not None:
        out.append(
            Difference(
                "saas_per_month",
                saas / 12,
                cost.saas_per_month,
                None,
                "the catalog's prices for the enabled apps, with costs.saas overrides",
            )
        )
    if stated.break_even_years is not None:
        implied = _crossing_years(investment, saas_year - run)
        computed = cost.break_even_years
        if computed is not None:
            note = f"month {cost.break_even_month}"
            if implied is not None:
                note += (
                    f"; the stated figures themselves cross zero after {float(implied):.2f} years"
                )
            out.append(
                Difference(
                    "break_even_years", _frac(stated.break_even_years), computed, implied, note
                )
            )
    for n, value in sorted(stated.net_after_years.items()):
        implied_net = saas_year * n - run * n - investment
        if n <= cost.years:
            computed_net = cost.curve[12 * n]
        else:  # past the horizon, nothing more is bought
            computed_net = cost.curve[-1] + cost.net_per_year * (n - cost.years)
        out.append(
            Difference(
                f"net_after_{n}_years",
                _frac(value),
                computed_net,
                implied_net,
                f"the stated yearly figures give {cents(implied_net)} {currency} after {n} years",
            )
        )
    return out


def _parts_note(cost: CostModel, currency: str) -> str:
    return " + ".join(f"{r.name} {cents(r.per_year)}" for r in cost.running) + f" {currency}"
