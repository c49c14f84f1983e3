"""The parts of the dashboard's view, each built from what the sources hold: app tiles with
their health, alerts grouped by root cause, storage, system and backups. Pure functions of
their inputs, apart from :func:`latest` (one query) and :func:`backups_view` (the records)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lares.monitor.store import Store
    from lares.web.data import Blueprint

HEALTHS = ("critical", "warning", "unknown", "ok")
#: The collectors whose readings and alerts the Storage page shows.
STORAGE_COLLECTORS = ("disks", "btrfs", "mdstat", "smart", "scrub")
STALE = 600.0  # seconds after which a container's newest sample says nothing any more

Values = Mapping[tuple[str, str, str], tuple[int, float]]


def latest(
    store: Store, collectors: Iterable[str]
) -> dict[tuple[str, str, str], tuple[int, float]]:
    """The newest raw value of every series of ``collectors``: (time, value) by series key."""
    wanted = tuple(collectors)
    marks = ",".join("?" * len(wanted))
    rows = store.db.execute(
        "SELECT s.collector, s.subject, s.metric, x.ts, x.value FROM series s "  # noqa: S608
        "JOIN samples x ON x.series = s.id "
        f"WHERE s.collector IN ({marks}) "
        "AND x.ts = (SELECT max(ts) FROM samples WHERE series = s.id)",
        wanted,
    ).fetchall()
    return {(c, s, m): (int(ts), float(v)) for c, s, m, ts, v in rows}


def _alert(a: Any) -> dict[str, Any]:
    return {
        "key": a.key,
        "rule": a.rule,
        "subject": a.subject,
        "severity": a.severity,
        "state": a.state,
        "message": a.message,
        "app": a.app,
        "hint": a.hint,
        "since": a.since,
        "silenced": bool(a.silenced),
        "suppressed_by": a.suppressed_by,
        "source": a.source,
        "children": [],
    }


def group_alerts(alerts: Iterable[Any]) -> list[dict[str, Any]]:
    """Active alerts, each root cause with the alerts it explains inside it, worst first."""
    rank = {"critical": 0, "warning": 1, "info": 2}
    items = {a.key: _alert(a) for a in alerts}
    roots: list[dict[str, Any]] = []
    for item in items.values():
        root = items.get(item["suppressed_by"] or "")
        while root is not None and root["suppressed_by"] in items:
            root = items[root["suppressed_by"]]
        if root is not None and root is not item:
            root["children"].append(item)
        else:
            roots.append(item)
    for item in roots:
        item["children"].sort(key=lambda c: (rank.get(c["severity"], 3), c["key"]))
    roots.sort(key=lambda r: (r["state"] != "firing", rank.get(r["severity"], 3), r["key"]))
    return roots


def _flat(alerts: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for a in alerts:
        yield a
        yield from a["children"]


#: The alert log's kinds that say an alert is firing, and at which severity ("resolved" ends it).
FIRING_KINDS = ("firing", "escalated", "repeat")


def history_days(
    log: Iterable[Mapping[str, Any]], active: Iterable[Any], now: float, days: int = 7
) -> list[dict[str, Any]]:
    """The last ``days`` days, oldest first, by the server's local calendar: for each, the worst
    severity that was firing (``health``, "ok" when nothing was), how many alerts were, and for
    how long at least one was (``seconds``). An alert's time runs from its first firing entry to
    its resolved one, at the severity of the entry before each moment (an escalation counts from
    when it was logged); one still firing runs to ``now``, from when it fired when the log no
    longer has that (older than the log's window)."""
    spans: list[tuple[str, float, float, str]] = []
    firing: dict[str, tuple[float, str]] = {}
    last_seen: dict[str, float] = {}
    for row in sorted(log, key=lambda r: float(r["ts"])):
        key, ts, severity = str(row["key"]), float(row["ts"]), str(row["severity"])
        last_seen[key] = ts
        if row["kind"] in FIRING_KINDS:
            start, current = firing.get(key, (ts, severity))
            if severity != current:  # escalated: the time until now was at the old severity
                spans.append((key, start, ts, current))
                start = ts
            firing[key] = (start, severity)
        elif row["kind"] == "resolved" and key in firing:
            start, current = firing.pop(key)
            spans.append((key, start, ts, current))
    still = {a.key: a for a in active if a.state == "firing"}
    for key, (start, current) in firing.items():
        spans.append((key, start, now if key in still else last_seen[key], current))
    for key, a in still.items():
        if key not in firing:
            spans.append((key, float(a.fired_at or a.since), now, str(a.severity)))
    midnight = (
        datetime.fromtimestamp(now).astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    )
    out = []
    for back in range(days - 1, -1, -1):
        day = midnight - timedelta(days=back)
        lo, hi = day.timestamp(), min((day + timedelta(days=1)).timestamp(), now)
        inside = [
            (max(a, lo), min(b, hi), key, sev)
            for key, a, b, sev in spans
            if a < hi and b > lo and sev in ("critical", "warning")
        ]
        covered, reach = 0.0, lo
        for a, b, _, _ in sorted(inside):
            covered += max(0.0, b - max(a, reach))
            reach = max(reach, b)
        out.append(
            {
                "day": day.date().isoformat(),
                "health": min((sev for *_, sev in inside), key=_rank, default="ok"),
                "alerts": len({key for _, _, key, _ in inside}),
                "seconds": round(covered),
            }
        )
    return out


def _rank(severity: str) -> int:
    return HEALTHS.index(severity) if severity in HEALTHS else len(HEALTHS)


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def app_tiles(
    bp: Blueprint,
    values: Values,
    alerts: list[dict[str, Any]],
    now: float,
) -> list[dict[str, Any]]:
    """One tile per app of the blueprint, with its health and memory, worst first."""
    worst: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for a in _flat(alerts):
        app = a["app"] or bp.service_app.get(a["subject"])
        if not app or a["severity"] not in ("critical", "warning"):
            continue
        if app not in worst or HEALTHS.index(a["severity"]) < HEALTHS.index(worst[app]):
            worst[app] = a["severity"]
            reasons[app] = a["message"]
    tiles = []
    for app in bp.apps:
        used = limit = 0.0
        seen = False
        health = "ok"
        containers = []
        for service in app["services"]:
            state = values.get(("docker", service, "state"))
            healthy = values.get(("docker", service, "health"))
            fresh = state is not None and now - state[0] <= STALE
            seen = seen or fresh
            running = fresh and state is not None and state[1] >= 1.0
            sick = fresh and healthy is not None and healthy[1] < 1.0
            containers.append(
                {
                    "name": service,
                    "state": "unknown" if not fresh else "running" if running else "stopped",
                    "healthy": None if not fresh or healthy is None else not sick,
                }
            )
            if fresh and not running:
                health = "critical"
            elif sick and health == "ok":
                health = "warning"
            used += values.get(("docker", service, "memory_bytes"), (0, 0.0))[1]
            limit += values.get(("docker", service, "memory_limit_bytes"), (0, 0.0))[1]
        if not seen:
            health = "unknown"
        reason = ""
        if app["id"] in worst and HEALTHS.index(worst[app["id"]]) <= HEALTHS.index(health):
            health, reason = worst[app["id"]], reasons[app["id"]]
        tiles.append(
            {
                "id": app["id"],
                "name": app["name"],
                "stack": app["stack"],
                "icon": app["icon"],
                "health": health,
                "reason": reason,
                "lan_url": app["lan_url"],
                "public_url": app["public_url"],
                "memory_used": int(used) if seen else None,
                "memory_limit": int(limit) or int(app["limit"]) or None,
                "containers": containers,
            }
        )
    tiles.sort(key=lambda t: (HEALTHS.index(t["health"]), t["name"].lower()))
    return tiles


def stacks_of(bp: Blueprint, tiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tiles grouped by stack; the stack with the worst tile first, then blueprint order."""
    groups: dict[str, list[dict[str, Any]]] = {name: [] for name in bp.stacks}
    for tile in tiles:
        groups.setdefault(tile["stack"], []).append(tile)
    order = list(groups)
    stacks: list[dict[str, Any]] = [
        {
            "name": name,
            "order": order.index(name),
            "apps": group,
            "health": min((t["health"] for t in group), key=HEALTHS.index, default="ok"),
        }
        for name, group in groups.items()
        if group
    ]
    stacks.sort(key=lambda s: (HEALTHS.index(s["health"]), order.index(s["name"])))
    return stacks


Verdicts = dict[tuple[str, str], dict[str, Any]]


def verdicts(alerts: Iterable[dict[str, Any]]) -> Verdicts:
    """The worst firing alert per (collector, subject): what is wrong with a drive, an array,
    a filesystem. A silenced alert counts: silence quiets the notification, not the fact."""
    worst: Verdicts = {}
    for a in _flat(alerts):
        if a["state"] != "firing" or a["severity"] not in ("critical", "warning"):
            continue
        key = (a["source"], a["subject"])
        if key not in worst or _rank(a["severity"]) < _rank(worst[key]["severity"]):
            worst[key] = a
    return worst


def _verdict(found: list[dict[str, Any]]) -> dict[str, Any]:
    """``health`` (the worst severity, else "ok") and ``problem`` (that alert's message)."""
    worst = min(found, key=lambda a: _rank(a["severity"]), default=None)
    if worst is None:
        return {"health": "ok", "problem": None}
    return {"health": worst["severity"], "problem": worst["message"]}


def readings(
    values: Values, collector: str, judged: Verdicts | None = None
) -> list[dict[str, Any]]:
    """The newest values of one collector, per subject: [{subject, at, metrics, health,
    problem}], the health from the firing alerts of that collector about that subject."""
    judged = judged or {}
    subjects: dict[str, dict[str, Any]] = {}
    for (c, subject, metric), (ts, value) in sorted(values.items()):
        if c != collector or subject == "collector":
            continue
        entry = subjects.setdefault(subject, {"subject": subject, "at": ts, "metrics": {}})
        entry["metrics"][metric] = value
        entry["at"] = max(entry["at"], ts)
    for subject, entry in subjects.items():
        found = judged.get((collector, subject))
        entry.update(_verdict([found] if found else []))
    return list(subjects.values())


def storage_view(
    bp: Blueprint, values: Values, alerts: Iterable[dict[str, Any]] = ()
) -> dict[str, Any]:
    """Pools with their use, forecast and verdict (the worst alert of any storage collector
    about the pool's mount, name or devices), and each collector's readings with theirs."""
    judged = verdicts(alerts)
    mounts = readings(values, "disks", judged)
    by_path = {m["subject"]: m["metrics"] for m in mounts}
    pools = []
    for pool in bp.pools:
        found = by_path.get(pool["mount"], {})
        names = {pool["mount"], pool["name"], *pool["devices"]}
        pools.append(
            {
                **pool,
                "size": found.get("size_bytes"),
                "used": found.get("used_bytes"),
                "used_percent": found.get("used_percent"),
                "days_until_full": found.get("days_until_full"),
                **_verdict(
                    [
                        a
                        for (source, subject), a in judged.items()
                        if source in STORAGE_COLLECTORS and subject in names
                    ]
                ),
            }
        )
    return {
        "pools": pools,
        "mounts": mounts,
        "btrfs": readings(values, "btrfs", judged),
        "arrays": readings(values, "mdstat", judged),
        "drives": readings(values, "smart", judged),
        "scrubs": readings(values, "scrub", judged),
    }


def system_view(bp: Blueprint, values: Values) -> dict[str, Any]:
    def get(subject: str, metric: str) -> float | None:
        found = values.get(("host", subject, metric))
        return found[1] if found else None

    return {
        "host": bp.host,
        "cpu_percent": get("cpu", "percent"),
        "cpu_count": get("cpu", "count"),
        "load": [get("load", "load1"), get("load", "load5"), get("load", "load15")],
        "memory_total": get("memory", "total_bytes"),
        "memory_available": get("memory", "available_bytes"),
        "memory_used_percent": get("memory", "used_percent"),
        "uptime_seconds": get("uptime", "seconds"),
        "budget": bp.memory,
        "public_urls": list(bp.public_urls),
    }


def _backed_up(entry: Mapping[str, Any]) -> dict[str, int | None]:
    """What an app's last good backup of each item read (``size``) and added to the repository
    (``added``), from restic's summaries; None until one is known."""
    stats = [item["stats"] for item in (entry.get("items") or {}).values() if item.get("stats")]
    if not stats:
        return {"size": None, "added": None}
    return {
        "size": sum(int(s.get("total_bytes_processed") or 0) for s in stats),
        "added": sum(int(s.get("data_added") or 0) for s in stats),
    }


def backups_view(bp: Blueprint, state_dir: Path, now: float) -> dict[str, Any]:
    from lares.backup.records import Records, parse_iso
    from lares.oncalendar import parse as parse_calendar
    from lares.state import StateDir

    records = Records(StateDir(state_dir))
    status = records.status()
    drills = records.drills()
    repos = []
    for repo in bp.repositories:
        name = repo["name"]
        try:
            due: str | None = iso(
                parse_calendar(repo["schedule"]).next(datetime.fromtimestamp(now, UTC)).timestamp()
            )
        except ValueError:
            due = None
        sizes = records.sizes(name)
        apps = []
        for app, entry in sorted((status.get(name) or {}).items()):
            drill = (drills.get(name) or {}).get(app)
            apps.append(
                {
                    "app": app,
                    "state": str(entry.get("state") or "never"),
                    "last_success": entry.get("last_success"),
                    "last_failure": entry.get("last_failure"),
                    "error": entry.get("error"),
                    **_backed_up(entry),
                    "drill": None
                    if not drill
                    else {
                        "ok": drill.get("ok") is True,
                        "when": drill.get("when"),
                        "error": drill.get("error"),
                    },
                }
            )
        copy = (status.get("_copies") or {}).get(name) or {}
        when = parse_iso(copy.get("last_success")) if copy else None
        repos.append(
            {
                "name": name,
                "schedule": repo["schedule"],
                "next_due": due,
                "size": sizes[-1][1] if sizes else None,
                "last_copy": iso(when.timestamp()) if when else None,
                "apps": apps,
            }
        )
    run = records.run()
    return {
        "repositories": repos,
        "run": {k: run.get(k) for k in ("id", "state", "started", "finished")} if run else None,
        "failures": records.failures()[-20:],
    }
