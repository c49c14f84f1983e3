"""Helpers of the dashboard tests: a small made-up state directory (a history database with
samples and alerts, a secret, the admin password) and a blueprint given as data; loading a
real one is tested in test_web_data."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # starlette's TestClient names its httpx successor on import; the client works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from lares.monitor.collectors import Sample
from lares.monitor.config import AppTarget, WatchConfig
from lares.monitor.store import Store
from lares.web.data import Blueprint

PASSWORD = "correct horse battery"
SECRET = "s3cr3t-value-that-must-never-show"


def blueprint(state: Path) -> Blueprint:
    apps = (
        ("nextcloud", "Nextcloud", "cloud", ["nextcloud", "nextcloud-db"]),
        ("immich", "Immich", "cloud", ["immich"]),
        ("jellyfin", "Jellyfin", "media", ["jellyfin"]),
        ("sonarr", "Sonarr", "media", ["sonarr"]),
    )
    return Blueprint(
        host="nas",
        apps=tuple(
            {
                "id": app,
                "name": name,
                "stack": stack,
                "icon": name[0],
                "lan_url": f"https://{app}.home.lan",
                "public_url": f"https://{app}.example.org" if app == "nextcloud" else None,
                "services": services,
                "limit": 512 * 2**20,
            }
            for app, name, stack, services in apps
        ),
        stacks=("cloud", "media"),
        config=WatchConfig(
            host="nas",
            state_dir=str(state),
            apps=tuple(AppTarget(a, s, tuple(sv)) for a, _, s, sv in apps),
        ),
        memory={
            "total": 32 * 2**30,
            "reserved_os": 2**30,
            "reserved_docker": 2**30,
            "containers_reserved": 8 * 2**30,
            "containers_limit": 16 * 2**30,
            "cache": 4 * 2**30,
            "apps": [],
        },
        public_urls=("https://nextcloud.example.org",),
        pools=(
            {
                "name": "tank",
                "engine": "btrfs",
                "level": "raid1",
                "filesystem": "btrfs",
                "mount": "/mnt/tank",
                "devices": ["/dev/sda", "/dev/sdb"],
                "usable": 4 * 10**12,
                "raw": 8 * 10**12,
                "tolerates": 1,
            },
        ),
        repositories=({"name": "local", "schedule": "daily"},),
        service_app={
            "nextcloud": "nextcloud",
            "nextcloud-db": "nextcloud",
            "immich": "immich",
            "jellyfin": "jellyfin",
            "sonarr": "sonarr",
        },
    )


def alert(key: str, **fields: Any) -> dict[str, Any]:
    rule, subject = key.split(":", 1)
    return {
        "key": key,
        "rule": rule,
        "subject": subject,
        "severity": "critical",
        "message": f"{subject}: {rule}",
        "source": "docker",
        "state": "firing",
        "since": time.time() - 60,
        **fields,
    }


def fill_store(state: Path, now: float) -> None:
    with Store.open(state / "monitor") as store:
        samples = []
        for service in ("nextcloud", "nextcloud-db", "immich", "jellyfin"):
            running = 0.0 if service == "nextcloud-db" else 1.0
            samples += [
                Sample("docker", service, "state", running),
                Sample("docker", service, "health", 0.0 if service == "immich" else 1.0),
                Sample("docker", service, "memory_bytes", 100 * 2**20),
                Sample("docker", service, "memory_limit_bytes", 256 * 2**20),
            ]
        samples += [
            Sample("host", "cpu", "percent", 12.5),
            Sample("host", "cpu", "count", 4),
            Sample("host", "load", "load1", 0.5),
            Sample("disks", "/mnt/tank", "size_bytes", 4e12),
            Sample("disks", "/mnt/tank", "used_bytes", 1e12),
            Sample("disks", "/mnt/tank", "used_percent", 25.0),
            Sample("disks", "/mnt/tank", "days_until_full", 120.0),
            Sample("smart", "/dev/sda", "temperature_celsius", 35.0),
        ]
        store.record(samples, now)
        store.save_alerts(
            {
                "container-down:nextcloud-db": alert(
                    "container-down:nextcloud-db",
                    app="nextcloud",
                    message=f"nextcloud-db is down (password {SECRET})",
                ),
                "endpoint-down:nextcloud": alert(
                    "endpoint-down:nextcloud",
                    app="nextcloud",
                    source="http",
                    suppressed_by="container-down:nextcloud-db",
                ),
                "container-unhealthy:immich": alert(
                    "container-unhealthy:immich", app="immich", severity="warning"
                ),
            },
            [(now - 30, "container-down:nextcloud-db", "firing", "critical", "db down", 1)],
        )


def login_csrf(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def log_in(client: TestClient, password: str = PASSWORD, **kw: Any) -> Any:
    return client.post(
        "/login",
        data={"username": "admin", "password": password, "csrf": login_csrf(client)},
        follow_redirects=False,
        **kw,
    )


def page_csrf(client: TestClient) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get("/").text)
    assert found
    return found.group(1)
