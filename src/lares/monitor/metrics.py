"""Prometheus exposition of the latest samples and alerts (``lares watch --metrics-port``).

Names follow the exporters people already chart, where one exists: node_exporter for the host,
filesystems, md arrays and btrfs counters (``node_load1``, ``node_filesystem_avail_bytes``,
``node_md_disks``, ``node_btrfs_device_errors_total``), smartctl_exporter for drives
(``smartctl_device_temperature``, ``smartctl_device_attribute``) and blackbox_exporter for
endpoints (``probe_success``, ``probe_ssl_earliest_cert_expiry``). Everything else is
``lares_<collector>_<metric>`` with the sample's subject and labels, plus ``lares_alert`` (one
series per pending or firing alert) and ``lares_collector_up``. A collector names its own series:
its module's ``prometheus(sample) -> Row | None`` (None: the generic name).

:func:`exposition` is pure (samples and alerts in, families out); :func:`serve` starts
prometheus-client's HTTP server in a thread, scraping whatever ``snapshot`` returns at that
moment, so a scrape never triggers a collection.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from lares.monitor.alerts import Alert
from lares.monitor.sample import Sample

Snapshot = Callable[[], tuple[list[Sample], list[Alert]]]


@dataclass
class Family:
    name: str
    kind: str  # gauge | counter
    help: str
    rows: list[tuple[dict[str, str], float]] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    name: str
    kind: str
    help: str
    labels: dict[str, str]
    value: float


def labels_of(s: Sample, *names: str, subject: str | None = None) -> dict[str, str]:
    """The exporter's labels of a sample: its subject as label ``subject``, then its labels
    ``names`` ("" where it has none)."""
    labels = {subject: s.subject} if subject else {}
    return labels | {name: s.labels.get(name, "") for name in names}


def gauge(s: Sample, names: Mapping[str, tuple[str, str]], labels: dict[str, str]) -> Row | None:
    """The gauge ``names`` gives the sample's metric (name, help), or None."""
    if s.metric in names and s.value is not None:
        name, text = names[s.metric]
        return Row(name, "gauge", text, labels, s.value)
    return None


_NAME_RE = re.compile(r"[^a-zA-Z0-9_]")


def _clean(text: str) -> str:
    name = _NAME_RE.sub("_", text)
    return name if name and not name[0].isdigit() else f"_{name}"


@cache
def _mappers() -> dict[str, Callable[[Sample], Row | None]]:
    """Each collector's own exporter names: its module's ``prometheus(sample)``."""
    from lares import plugins

    found = plugins.modules("lares.monitor.collectors", require=("ID", "prometheus"))
    return {module.ID: module.prometheus for module in found.values()}


def _generic(s: Sample) -> Row:
    if s.subject == "collector" and s.metric == "up":
        labels = {"collector": s.collector}
        return Row(
            "lares_collector_up",
            "gauge",
            "Whether the collector's last run worked.",
            labels,
            s.value or 0.0,
        )
    labels = {"subject": s.subject}
    for key, value in s.labels.items():
        labels[_clean(key)] = value
    if s.state is not None:
        labels["state"] = s.state
    name = f"lares_{_clean(s.collector)}_{_clean(s.metric)}"
    kind = "counter" if s.metric in ("restarts",) else "gauge"
    if kind == "counter":
        name += "_total"
    return Row(name, kind, f"lares {s.collector} {s.metric}.", labels, s.value or 0.0)


def exposition(samples: Iterable[Sample], alerts: Iterable[Alert]) -> list[Family]:
    """Metric families for the samples (those with a value) and the alerts."""
    families: dict[str, Family] = {}
    mappers = _mappers()

    def add(row: Row) -> None:
        family = families.get(row.name)
        if family is None:
            family = families[row.name] = Family(row.name, row.kind, row.help)
        family.rows.append((row.labels, row.value))

    for sample in samples:
        if sample.value is None:
            continue
        mapper = mappers.get(sample.collector)
        row = mapper(sample) if mapper is not None else None
        add(row if row is not None else _generic(sample))
    add_alerts = [
        Row(
            "lares_alert",
            "gauge",
            "Pending (0) and firing (1) alerts.",
            {
                "key": a.key,
                "rule": a.rule,
                "severity": a.severity,
                "app": a.app or "",
                "state": a.state,
                "muted": "1" if a.muted else "",
            },
            1.0 if a.state == "firing" else 0.0,
        )
        for a in alerts
    ]
    for row in add_alerts:
        add(row)
    for family in families.values():
        names = sorted({k for labels, _ in family.rows for k in labels})
        family.rows = [({k: labels.get(k, "") for k in names}, v) for labels, v in family.rows]
    return list(families.values())


class _Collector:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        samples, alerts = self.snapshot()
        for family in exposition(samples, alerts):
            names = sorted(family.rows[0][0]) if family.rows else []
            metric: Any
            if family.kind == "counter":
                metric = CounterMetricFamily(
                    family.name.removesuffix("_total"), family.help, labels=names
                )
            else:
                metric = GaugeMetricFamily(family.name, family.help, labels=names)
            for labels, value in family.rows:
                metric.add_metric([labels[k] for k in names], value)
            yield metric


@dataclass
class Server:
    """A running metrics endpoint; :meth:`stop` shuts it down."""

    address: str
    port: int
    _server: Any
    _thread: Any

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(port: int, snapshot: Snapshot, *, address: str = "127.0.0.1") -> Server:
    """Serve ``/metrics`` on ``address:port`` from ``snapshot`` in a background thread."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(snapshot))
    server, thread = start_http_server(port, addr=address, registry=registry)
    return Server(address, server.server_port, server, thread)


def render(samples: Iterable[Sample], alerts: Iterable[Alert]) -> str:
    """The text exposition format of :func:`exposition` (for tests and ``--once`` dumps)."""
    from prometheus_client import CollectorRegistry, generate_latest

    frozen = (list(samples), list(alerts))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(lambda: frozen))
    return generate_latest(registry).decode()
