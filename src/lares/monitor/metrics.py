"""Prometheus exposition of the latest samples and alerts (``lares watch --metrics-port``).

Names follow the exporters people already chart, where one exists: node_exporter for the host,
filesystems, md arrays and btrfs counters (``node_load1``, ``node_filesystem_avail_bytes``,
``node_md_disks``, ``node_btrfs_device_errors_total``), smartctl_exporter for drives
(``smartctl_device_temperature``, ``smartctl_device_attribute``) and blackbox_exporter for
endpoints (``probe_success``, ``probe_ssl_earliest_cert_expiry``). Everything else is
``lares_<collector>_<metric>`` with the sample's subject and labels, plus ``lares_alert`` (one
series per pending or firing alert) and ``lares_collector_up``.

:func:`exposition` is pure (samples and alerts in, families out); :func:`serve` starts
prometheus-client's HTTP server in a thread, scraping whatever ``snapshot`` returns at that
moment, so a scrape never triggers a collection.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
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
class _Row:
    name: str
    kind: str
    help: str
    labels: dict[str, str]
    value: float


def _gauge(s: Sample, names: Mapping[str, tuple[str, str]], labels: dict[str, str]) -> _Row | None:
    """The gauge ``names`` gives the sample's metric (name, help), or None."""
    if s.metric in names and s.value is not None:
        name, text = names[s.metric]
        return _Row(name, "gauge", text, labels, s.value)
    return None


def _host(s: Sample) -> _Row | None:
    fixed = {
        ("memory", "total_bytes"): ("node_memory_MemTotal_bytes", "Memory size in bytes."),
        ("memory", "available_bytes"): (
            "node_memory_MemAvailable_bytes",
            "Memory available without swapping, in bytes.",
        ),
        ("swap", "total_bytes"): ("node_memory_SwapTotal_bytes", "Swap size in bytes."),
        ("swap", "free_bytes"): ("node_memory_SwapFree_bytes", "Free swap in bytes."),
        ("load", "load1"): ("node_load1", "1m load average."),
        ("load", "load5"): ("node_load5", "5m load average."),
        ("load", "load15"): ("node_load15", "15m load average."),
        ("boot", "time_seconds"): ("node_boot_time_seconds", "Node boot time, in unixtime."),
    }
    assert s.value is not None
    if (s.subject, s.metric) in fixed:
        name, text = fixed[(s.subject, s.metric)]
        return _Row(name, "gauge", text, {}, s.value)
    if s.metric == "temp_celsius":
        labels = {"chip": s.labels.get("chip", ""), "sensor": s.labels.get("sensor", "")}
        return _Row(
            "node_hwmon_temp_celsius", "gauge", "Hardware monitor temperature.", labels, s.value
        )
    return None


def _disks(s: Sample) -> _Row | None:
    labels = {
        "mountpoint": s.subject,
        "device": s.labels.get("device", ""),
        "fstype": s.labels.get("fstype", ""),
    }
    names = {
        "size_bytes": ("node_filesystem_size_bytes", "Filesystem size in bytes."),
        "avail_bytes": (
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
        ),
        "free_bytes": ("node_filesystem_free_bytes", "Filesystem free space in bytes."),
    }
    return _gauge(s, names, labels)


def _mdstat(s: Sample) -> _Row | None:
    device = {"device": s.subject}
    assert s.value is not None
    states = {"disks_active": "active", "disks_failed": "failed", "disks_spare": "spare"}
    if s.metric in states:
        return _Row(
            "node_md_disks",
            "gauge",
            "Number of active/failed/spare disks of device.",
            {**device, "state": states[s.metric]},
            s.value,
        )
    names = {
        "disks_required": ("node_md_disks_required", "Total number of disks of device."),
        "blocks": ("node_md_blocks", "Total number of blocks on device."),
        "blocks_synced": ("node_md_blocks_synced", "Number of blocks synced on device."),
    }
    if s.metric in names:
        name, text = names[s.metric]
        return _Row(name, "gauge", text, device, s.value)
    if s.metric == "health":
        return _Row(
            "node_md_state",
            "gauge",
            "Indicates the state of md-device (lares health word).",
            {**device, "state": s.state or ""},
            1.0,
        )
    return None


