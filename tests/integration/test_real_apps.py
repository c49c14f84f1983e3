"""Catalog apps with their real software on the engine: Syncthing, Caddy, qBittorrent, Redis.

Upstream's images cannot be pulled here, but their software is packaged by Debian:
``scripts/build-test-images apps`` builds an image per app from those packages, with the
upstream image's command and environment. Each test renders the app with lares from the catalog
(tests/data/realapps), swaps only the image for the test image, starts the one container with
Compose and asserts it turns healthy with the catalog's healthcheck under the catalog's user,
read-only root and capabilities, and that it writes where it must.

qBittorrent shares Gluetun's network, which cannot run here: its container joins the stack's
network instead, and nothing else of it changes.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from integration.conftest import DockerCleanup
from lares.blueprint.load import load
from lares.catalog.resolve import Service
from lares.deploy.files import prepare_dirs, write_bundle
from lares.plan import plan
from lares.render import render_all
from lares.yamlio import dump_yaml, safe_load

DATA = Path(__file__).resolve().parents[1] / "data" / "realapps"
BUILD = Path(__file__).resolve().parents[2] / "scripts" / "build-test-images"
STACK = "lt-rs"
APPS = ("syncthing", "caddy", "redis", "qbittorrent")


@pytest.fixture(scope="module")
def app_images(docker_client: docker.DockerClient) -> dict[str, str]:
    proc = subprocess.run(
        [str(BUILD), "apps"], capture_output=True, text=True, timeout=1200, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"build-test-images apps failed:\n{proc.stderr}", pytrace=False)
    return {app: f"lares-test/{app}:1" for app in APPS}


def name(service: str) -> str:
    return f"{STACK}-{service}"


class Rendered:
    """The test blueprint rendered by lares and written out as `lares up` writes it."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LT_ROOT", str(root / "data"))
        loaded = load(DATA / "lares.yaml")
        self.system = plan(loaded).system
        bundle = render_all(self.system, source="lares.yaml")
        self.live = root / "live"
        write_bundle(bundle, self.live)
        prepare_dirs(bundle)
        self.compose = safe_load((self.live / STACK / "compose.yaml").read_text())

    def catalog(self, service: str) -> Service:
        return next(s for s in self.system.services if s.name == service)

    def only(self, service: str, image: str) -> tuple[Path, dict]:
        """A compose file with ``service`` alone, its image swapped for ``image``."""
        spec = dict(self.compose["services"][service])
        spec["image"] = image
        # a test name, so it never meets a container of this machine or of another test
        spec["container_name"] = name(service)
        if str(spec.get("network_mode", "")).startswith("service:"):
            del spec["network_mode"]
            spec["networks"] = {"lt-rs-apps": {}}
        spec.pop("depends_on", None)
        if "healthcheck" in spec:
            # the catalog's check, run every 2 s rather than every 30: Docker runs the first one
            # only after an interval, and its command is what this test is about
            spec["healthcheck"] = {**spec["healthcheck"], "interval": "2s"}
        doc: dict = {"name": f"{STACK}-{service}", "services": {service: spec}}
        nets = list(spec.get("networks") or {})
        if nets:
            doc["networks"] = {n: {"name": n, "external": True} for n in nets}
        wanted = {s["source"] for s in spec.get("secrets") or []}
        if wanted:
            doc["secrets"] = {k: v for k, v in self.compose["secrets"].items() if k in wanted}
        path = self.live / STACK / f"only-{service}.yaml"
        path.write_text(dump_yaml(doc))
        return path, spec


@pytest.fixture
def rendered(
    tmp_path: Path, docker_cleanup: DockerCleanup, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rendered]:
    r = Rendered(tmp_path, monkeypatch)
    for name, net in r.system.blueprint.network.docker.items():
        argv = ["docker", "network", "create", "--subnet", str(net.subnet), name]
        subprocess.run(["docker", "network", "rm", name], capture_output=True, check=False)
        subprocess.run(
            argv + (["--internal"] if net.internal else []), check=True, capture_output=True
        )
        docker_cleanup.track(name)
    yield r
    # app data written by other uids: let pytest remove it
    subprocess.run(["chmod", "-R", "u+rwX", str(tmp_path)], check=False)


