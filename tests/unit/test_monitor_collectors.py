"""Collectors without the machine: registry, config, pure sample layers, metrics names."""

from __future__ import annotations

import json
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from lares.monitor import collectors, metrics
from lares.monitor.alerts import Alert
from lares.monitor.collectors import Context, Sample, backups, disks, docker, host, http
from lares.monitor.config import AppTarget, Endpoint, MountTarget, RepoTarget, WatchConfig, build

# ── registry ───────────────────────────────────────────────────────────────────────────────


def test_every_collector_is_found_once_and_satisfies_the_protocol() -> None:
    found = collectors.discover()
    assert set(found) == {
        "backups",
        "btrfs",
        "disks",
        "docker",
        "drills",
        "host",
        "lares_state",
        "http",
        "mdstat",
        "scrub",
        "smart",
    }
    for cid, collector in found.items():
        assert isinstance(collector, ModuleType)
        assert collector.__name__.rsplit(".", 1)[1] == cid  # module name = collector id
        assert collector.DEFAULT_INTERVAL is None or collector.DEFAULT_INTERVAL > 0
        assert callable(collector.collect)


def test_intervals_follow_blueprint_then_collector_then_base() -> None:
    found = collectors.discover()
    config = WatchConfig(host="h", interval=30, intervals={"smart": 7200, "disks": 60})
    chosen = {cid: config.interval_for(cid, c.DEFAULT_INTERVAL) for cid, c in found.items()}
    assert chosen["smart"] == 7200  # blueprint
    assert chosen["disks"] == 60
    assert chosen["scrub"] == 3600 and chosen["http"] == 60  # the collector's own
    assert chosen["host"] == 30 and chosen["docker"] == 30  # monitor.interval


def test_a_failing_collector_becomes_an_error_run() -> None:
    class Broken:
        ID = "broken"
        DEFAULT_INTERVAL = None

        @staticmethod
        def collect(ctx: Context) -> list[Sample]:
            raise RuntimeError("boom")

    run = collectors.run_collector(Broken(), Context(WatchConfig(host="h")))
    assert (run.ok, run.error, run.samples) == (False, "RuntimeError: boom", ())
    meta = run.meta()
    assert (meta.collector, meta.subject, meta.metric, meta.value) == (
        "broken",
        "collector",
        "up",
        0.0,
    )


# ── config ─────────────────────────────────────────────────────────────────────────────────