def _btrfs(s: Sample) -> _Row | None:
    if s.metric.startswith("errors_") and s.value is not None:
        return _Row(
            "node_btrfs_device_errors_total",
            "counter",
            "Errors reported for the device.",
            {
                "device": s.labels.get("device", ""),
                "mountpoint": s.labels.get("mount", ""),
                "type": s.metric.removeprefix("errors_"),
                "uuid": s.labels.get("uuid", ""),
            },
            s.value,
        )
    return None


def _smart(s: Sample) -> _Row | None:
    device = {"device": s.subject}
    assert s.value is not None
    if s.metric == "temperature_celsius":
        return _Row(
            "smartctl_device_temperature",
            "gauge",
            "Device temperature celsius.",
            {**device, "temperature_type": "current"},
            s.value,
        )
    if s.metric.startswith("attr_"):
        return _Row(
            "smartctl_device_attribute",
            "gauge",
            "Device SMART attribute value.",
            {
                **device,
                "attribute_id": s.metric.removeprefix("attr_"),
                "attribute_name": s.labels.get("attribute", ""),
                "attribute_value_type": "raw",
            },
            s.value,
        )
    names = {
        "passed": ("smartctl_device_smart_status", "General smart status."),
        "exit_status": ("smartctl_device_smartctl_exit_status", "Exit status of smartctl."),
        "nvme_media_errors": ("smartctl_device_media_errors", "Media errors counter."),
        "nvme_percentage_used": (
            "smartctl_device_percentage_used",
            "Device write percentage used.",
        ),
        "nvme_critical_warning": ("smartctl_device_critical_warning", "Critical warning counter."),
        "nvme_available_spare": ("smartctl_device_available_spare", "Normalized available spare."),
    }
    if s.metric in names:
        name, text = names[s.metric]
        return _Row(name, "gauge", text, device, s.value)
    if s.metric == "power_on_hours":
        return _Row(
            "smartctl_device_power_on_seconds",
            "counter",
            "Device power on seconds.",
            device,
            s.value * 3600,
        )
    return None


def _http(s: Sample) -> _Row | None:
    labels = {
        "instance": s.subject,
        "app": s.labels.get("app", ""),
        "kind": s.labels.get("kind", ""),
    }
    names = {
        "up": ("probe_success", "Whether the probe succeeded."),
        "latency_seconds": ("probe_duration_seconds", "How long the probe took."),
        "status_code": ("probe_http_status_code", "Response HTTP status code."),
        "cert_not_after": (
            "probe_ssl_earliest_cert_expiry",
            "Earliest SSL cert expiry in unixtime.",
        ),
    }
    return _gauge(s, names, labels)


_MAPPERS: dict[str, Callable[[Sample], _Row | None]] = {
    "host": _host,
    "disks": _disks,
    "mdstat": _mdstat,
    "btrfs": _btrfs,
    "smart": _smart,
    "http": _http,
}
_NAME_RE = re.compile(r"[^a-zA-Z0-9_]")


def _clean(text: str) -> str:
    name = _NAME_RE.sub("_", text)
    return name if name and not name[0].isdigit() else f"_{name}"


def _generic(s: Sample) -> _Row:
    if s.subject == "collector" and s.metric == "up":
        labels = {"collector": s.collector}
        return _Row(
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
    return _Row(name, kind, f"lares {s.collector} {s.metric}.", labels, s.value or 0.0)


def exposition(samples: Iterable[Sample], alerts: Iterable[Alert]) -> list[Family]:
    """Metric families for the samples (those with a value) and the alerts."""
    families: dict[str, Family] = {}

    def add(row: _Row) -> None:
        family = families.get(row.name)
        if family is None:
            family = families[row.name] = Family(row.name, row.kind, row.help)
        family.rows.append((row.labels, row.value))

    for sample in samples:
        if sample.value is None:
            continue
        mapper = _MAPPERS.get(sample.collector)
        row = mapper(sample) if mapper is not None else None
        add(row if row is not None else _generic(sample))
    add_alerts = [
        _Row(
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
