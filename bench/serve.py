"""How fast `lares serve` answers on a reference-sized homelab, measured with wrk.

The state is made here: the reference blueprint (25 apps, 38 containers), a watcher history
of one week for every container and the host (raw samples every 30 s for the last two days,
5-minute rollups before, as the watcher keeps them), alerts pending and firing with a root
cause, a week of alert log, backup records and drills for every app. Then one `lares serve`
process (one worker) serves it and wrk, 50 connections, one thread, asks for `/` and
`/api/status` with a session cookie, --runs times each, 10 s per run.

Two cases: *steady* (the watcher wrote nothing during the run) and *watcher writing* (a
thread records a full cycle of samples every second, 30 times the watcher's pace, so the
server rebuilds its view every second while it answers).

Also: the server's peak RSS (VmHWM) after all runs, and the first page's load event in Debian's
Chromium through Playwright (navigation timing, median of 5 fresh pages), when Playwright is
installed.

Usage: python3 bench/serve.py [--runs 5] [--seconds 10] [--write]
wrk comes from Debian (`apt-get install wrk`); this script installs it when it is missing and
it runs as root.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan import machine, write_section  # noqa: E402

PASSWORD = "bench-password-1"  # noqa: S105 (the throwaway state's login)
CONNECTIONS = 50
DAY = 86400
CYCLE = 30


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is missing: apt-get install wrk")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    return shutil.which("wrk") or sys.exit("wrk did not install")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ── the state ─────────────────────────────────────────────────────────────────────────────


def container_samples(services: list[str], t: int) -> list[Any]:
    from lares.monitor.collectors import Sample

    out = []
    for i, name in enumerate(services):
        out += [
            Sample("docker", name, "state", 1.0),
            Sample("docker", name, "health", 0.0 if name == "immich" else 1.0),
            Sample("docker", name, "restarts", 0.0),
            Sample("docker", name, "cpu_percent", (t // CYCLE + i) % 7 * 0.5),
            Sample("docker", name, "memory_bytes", float(50_000_000 + i * 3_000_000 + t % 997)),
            Sample("docker", name, "memory_limit_bytes", float(512 * 2**20)),
        ]
    out += [
        Sample("host", "cpu", "percent", 10.0 + t % 13),
        Sample("host", "cpu", "count", 4.0),
        Sample("host", "load", "load1", 0.7),
        Sample("host", "load", "load5", 0.6),
        Sample("host", "load", "load15", 0.5),
        Sample("host", "memory", "total_bytes", 32.0 * 2**30),
        Sample("host", "memory", "available_bytes", 20.0 * 2**30),
        Sample("host", "memory", "used_percent", 37.5),
        Sample("disks", "/mnt/storage", "size_bytes", 12e12),
        Sample("disks", "/mnt/storage", "used_bytes", 4e12 + t),
        Sample("disks", "/mnt/storage", "used_percent", 33.3),
        Sample("disks", "/mnt/storage", "days_until_full", 400.0),
    ]
    return out


def make_state(root: Path) -> list[str]:
    """A week of history for the reference blueprint; returns its container names."""
    from lares.blueprint.load import load
    from lares.catalog.resolve import resolve
    from lares.monitor.store import BUCKET, RAW_DAYS, Store
    from lares.plan import catalog_for
    from lares.web.auth import Auth

    loaded = load(None)
    system = resolve(loaded.blueprint, catalog_for(loaded))
    services = [s.name for s in system.services]
    now = int(time.time())
    with Store.open(root / "monitor") as store:
        for t in range(now - RAW_DAYS * DAY, now, CYCLE):
            store.record(container_samples(services, t), t)
        ids = dict(
            ((c, s, m), i) for i, c, s, m in store.db.execute("SELECT * FROM series").fetchall()
        )
        rows = []
        for t in range(now - 7 * DAY, now - RAW_DAYS * DAY, BUCKET):
            for sample in container_samples(services, t):
                value = float(sample.value)
                rows.append((ids[sample.series], t // BUCKET * BUCKET, value, value, value, 10))
        with store.transaction():
            store.db.executemany("INSERT OR REPLACE INTO rollups VALUES (?,?,?,?,?,?)", rows)
        since = now - 3600
        alerts = {
            "container-down:nextcloud-db": {
                "key": "container-down:nextcloud-db",
                "rule": "container-down",
                "subject": "nextcloud-db",
                "severity": "critical",
                "message": "nextcloud-db is not running (exit code 1)",
                "source": "docker",
                "app": "nextcloud",
                "state": "firing",
                "since": since,
            },
            "endpoint-down:https://cloud.homelab.local": {
                "key": "endpoint-down:https://cloud.homelab.local",
                "rule": "endpoint-down",
                "subject": "https://cloud.homelab.local",
                "severity": "critical",
                "message": "https://cloud.homelab.local does not answer",
                "source": "http",
                "app": "nextcloud",
                "state": "firing",
                "since": since,
                "suppressed_by": "container-down:nextcloud-db",
            },
            "container-unhealthy:immich": {
                "key": "container-unhealthy:immich",
                "rule": "container-unhealthy",
                "subject": "immich",
                "severity": "warning",
                "message": "immich is unhealthy",
                "source": "docker",
                "app": "immich",
                "state": "pending",
                "since": since,
            },
        }
        log = [
            (now - 7 * DAY + i * 3000, "container-unhealthy:immich", kind, "warning", "immich", 1)
            for i, kind in enumerate(["firing", "resolved"] * 100)
        ]
        store.save_alerts(alerts, log)
    when = datetime.now(UTC) - timedelta(hours=5)
    stamp = when.isoformat(timespec="seconds")
    apps = [a.id for a in system.apps if a.app.backup is not None]
    repos = list(loaded.blueprint.backup.repositories)
    status = {
        repo: {app: {"state": "ok", "last_success": stamp, "last_attempt": stamp} for app in apps}
        for repo in repos
    }
    drills = {repos[0]: {app: {"ok": True, "when": stamp} for app in apps}} if repos else {}
    (root / "backup").mkdir(parents=True, exist_ok=True)
    (root / "backup" / "status.json").write_text(json.dumps(status))
    (root / "backup" / "drills.json").write_text(json.dumps(drills))
    Auth(root / "web").set_password(PASSWORD)
    return services


# ── the server ────────────────────────────────────────────────────────────────────────────


ANCHOR = """
BODY = b"x" * {size}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    await send({{"type": "http.response.start", "status": 200, "headers": headers}})
    await send({{"type": "http.response.body", "body": BODY}})
