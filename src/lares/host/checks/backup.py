"""Backups: the restic lares drives is installed and new enough, and the SQLite copies of the
apps' databases can be taken with this Python."""

from __future__ import annotations

import sys
from collections.abc import Iterator

from lares.host.doctor import DoctorContext, Finding

ID = "backup"
DESCRIPTION = "restic is installed and new enough; SQLite databases can be copied online"

#: What `python -m lares.sqlitecopy` needs: Connection.serialize (Python 3.11, SQLite 3.36).
SQLITE_PROBE = (
    "import sqlite3; db = sqlite3.connect(':memory:'); db.execute('CREATE TABLE t (x)'); "
    "db.serialize(); print(sqlite3.sqlite_version)"
)


def check(ctx: DoctorContext) -> Iterator[Finding]:
    from lares.backup.features import INSTALL_HINT, MINIMUM, parse_version

    system = ctx.system
    if not system.blueprint.backup.repositories:
        return
    out = ctx.probe.run(["restic", "version"])
    try:
        version = parse_version(out.stdout) if out.ok else None
    except ValueError:
        version = None
    if version is None:
        yield ctx.finding(ID, "error", "restic is not installed", INSTALL_HINT)
    elif version < MINIMUM:
        shown = ".".join(map(str, version))
        yield ctx.finding(
            ID,
            "error",
            f"restic {shown} is older than {'.'.join(map(str, MINIMUM))}, the oldest lares drives",
            INSTALL_HINT,
            version=shown,
        )
    else:
        shown = ".".join(map(str, version))
        yield ctx.finding(ID, "ok", f"restic {shown}", version=shown)
    sqlite_apps = sorted(
        app.id
        for app in system.apps
        if app.app.backup and any(d.engine == "sqlite" for d in app.app.backup.databases)
    )
    if sqlite_apps:
        out = ctx.probe.run([sys.executable, "-c", SQLITE_PROBE])
        if out.ok:
            yield ctx.finding(
                ID, "ok", f"SQLite {out.stdout.strip()} copies databases online", apps=sqlite_apps
            )
        else:
            yield ctx.finding(
                ID,
                "error",
                f"this Python cannot copy SQLite databases online ({', '.join(sqlite_apps)} "
                "keep theirs in SQLite)",
                "lares needs Python 3.11 with SQLite 3.36 or newer (Debian 12 has both)",
                apps=sqlite_apps,
            )
