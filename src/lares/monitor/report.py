"""What ``lares status`` prints: the problems first, then a short line per source."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable

from lares.monitor.sample import Sample
from lares.monitor.status import Status
from lares.output import Out, table
from lares.text import counted

_STYLE = {"critical": "red", "warning": "yellow", "info": "cyan"}


def _size(value: float | None) -> str:
    from lares.units import format_size

    return format_size(int(value)) if value is not None else "—"


def _ago(seconds: float | None) -> str:
    from lares.units import format_duration

    return format_duration(seconds) if seconds is not None else "—"


def _by_subject(samples: Iterable[Sample], collector: str) -> dict[str, dict[str, Sample]]:
    found: dict[str, dict[str, Sample]] = defaultdict(dict)
    for s in samples:
        if s.collector == collector and s.subject != "collector":
            found[s.subject][s.metric] = s
    return found


def status_report(out: Out, status: Status) -> None:
    """The problems (held-back ones last), then host, storage, drives, containers, endpoints,
    backups, notes, the watcher's alerts and silences."""
    if out.as_json:
        out.json(status.to_dict())
        return
    problems = status.problems
    critical = sum(1 for c in problems if c.severity == "critical")
    took = sum(r.duration for r in status.runs)
    head = f"lares status — {status.config.host}: "
    if problems:
        head += f"{critical} critical, {counted(len(problems) - critical, 'warning')}"
    else:
        head += "all good"
    out.line(f"{head} ({counted(len(status.runs), 'source')} in {took:.1f} s)", style="bold")
    if problems:
        t = table("severity", "subject", "problem")
        for c in sorted(problems, key=lambda c: c.suppressed_by is not None):
            text = c.message
            if c.suppressed_by:
                text += f"  [held back by {c.suppressed_by}]"
            t.add_row(f"[{_STYLE[c.severity]}]{c.severity}[/]", c.subject, text)
            if c.hint and not c.suppressed_by:
                t.add_row("", "", f"[dim]→ {c.hint}[/]")
        out.table(t)
    readings = [s for s in status.samples if s.subject != "collector"]
    _host(out, readings)
    _storage(out, readings)
    _drives(out, readings)
    _containers(out, readings)
    _endpoints(out, readings)
    _backups(out, readings)
    failed = [r for r in status.runs if not r.ok]
    if status.notes:
        out.heading("Notes")
        for c in status.notes:
            out.line(f"  {c.message}")
    if status.alerts:
        out.heading("Alerts of lares watch")
        for a in sorted(status.alerts, key=lambda a: a.key):
            muted = " (muted)" if a.muted else ""
            out.line(f"  {a.state:<8} {a.severity:<8} {a.message}{muted}")
    if status.silences:
        out.heading("Silenced")
        for s in status.silences:
            left = _ago(s.until - time.time())
            out.line(f"  {s.target}: {left} left" + (f" ({s.reason})" if s.reason else ""))
    if failed:
        out.heading("Sources that could not be read")
        for r in failed:
            out.line(f"  {r.collector}: {r.error}")


def _host(out: Out, samples: list[Sample]) -> None:
    host = _by_subject(samples, "host")
    if not host:
        return
    cpu = host.get("cpu", {}).get("percent")
    load = host.get("load", {})
    memory = host.get("memory", {})
    swap = host.get("swap", {}).get("used_percent")
    up = host.get("uptime", {}).get("seconds")
    parts = []
    if cpu is not None and cpu.value is not None:
        parts.append(f"cpu {cpu.value:.0f}%")
    if load:
        parts.append(
            "load "
            + " ".join(f"{load[k].value:.2f}" for k in ("load1", "load5", "load15") if k in load)
        )
    if "used_percent" in memory and "total_bytes" in memory:
        parts.append(
            f"memory {memory['used_percent'].value:.0f}% of {_size(memory['total_bytes'].value)}"
        )
    if swap is not None and swap.value is not None:
        parts.append(f"swap {swap.value:.0f}%")
    temps = [s for s in samples if s.metric == "temp_celsius" and s.labels.get("cpu")]
    if temps:
        parts.append(f"cpu temp {max(s.value or 0 for s in temps):.0f} °C")
    if up is not None:
        parts.append(f"up {_ago(up.value)}")
    out.heading("Host")
    out.line("  " + ", ".join(parts))


