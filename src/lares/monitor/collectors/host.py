"""The machine itself: CPU, load, memory, swap, temperatures where the kernel shows them, uptime.

Read with psutil. :func:`samples` turns the readings into samples and is pure, so it is tested
without the machine. Temperatures come from ``/sys/class/hwmon``; inside a VM or a container
there are usually none, which is not an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from lares.monitor.collectors import Context
from lares.monitor.metrics import Row, labels_of
from lares.monitor.rules import Condition, Inputs, rule
from lares.monitor.sample import Sample

ID = "host"
DEFAULT_INTERVAL: float | None = None
CPU_CHIPS = ("coretemp", "k10temp", "zenpower", "cpu_thermal", "cpu-thermal", "soc_thermal")


def collect(ctx: Context) -> list[Sample]:
    import os

    import psutil

    memo = ctx.memo(ID)
    # The first cpu_percent() of a process has nothing to compare with: prime it once with a
    # short blocking reading; later cycles measure the time since the previous call.
    cpu = psutil.cpu_percent(interval=None if memo.get("primed") else 0.2)
    memo["primed"] = True
    sensors = getattr(psutil, "sensors_temperatures", None)
    try:
        temps = sensors() if sensors is not None else {}
    except (OSError, RuntimeError):
        temps = {}
    return samples(
        cpu_percent=cpu,
        cpu_count=psutil.cpu_count() or 0,
        load=os.getloadavg(),
        memory=psutil.virtual_memory(),
        swap=psutil.swap_memory(),
        temperatures=temps,
        boot_time=psutil.boot_time(),
        now=ctx.now,
    )


def samples(
    *,
    cpu_percent: float,
    cpu_count: int,
    load: Sequence[float],
    memory: Any,
    swap: Any,
    temperatures: Mapping[str, Iterable[Any]],
    boot_time: float,
    now: float,
) -> list[Sample]:
    """Samples from psutil's readings (``memory``/``swap`` as psutil returns them)."""
    out = [
        Sample(ID, "cpu", "percent", cpu_percent),
        Sample(ID, "cpu", "count", float(cpu_count)),
        Sample(ID, "load", "load1", load[0]),
        Sample(ID, "load", "load5", load[1]),
        Sample(ID, "load", "load15", load[2]),
        Sample(ID, "memory", "total_bytes", float(memory.total)),
        Sample(ID, "memory", "available_bytes", float(memory.available)),
        Sample(ID, "memory", "used_percent", float(memory.percent)),
        Sample(ID, "swap", "total_bytes", float(swap.total)),
        Sample(ID, "swap", "free_bytes", float(swap.free)),
        Sample(ID, "swap", "used_percent", float(swap.percent)),
        Sample(ID, "uptime", "seconds", max(now - boot_time, 0.0)),
        Sample(ID, "boot", "time_seconds", boot_time),
    ]
    for chip, readings in sorted(temperatures.items()):
        for index, reading in enumerate(readings, start=1):
            if reading.current is None:
                continue
            sensor = reading.label or f"temp{index}"
            labels = {"chip": chip, "sensor": sensor, "cpu": "1" if is_cpu(chip, sensor) else ""}
            if reading.high:
                labels["high"] = f"{reading.high:g}"
            if reading.critical:
                labels["critical"] = f"{reading.critical:g}"
            out.append(
                Sample(
                    ID, f"{chip}/{sensor}", "temp_celsius", float(reading.current), labels=labels
                )
            )
    return out


def is_cpu(chip: str, sensor: str) -> bool:
    """Whether a hwmon sensor measures the CPU (package, die or core), by chip and label."""
    label = sensor.lower()
    return chip in CPU_CHIPS or label.startswith(("package id", "tctl", "tdie", "core "))


# ---------------------------------------------------------------------------------------------
# Rules: CPU temperature


@rule("cpu-temp")
def cpu_temp(x: Inputs) -> Iterator[Condition]:
    readings = [s for s in x.each("host", "temp_celsius") if s.labels.get("cpu")]
    if not readings:
        return
    hottest = max(readings, key=lambda s: s.value or 0.0)
    if (hottest.value or 0.0) >= x.limits.cpu_temp_warn:
        yield Condition(
            "cpu-temp",
            "cpu-temp",
            "warning",
            hottest.subject,
            f"the CPU is at {hottest.value:g} °C ({hottest.subject}; warning at "
            f"{x.limits.cpu_temp_warn:g} °C)",
            "host",
            hint="check the cooler and the case fans",
        )


RULES = (cpu_temp,)


# ---------------------------------------------------------------------------------------------
# Prometheus


def prometheus(s: Sample) -> Row | None:
    """The exporter-compatible series of a sample (see :mod:`lares.monitor.metrics`), or None."""
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
        return Row(name, "gauge", text, {}, s.value)
    if s.metric == "temp_celsius":
        labels = labels_of(s, "chip", "sensor")
        return Row(
            "node_hwmon_temp_celsius", "gauge", "Hardware monitor temperature.", labels, s.value
        )
    return None
