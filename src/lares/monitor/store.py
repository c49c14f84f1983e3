"""History and alert state: one SQLite database (WAL) under ``<state dir>/monitor/``.

Tables:

* ``series`` names what was measured (collector, subject, metric); ``samples`` holds raw values
  for :data:`RAW_DAYS` days, ``rollups`` 5-minute averages (with min, max and count) after that,
  up to ``monitor.history_days``. :meth:`Store.maintain` moves raw values into rollups and drops
  what is older; the watch loop calls it about once an hour.
* ``alerts`` is the state of every alert that is pending or firing; ``alert_log`` records every
  transition, notified or not (a silence mutes notifications, never the record).
* ``baselines`` are the counter values a rule compares with (btrfs error counters, SMART
  sectors); ``lares ack`` moves them.
* ``silences`` are maintenance windows (``lares silence``).

WAL lets ``lares status`` read while ``lares watch`` writes; every writer waits up to
:data:`BUSY_TIMEOUT` seconds for another. The page cache is kept small on purpose: the watcher
is meant to stay small.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lares.monitor.sample import Sample

FILENAME = "history.sqlite"
RAW_DAYS = 2
BUCKET = 300  # seconds per rollup
BUSY_TIMEOUT = 30.0

SeriesKey = tuple[str, str, str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    collector TEXT NOT NULL,
    subject TEXT NOT NULL,
    metric TEXT NOT NULL,
    UNIQUE (collector, subject, metric)
);
CREATE TABLE IF NOT EXISTS samples (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollups (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    avg REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (key TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alert_log (
    ts REAL NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    notified INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_log_ts ON alert_log (ts);
CREATE TABLE IF NOT EXISTS baselines (
    key TEXT PRIMARY KEY,
    value REAL NOT NULL,
    ts REAL NOT NULL,
    acknowledged INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS silences (
    target TEXT PRIMARY KEY,
    until REAL NOT NULL,
    reason TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Silence:
    target: str
    until: float
    reason: str
    created: float

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "until": self.until, "reason": self.reason}


class Store:
    """The history database. Open with :meth:`open`; close when done (or use ``with``)."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        self._series: dict[SeriesKey, int] = {}

    @classmethod
    def open(cls, folder: Path) -> Store:
        """Open (creating it 0600 in a 0700 folder if needed) ``folder/history.sqlite``."""
        from lares.fsutil import private_dir

        private_dir(folder)
        path = folder / FILENAME
        if not path.exists():
            path.touch(mode=0o600)
        db = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cache_size=-1024")  # KiB: small on purpose
        db.execute("PRAGMA temp_store=MEMORY")
        db.executescript(_SCHEMA)
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ── samples ────────────────────────────────────────────────────────────────────────────

    def _series_id(self, key: SeriesKey, *, create: bool) -> int | None:
        known = self._series.get(key)
        if known is not None:
            return known
        row = self.db.execute(
            "SELECT id FROM series WHERE collector=? AND subject=? AND metric=?", key
        ).fetchone()
        if row is None:
            if not create:
                return None
            cursor = self.db.execute(
                "INSERT INTO series (collector, subject, metric) VALUES (?, ?, ?)", key
            )
            row = (cursor.lastrowid,)
        self._series[key] = int(row[0])
        return int(row[0])

    def record(self, samples: Iterable[Sample], ts: float) -> int:
        """Keep the numeric value of every sample at time ``ts``; return how many were kept."""
        second = int(ts)
        with self.transaction():
            rows = [
                (self._series_id(s.series, create=True), second, float(s.value))
                for s in samples
                if s.value is not None
            ]
            self.db.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?)", rows)
        return len(rows)

    def points(self, key: SeriesKey, *, since: float) -> list[tuple[float, float]]:
        """(time, value) of one series since ``since``: rollup averages, then raw values."""
        return self._pairs(
            key,
            since,
            "SELECT ts, avg FROM rollups WHERE series=? AND ts>=? "
            "UNION ALL SELECT ts, value FROM samples WHERE series=? AND ts>=? ORDER BY 1",
        )

    def hourly(self, key: SeriesKey, *, since: float) -> list[tuple[float, float]]:
        """Hourly averages of one series since ``since`` (start of each hour, average)."""
        return self._pairs(
            key,
            since,
            "SELECT ts / 3600 * 3600 AS hour, avg(v) FROM ("
            " SELECT ts, avg AS v FROM rollups WHERE series=? AND ts>=?"
            " UNION ALL SELECT ts, value FROM samples WHERE series=? AND ts>=?"
            ") GROUP BY hour ORDER BY hour",
        )

    def _pairs(self, key: SeriesKey, since: float, query: str) -> list[tuple[float, float]]:
        """(time, value) rows of ``query`` over one series's rollups and samples since ``since``."""
        series = self._series_id(key, create=False)
        if series is None:
            return []
        rows = self.db.execute(query, (series, int(since), series, int(since))).fetchall()
        return [(float(t), float(v)) for t, v in rows]

    def subjects(self, collector: str, metric: str) -> list[str]:
        """The subjects that have a series of ``metric`` from ``collector``, sorted."""
        rows = self.db.execute(
            "SELECT subject FROM series WHERE collector=? AND metric=? ORDER BY subject",
            (collector, metric),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def value_since(self, key: SeriesKey, since: float) -> float | None:
        """The earliest raw value of a series at or after ``since``, or None."""
        series = self._series_id(key, create=False)
        if series is None:
            return None
        row = self.db.execute(
            "SELECT value FROM samples WHERE series=? AND ts>=? ORDER BY ts LIMIT 1",
            (series, int(since)),
        ).fetchone()
        return float(row[0]) if row else None

    def maintain(self, *, now: float | None = None, history_days: int = 90) -> None:
        """Fold raw values older than :data:`RAW_DAYS` into 5-minute rollups; drop old rollups.

        The cut is on a bucket boundary, so every bucket is folded in one go.
        """
        now = time.time() if now is None else now
        cut = int(now - RAW_DAYS * 86400) // BUCKET * BUCKET
        oldest = int(now - history_days * 86400)
        with self.transaction():
            self.db.execute(
                "INSERT INTO rollups (series, ts, avg, min, max, n) "
                "SELECT series, ts / ? * ?, avg(value), min(value), max(value), count(*) "
                "FROM samples WHERE ts < ? GROUP BY series, ts / ? "
                "ON CONFLICT (series, ts) DO UPDATE SET "
                "avg = (rollups.avg * rollups.n + excluded.avg * excluded.n) "
                "/ (rollups.n + excluded.n), "
                "min = min(rollups.min, excluded.min), max = max(rollups.max, excluded.max), "
                "n = rollups.n + excluded.n",
                (BUCKET, BUCKET, cut, BUCKET),
            )
            self.db.execute("DELETE FROM samples WHERE ts < ?", (cut,))
            self.db.execute("DELETE FROM rollups WHERE ts < ?", (oldest,))
            self.db.execute("DELETE FROM alert_log WHERE ts < ?", (oldest,))
            self.db.execute(
                "DELETE FROM series WHERE id NOT IN (SELECT series FROM samples) "
                "AND id NOT IN (SELECT series FROM rollups)"
            )
            self.db.execute("DELETE FROM silences WHERE until < ?", (now,))
        self._series.clear()
        self.set_meta("maintained", str(now))

    def counts(self) -> dict[str, int]:
        """Rows per table (for tests and ``lares status --json``)."""
        return {
            table: int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
            for table in ("series", "samples", "rollups", "alerts", "alert_log", "baselines")
        }

    # ── alert state ────────────────────────────────────────────────────────────────────────

    def load_alerts(self) -> dict[str, dict[str, Any]]:
        return {key: json.loads(data) for key, data in self.db.execute("SELECT * FROM alerts")}

    def save_alerts(
        self, alerts: dict[str, dict[str, Any]], log: Iterable[tuple[Any, ...]]
    ) -> None:
        """Replace the alert state and append ``log`` rows (ts, key, kind, severity, message,
        notified) in one transaction."""
        with self.transaction():
            self.db.execute("DELETE FROM alerts")
            self.db.executemany(
                "INSERT INTO alerts VALUES (?, ?)",
                [(key, json.dumps(data, sort_keys=True)) for key, data in alerts.items()],
            )
            self.db.executemany("INSERT INTO alert_log VALUES (?, ?, ?, ?, ?, ?)", list(log))

    def alert_log(self, *, since: float = 0.0) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT ts, key, kind, severity, message, notified FROM alert_log "
            "WHERE ts >= ? ORDER BY ts, rowid",
            (since,),
        ).fetchall()
        names = ("ts", "key", "kind", "severity", "message", "notified")
        return [dict(zip(names, row, strict=True)) for row in rows]

    # ── baselines ──────────────────────────────────────────────────────────────────────────

    def baselines(self) -> dict[str, float]:
        return {key: float(v) for key, v in self.db.execute("SELECT key, value FROM baselines")}

    def set_baselines(
        self, values: dict[str, float], *, acknowledged: bool, now: float | None = None
    ) -> None:
        now = time.time() if now is None else now
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO baselines VALUES (?, ?, ?, ?)",
                [(k, v, now, int(acknowledged)) for k, v in values.items()],
            )

    # ── silences ───────────────────────────────────────────────────────────────────────────

    def silence(self, target: str, until: float, reason: str = "") -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO silences VALUES (?, ?, ?, ?)",
                (target, until, reason, time.time()),
            )

    def unsilence(self, target: str) -> bool:
        with self.transaction():
            cursor = self.db.execute("DELETE FROM silences WHERE target=?", (target,))
        return cursor.rowcount > 0

    def silences(self, *, now: float | None = None) -> list[Silence]:
        """Silences still in force at ``now``."""
        now = time.time() if now is None else now
        rows = self.db.execute(
            "SELECT target, until, reason, created FROM silences WHERE until > ? ORDER BY target",
            (now,),
        ).fetchall()
        return [Silence(*row) for row in rows]

    # ── meta ───────────────────────────────────────────────────────────────────────────────

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
