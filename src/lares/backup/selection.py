"""Which snapshot `lares backup restore` restores: ``latest`` of one app and item, or an id.

A repository holds the snapshots of every app, each tagged with its app and its item (``files``
or ``db:NAME``), and lares's own state, which belongs to no app. ``latest`` alone would pick
the newest snapshot of whichever app ran last, so it is refused when more than one app (or
item) matches, with the choices in the error. Pure: the caller lists the snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence

from lares.backup.restic import Snapshot
from lares.errors import Location, UsageError


def newest(
    snapshots: Sequence[Snapshot], app: str, kind: str, db: str | None = None
) -> Snapshot | None:
    """The newest snapshot of ``app`` of ``kind`` (``files``, ``database``; of database ``db``
    when given), or None."""
    found = [
        s
        for s in snapshots
        if s.tag("app") == app and s.tag("kind") == kind and (db is None or s.tag("db") == db)
    ]
    return max(found, key=lambda s: s.time) if found else None


def item_of(snapshot: Snapshot) -> str:
    """The item a snapshot holds, as `lares backup list` shows it: ``files`` or ``db:NAME``."""
    db = snapshot.tag("db")
    return f"db:{db}" if db else (snapshot.tag("kind") or "")


def describe(snapshot: Snapshot) -> str:
    """What a restore reads, e.g. ``snapshot 1a2b3c4d of nextcloud (files), 2026-12-01T03:00:12Z``
    (the time as `lares backup list` shows it)."""
    app = snapshot.tag("app") or "no app"
    item = item_of(snapshot)
    when = snapshot.time.isoformat(timespec="seconds")
    return f"snapshot {snapshot.short_id} of {app}{f' ({item})' if item else ''}, {when}"


def choose(
    snapshots: Sequence[Snapshot],
    wanted: str,
    *,
    repo: str,
    app: str | None = None,
    item: str | None = None,
) -> Snapshot:
    """The snapshot ``wanted`` names (an id of at least 8 characters, or ``latest``).

    ``latest`` is the newest snapshot of ``app`` and ``item``; either may be left out only when
    the repository's snapshots have one value for it. An id must name one of ``snapshots`` and,
    when ``app`` or ``item`` is given, be of that app and item. Raises :class:`UsageError`
    with the choices.
    """
    if wanted != "latest":
        found = [s for s in snapshots if s.matches(wanted)]
        if len(found) != 1:
            problem = "matches several snapshots" if found else "is not a snapshot lares made"
            raise UsageError(
                f"{wanted} {problem} in {repo}",
                location=Location(path="snapshot"),
                hint="`lares backup list` shows the ids (at least 8 characters), or say latest "
                "with --app",
            )
        snap = found[0]
        for key, asked, actual in (
            ("--app", app, snap.tag("app")),
            ("--item", item, item_of(snap)),
        ):
            if asked is not None and asked != actual:
                raise UsageError(
                    f"{describe(snap)} is not of {key} {asked}",
                    location=Location(path=key),
                    hint="leave the option out, or name a snapshot of it",
                )
        return snap
    # lares's own state (`lares recover` reads it) is no app's: latest never means it
    pool = [s for s in snapshots if s.tag("app") and (app is None or s.tag("app") == app)]
    if not pool:
        apps = sorted({a for s in snapshots if (a := s.tag("app"))})
        raise UsageError(
            f"{repo} holds no snapshot of {app}" if app else f"{repo} holds no snapshot yet",
            location=Location(path="--app") if app else None,
            hint=f"apps with snapshots: {', '.join(apps)}" if apps else "run `lares backup run`",
        )
    apps = sorted({s.tag("app") or "" for s in pool})
    if len(apps) > 1:
        raise UsageError(
            f"latest is ambiguous: {repo} holds snapshots of {len(apps)} apps",
            location=Location(path="--app"),
            hint=f"say which with --app: {', '.join(apps)}",
        )
    items = sorted({item_of(s) for s in pool})
    chosen = [s for s in pool if item is None or item_of(s) == item]
    if not chosen:
        raise UsageError(
            f"{apps[0]} has no {item} snapshot in {repo}",
            location=Location(path="--item"),
            hint=f"its items: {', '.join(items)}",
        )
    if item is None and len(items) > 1:
        raise UsageError(
            f"latest is ambiguous: {apps[0]} has snapshots of {len(items)} items in {repo}",
            location=Location(path="--item"),
            hint=f"say which with --item: {', '.join(items)}",
        )
    return max(chosen, key=lambda s: s.time)
