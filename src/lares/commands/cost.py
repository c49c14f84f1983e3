"""`lares cost`: what the server costs, what it saves, and when it has paid for itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lares.cli import app
from lares.commands.options import Shared, load_blueprint, printer, uses

if TYPE_CHECKING:
    from lares.output import Out
    from lares.plan.cost import CostModel


@app.command()
@uses("file", "state_dir", "as_json")
def cost(
    years: Annotated[
        int, typer.Option("--years", min=1, max=50, help="The horizon, in years.")
    ] = 5,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw the cumulative curve against SaaS as an SVG file."),
    ] = None,
    *,
    shared: Shared,
) -> None:
    """Investment, running costs, SaaS replaced, break-even and TCO, from the blueprint's costs.

    Offsite storage is priced by the repository's size as the last backup run measured it, else
    by the blueprint's estimate.
    """
    from lares.plan import catalog_for
    from lares.plan.cost import model

    loaded = load_blueprint(shared.file)
    catalog = catalog_for(loaded)
    offsite = loaded.blueprint.costs.offsite
    size = _measured_size(shared.state_dir, offsite.repository) if offsite is not None else None
    result = model(loaded.blueprint, catalog.apps, years=years, offsite_bytes=size)
    out = printer(shared.as_json)
    costs = loaded.blueprint.costs
    if not costs.hardware and costs.power is None and not costs.recurring:
        out.warn(
            "the blueprint's costs: section names no hardware, power or bills, so only the SaaS "
            "replaced is counted; `lares init` writes an example to copy from"
        )
    for name in result.unknown_saas:
        out.warn(f"costs.saas: no stack runs an app {name!r}; its price is not counted")
    if plot is not None:
        from lares.fsutil import atomic_write
        from lares.plan.costplot import svg

        atomic_write(plot, svg(result), mode=0o644)
    if shared.as_json:
        data = result.to_dict()
        if plot is not None:
            data["plot"] = str(plot)
        out.json(data)
        return
    cost_report(out, result)
    if plot is not None:
        out.ok(f"wrote the plot to {plot}")


def _measured_size(state_dir: Path | None, repo: str) -> int | None:
    """The last size the backup records hold for ``repo``, if any (nothing is created)."""
    from lares.backup.records import Records
    from lares.state import StateDir, default_root

    root = state_dir or default_root()
    if not (root / "backup").is_dir():
        return None
    sizes = Records(StateDir.open(root)).sizes(repo)
    return sizes[-1][1] if sizes else None


def cost_report(out: Out, m: CostModel) -> None:
    """The cost model as tables: purchases, running costs, SaaS, years, stated figures."""
    from lares.plan.cost import cents

    cur = m.currency
    out.heading(f"Hardware ({cur})")
    out.rows(
        ("item", "price", "month"),
        [
            (p.item + (" (replaced)" if p.replacement else ""), str(cents(p.price)), str(p.month))
            for p in m.purchases
        ],
        right=("price", "month"),
    )
    out.line(f"investment: {cents(m.investment)} {cur}")
    out.heading(f"Running costs ({cur} a year)")
    out.rows(
        ("cost", "per year", "how"),
        [(r.name, str(cents(r.per_year)), r.detail) for r in m.running],
        right=("per year",),
    )
    out.line(
        f"total: {cents(m.running_per_year)} {cur} a year "
        f"({cents(m.running_per_year / 12)} {cur} a month)"
    )
    out.heading(f"SaaS replaced ({cur} a month)")
    out.rows(
        ("app", "service", "per month", "from"),
        [(s.app, s.service, str(cents(s.per_month)), s.source) for s in m.savings],
        right=("per month",),
    )
    out.line(f"total: {cents(m.saas_per_month)} {cur} a month, {cents(m.saas_per_year)} a year")
    out.heading(f"Year by year ({cur})")
    out.rows(
        ("year", "bought", "running", "saas", "net", "cumulative"),
        [
            (
                str(y.year),
                str(cents(y.bought)),
                str(cents(y.running)),
                str(cents(y.saas)),
                str(cents(y.net)),
                str(cents(y.cumulative)),
            )
            for y in m.year_rows()
        ],
        right=("year", "bought", "running", "saas", "net", "cumulative"),
    )
    out.heading("Summary")
    if m.break_even_month is None:
        out.line("break-even: never (the SaaS replaced does not cover the running costs)")
    else:
        beyond = f", past the {m.years}-year horizon" if m.break_even_extrapolated else ""
        years = float(m.break_even_years or 0)
        out.line(f"break-even: month {m.break_even_month} ({years:.2f} years{beyond})")
    out.line(f"net per year once paid for: {cents(m.net_per_year)} {cur}")
    out.line(f"TCO over {m.years} years: {cents(m.tco)} {cur} ({cents(m.per_month)} {cur} a month)")
    out.line(f"net after {m.years} years: {cents(m.curve[-1])} {cur}")
    if m.differences:
        out.heading("Stated figures")
        out.rows(
            ("figure", "stated", "lares", "stated inputs give", "why"),
            [
                (
                    d.what,
                    str(d.to_dict()["stated"]),
                    str(d.to_dict()["computed"]),
                    "" if d.implied is None else str(d.to_dict()["implied"]),
                    "agrees" if d.agrees else d.note,
                )
                for d in m.differences
            ],
            right=("stated", "lares", "stated inputs give"),
        )
