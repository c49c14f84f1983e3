"""How much `lares watch` costs on a reference-sized host, beside Glances watching the same host.

The host is made here: 40 containers of the busybox test image labelled as lares labels them
(20 apps in 4 stacks, half with a healthcheck, one database per stack), 25 HTTPS endpoints (one
TLS server on loopback standing in for Caddy, every app name reached at 127.0.0.1 as the LAN
endpoints are), a btrfs raid1 pool on two loop devices (when run as root), backup records.

1. One full collection cycle, every collector due: `lares status` style (one reading, Docker
   read container by container) and the watcher's (cold: first cycle; warm: the event stream
   already holds the containers). Target: <= 1 s wall.
2. Steady state: the lean loop that `lares watch` execs into (`python -m lares.monitor.watch`,
   with the same environment), at a 30 s interval, for --duration seconds, side by side with
   `glances -q -t 30` started at the same moment. RSS sampled every 5 s; CPU is user + system
   time (children included: btrfs, smartctl, the notification sender) over the window after the
   first two minutes, as a percentage of one core. Targets: <= 40 MB RSS, <= 0.5 % of a core.

Usage: python3 bench/watch.py [--duration 600] [--glances PATH] [--write]
Glances is not a lares dependency; install it apart:
    python3 -m venv /tmp/lares-bench-glances && /tmp/lares-bench-glances/bin/pip install glances
"""

from __future__ import annotations

import argparse
import http.server
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan import machine, write_section  # noqa: E402

IMAGE = "lares-test/busybox:1"
PREFIX = "lb-"
STACKS = ("infrastructure", "media", "productivity", "security")
WARMUP = 120.0
SAMPLE_EVERY = 5.0


# ── the host ───────────────────────────────────────────────────────────────────────────────


