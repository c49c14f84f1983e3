"""The cost model as a small SVG chart: what the server has cost so far against what the SaaS would
have cost, month by month. Pure: returns the document as text; no plotting library.

The two lines cross at break-even. Each line is a ``<polyline>`` with ``data-series`` naming it;
the root element carries the value range (``data-min``, ``data-max``) and the month count
(``data-months``), so the chart can be read back.
"""

from __future__ import annotations

from fractions import Fraction
from xml.sax.saxutils import escape

from lares.plan.cost import CostModel

WIDTH, HEIGHT = 720, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 50
COLOURS = {"server": "#c0392b", "saas": "#2471a3"}


def series(m: CostModel) -> dict[str, list[Fraction]]:
    """Cumulative money out, per month: the server (hardware + running) and the SaaS replaced."""
    server = [saved - net for saved, net in zip(m.saas_curve, m.curve, strict=True)]
    return {"server": server, "saas": list(m.saas_curve)}


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    span = hi - lo or 1.0
    raw = span / count
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1.0
    step = next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= raw)
    first = (lo // step) * step
    out, v = [], first
    while v <= hi + 1e-9:
        if v >= lo - 1e-9:
            out.append(v)
        v += step
    return out


def svg(m: CostModel) -> str:
    data = series(m)
    months = len(m.curve) - 1
    values = [float(v) for line in data.values() for v in line]
    lo, hi = min(0.0, *values), max(values)
    if hi <= lo:
        hi = lo + 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(month: int) -> float:
        return LEFT + month * plot_w / months

    def y(value: float) -> float:
        return TOP + (hi - value) * plot_h / (hi - lo)

    cur = escape(m.currency)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" data-min="{lo:.2f}" data-max="{hi:.2f}" '
        f'data-months="{months}" font-family="sans-serif" font-size="12">',
        f"<title>Cumulative cost: the server against the SaaS it replaces ({cur})</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">'
        f"Cumulative cost over {m.years} years ({cur})</text>",
    ]
    for value in _ticks(lo, hi):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#dddddd"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:,.0f}</text>'
        )
    for year in range(m.years + 1):
        parts.append(
            f'<text x="{x(12 * year):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
            f"{year}</text>"
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 12}" text-anchor="middle">years</text>'
    )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#333333"/>'
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        'stroke="#333333"/>'
    )
    for name, line in data.items():
        points = " ".join(f"{x(i):.2f},{y(float(v)):.2f}" for i, v in enumerate(line))
        parts.append(
            f'<polyline data-series="{name}" fill="none" stroke="{COLOURS[name]}" '
            f'stroke-width="2" points="{points}"/>'
        )
    if m.break_even_month is not None and not m.break_even_extrapolated:
        bx = x(m.break_even_month)
        parts.append(
            f'<line data-mark="break-even" x1="{bx:.2f}" x2="{bx:.2f}" y1="{TOP}" '
            f'y2="{TOP + plot_h}" stroke="#555555" stroke-dasharray="4 3"/>'
            f'<text x="{bx + 4:.1f}" y="{TOP + 12}">break-even, month {m.break_even_month}</text>'
        )
    legend = {"server": "the server (hardware + running)", "saas": "the SaaS it replaces"}
    for i, (name, label) in enumerate(legend.items()):
        ly = TOP + 30 + 18 * i
        parts.append(
            f'<line x1="{LEFT + 12}" x2="{LEFT + 36}" y1="{ly}" y2="{ly}" '
            f'stroke="{COLOURS[name]}" stroke-width="2"/>'
            f'<text x="{LEFT + 42}" y="{ly + 4}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