def test_build_from_a_blueprint(kit) -> None:  # type: ignore[no-untyped-def]
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tweb: {exposure: public}
            tdb: {}
            caddy: {}
            newt: {}
        """,
        access="""
        domain: example.org
        tunnel: {endpoint: "https://pangolin.example.org", site: home}
        """,
        monitor="""
        interval: 45s
        intervals: {smart: 2h}
        notify: [{url: "json://127.0.0.1:9/"}, {secret: alert-url}]
        thresholds: {disk_warn: 70}
        """,
    )
    from conftest import load_test_catalog
    from lares.catalog.load import Catalog, load_catalog
    from lares.plan import plan

    embedded = load_catalog()
    catalog = Catalog(
        {**load_test_catalog().apps, "caddy": embedded["caddy"], "newt": embedded["newt"]}
    )
    system = plan(kit.load(text), catalog=catalog).system
    config = build(system, state_dir="/state", deployed=["main"])
    assert (
        config.host == "testhost" and config.interval == 45 and config.intervals == {"smart": 7200}
    )
    assert config.thresholds["disk_warn"] == 70 and config.thresholds["disk_crit"] == 90
    assert [n.url or n.secret for n in config.notify] == ["json://127.0.0.1:9/", "alert-url"]
    assert config.mounts == (
        MountTarget("/srv/appdata", "appdata"),
        MountTarget("/srv/pool", "pool", "tank"),
    )
    assert config.drives == ("/dev/nvme0n1", "/dev/sda", "/dev/sdb")
    tdb = config.app("tdb")
    assert tdb is not None and tdb.services == ("tdb", "tdb-db") and tdb.databases == ("tdb-db",)
    assert config.databases == {"tdb-db": "tdb"}
    assert sorted((e.app, e.kind, e.url, e.address, e.verify) for e in config.endpoints) == [
        ("tdb", "lan", "https://tdb.home.lan/", "192.168.50.2", False),
        ("tweb", "lan", "https://tweb.home.lan/", "192.168.50.2", False),
        ("tweb", "public", "https://tweb.example.org/", None, True),
    ]
    assert WatchConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    nothing = build(system, deployed=[])
    assert nothing.apps == () and nothing.endpoints == ()


# ── host ───────────────────────────────────────────────────────────────────────────────────


def test_host_samples() -> None:
    Mem = namedtuple("Mem", "total available percent")
    Swap = namedtuple("Swap", "total free percent")
    Temp = namedtuple("Temp", "label current high critical")
    samples = host.samples(
        cpu_percent=12.5,
        cpu_count=8,
        load=(0.5, 0.4, 0.3),
        memory=Mem(32 * 2**30, 20 * 2**30, 37.5),
        swap=Swap(0, 0, 0.0),
        temperatures={
            "coretemp": [Temp("Package id 0", 48.0, 80.0, 100.0), Temp("Core 0", 46.0, None, None)],
            "nvme": [Temp("Composite", 38.0, None, None)],
        },
        boot_time=1000.0,
        now=4600.0,
    )
    by = {(s.subject, s.metric): s for s in samples}
    assert by[("cpu", "percent")].value == 12.5
    assert by[("uptime", "seconds")].value == 3600
    assert by[("coretemp/Package id 0", "temp_celsius")].labels["cpu"] == "1"
    assert by[("coretemp/Package id 0", "temp_celsius")].labels["high"] == "80"
    assert by[("nvme/Composite", "temp_celsius")].labels["cpu"] == ""


def test_host_collect_runs_here() -> None:
    samples = host.collect(Context(WatchConfig(host="h")))
    metrics_seen = {(s.subject, s.metric) for s in samples}
    assert {("cpu", "percent"), ("memory", "total_bytes"), ("load", "load1")} <= metrics_seen


# ── disks ──────────────────────────────────────────────────────────────────────────────────


def test_forecast_is_a_line_through_the_history() -> None:
    hour = 3600.0
    growing = [(i * hour, 1000.0 + 100.0 * i) for i in range(24)]  # 100 bytes per hour
    assert disks.forecast(growing, avail=2400.0) == pytest.approx(1.0)  # 24 hours
    assert disks.forecast(growing[:5], avail=2400.0) is None  # too few points
    flat = [(i * hour, 1000.0) for i in range(24)]
    assert disks.forecast(flat, avail=2400.0) is None
    shrinking = [(i * hour, 1000.0 - i) for i in range(24)]
    assert disks.forecast(shrinking, avail=2400.0) is None
    short = [(i * 60.0, 1000.0 + i) for i in range(30)]  # 30 minutes only
    assert disks.forecast(short, avail=10.0) is None


def test_mount_states(tmp_path: Path) -> None:
    mounts = {"/": ("/dev/sda1", "ext4"), "/pool": ("/dev/md0", "btrfs")}
    pool = MountTarget("/pool", "pool", "tank")
    assert disks.mount_state(pool, mounts) == ("mounted", "/dev/md0", "btrfs")
    folder = tmp_path / "pool"
    folder.mkdir()
    assert disks.mount_state(MountTarget(str(folder), "pool"), mounts)[0] == "not-mounted"
    assert disks.mount_state(MountTarget(str(folder), "appdata"), mounts)[0] == "on-parent"
    assert disks.mount_state(MountTarget(str(tmp_path / "nope"), "pool"), mounts)[0] == "missing"


def test_disks_collect_with_history(tmp_path: Path) -> None:
    from lares.monitor.store import Store

    target = MountTarget(str(tmp_path), "appdata")
    config = WatchConfig(host="h", mounts=(target,))
    with Store.open(tmp_path / "monitor") as store:
        ctx = Context(config, store=store)
        first = {s.metric: s for s in disks.collect(ctx)}
        assert first["mounted"].state == "on-parent"
        assert 0 < (first["used_percent"].value or 0) <= 100
        assert "days_until_full" not in first
        # a week of steady growth in the history gives a forecast
        now = ctx.now
        used = first["used_bytes"].value or 0.0
        avail = first["avail_bytes"].value or 0.0
        rate = avail / (10 * 86400)  # full in ten days
        for hours in range(48, 0, -1):
            store.record(
                [Sample("disks", str(tmp_path), "used_bytes", used - rate * hours * 3600)],
                now - hours * 3600,
            )
        ctx.memos.clear()
        ctx.now = now
        days = {s.metric: s for s in disks.collect(ctx)}["days_until_full"].value
        assert days == pytest.approx(10, rel=0.05)


# ── docker ─────────────────────────────────────────────────────────────────────────────────


def test_parse_cgroup_v1_and_v2() -> None:
    v2 = docker.parse_cgroup(
        "usage_usec 1500\nuser_usec 1000\n", 10_000, "anon 1\ninactive_file 4000\n", v2=True
    )
    assert v2 == (1_500_000, 6000.0)
    v1 = docker.parse_cgroup("123456789\n", 10_000, "cache 5\ntotal_inactive_file 3000\n", v2=False)
    assert v1 == (123456789, 7000.0)


def test_state_of_reads_raw_inspect_data_like_lares_ps() -> None:
    data = {
        "Id": "abc",
        "Name": "/nextcloud-db",
        "RestartCount": 4,
        "Config": {
            "Image": "postgres:16",
            "Labels": {
                "io.lares.stack": "productivity",
                "io.lares.app": "nextcloud",
                "com.docker.compose.service": "nextcloud-db",
            },
        },
        "State": {
            "Status": "exited",
            "ExitCode": 137,
            "OOMKilled": True,
            "StartedAt": "2026-01-01T00:00:00.123456789Z",
            "Health": {"Status": "unhealthy", "Log": [{"ExitCode": 1, "Output": "pg down\n"}]},
        },
    }
    state = docker.state_of(data)
    assert (state.name, state.stack, state.app, state.state) == (
        "nextcloud-db",
        "productivity",
        "nextcloud",
        "exited",
    )
    assert (state.restarts, state.oom_killed, state.exit_code, state.health) == (
        4,
        True,
        137,
        "unhealthy",
    )
    config = WatchConfig(
        host="h",
        apps=(
            AppTarget(
                "nextcloud",
                "productivity",
                ("nextcloud", "nextcloud-db", "nextcloud-redis"),
                ("nextcloud-db",),
            ),
        ),
    )
    samples = docker.samples([state], config, health_logs={"nextcloud-db": "exit 1: pg down"})
    by = {(s.subject, s.metric): s for s in samples}
    assert by[("nextcloud-db", "state")].labels["role"] == "database"
    assert by[("nextcloud-db", "health")].detail == "exit 1: pg down"
    assert by[("nextcloud-db", "oom_killed")].value == 1.0
    # the app's other containers do not exist: they are reported missing
    assert by[("nextcloud", "state")].state == "missing"
    assert by[("nextcloud-redis", "state")].state == "missing"
    assert by[("engine", "up")].value == 1.0


# ── http ───────────────────────────────────────────────────────────────────────────────────


def _certificate(days: float) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t.home.lan")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("days", [5, 400, 365 * 40])  # UTCTime, and GeneralizedTime after 2049
def test_certificate_not_after(days: float) -> None:
    from cryptography import x509

    der = _certificate(days)
    expected = x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
    assert http.certificate_not_after(der) == expected


def test_certificate_not_after_on_garbage() -> None:
    assert http.certificate_not_after(b"") is None
    assert http.certificate_not_after(b"\x30\x82\xff\xff") is None
    assert http.certificate_not_after(_certificate(5)[:40]) is None


def test_http_samples() -> None:
    endpoint = Endpoint("sonarr", "media", "lan", "https://sonarr.home.lan/", "10.0.0.1", False)
    up = http.samples(endpoint, http.Probe(True, 302, 0.0123, 1000.0 + 5 * 86400), now=1000.0)
    by = {s.metric: s for s in up}
    assert (by["up"].value, by["status_code"].value, by["cert_days_left"].value) == (1.0, 302, 5.0)
    assert by["up"].labels == {"app": "sonarr", "stack": "media", "kind": "lan"}
    down = http.samples(endpoint, http.Probe(False, error="connection refused"), now=1000.0)
    assert [(s.metric, s.value, s.detail) for s in down] == [("up", 0.0, "connection refused")]


# ── backups ────────────────────────────────────────────────────────────────────────────────


def test_backups_read_what_records_writes(tmp_path: Path) -> None:
    from lares.backup.records import Records
    from lares.state import StateDir

    state = StateDir.open(tmp_path)
    records = Records(state)
    when = datetime(2026, 3, 1, 3, 20, tzinfo=UTC)
    records.app_done("local", "nextcloud", ok=True, when=when, error=None)
    records.app_done(
        "local", "nextcloud", ok=False, when=when + timedelta(days=1), error="disk full"
    )
    records.copy_done("usb", ok=True, when=when, error=None)
    records.drill_done(
        "local", "nextcloud", {"ok": False, "when": when.isoformat(), "error": "2 files differ"}
    )
    config = WatchConfig(
        host="h",
        state_dir=str(tmp_path),
        apps=(
            AppTarget("nextcloud", "p", ("nextcloud",), backup=True),
            AppTarget("sonarr", "m", ("sonarr",), backup=True),
        ),
        repositories=(RepoTarget("local", "daily"), RepoTarget("usb", "weekly", "local")),
        drill_schedule="monthly",
        drill_repository="local",
    )
    now = (when + timedelta(days=2)).timestamp()
    samples = backups.samples(
        config,
        state.read_json("backup/status.json"),
        state.read_json("backup/drills.json"),
        now=now,
    )
    by = {(s.subject, s.metric): s for s in samples}
    nextcloud = by[("nextcloud@local", "last_success")]
    assert (nextcloud.value, nextcloud.state, nextcloud.detail) == (
        when.timestamp(),
        "failed",
        "disk full",
    )
    assert by[("nextcloud@local", "age_seconds")].value == 2 * 86400
    assert by[("sonarr@local", "last_success")].state == "never"
    assert by[("copy:usb", "last_success")].value == when.timestamp()
    drill = by[("nextcloud@local", "drill_ok")]
    assert (drill.value, drill.state, drill.detail) == (0.0, "failed", "2 files differ")
    assert by[("sonarr@local", "drill_ok")].state == "never"
    ctx = Context(config, now=now)
    assert {(s.subject, s.metric) for s in backups.collect(ctx)} == set(by)


def test_backups_report_an_app_that_was_backed_up_while_its_stack_is_not_deployed(
    tmp_path: Path,
) -> None:
    from lares.backup.records import Records
    from lares.state import StateDir

    state = StateDir.open(tmp_path)
    when = datetime(2026, 3, 1, 3, 20, tzinfo=UTC)
    Records(state).app_done("local", "paperless", ok=False, when=when, error="wrong password")
    config = WatchConfig(
        host="h",
        state_dir=str(tmp_path),
        apps=(AppTarget("sonarr", "m", ("sonarr",), backup=True),),
        repositories=(RepoTarget("local", "daily"),),
        backed_up=("sonarr", "paperless", "immich"),
    )
    samples = backups.samples(config, state.read_json("backup/status.json"), {}, now=0.0)
    found = {s.subject: (s.state, s.detail) for s in samples if s.metric == "last_success"}
    # immich was never backed up and is not deployed: nothing is expected of it yet
    assert found == {"sonarr@local": ("never", ""), "paperless@local": ("failed", "wrong password")}


# ── metrics ────────────────────────────────────────────────────────────────────────────────


def test_metrics_use_exporter_names() -> None:
    samples = [
        Sample("host", "load", "load1", 0.5),
        Sample("host", "memory", "available_bytes", 1e9),
        Sample(
            "disks", "/tank", "avail_bytes", 5e9, labels={"device": "/dev/md0", "fstype": "btrfs"}
        ),
        Sample("disks", "/tank", "used_percent", 42.0, labels={"role": "pool"}),
        Sample("mdstat", "md0", "disks_active", 3.0),
        Sample("mdstat", "md0", "disks_failed", 1.0),
        Sample(
            "btrfs",
            "/tank:/dev/sda",
            "errors_corruption",
            2.0,
            labels={"device": "/dev/sda", "mount": "/tank"},
        ),
        Sample("smart", "/dev/sda", "temperature_celsius", 38.0),
        Sample("smart", "/dev/sda", "attr_5", 8.0, labels={"attribute": "Reallocated_Sector_Ct"}),
        Sample("http", "https://a/", "up", 1.0, labels={"app": "a", "kind": "lan"}),
        Sample("docker", "web", "restarts", 3.0, labels={"app": "web"}),
        Sample("docker", "web", "state", 1.0, "running", labels={"app": "web"}),
        Sample("docker", "collector", "up", 1.0, "ok"),
        Sample("docker", "gone", "state", None, "missing"),
    ]
    alert = Alert(
        "disk-usage:/tank", "disk-usage", "warning", "/tank", "full", "disks", state="firing"
    )
    text = metrics.render(samples, [alert])
    for line in (
        "node_load1 0.5",
        'node_filesystem_avail_bytes{device="/dev/md0",fstype="btrfs",mountpoint="/tank"} 5e+09',
        'node_md_disks{device="md0",state="active"} 3.0',
        'node_md_disks{device="md0",state="failed"} 1.0',
        'node_btrfs_device_errors_total{device="/dev/sda",mountpoint="/tank",'
        'type="corruption",uuid=""} 2.0',
        'smartctl_device_temperature{device="/dev/sda",temperature_type="current"} 38.0',
        'probe_success{app="a",instance="https://a/",kind="lan"} 1.0',
        'lares_collector_up{collector="docker"} 1.0',
    ):
        assert line in text, line
    assert (
        'smartctl_device_attribute{attribute_id="5",attribute_name="Reallocated_Sector_Ct"' in text
    )
    assert "lares_disks_used_percent{" in text
    assert "lares_docker_restarts_total{" in text
    alert_line = (
        'lares_alert{app="",key="disk-usage:/tank",muted="",rule="disk-usage",'
        'severity="warning",state="firing"} 1.0'
    )
    assert alert_line in text
    assert "gone" not in text  # no number, no series
