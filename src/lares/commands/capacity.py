"""`lares capacity`: memory and disk headroom, when each fills up, and what to buy first."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lares.cli import app
from lares.commands.options import Shared, load_blueprint, printer, uses

if TYPE_CHECKING:
    from lares.output import Out
    from lares.plan.headroom import Capacity


@app.command("capacity")
@uses("file", "state_dir", "as_json")
def capacity_cmd(*, shared: Shared) -> None:
    """Memory headroom (budget and measured), pool and OS disk fill with a forecast, Docker's disk.

    The forecasts come from the watcher's history (`lares watch`); without one, the budget alone.
    """
    from lares.deploy.engine import EngineError
    from lares.monitor.capacity import docker_disk, measured
    from lares.monitor.config import build
    from lares.monitor.store import FILENAME, Store
    from lares.plan import catalog_for, make_context
    from lares.plan.checks.memory import budget
    from lares.plan.headroom import Measured, capacity
    from lares.state import StateDir

    loaded = load_blueprint(shared.file)
    catalog = catalog_for(loaded)
    ctx = make_context(loaded, catalog)
    state = StateDir.open(shared.state_dir)
    config = build(ctx.system, state_dir=str(state.root))
    found = Measured()
    if (state.monitor / FILENAME).exists():
        with Store.open(state.monitor) as store:
            found = measured(store, config.mounts, now=time.time())
    if state.backup.is_dir():
        from lares.backup.records import Records

        records = Records(state)
        sizes = {
            name: tuple((when.timestamp(), float(size)) for when, size in records.sizes(name))
            for name in loaded.blueprint.backup.repositories
        }
        found = Measured(**{**found.__dict__, "repositories": sizes})
    try:
        from lares.deploy import engine

        found = Measured(**{**found.__dict__, "docker_disk": docker_disk(engine.client().df())})
    except EngineError:
        pass  # no engine: the report leaves Docker's disk out
    from lares.plan.capacity import capacity as pool_capacity

    pools = {name: pool_capacity(p).usable for name, p in loaded.blueprint.storage.pools.items()}
    result = capacity(budget(ctx), found, pools)
    out = printer(shared.as_json)
    if shared.as_json:
        out.json(result.to_dict())
        return
    capacity_report(out, result)


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def capacity_report(out: Out, c: Capacity) -> None:
    from lares.units import format_size

    m = c.memory
    out.heading("Memory")
    out.line(f"for containers: {format_size(m.available)} (host memory minus the reserve)")
    out.line(
        f"reserved by the apps: {format_size(m.reservations)}, headroom "
        f"{format_size(m.budget_headroom)}; limits add up to {format_size(m.limits)}"
    )
    if m.containers is not None:
        out.line(
            f"measured: containers use {format_size(m.containers)}, headroom "
            f"{format_size(m.measured_headroom or 0)}"
            + (f"; host peak {format_size(m.peak_used)}" if m.peak_used is not None else "")
        )
    else:
        out.line("measured: no history yet (run `lares watch`)")
    out.heading("Disks")
    for name, usable in c.pools.items():
        out.line(f"pool {name}: {format_size(usable, binary=False)} usable (from the blueprint)")
    if not c.fills:
        out.line("no history yet (run `lares watch`)")
    else:
        rows = []
        for f in c.fills:
            fc = f.forecast
            if fc.state == "growing":
                per_day = format_size(fc.trend.per_day) if fc.trend else "-"
                when = f"{_days(fc.days)} days ({_days(fc.days_low)}–{_days(fc.days_high)})"
            else:
                per_day = "-"
                when = "no growth" if fc.state == "no-growth" else "too little history"
            rows.append(
                (f.path, f.role, format_size(f.used), f"{f.used_percent:.1f}%", per_day, when)
            )
        out.rows(("path", "role", "used", "%", "per day", "full in"), rows, right=("used", "%"))
    if c.docker_disk:
        out.heading("Docker on the OS disk")
        out.line(
            ", ".join(f"{k.replace('_', ' ')} {format_size(v)}" for k, v in c.docker_disk.items())
        )
    if c.growth:
        out.heading("Backup repositories")
        out.rows(
            ("repository", "size", "per month"),
            [
                (
                    g.repository,
                    format_size(g.size),
                    "-" if g.per_month is None else format_size(g.per_month),
                )
                for g in c.growth
            ],
            right=("size", "per month"),
        )
    if c.binding is not None:
        out.heading("Binds first")
        when = (
            "now"
            if c.binding.days == 0
            else (
                "not at the current pace"
                if c.binding.days is None
                else f"in {_days(c.binding.days)} days"
            )
        )
        out.line(f"{c.binding.what}: {when}; buy {c.binding.buy}")