def _storage(out: Out, samples: list[Sample]) -> None:
    disks = _by_subject(samples, "disks")
    arrays = {k: v for k, v in _by_subject(samples, "mdstat").items() if "health" in v}
    btrfs = {k: v for k, v in _by_subject(samples, "btrfs").items() if "health" in v}
    scrub = _by_subject(samples, "scrub")
    if not (disks or arrays or btrfs):
        return
    out.heading("Storage")
    if disks:
        t = table(
            "mount", "state", "used", "size", "free", "full in", right=("used", "size", "free")
        )
        for path, m in disks.items():
            used = m.get("used_percent")
            days = m.get("days_until_full")
            t.add_row(
                path,
                m["mounted"].state or "",
                f"{used.value:.1f}%" if used and used.value is not None else "—",
                _size(m["size_bytes"].value) if "size_bytes" in m else "—",
                _size(m["avail_bytes"].value) if "avail_bytes" in m else "—",
                f"{days.value:.0f} days" if days and days.value is not None else "—",
            )
        out.table(t)
    for name, m in arrays.items():
        health = m["health"]
        counts = ""
        if "disks_required" in m and "disks_active" in m:
            counts = f" [{m['disks_required'].value:g}/{m['disks_active'].value:g}]"
        out.line(f"  {name} {health.labels.get('level', '')}{counts}: {health.state}")
    for mount, m in btrfs.items():
        errors = sum(
            s.value or 0
            for s in samples
            if s.collector == "btrfs"
            and s.metric.startswith("errors_")
            and s.labels.get("mount") == mount
        )
        line = f"  btrfs {mount}: {m['devices'].value:g} devices, {errors:g} device errors"
        last = scrub.get(mount, {})
        if "scrub_age_seconds" in last:
            line += f", scrubbed {_ago(last['scrub_age_seconds'].value)} ago"
        if "scrub_health" in last:
            line += f" ({last['scrub_health'].state})"
        out.line(line)


def _drives(out: Out, samples: list[Sample]) -> None:
    drives = {k: v for k, v in _by_subject(samples, "smart").items() if "health" in v}
    if not drives:
        return
    out.heading("Drives")
    t = table("drive", "model", "health", "temp", "power on", right=("temp", "power on"))
    for name, m in drives.items():
        health = m["health"]
        temp = m.get("temperature_celsius")
        hours = m.get("power_on_hours")
        t.add_row(
            name,
            health.labels.get("model", ""),
            "standby" if m.get("standby") and m["standby"].value else health.state or "",
            f"{temp.value:g} °C" if temp and temp.value is not None else "—",
            f"{hours.value:g} h" if hours and hours.value is not None else "—",
        )
    out.table(t)


def _containers(out: Out, samples: list[Sample]) -> None:
    states = [s for s in samples if s.collector == "docker" and s.metric == "state"]
    if not states:
        return
    running = sum(1 for s in states if s.state == "running")
    unhealthy = sum(
        1
        for s in samples
        if s.collector == "docker" and s.metric == "health" and s.state == "unhealthy"
    )
    others: dict[str, int] = defaultdict(int)
    for s in states:
        if s.state != "running":
            others[s.state or "?"] += 1
    extra = [f"{n} {state}" for state, n in sorted(others.items())]
    if unhealthy:
        extra.insert(0, f"{unhealthy} unhealthy")
    out.heading("Containers")
    out.line(f"  {running} of {len(states)} running" + (f" ({', '.join(extra)})" if extra else ""))


def _endpoints(out: Out, samples: list[Sample]) -> None:
    ups = [s for s in samples if s.collector == "http" and s.metric == "up"]
    if not ups:
        return
    latencies = [
        s.value
        for s in samples
        if s.collector == "http" and s.metric == "latency_seconds" and s.value is not None
    ]
    certs = [
        s.value
        for s in samples
        if s.collector == "http" and s.metric == "cert_days_left" and s.value is not None
    ]
    line = f"  {sum(1 for s in ups if s.value)} of {len(ups)} up"
    if latencies:
        line += f", slowest {max(latencies):.2f} s"
    if certs:
        line += f", first certificate ends in {min(certs):.0f} days"
    out.heading("Endpoints")
    out.line(line)


def _backups(out: Out, samples: list[Sample]) -> None:
    found = _by_subject(samples, "backups")
    if not found:
        return
    out.heading("Backups")
    t = table("what", "last success", "state")
    for subject, m in sorted(found.items()):
        if "last_success" in m:
            s = m["last_success"]
            age = m.get("age_seconds")
            t.add_row(subject, f"{_ago(age.value)} ago" if age else "never", s.state or "")
        if "drill_ok" in m:
            d = m["drill_ok"]
            age = m.get("drill_age_seconds")
            t.add_row(
                f"drill {subject}", f"{_ago(age.value)} ago" if age else "never", d.state or ""
            )
    out.table(t)