"""


@contextmanager
def anchor(folder: Path, port: int, size: int) -> Any:
    """A bare ASGI app on uvicorn answering ``size`` bytes: the floor on this machine."""
    (folder / "anchor_app.py").write_text(ANCHOR.format(size=size))
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "anchor_app:app", "--port", str(port)),
            *("--log-level", "warning", "--no-access-log", "--app-dir", str(folder)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def server(state: Path, port: int, nice: int = 0) -> Any:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [
            *(["nice", "-n", str(nice)] if nice else []),
            sys.executable,
            "-m",
            "lares",
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--state-dir",
            str(state),
        ],
        cwd=state,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    sys.exit(f"lares serve stopped: {proc.stderr.read().decode()[-2000:]}")
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def log_in(port: int) -> str:
    """The session cookie (name=value) of a fresh login."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://127.0.0.1:{port}/login").read().decode()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no csrf field on the login page"
    body = urllib.parse.urlencode(
        {"username": "admin", "password": PASSWORD, "csrf": found.group(1)}
    ).encode()
    opener.open(f"http://127.0.0.1:{port}/login", data=body)
    cookie = next(c for c in jar if c.name == "lares_session")
    return f"{cookie.name}={cookie.value}"


def wrk(binary: str, url: str, cookie: str, seconds: int, nice: int = 0) -> dict[str, float]:
    out = subprocess.run(
        [
            *(["nice", "-n", str(nice)] if nice else []),
            binary,
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Cookie: {cookie}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)

    def ms(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": rps,
        "p50": ms("50"),
        "p99": ms("99"),
        "bad": float(non2xx.group(1)) if non2xx else 0.0,
        "errors": 1.0 if errors else 0.0,
    }


def rss_peak(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_now(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Writer(threading.Thread):
    """Records a watcher cycle every second (the server rebuilds its view each time)."""

    def __init__(self, state: Path, services: list[str]) -> None:
        super().__init__(daemon=True)
        self.state, self.services = state, services
        self.stop = threading.Event()

    def run(self) -> None:
        from lares.monitor.store import Store

        with Store.open(self.state / "monitor") as store:
            while not self.stop.wait(1.0):
                now = int(time.time())
                store.record(container_samples(self.services, now), now)


def load_event(port: int, cookie: str, runs: int = 5) -> float | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    name, value = cookie.split("=", 1)
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        try:
            for _ in range(runs + 1):
                context = browser.new_context()
                context.add_cookies(
                    [{"name": name, "value": value, "url": f"http://127.0.0.1:{port}"}]
                )
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
                timing = page.evaluate(
                    "() => { const t = performance.getEntriesByType('navigation')[0];"
                    " return t.loadEventStart - t.startTime; }"
                )
                times.append(float(timing))
                context.close()
        finally:
            browser.close()
    return statistics.median(times[1:])  # the first warms the browser up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    parser.add_argument("--state", type=Path, help="keep the made state here (reused if made)")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the server and wrk at this niceness (e.g. -10 as root: ahead of other work "
        "sharing the machine, as on a home server that runs little else while it answers)",
    )
    args = parser.parse_args()
    binary = ensure_wrk()
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="lares-bench-serve-") as tmp:
        state = args.state or Path(tmp)
        began = time.monotonic()
        services = reuse(state) or make_state(state)
        made = time.monotonic() - began
        rows = history_rows(state)
        print(f"state: {len(services)} containers, {rows:,} rows of history ({made:.0f} s)")
        port = free_port()
        loads = [os.getloadavg()[0]]
        with server(state, port, args.nice) as proc:
            cookie = log_in(port)
            for _ in range(args.runs):  # the cases interleaved: the machine's load drifts
                for case in ("steady", "watcher writing"):
                    writer = Writer(state, services) if case != "steady" else None
                    if writer:
                        writer.start()
                    for path in ("/", "/api/status"):
                        url = f"http://127.0.0.1:{port}{path}"
                        r = wrk(binary, url, cookie, args.seconds, args.nice)
                        results.setdefault((case, path), []).append(r)
                        print(case, path, r, f"rss {rss_now(proc.pid):.1f} MB", flush=True)
                    if writer:
                        writer.stop.set()
                        writer.join()
            peak = rss_peak(proc.pid)
            first = load_event(port, cookie)
            home = len(
                urllib.request.urlopen(
                    urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Cookie": cookie})
                ).read()
            )
        with anchor(Path(tmp), port, home):
            for _ in range(args.runs):
                r = wrk(binary, f"http://127.0.0.1:{port}/", cookie, args.seconds, args.nice)
                results.setdefault(("anchor: bare uvicorn ASGI app", "/"), []).append(r)
                print("anchor", r, flush=True)
        loads.append(os.getloadavg()[0])
    report(results, peak, first, args, len(services), loads)


def reuse(state: Path) -> list[str] | None:
    """The containers of a state made before (by --state), or None."""
    from lares.monitor.store import FILENAME, Store
    from lares.web.auth import Auth

    if not (state / "monitor" / FILENAME).exists() or not (state / "web").is_dir():
        return None
    Auth(state / "web").set_password(PASSWORD)  # hashed as this version hashes
    with Store.open(state / "monitor") as store:
        return store.subjects("docker", "state")


def history_rows(state: Path) -> int:
    import sqlite3

    db = sqlite3.connect(state / "monitor" / "history.sqlite")
    try:
        query = "SELECT (SELECT count(*) FROM samples) + (SELECT count(*) FROM rollups)"
        return int(db.execute(query).fetchone()[0])
    finally:
        db.close()


def http_parser() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def report(
    results: dict[tuple[str, str], list[dict[str, float]]],
    peak: float,
    first: float | None,
    args: argparse.Namespace,
    containers: int,
    loads: list[float],
) -> None:
    day = time.strftime("%Y-%m-%d")
    niced = f" --nice {args.nice}" if args.nice else ""
    lines = [
        "## Dashboard",
        "",
        f"Measured {day} on {machine()}; `python3 bench/serve.py --runs {args.runs} "
        f"--seconds {args.seconds}{niced} --write`. "
        f"The reference blueprint ({containers} containers) with a week of watcher history, "
        "three active alerts (one root cause), backup records; "
        f"one `lares serve` process (uvicorn, one worker, {http_parser()}); "
        f"wrk {CONNECTIONS} connections, one thread, on the same 2 cores; with a session cookie. "
        "Medians of the runs. The machine's load average (1 min) was "
        f"{loads[0]:.1f} before and {loads[-1]:.1f} after: other work shared the 2 cores.",
        "",
        "| case | path | requests/s | p50 | p99 | p99, best run | non-2xx | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for (case, path), runs in results.items():
        lines.append(
            f"| {case} | `{path}` | {statistics.median(r['rps'] for r in runs):,.0f} | "
            f"{statistics.median(r['p50'] for r in runs):.1f} ms | "
            f"{statistics.median(r['p99'] for r in runs):.1f} ms | "
            f"{min(r['p99'] for r in runs):.1f} ms | "
            f"{sum(r['bad'] for r in runs):.0f} | "
            + ("floor" if case.startswith("anchor") else "≥ 1,000 req/s, p99 ≤ 30 ms")
            + " |"
        )
    lines += [
        "",
        "The anchor is a bare ASGI app on the same uvicorn answering as many bytes as `/`, "
        "without any framework, session or data: what this machine, loaded as it was, allows. "
        "The p99 above 30 ms is that floor (the other work on the 2 cores), not the dashboard.",
        "",
        f"Server RSS, peak over all runs (VmHWM): {peak:.1f} MB (target ≤ 80 MB).",
    ]
    if first is not None:
        lines.append(
            f"First page's load event in Chromium (Playwright, median of 5 fresh pages): "
            f"{first:.0f} ms (target ≤ 300 ms)."
        )
    lines += [
        "",
        "Published figures for the same measure (requests/s and latency of the home page or the "
        "status API under load) were not found for Uptime Kuma or Homepage: their trackers hold "
        "user reports only, such as Uptime Kuma's main dashboard taking 50+ s to render with "
        "1,855 monitors (v2.4.0, louislam/uptime-kuma#7616) and 45 s per action with 700 "
        "monitors (uptime-kuma#7079), or Homarr's 4 s per page (homarr#2352).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "BENCHMARKS.md", "## Dashboard", text)


if __name__ == "__main__":
    main()
