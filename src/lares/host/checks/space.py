"""Free space where app data and the pool live."""

from __future__ import annotations

import os
from collections.abc import Iterator

from lares.host.doctor import DoctorContext, Finding
from lares.units import format_size

ID = "space"
DESCRIPTION = "free space on paths.appdata and paths.pool"
MIN_APPDATA_FREE = 10 * 1024**3


def existing_parent(ctx: DoctorContext, path: str) -> str:
    """``path`` or its nearest parent that exists."""
    while path != "/" and not ctx.probe.exists(path):
        path = os.path.dirname(path) or "/"
    return path


def check(ctx: DoctorContext) -> Iterator[Finding]:
    bp = ctx.system.blueprint
    warn = bp.monitor.thresholds.disk_warn
    for label, path in (("paths.appdata", bp.paths.appdata), ("paths.pool", bp.paths.pool)):
        where = existing_parent(ctx, path)
        usage = ctx.probe.disk_usage(where)
        if usage is None:
            yield ctx.finding(ID, "unknown", f"cannot read the free space of {where}")
            continue
        total, free = usage
        used_pct = 100 * (total - free) / total if total else 0.0
        data = {"path": path, "measured": where, "total": total, "free": free}
        note = "" if where == path else f" (does not exist yet; measured on {where})"
        text = f"{label} {path}: {format_size(free)} free of {format_size(total)}{note}"
        if label == "paths.pool" and where != path and bp.storage.pools:
            yield ctx.finding(
                ID,
                "warning",
                text,
                "set the pool up (lares render --target host, then storage/setup-*.sh)",
                **data,
            )
        elif used_pct >= warn or (label == "paths.appdata" and free < MIN_APPDATA_FREE):
            yield ctx.finding(ID, "warning", text, "free some space or grow the disk", **data)
        else:
            yield ctx.finding(ID, "ok", text, **data)