def start(rendered: Rendered, service: str, image: str, cleanup: DockerCleanup) -> dict:
    """Start the service alone and wait for its healthcheck; return `docker inspect`."""
    file, _ = rendered.only(service, image)
    cleanup.project(f"{STACK}-{service}")
    cleanup.track(name(service))
    up = subprocess.run(
        ["docker", "compose", "-f", str(file), "up", "-d", "--wait", "--wait-timeout", "150"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    logs = subprocess.run(
        ["docker", "logs", "--tail", "30", name(service)], capture_output=True, text=True
    )
    assert up.returncode == 0, f"{up.stderr}\n--- logs\n{logs.stdout}{logs.stderr}"
    out = subprocess.run(
        ["docker", "inspect", name(service)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)[0]


def assert_catalog_settings(info: dict, rendered: Rendered, service: str) -> None:
    """The running container has the catalog's user, root, capabilities and healthcheck."""
    s = rendered.catalog(service)
    host = info["HostConfig"]
    assert info["State"]["Health"]["Status"] == "healthy"
    assert info["Config"]["User"] == (s.user or "")
    assert host["ReadonlyRootfs"] is s.spec.read_only
    assert host["CapDrop"] == ["ALL"]
    assert sorted(c.removeprefix("CAP_") for c in host["CapAdd"] or []) == sorted(s.spec.cap_add)
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert s.healthcheck is not None
    assert info["Config"]["Healthcheck"]["Test"] == list(s.healthcheck.test)


def dexec(service: str, *cmd: str) -> subprocess.CompletedProcess[str]:
    argv = ["docker", "exec", name(service), *cmd]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_syncthing(
    rendered: Rendered, app_images: dict[str, str], docker_cleanup: DockerCleanup
) -> None:
    info = start(rendered, "syncthing", app_images["syncthing"], docker_cleanup)
    assert_catalog_settings(info, rendered, "syncthing")
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    # its config and keys land in the app folder, owned by the user it runs as
    config = Path(rendered.system.blueprint.paths.appdata) / "syncthing" / "config" / "config.xml"
    assert config.is_file()
    assert config.stat().st_uid == 1000


def test_caddy(
    rendered: Rendered, app_images: dict[str, str], docker_cleanup: DockerCleanup
) -> None:
    info = start(rendered, "caddy", app_images["caddy"], docker_cleanup)
    assert_catalog_settings(info, rendered, "caddy")
    # the rendered Caddyfile is what it runs: the admin API shows the LAN names it serves
    config = dexec("caddy", "wget", "-qO-", "http://127.0.0.1:2019/config/")
    assert config.returncode == 0, config.stderr
    hosts = set(re.findall(r'"host":\["([^"]+)"\]', config.stdout))
    assert hosts == {"sync.lt.test", "torrent.lt.test", "cloud.lt.test"}
    # it keeps its autosaved config and its internal CA under /config and /data
    appdata = Path(rendered.system.blueprint.paths.appdata) / "caddy"
    assert (appdata / "config" / "caddy" / "autosave.json").is_file()
    assert dexec("caddy", "touch", "/etc/caddy/x").returncode != 0  # read-only mount
    assert dexec("caddy", "touch", "/usr/x").returncode != 0  # read-only root


def test_nextcloud_redis(
    rendered: Rendered, app_images: dict[str, str], docker_cleanup: DockerCleanup
) -> None:
    info = start(rendered, "nextcloud-redis", app_images["redis"], docker_cleanup)
    assert_catalog_settings(info, rendered, "nextcloud-redis")
    # the password from the secret file is required, and with it a write works
    denied = dexec("nextcloud-redis", "redis-cli", "set", "k", "v")
    assert "NOAUTH" in denied.stdout + denied.stderr
    password = dexec(
        "nextcloud-redis", "cat", "/run/secrets/nextcloud_redis_password"
    ).stdout.strip()
    assert len(password) >= 16
    ok = dexec(
        "nextcloud-redis",
        "sh",
        "-c",
        'REDISCLI_AUTH="$(cat /run/secrets/nextcloud_redis_password)" redis-cli set k v',
    )
    assert ok.stdout.strip() == "OK", ok.stderr


def test_qbittorrent(
    rendered: Rendered, app_images: dict[str, str], docker_cleanup: DockerCleanup
) -> None:
    info = start(rendered, "qbittorrent", app_images["qbittorrent"], docker_cleanup)
    assert_catalog_settings(info, rendered, "qbittorrent")
    # the init owned /config for PUID:PGID with the catalog's capabilities, and dropped to them
    conf = Path(rendered.system.blueprint.paths.appdata) / "qbittorrent" / "config"
    written = conf / "qBittorrent" / "config" / "qBittorrent.conf"
    assert written.is_file()
    assert (written.stat().st_uid, written.stat().st_gid) == (1000, 1000)
    ps = dexec("qbittorrent", "sh", "-c", "cat /proc/1/status | grep -E '^Uid:'")
    assert ps.stdout.split()[1:3] == ["1000", "1000"]
