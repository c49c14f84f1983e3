"""Host-health collectors, one module per source.

A collector says what to read and turns what it read into :class:`~lares.monitor.sample.Sample`
values. Parsing is not its job: the pure parsers of each source's text, their models and health
verdicts live in :mod:`lares.monitor.parsers` and are tested on recorded output; a collector reads
the source (a file, a command through :mod:`lares.run`, a socket), calls the parser and makes
samples.

A module is a collector when it defines (see :class:`Collector`):

* ``ID``: the collector's name, equal to the module name (``smart``); ``monitor.intervals`` in
  the blueprint is keyed by it;
* ``DEFAULT_INTERVAL``: seconds between runs when the blueprint names none, or None to follow
  ``monitor.interval``;
* ``collect(ctx) -> list[Sample]``: read the source once and turn what it says into samples.
  The turning into samples is a separate pure function, tested on recorded output.

and may define, next to what it collects:

* ``RULES``: the alert rules over its samples (:func:`lares.monitor.rules.rule`); the engine and
  the list of rule ids find them here;
* ``prometheus(sample) -> Row | None``: exporter-compatible names for its series
  (:mod:`lares.monitor.metrics`; without it, ``lares_<collector>_<metric>``);
* ``baselined(metric) -> bool`` (and ``BASELINE_AT_FIRST_SIGHT``): the counters whose rise over a
  stored baseline alerts, which ``lares ack <collector>`` moves.

:func:`discover` finds every collector in this package, so adding one is adding a file. Modules
import their heavy libraries inside ``collect``: ``lares watch`` stays small because it only
loads what the sources of this host need.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from lares.monitor.sample import Sample

if TYPE_CHECKING:
    from lares.monitor.config import WatchConfig
    from lares.monitor.store import Store
    from lares.state import StateDir

log = logging.getLogger("lares.monitor")

__all__ = ["Collector", "CollectorRun", "Context", "Sample", "discover", "run_collector"]


@dataclass
class Context:
    """What a collector may use during one run.

    ``now`` is the wall clock of the cycle. ``store`` is the history (None when there is none),
    for collectors that look back (the disk fill forecast). ``memo(ID)`` is a dict the collector
    keeps between cycles (previous counters, an open connection). ``watching`` is true inside
    ``lares watch``: a collector may then keep a background reader (the Docker event stream) and
    call ``wake`` to have the loop run it early. ``close`` releases what collectors registered.
    """

    config: WatchConfig
    now: float = field(default_factory=time.time)
    store: Store | None = None
    watching: bool = False
    wake: Callable[[str], None] | None = None
    memos: dict[str, dict[str, Any]] = field(default_factory=dict)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def memo(self, collector: str) -> dict[str, Any]:
        return self.memos.setdefault(collector, {})

    def state(self) -> StateDir | None:
        """lares's state folder (``WatchConfig.state_dir``), or None when there is none."""
        from pathlib import Path

        from lares.state import StateDir

        return StateDir(Path(self.config.state_dir)) if self.config.state_dir else None

    def on_close(self, closer: Callable[[], None]) -> None:
        self.closers.append(closer)

    def close(self) -> None:
        while self.closers:
            closer = self.closers.pop()
            try:
                closer()
            except Exception:  # a failing cleanup must not hide the others
                log.debug("collector cleanup failed", exc_info=True)


class Collector(Protocol):
    ID: str
    DEFAULT_INTERVAL: float | None

    def collect(self, ctx: Context) -> list[Sample]: ...


@dataclass(frozen=True)
class CollectorRun:
    """One run of one collector: its samples, or the error that stopped it."""

    collector: str
    samples: tuple[Sample, ...]
    error: str | None
    started: float
    duration: float

    @property
    def ok(self) -> bool:
        return self.error is None

    def meta(self) -> Sample:
        """The ``collector``/``up`` sample that says whether this run worked."""
        return Sample(
            self.collector,
            "collector",
            "up",
            value=0.0 if self.error else 1.0,
            state="error" if self.error else "ok",
            detail=self.error or "",
            labels={"duration": f"{self.duration:.3f}"},
        )


def discover() -> dict[str, Collector]:
    """Every collector module in this package, by ID (which is also its module name).

    Modules without ``ID`` and ``collect`` (helpers) are skipped; two modules with one ID are a
    bug and raise.
    """
    from lares import plugins

    found = plugins.by_id(__name__, "collectors", require=("collect",))
    return {ident: cast(Collector, module) for ident, module in found.items()}


def run_collector(collector: Collector, ctx: Context) -> CollectorRun:
    """Run one collector; any error becomes the run's ``error`` instead of propagating.

    A watcher must outlive a broken source: a missing tool, a daemon that does not answer or a
    bug in one collector is reported as that collector's problem and the others still run.
    """
    from lares.errors import LaresError

    started = time.time()
    clock = time.monotonic()
    try:
        samples = tuple(collector.collect(ctx))
        error = None
    except LaresError as exc:
        samples, error = (), exc.message
    except Exception as exc:
        log.warning("collector %s failed", collector.ID, exc_info=True)
        samples, error = (), f"{type(exc).__name__}: {exc}"
    return CollectorRun(collector.ID, samples, error, started, time.monotonic() - clock)
