"""What the dashboard shows, read from what lares already keeps; nothing is collected here.

Three sources: the blueprint (loaded once, again when its file changes), the watcher's history
database (its alert state, alert log, silences and the newest value of every series) and the
backup records. :class:`Data` turns them into a :class:`View` of plain dicts, the one every
page and API answer is made of, and rebuilds it only when a source changed: a thread checks
once a second with cheap reads (SQLite's ``PRAGMA data_version``, file modification times) and
swaps in a new view, so a request never waits for a database.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lares.monitor.config import WatchConfig
    from lares.monitor.store import Store

log = logging.getLogger("lares.web")

HEALTHS = ("critical", "warning", "unknown", "ok")
HISTORY_DAYS = 7
HISTORY_ROWS = 200
STALE = 600.0  # seconds after which a container's newest sample says nothing any more
RECORDS = ("status.json", "drills.json", "run.json", "sizes.json", "failures.json")
STORAGE_COLLECTORS = ("disks", "btrfs", "mdstat", "smart", "scrub")


@dataclass(frozen=True)
class Settings:
    """Where the dashboard reads from and listens."""

    state_dir: Path
    file: Path | None = None
    listen: str = "127.0.0.1:8765"


@dataclass(frozen=True)
class Blueprint:
    """What the dashboard needs of the blueprint, taken once per load."""

    host: str
    apps: tuple[dict[str, Any], ...]
    stacks: tuple[str, ...]
    config: WatchConfig
    memory: dict[str, Any]
    public_urls: tuple[str, ...]
    pools: tuple[dict[str, Any], ...]
    repositories: tuple[dict[str, Any], ...]
    service_app: Mapping[str, str]


def load_blueprint(settings: Settings, warn: Callable[[str], None] = log.warning) -> Blueprint:
    """Load and resolve the blueprint (the one last applied while the file has errors)."""
    from lares.catalog.web import public_urls, served_urls
    from lares.deploy import record
    from lares.deploy.applied import load_or_applied
    from lares.monitor.config import build
    from lares.plan import plan
    from lares.plan.capacity import capacity
    from lares.report import plan_json
    from lares.state import StateDir

    state = StateDir(settings.state_dir)
    loaded = load_or_applied(settings.file, state, warn)
    p = plan(loaded)
    system = p.system
    deployed = record.stacks(state) if state.applied.is_dir() else None
    config = build(system, state_dir=str(settings.state_dir), deployed=deployed)
    apps = []
    for app in system.apps:
        urls = served_urls(system, app)
        name = app.app.name
        apps.append(
            {
                "id": app.id,
                "name": name,
                "stack": app.stack,
                "icon": (name[:1] or app.id[:1]).upper(),
                "lan_url": urls.lan or (urls.direct[0] if urls.direct else None),
                "public_url": urls.public,
                "services": [s.name for s in app.services],
                "limit": sum(s.memory_limit for s in app.services),
            }
        )
    bp = system.blueprint
    pools = tuple(
        {
            "name": name,
            "engine": pool.engine,
            "level": pool.level,
            "filesystem": getattr(pool, "filesystem", ""),
            "mount": str(getattr(pool, "mount", "")),
            "devices": [str(d) for d in getattr(pool, "devices", ())],
            "usable": capacity(pool).usable,
            "raw": capacity(pool).raw,
            "tolerates": capacity(pool).tolerates,
        }
        for name, pool in bp.storage.pools.items()
    )
    repositories = tuple(
        {"name": name, "schedule": repo.schedule} for name, repo in bp.backup.repositories.items()
    )
    return Blueprint(
        host=bp.host.name,
        apps=tuple(apps),
        stacks=tuple(dict.fromkeys(str(a["stack"]) for a in apps)),
        config=config,
        memory=plan_json(p, loaded.filename)["memory"],
        public_urls=tuple(public_urls(system)),
        pools=pools,
        repositories=repositories,
        service_app={s.name: s.app for s in system.services},
    )


@dataclass
class View:
    """Everything a page or the API shows, for one version of the sources."""

    version: int
    built: float
    host: str
    apps: list[dict[str, Any]]
    stacks: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    history: list[dict[str, Any]]
    silences: list[dict[str, Any]]
    storage: dict[str, Any]
    backups: dict[str, Any]
    system: dict[str, Any]
    cache: dict[str, Any] = field(default_factory=dict)  # rendered pages and JSON, per view

    @property
    def summary(self) -> dict[str, int]:
        counts = {h: 0 for h in HEALTHS}
        for app in self.apps:
            counts[app["health"]] += 1
        return {"apps": len(self.apps), **counts, "alerts": len(self.alerts)}

    def status(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "host": self.host,
            "summary": self.summary,
            "apps": self.apps,
            "alerts": self.alerts,
        }

    def event(self) -> dict[str, Any]:
        """The data of the ``status`` server-sent event."""
        return {
            "version": self.version,
            "alerts": self.alerts,
            "apps": {a["id"]: a["health"] for a in self.apps},
        }


# ── reading the sources ───────────────────────────────────────────────────────────────────


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


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def app_tiles(
    bp: Blueprint,
    values: Mapping[tuple[str, str, str], tuple[int, float]],
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
            "apps": group,
            "health": min((t["health"] for t in group), key=HEALTHS.index, default="ok"),
        }
        for name, group in groups.items()
        if group
    ]
    stacks.sort(key=lambda s: (HEALTHS.index(s["health"]), order.index(s["name"])))
    return stacks


def readings(
    values: Mapping[tuple[str, str, str], tuple[int, float]], collector: str
) -> list[dict[str, Any]]:
    """The newest values of one collector, per subject: [{subject, at, metrics}]."""
    subjects: dict[str, dict[str, Any]] = {}
    for (c, subject, metric), (ts, value) in sorted(values.items()):
        if c != collector or subject == "collector":
            continue
        entry = subjects.setdefault(subject, {"subject": subject, "at": ts, "metrics": {}})
        entry["metrics"][metric] = value
        entry["at"] = max(entry["at"], ts)
    return list(subjects.values())


def storage_view(
    bp: Blueprint, values: Mapping[tuple[str, str, str], tuple[int, float]]
) -> dict[str, Any]:
    mounts = readings(values, "disks")
    by_path = {m["subject"]: m["metrics"] for m in mounts}
    pools = []
    for pool in bp.pools:
        found = by_path.get(pool["mount"], {})
        pools.append(
            {
                **pool,
                "size": found.get("size_bytes"),
                "used": found.get("used_bytes"),
                "used_percent": found.get("used_percent"),
                "days_until_full": found.get("days_until_full"),
            }
        )
    return {
        "pools": pools,
        "mounts": mounts,
        "btrfs": readings(values, "btrfs"),
        "arrays": readings(values, "mdstat"),
        "drives": readings(values, "smart"),
        "scrubs": readings(values, "scrub"),
    }


def system_view(
    bp: Blueprint, values: Mapping[tuple[str, str, str], tuple[int, float]]
) -> dict[str, Any]:
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
            due: str | None = _iso(
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
                "last_copy": _iso(when.timestamp()) if when else None,
                "apps": apps,
            }
        )
    run = records.run()
    return {
        "repositories": repos,
        "run": {k: run.get(k) for k in ("id", "state", "started", "finished")} if run else None,
        "failures": records.failures()[-20:],
    }


# ── the cached view ───────────────────────────────────────────────────────────────────────


class Data:
    """The current :class:`View`, rebuilt by :meth:`refresh` when a source changed."""

    def __init__(
        self,
        settings: Settings,
        *,
        loader: Callable[[Settings], Blueprint] = load_blueprint,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.loader = loader
        self.clock = clock
        self.blueprint = loader(settings)
        self._blueprint_mark = self._file_mark()
        self._store: Store | None = None
        self._mark: tuple[Any, ...] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.secret_values: tuple[str, ...] = ()
        self.view = self._build(0)

    # -- change detection ------------------------------------------------------------------

    def _file_mark(self) -> float | None:
        path = self.settings.file or (Path("lares.yaml") if Path("lares.yaml").exists() else None)
        try:
            return path.stat().st_mtime if path else None
        except OSError:
            return None

    def _open_store(self) -> Store | None:
        from lares.monitor.store import FILENAME, Store

        if self._store is None and (self.settings.state_dir / "monitor" / FILENAME).exists():
            self._store = Store.open(self.settings.state_dir / "monitor")
        return self._store

    def _marks(self) -> tuple[Any, ...]:
        store = self._open_store()
        version = store.db.execute("PRAGMA data_version").fetchone()[0] if store else None
        times = []
        for name in RECORDS:
            try:
                times.append(os.stat(self.settings.state_dir / "backup" / name).st_mtime_ns)
            except OSError:
                times.append(0)
        return (version, *times)

    def refresh(self) -> bool:
        """Rebuild the view if a source changed since the last look; return whether it did."""
        with self._lock:
            mark = self._file_mark()
            if mark != self._blueprint_mark:
                try:
                    self.blueprint = self.loader(self.settings)
                except Exception as exc:  # a half-written file: keep the last good one
                    log.warning("the blueprint did not reload: %s", exc)
                self._blueprint_mark = mark
                self._mark = None
            marks = self._marks()
            # minute-resolution clock: tiles turn unknown when the watcher stops writing
            marks = (*marks, int(self.clock() // 60))
            if marks == self._mark:
                return False
            self._mark = marks
            self.view = self._build(self.view.version + 1)
            return True

    def _build(self, version: int) -> View:
        from lares.monitor.alerts import Alert

        now = self.clock()
        bp = self.blueprint
        store = self._open_store()
        values: dict[tuple[str, str, str], tuple[int, float]] = {}
        raw_alerts: list[Any] = []
        history: list[dict[str, Any]] = []
        silences: list[dict[str, Any]] = []
        if store is not None:
            values = latest(store, ("docker", "host", *STORAGE_COLLECTORS))
            raw_alerts = [Alert.from_dict(a) for a in store.load_alerts().values()]
            log_rows = store.alert_log(since=now - HISTORY_DAYS * 86400)[-HISTORY_ROWS:]
            history = [
                {**row, "notified": bool(row["notified"]), "at": _iso(row["ts"])}
                for row in reversed(log_rows)
            ]
            silences = [
                {"target": s.target, "until": s.until, "reason": s.reason}
                for s in store.silences(now=now)
            ]
        alerts = group_alerts(raw_alerts)
        tiles = app_tiles(bp, values, alerts, now)
        self.secret_values = self._secrets()
        return View(
            version=version,
            built=now,
            host=bp.host,
            apps=tiles,
            stacks=stacks_of(bp, tiles),
            alerts=alerts,
            history=history,
            silences=silences,
            storage=storage_view(bp, values),
            backups=backups_view(bp, self.settings.state_dir, now),
            system=system_view(bp, values),
        )

    def _secrets(self) -> tuple[str, ...]:
        from lares.secrets import SecretStore

        folder = self.settings.state_dir / "secrets"
        if not folder.is_dir():
            return ()
        try:
            values = SecretStore(folder).values()
        except OSError:
            return ()
        return tuple(sorted({v for v in values if len(v) >= 6}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` without any secret value or the path of the secrets folder."""
        for value in self.secret_values:
            if value in text:
                text = text.replace(value, "[secret]")
        return text.replace(str(self.settings.state_dir / "secrets"), "[secrets]")

    # -- the refresher thread --------------------------------------------------------------

    def start(self, every: float = 1.0) -> None:
        def loop() -> None:
            while not self._stop.wait(every):
                try:
                    self.refresh()
                except Exception:
                    log.exception("the dashboard's view was not rebuilt")

        self._thread = threading.Thread(target=loop, name="lares-web-data", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._store is not None:
            self._store.close()
            self._store = None