def make_containers(client: Any, run: str, count: int) -> list[tuple[str, str, str, bool]]:
    """``count`` containers as (stack, app, name, is_database); half run a healthcheck."""
    made = []
    for i in range(count):
        stack = STACKS[i % len(STACKS)]
        app = f"app{i // 2:02d}"
        database = i % 2 == 1 and i % 10 == 1
        name = f"{PREFIX}{run}-{app}" + ("-db" if database else f"-{i % 2}")
        kwargs: dict[str, Any] = {}
        if i % 2 == 0:
            kwargs["healthcheck"] = {
                "test": ["CMD", "true"],
                "interval": 30_000_000_000,
                "timeout": 5_000_000_000,
                "retries": 3,
            }
        client.containers.run(
            IMAGE,
            ["sleep", "86400"],
            name=name,
            detach=True,
            mem_limit="32m",
            labels={
                "io.lares.stack": f"{PREFIX}{stack}",
                "io.lares.app": app,
                "io.lares.container": "db" if database else app,
                "com.docker.compose.service": name,
                "com.docker.compose.project": f"{PREFIX}{stack}",
            },
            **kwargs,
        )
        made.append((f"{PREFIX}{stack}", app, name, database))
    return made


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def tls_server(folder: Path, names: list[str]) -> Iterator[int]:
    """Caddy on loopback serving every name with its internal CA, as on the reference host;
    a Python TLS server in a thread where Caddy is not installed."""
    caddy = shutil.which("caddy")
    if caddy is None:
        with python_tls_server(folder) as port:
            yield port
        return
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    (folder / "Caddyfile").write_text(
        "{\n\tadmin off\n\tskip_install_trust\n\tauto_https disable_redirects\n"
        f"\tstorage file_system {folder / 'caddy'}\n\thttps_port {port}\n\thttp_port {port + 1}\n"
        "}\n" + ", ".join(names) + ' {\n\tbind 127.0.0.1\n\ttls internal\n\trespond "ok" 200\n}\n'
    )
    proc = subprocess.Popen(
        [caddy, "run", "--config", str(folder / "Caddyfile"), "--adapter", "caddyfile"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from lares.monitor.collectors.http import probe
        from lares.monitor.config import Endpoint

        deadline = time.monotonic() + 60
        for name in names:
            check = Endpoint("x", "s", "lan", f"https://{name}:{port}/", "127.0.0.1", False)
            while not probe(check, 5).up:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("Caddy did not start serving the benchmark names")
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def python_tls_server(folder: Path) -> Iterator[int]:
    """One HTTPS server on loopback, in a thread."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "*.bench.lan")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def btrfs_pool(folder: Path) -> Iterator[tuple[str, tuple[str, ...]] | None]:
    """A btrfs raid1 on two loop devices, mounted (root only); None otherwise."""
    if os.geteuid() != 0 or not shutil.which("mkfs.btrfs"):
        yield None
        return
    files = [folder / f"disk{i}.img" for i in range(2)]
    devices: list[str] = []
    mount = folder / "pool"
    mount.mkdir()
    try:
        for f in files:
            with open(f, "wb") as fh:
                fh.truncate(256 * 1024 * 1024)
            devices.append(
                subprocess.run(
                    ["losetup", "-f", "--show", str(f)], capture_output=True, text=True, check=True
                ).stdout.strip()
            )
        subprocess.run(
            ["mkfs.btrfs", "-q", "-f", "-d", "raid1", "-m", "raid1", *devices],
            check=True,
            capture_output=True,
        )
        opts = ",".join(f"device={d}" for d in devices)
        subprocess.run(["mount", "-o", opts, devices[0], str(mount)], check=True)
        yield str(mount), tuple(devices)
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, check=False)
        for device in devices:
            subprocess.run(["btrfs", "device", "scan", "--forget", device], capture_output=True)
            subprocess.run(["losetup", "-d", device], capture_output=True, check=False)


def remove_containers(client: Any) -> None:
    for c in client.containers.list(all=True, filters={"name": PREFIX}):
        if c.name.startswith(PREFIX):
            c.remove(force=True)


# ── measuring ──────────────────────────────────────────────────────────────────────────────


def proc_stat(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds of the process and its waited-for children)."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks  # utime stime cutime cstime
    return rss, cpu


def cycle_times(config: Any, rounds: int) -> dict[str, list[float]]:
    from lares.monitor.status import check
    from lares.monitor.watch import Watcher

    out: dict[str, list[float]] = {"status": [], "cold": [], "warm": []}
    for _ in range(rounds):
        started = time.perf_counter()
        result = check(config, record=False)
        out["status"].append(time.perf_counter() - started)
        assert all(r.ok for r in result.runs), [r.error for r in result.runs if not r.ok]
    watcher = Watcher(config, sender=lambda message: (True, ""))
    try:
        every = list(watcher.collectors)
        started = time.perf_counter()
        watcher.cycle(only=every)
        out["cold"].append(time.perf_counter() - started)
        for _ in range(rounds):
            started = time.perf_counter()
            watcher.cycle(only=every)
            out["warm"].append(time.perf_counter() - started)
    finally:
        watcher.ctx.close()
        watcher.store.close()
    return out


def steady_state(
    config_path: Path, metrics_config: Path, glances: str | None, duration: float
) -> dict[str, dict[str, float]]:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = dict(os.environ, MALLOC_ARENA_MAX="2")  # as `lares watch` sets it before exec
    loop = [sys.executable, "-m", "lares.monitor.watch", "--config"]
    procs = {
        "lares watch": subprocess.Popen(
            [*loop, str(config_path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        "lares watch --metrics-port (scraped every 30 s)": subprocess.Popen(
            [*loop, str(metrics_config), "--metrics-port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    }
    if glances:
        procs["glances -q -t 30"] = subprocess.Popen(
            [glances, "-q", "-t", "30", "--disable-webui", "--disable-check-update"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    rss: dict[str, list[float]] = {name: [] for name in procs}
    start_cpu: dict[str, float] = {}
    started = time.monotonic()
    window_start = None
    scraped = 0.0
    try:
        while time.monotonic() - started < duration:
            time.sleep(SAMPLE_EVERY)
            elapsed = time.monotonic() - started
            if elapsed - scraped >= 30:
                scraped = elapsed
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/metrics", timeout=10
                    ) as r:
                        r.read()
                except OSError:
                    pass
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}")
                mb, cpu = proc_stat(proc.pid)
                if elapsed >= WARMUP:
                    rss[name].append(mb)
                    if name not in start_cpu:
                        start_cpu[name] = cpu
            if elapsed >= WARMUP and window_start is None:
                window_start = time.monotonic()
        window = time.monotonic() - (window_start or started)
        result: dict[str, dict[str, float]] = {}
        for name, proc in procs.items():
            mb, cpu = proc_stat(proc.pid)
            result[name] = {
                "rss_max": max(rss[name]),
                "rss_mean": statistics.mean(rss[name]),
                "cpu_percent": 100.0 * (cpu - start_cpu[name]) / window,
                "window": window,
            }
        return result
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


# ── main ───────────────────────────────────────────────────────────────────────────────────


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=40)
    parser.add_argument("--endpoints", type=int, default=25)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--glances", default=shutil.which("glances"))
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    import docker

    from lares.backup.records import Records
    from lares.monitor.config import (
        AppTarget,
        Endpoint,
        MountTarget,
        PoolTarget,
        RepoTarget,
        WatchConfig,
    )
    from lares.monitor.watch import write_config
    from lares.state import StateDir

    client = docker.from_env()
    remove_containers(client)
    run = uuid.uuid4().hex[:6]
    folder = Path(tempfile.mkdtemp(prefix="lares-bench-"))
    try:
        made = make_containers(client, run, args.containers)
        names = [f"e{i:02d}.bench.lan" for i in range(args.endpoints)]
        with tls_server(folder, names) as port, btrfs_pool(folder) as pool:
            apps: dict[str, tuple[str, list[str], list[str]]] = {}
            for stack, app, name, database in made:
                entry = apps.setdefault(app, (stack, [], []))
                entry[1].append(name)
                if database:
                    entry[2].append(name)
            state = StateDir.open(folder / "state")
            records = Records(state)
            when = datetime.now(UTC) - timedelta(hours=3)
            for app in apps:
                records.app_done("local", app, ok=True, when=when, error=None)
            mounts = [MountTarget(str(folder), "appdata"), MountTarget("/", "pool", "system")]
            pools = []
            if pool is not None:
                mounts.append(MountTarget(pool[0], "pool", "bench"))
                pools.append(PoolTarget("bench", "btrfs", "raid1", "btrfs", pool[0], pool[1]))
            app_ids = sorted(apps)
            config = WatchConfig(
                host="bench",
                state_dir=str(state.root),
                interval=30.0,
                intervals={"smart": 3600.0, "scrub": 3600.0, "http": 60.0},
                mounts=tuple(mounts),
                pools=tuple(pools),
                apps=tuple(
                    AppTarget(
                        a, apps[a][0], tuple(apps[a][1]), tuple(apps[a][2]), web=True, backup=True
                    )
                    for a in app_ids
                ),
                endpoints=tuple(
                    Endpoint(
                        app_ids[i % len(app_ids)],
                        "s",
                        "lan",
                        f"https://{names[i]}:{port}/",
                        "127.0.0.1",
                        False,
                    )
                    for i in range(args.endpoints)
                ),
                repositories=(RepoTarget("local", "*-*-* 03:00:00"),),
                drives=("/dev/sda",),
            )
            times = cycle_times(config, args.rounds)
            path = write_config(config, state.monitor)
            # a second watcher needs its own state directory (one watcher per directory)
            second = StateDir.open(folder / "state-metrics")
            shutil.copytree(state.backup, second.backup)
            metrics_path = write_config(replace(config, state_dir=str(second.root)), second.monitor)
            steady = steady_state(path, metrics_path, args.glances, args.duration)
    finally:
        remove_containers(client)
        shutil.rmtree(folder, ignore_errors=True)

    minutes = args.duration / 60
    rows = [
        (
            "one cycle, every collector (`lares status` reading)",
            statistics.median(times["status"]),
            max(times["status"]),
        ),
        ("one cycle, every collector (watcher, first)", times["cold"][0], times["cold"][0]),
        (
            "one cycle, every collector (watcher, events followed)",
            statistics.median(times["warm"]),
            max(times["warm"]),
        ),
    ]
    lines = [
        "## Watch",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}: {args.containers} containers "
        f"(busybox, half with healthchecks), {args.endpoints} HTTPS endpoints on loopback, "
        + ("a btrfs raid1 pool on loop devices, " if pools else "")
        + f"backup records. `python3 bench/watch.py --duration {args.duration:g} --write`.",
        "",
        "| collection cycle | median | max | target |",
        "| --- | --- | --- | --- |",
        *[f"| {what} | {median:.3f} s | {worst:.3f} s | <= 1 s |" for what, median, worst in rows],
        "",
        f"Steady state, {minutes:g} min at a 30 s interval (HTTP every 60 s, SMART and scrub "
        f"hourly), measured after the first {WARMUP / 60:g} min:",
        "",
        "| process | RSS max | RSS mean | CPU (% of one core) | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, r in steady.items():
        target = "for comparison" if name.startswith("glances") else "<= 40 MB, <= 0.5 %"
        lines.append(
            f"| {name} | {r['rss_max']:.1f} MB | {r['rss_mean']:.1f} MB | "
            f"{r['cpu_percent']:.2f} % | {target} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "BENCHMARKS.md", "## Watch", text)


if __name__ == "__main__":
    main()
