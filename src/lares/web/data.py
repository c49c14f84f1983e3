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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lares.web.views import (
    HEALTHS,
    STORAGE_COLLECTORS,
    app_tiles,
    backups_view,
    group_alerts,
    history_days,
    iso,
    latest,
    stacks_of,
    storage_view,
    system_view,
)

if TYPE_CHECKING:
    from lares.catalog.resolve import System
    from lares.monitor.config import WatchConfig
    from lares.monitor.store import Store
    from lares.state import StateDir

log = logging.getLogger("lares.web")

HISTORY_DAYS = 7
HISTORY_ROWS = 200
RECORDS = ("status.json", "drills.json", "run.json", "sizes.json", "failures.json")


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
    #: networks whose peers may name the client (X-Forwarded-For): those of Caddy and Newt,
    #: which reach ``lares serve`` from their containers' addresses, not from loopback
    proxies: tuple[str, ...] = ()


def deployed_stacks(state: StateDir) -> list[str] | None:
    """The stacks ``lares up`` has applied, or None before it ever ran (then every app counts)."""
    from lares.deploy import record

    return record.stacks(state) if state.applied.is_dir() else None


def load_blueprint(settings: Settings, warn: Callable[[str], None] = log.warning) -> Blueprint:
    """Load and resolve the blueprint (the one last applied while the file has errors)."""
    from lares.catalog.web import public_urls, served_urls
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
    config = build(system, state_dir=str(settings.state_dir), deployed=deployed_stacks(state))
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
        proxies=proxy_subnets(system),
    )


def proxy_subnets(system: System) -> tuple[str, ...]:
    """The subnets Caddy's and Newt's containers connect from: what reaches the dashboard
    through them comes from there, with the client's address in X-Forwarded-For."""
    from lares.catalog.web import PROXY_APP, TUNNEL_APP, source_subnets

    found = source_subnets(system, PROXY_APP) + source_subnets(system, TUNNEL_APP)
    return tuple(dict.fromkeys(found))


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
    days: list[dict[str, Any]]
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
            "reasons": {a["id"]: a["reason"] for a in self.apps},
            "summary": self.summary,
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

    def _file_mark(self) -> tuple[float | None, tuple[str, ...] | None]:
        """What the loaded blueprint depends on: the file's time and the stacks ``lares up``
        has applied (a stack deployed after the dashboard started brings its apps in)."""
        from lares.state import StateDir

        path = self.settings.file or (Path("lares.yaml") if Path("lares.yaml").exists() else None)
        try:
            stamp = path.stat().st_mtime if path else None
        except OSError:
            stamp = None
        try:
            deployed = deployed_stacks(StateDir(self.settings.state_dir))
        except OSError:
            deployed = None
        return stamp, None if deployed is None else tuple(deployed)

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
        log_rows: list[dict[str, Any]] = []
        silences: list[dict[str, Any]] = []
        if store is not None:
            values = latest(store, ("docker", "host", *STORAGE_COLLECTORS))
            raw_alerts = [Alert.from_dict(a) for a in store.load_alerts().values()]
            log_rows = store.alert_log(since=now - HISTORY_DAYS * 86400)
            silences = [
                {"target": s.target, "until": s.until, "reason": s.reason}
                for s in store.silences(now=now)
            ]
        history = [
            {**row, "notified": bool(row["notified"]), "at": iso(row["ts"])}
            for row in reversed(log_rows[-HISTORY_ROWS:])
        ]
        days = history_days(log_rows, raw_alerts, now, HISTORY_DAYS)
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
            days=days,
            silences=silences,
            storage=storage_view(bp, values, alerts),
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
