"""The watch loop: collect, record, judge, notify, sleep.

Each collector runs on its own interval (``monitor.intervals``, else its ``DEFAULT_INTERVAL``,
else ``monitor.interval``: SMART and scrub hourly, HTTP every minute, the rest every 30 s).
A cycle runs the collectors that are due, records their samples, evaluates the rules over the
newest samples of every collector, advances the alerts and sends one grouped message for what
changed. Between cycles the loop sleeps on an event until the next collector is due; the Docker
event stream wakes it early (after a short settle, so a burst of events is one cycle), and
SIGTERM or SIGINT wakes it to stop: the current cycle finishes, threads and the database are
closed, and the process exits 0. Nothing polls.

``lares watch`` reads the blueprint (pydantic, YAML, the catalog: about 20 MB that CPython never
returns) only to write ``monitor/watch.json``; it then replaces itself with ``python -m
lares.monitor.watch --config …``, which loads none of that. Prometheus' client library is
imported only with ``--metrics-port``, Apprise only in the child that sends a message.

One watcher per state directory: ``monitor/watch.lock`` is held with ``flock`` while it runs.

While a lares deploy changes some stacks (:mod:`lares.deploying`), the container and endpoint
conditions of their apps start no alert; alerts they already had stay as they were.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lares.errors import LaresError
from lares.monitor.alerts import Alert, Alerts, Event, Message, compose, silencer
from lares.monitor.collectors import Collector, CollectorRun, Context, discover, run_collector
from lares.monitor.config import WatchConfig
from lares.monitor.rules import Condition, Limits, deploying
from lares.monitor.sample import Sample
from lares.monitor.status import judge
from lares.monitor.store import Store

log = logging.getLogger("lares.watch")

CONFIG_NAME = "watch.json"
LOCK_NAME = "watch.lock"
MAINTAIN_EVERY = 3600.0
SETTLE = 0.5  # seconds to let a burst of Docker events arrive before acting on it
MIN_EVENT_GAP = 2.0  # at most one event-driven run of a collector this often
MAX_UNSENT = 200


class WatchBusy(LaresError):
    code = "watch-running"


@dataclass
class Cycle:
    """What one cycle did."""

    at: float
    runs: list[CollectorRun]
    conditions: list[Condition]
    events: list[Event]
    message: Message | None
    sent: bool | None  # None: nothing to send
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "collectors": {
                r.collector: {"ok": r.ok, "error": r.error, "samples": len(r.samples)}
                for r in self.runs
            },
            "conditions": [c.to_dict() for c in self.conditions],
            "events": [
                {"kind": e.kind, "key": e.alert.key, "notify": e.notify} for e in self.events
            ],
            "sent": self.sent,
        }


Sender = Callable[[Message], tuple[bool, str]]


def run_once(
    config: WatchConfig, *, metrics_port: int | None = None, metrics_address: str = "127.0.0.1"
) -> Cycle:
    """Run every collector once as the watcher would (alerts advance, notifications go out)."""
    cycles: list[Cycle] = []
    Watcher(config).run(
        once=True,
        metrics_port=metrics_port,
        metrics_address=metrics_address,
        on_cycle=cycles.append,
    )
    return cycles[0]


class Watcher:
    """Runs collectors on their intervals and keeps alerts, history and metrics current."""

    def __init__(
        self,
        config: WatchConfig,
        *,
        collectors: Mapping[str, Collector] | None = None,
        sender: Sender | None = None,
    ) -> None:
        self.config = config
        self.state_root = Path(config.state_dir)
        self.collectors = dict(collectors) if collectors is not None else discover()
        self.store = Store.open(self.state_root / "monitor")
        self.limits = Limits.from_mapping(config.thresholds)
        self.alerts = Alerts.from_dict(
            self.store.load_alerts(),
            pending_samples=int(self.limits.pending_samples),
            repeat=self.limits.repeat,
        )
        self.ctx = Context(config, store=self.store, watching=True, wake=self.wake)
        self.intervals = {
            cid: config.interval_for(cid, c.DEFAULT_INTERVAL) for cid, c in self.collectors.items()
        }
        self.next_due = dict.fromkeys(self.collectors, 0.0)
        self.last_run = dict.fromkeys(self.collectors, -1e9)
        self.latest: dict[str, list[Sample]] = {}
        self.sender = sender or self._send
        self.unsent: list[Event] = []
        self._signal = threading.Event()
        self._stopping = False
        self._woken: set[str] = set()
        self._lock = threading.Lock()
        maintained = self.store.meta("maintained")
        self._maintained = float(maintained) if maintained else 0.0

    # ── control ────────────────────────────────────────────────────────────────────────────

    def wake(self, collector: str) -> None:
        """Ask for ``collector`` to run soon (called from collector threads)."""
        with self._lock:
            self._woken.add(collector)
        self._signal.set()

    def stop(self) -> None:
        self._stopping = True
        self._signal.set()

    def snapshot(self) -> tuple[list[Sample], list[Alert]]:
        """The newest samples and alert states, for the metrics endpoint (thread-safe)."""
        with self._lock:
            samples = [s for group in self.latest.values() for s in group]
            alerts = list(self.alerts.alerts.values())
        return samples, alerts

    # ── one cycle ──────────────────────────────────────────────────────────────────────────

    def due(self, now: float) -> list[str]:
        """The collectors to run at ``now`` (monotonic): their interval is up, or an event
        asked for them and they have not run in the last :data:`MIN_EVENT_GAP` seconds."""
        with self._lock:
            ready = [
                cid
                for cid in self.collectors
                if self.next_due[cid] <= now
                or (cid in self._woken and now - self.last_run[cid] >= MIN_EVENT_GAP)
            ]
            self._woken -= set(ready)
        return ready

    def next_wake(self) -> float:
        """When (monotonic) a collector is next due, events included."""
        with self._lock:
            times = [*self.next_due.values()]
            times += [self.last_run[cid] + MIN_EVENT_GAP for cid in self._woken]
        return min(times, default=time.monotonic() + self.config.interval)

    def cycle(self, only: list[str] | None = None) -> Cycle:
        """Run the due collectors (or ``only``), then judge, record and notify."""
        clock = time.monotonic()
        wanted = only if only is not None else self.due(clock)
        now = time.time()
        self.ctx.now = now
        runs = [run_collector(self.collectors[cid], self.ctx) for cid in wanted]
        fresh: list[Sample] = []
        with self._lock:
            for run in runs:
                previous = self.latest.get(run.collector, [])
                if run.ok:
                    kept = list(run.samples)
                else:
                    # Keep what the collector last saw: its alerts stay as they were rather than
                    # resolving, and a root cause can still name the apps it holds back.
                    kept = [s for s in previous if s.subject != "collector"]
                self.latest[run.collector] = [*kept, run.meta()]
                fresh += run.samples
                fresh.append(run.meta())
                self.last_run[run.collector] = clock
                self.next_due[run.collector] = clock + self.intervals[run.collector]
        self.store.record(fresh, now)
        samples = [s for group in self.latest.values() for s in group]
        conditions = judge(samples, self.config, self.store, now, limits=self.limits)
        ran = {r.collector for r in runs if r.ok} | {f"collector:{r.collector}" for r in runs}
        muted = silencer(s.target for s in self.store.silences(now=now))
        held = self._deploying(now)
        with self._lock:
            events = self.alerts.update(conditions, ran, now, silenced=muted, held=held)
        self.store.save_alerts(self.alerts.to_dict(), [e.log_row() for e in events])
        for event in events:
            if event.notify:
                log.info("%s %s: %s", event.kind, event.alert.severity, event.alert.message)
        pending = [*self.unsent, *events]
        message = compose(pending, self.config.host, now=now)
        sent: bool | None = None
        error = ""
        if message is not None:
            sent, error = self.sender(message)
            if sent:
                self.unsent = []
            else:
                log.warning("could not send the notification: %s", error)
                self.unsent = [e for e in pending if e.notify][-MAX_UNSENT:]
        if now - self._maintained >= MAINTAIN_EVERY:
            self.store.maintain(now=now, history_days=self.config.history_days)
            self._maintained = now
        return Cycle(now, runs, conditions, events, message, sent, error)

    def _deploying(self, now: float) -> Callable[[Condition], bool]:
        """Whether a condition belongs to a stack a lares deploy is changing right now (the
        containers Compose replaces, the endpoints they serve): see :mod:`lares.deploying`."""
        from lares.deploying import muted_stacks

        stacks = muted_stacks(self.state_root, now)
        if stacks:
            log.debug("deploy in progress on %s: their alerts wait", ", ".join(sorted(stacks)))
        return deploying(self.config, stacks)

    def _send(self, message: Message) -> tuple[bool, str]:
        from lares.notify import send
        from lares.secrets import SecretStore

        if not self.config.notify:
            return True, ""
        result = send(self.config.notify, SecretStore(self.state_root / "secrets"), message)
        return result.ok, result.error

    # ── the loop ───────────────────────────────────────────────────────────────────────────

    def run(
        self,
        *,
        once: bool = False,
        metrics_port: int | None = None,
        metrics_address: str = "127.0.0.1",
        on_cycle: Callable[[Cycle], None] | None = None,
    ) -> None:
        """Cycle until :meth:`stop` (or SIGTERM/SIGINT, when called from the main thread)."""
        try:
            lock = _hold_lock(self.state_root / "monitor" / LOCK_NAME)
        except WatchBusy:
            self.store.close()
            raise
        server = None
        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, lambda *_: self.stop())
        try:
            if metrics_port is not None:
                from lares.monitor import metrics

                server = metrics.serve(metrics_port, self.snapshot, address=metrics_address)
                log.info("metrics on http://%s:%s/metrics", server.address, server.port)
            while not self._stopping:
                wanted = self.due(time.monotonic())
                if wanted or once:
                    result = self.cycle(only=wanted)
                    if on_cycle is not None:
                        on_cycle(result)
                if once:
                    break
                wait = max(self.next_wake() - time.monotonic(), 0.0)
                if self._signal.wait(wait):
                    self._signal.clear()
                    if not self._stopping:
                        self._signal.wait(SETTLE)
                        self._signal.clear()
        finally:
            if server is not None:
                server.stop()
            self.ctx.close()
            self.store.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(lock)


def _hold_lock(path: Path) -> int:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 100, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise WatchBusy(
            f"another lares watch ({holder}) is watching this state directory",
            hint="stop it first (systemctl stop lares-watch), or use another --state-dir",
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
    return fd


def write_config(config: WatchConfig, folder: Path) -> Path:
    """Write ``config`` to ``folder/watch.json`` (0600: it may hold an Apprise URL)."""
    from lares.fsutil import atomic_write, private_dir

    private_dir(folder)
    path = folder / CONFIG_NAME
    atomic_write(path, json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n", mode=0o600)
    return path


def exec_watch(
    config_path: Path, *, metrics_port: int | None, metrics_address: str, verbose: bool
) -> None:
    """Replace this process with the lean watch loop on ``config_path`` (never returns)."""
    argv = [sys.executable, "-m", "lares.monitor.watch", "--config", str(config_path)]
    if metrics_port is not None:
        argv += ["--metrics-port", str(metrics_port), "--metrics-address", metrics_address]
    if verbose:
        argv.append("--verbose")
    env = dict(os.environ)
    # glibc gives each thread its own malloc arena; two are plenty for a few idle threads.
    env.setdefault("MALLOC_ARENA_MAX", "2")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)  # noqa: S606 - argv list; this process becomes the loop


def main(argv: list[str] | None = None) -> int:
    """``python -m lares.monitor.watch``: run the loop on a config written by ``lares watch``."""
    parser = argparse.ArgumentParser(prog="lares watch", description="the lares watch loop")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--metrics-port", type=int)
    parser.add_argument("--metrics-address", default="127.0.0.1")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        config = WatchConfig.from_dict(json.loads(args.config.read_text(encoding="utf-8")))
        watcher = Watcher(config)
        log.info(
            "watching %s: %s",
            config.host,
            ", ".join(f"{cid} every {watcher.intervals[cid]:g} s" for cid in watcher.collectors),
        )
        watcher.run(metrics_port=args.metrics_port, metrics_address=args.metrics_address)
    except LaresError as exc:
        print(exc.render(), file=sys.stderr)
        return exc.exit_code
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
