"""The Swarm renderer: stack files `docker stack deploy` takes (checked by the Docker CLI's own
loader), with placement, overlays, resources, update and rollback config, and without the keys
Swarm rejects or ignores."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, Lares
from lares.blueprint.load import load_file, load_reference
from lares.catalog.resolve import System
from lares.plan import make_context
from lares.render import render_all
from lares.render.bundle import Bundle
from lares.render.swarm import DIR, DROPPED
from lares.yamlio import safe_load

SWARM_DATA = DATA / "swarm" / "lares.yaml"


@cache
def _system(which: str) -> System:
    loaded = load_reference() if which == "reference" else load_file(SWARM_DATA, env={})
    return make_context(loaded).system


@cache
def _bundle(which: str) -> Bundle:
    return render_all(_system(which), target="swarm")


def _stacks(which: str) -> dict[str, dict[str, Any]]:
    return {
        path.removeprefix(f"{DIR}/").removesuffix(".yaml"): safe_load(f.content)
        for path, f in _bundle(which).files.items()
        if path.count("/") == 1 and path.endswith(".yaml")
    }


def _services(which: str) -> dict[str, dict[str, Any]]:
    return {name: svc for doc in _stacks(which).values() for name, svc in doc["services"].items()}


@pytest.mark.parametrize("which", ["reference", "swarm"])
def test_docker_stack_config_loads_every_file(which: str, tmp_path: Path) -> None:
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    from lares.deploy.files import write_bundle

    write_bundle(_bundle(which), tmp_path)
    for stack in _stacks(which):
        proc = subprocess.run(
            ["docker", "stack", "config", "-c", f"{stack}.yaml"],
            cwd=tmp_path / DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "unsupported" not in proc.stderr.lower(), proc.stderr
        loaded = safe_load(proc.stdout)["services"]
        rendered = _stacks(which)[stack]["services"]
        assert set(loaded) == set(rendered)
        for name, service in rendered.items():
            # nothing lares writes is lost on the way in (env_file is read into environment,
            # read_only: false is the default, not written back)
            kept = {k for k, v in service.items() if v is not False} - {"env_file"}
            assert kept <= set(loaded[name]), name
            tmpfs = [v for v in service.get("volumes", []) if isinstance(v, dict)]
            assert tmpfs == [v for v in loaded[name].get("volumes", []) if v["type"] == "tmpfs"]
            assert service["deploy"]["placement"] == loaded[name]["deploy"]["placement"]


def test_one_file_per_stack_in_deploy_order() -> None:
    files = _bundle("swarm").files
    assert sorted(files) == ["swarm/NOTES.txt", "swarm/lt-sw-data.yaml", "swarm/lt-sw-front.yaml"]
    assert "deploy the stacks in this order" in files["swarm/NOTES.txt"].content.lower()
    assert "lt-sw-data, lt-sw-front." in files["swarm/NOTES.txt"].content


def test_placement_by_host_by_label_and_by_default() -> None:
    services = _services("swarm")
    constraints = {n: s["deploy"]["placement"]["constraints"] for n, s in services.items()}
    assert constraints == {
        "sw-db": ["node.hostname == lt-node2"],
        "sw-web": ["node.hostname == lt-node1"],
        "sw-other": ["node.labels.zone == front"],
    }
    # without hosts:, everything runs on host:
    reference = {
        s["deploy"]["placement"]["constraints"][0] for s in _services("reference").values()
    }
    assert reference == {"node.hostname == nas"}


def test_networks_are_overlays_internal_for_databases_encrypted_across_hosts() -> None:
    data, front = _stacks("swarm")["lt-sw-data"], _stacks("swarm")["lt-sw-front"]
    assert data["networks"] == {
        "lt-sw-database": {
            "name": "lt-sw-database",
            "driver": "overlay",
            "internal": True,
            "ipam": {"config": [{"subnet": "10.199.21.0/24"}]},
            # sw-db on lt-node2 and sw-web on lt-node1 talk over it
            "driver_opts": {"encrypted": "true"},
        }
    }
    assert "encrypted: lt-sw-database" in _bundle("swarm").files["swarm/lt-sw-data.yaml"].content
    # declared by the first stack that uses it, found by the next
    assert front["networks"]["lt-sw-database"] == {"name": "lt-sw-database", "external": True}
    # every container on lt-sw-front runs on lt-node1: no encryption
    assert front["networks"]["lt-sw-front"] == {
        "name": "lt-sw-front",
        "driver": "overlay",
        "ipam": {"config": [{"subnet": "10.199.22.0/24"}]},
    }
    services = _services("swarm")
    assert set(services["sw-other"]["networks"]) == {"lt-sw-front"}
    assert set(services["sw-web"]["networks"]) == {"lt-sw-front", "lt-sw-database"}
    # on one machine nothing is encrypted
    for doc in _stacks("reference").values():
        for net in doc.get("networks", {}).values():
            assert "driver_opts" not in net


def test_no_key_swarm_rejects_or_ignores() -> None:
    for which in ("reference", "swarm"):
        for name, svc in _services(which).items():
            assert not set(DROPPED) & set(svc), name
            for volume in svc.get("volumes", []):
                assert isinstance(volume, str) or volume["type"] == "tmpfs", name


def test_resources_restart_update_and_rollback() -> None:
    services = _services("swarm")
    db = services["sw-db"]["deploy"]
    assert db["resources"] == {
        "limits": {"memory": "256m", "pids": 128},
        "reservations": {"memory": "64m"},
    }
    assert db["restart_policy"] == {"condition": "any", "delay": "5s"}
    assert db["update_config"] == {
        "parallelism": 1,
        "order": "stop-first",
        "failure_action": "rollback",
        "monitor": "1m5s",  # the healthcheck's start period and retries
    }
    assert db["rollback_config"]["order"] == "stop-first"
    assert services["sw-web"]["healthcheck"]["test"][:2] == ["CMD", "wget"]
    ref = _services("reference")
    # a database, an app on its data folder, a host port: never two at once
    assert ref["nextcloud-db"]["deploy"]["update_config"]["order"] == "stop-first"
    assert ref["sonarr"]["deploy"]["update_config"]["order"] == "stop-first"
    assert ref["newt"]["deploy"]["update_config"]["order"] == "stop-first"
    # a cache with nothing on disk can start its successor first
    assert ref["immich-redis"]["deploy"]["update_config"]["order"] == "start-first"


def test_hardening_kept_and_tmpfs_in_long_syntax() -> None:
    svc = _services("reference")["sonarr"]
    assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"] and svc["user"] == "1000:1000"
    assert "init" not in svc  # s6-overlay is its own PID 1
    # docker stack deploy's tmpfs has a size and nothing else (its loader drops a mode)
    assert {"type": "tmpfs", "target": "/run"} in svc["volumes"]
    assert "tmpfs" not in svc and "security_opt" not in svc
    # shm_size never reaches a Swarm service: a tmpfs on /dev/shm of that size does
    db = _services("reference")["immich-db"]
    assert "shm_size" not in db
    assert {"type": "tmpfs", "target": "/dev/shm", "tmpfs": {"size": 128 * 1024**2}} in db[
        "volumes"
    ]
    db = _services("swarm")["sw-db"]
    assert {"type": "tmpfs", "target": "/tmp"} in db["volumes"]
    assert db["init"] is True
    notes = _bundle("reference").files["swarm/NOTES.txt"].content
    assert "media/sonarr: tmpfs /run options uid=1000,gid=1000,exec" in notes
    assert '"no-new-privileges": true' in notes


def test_ports_are_published_on_the_node_that_runs_the_app() -> None:
    assert _services("swarm")["sw-web"]["ports"] == [
        {"target": 8080, "published": 18080, "protocol": "tcp", "mode": "host"}
    ]


def test_host_network_and_the_vpn_sidecar() -> None:
    ref = _services("reference")
    assert ref["pihole"]["networks"] == {"host": {}}
    assert _stacks("reference")["infrastructure"]["networks"]["host"] == {
        "name": "host",
        "external": True,
    }
    # Swarm has no network_mode service:, so qbittorrent is on the stack's own network
    assert ref["qbittorrent"]["networks"] == {"default": {}}
    notes = _bundle("reference").files["swarm/NOTES.txt"].content
    assert "media/qbittorrent: network_mode service:qbittorrent-gluetun" in notes
    assert "media/emby: devices /dev/dri:/dev/dri" in notes


def test_secrets_are_the_compose_files_never_values() -> None:
    bundle = _bundle("swarm")
    doc = _stacks("swarm")["lt-sw-data"]
    assert doc["secrets"] == {"sw-db.sw-db_password": {"file": "../secrets/sw-db/sw-db_password"}}
    assert doc["services"]["sw-db"]["secrets"] == [
        {
            "source": "sw-db.sw-db_password",
            "target": "sw-db_password",
            "uid": "100",
            "gid": "100",
            "mode": 0o400,
        }
    ]
    home = render_all(_system("swarm"))
    assert bundle.copies == home.copies and dict(bundle.secrets) == dict(home.secrets)


def test_rendered_app_files_become_configs() -> None:
    doc = _stacks("reference")["infrastructure"]
    caddy = doc["services"]["caddy"]
    assert {
        "source": "caddy.Caddyfile",
        "target": "/etc/caddy/Caddyfile",
        "uid": "1000",
        "gid": "1000",
        "mode": 0o444,
    } in caddy["configs"]
    assert doc["configs"]["caddy.Caddyfile"] == {"file": "./infrastructure/caddy/Caddyfile"}
    files = _bundle("reference").files
    home = render_all(_system("reference")).files
    assert (
        files["swarm/infrastructure/caddy/Caddyfile"].content
        == home["infrastructure/caddy/Caddyfile"].content
    )
    assert not any(v.startswith("./") for v in caddy["volumes"] if isinstance(v, str))


def test_render_for_swarm_stops_on_what_swarm_breaks(lares: Lares, tmp_path: Path) -> None:
    out = tmp_path / "out"
    refused = lares("render", "-t", "swarm", "-o", str(out))
    assert refused.returncode == 1
    assert (
        "error [swarm] Swarm ignores qbittorrent's network_mode" in refused.stdout + refused.stderr
    )
    assert not out.exists()
    forced = lares("render", "-t", "swarm", "-o", str(out), "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    assert "swarm/media.yaml" in forced.json["files"]
    lab = lares("render", "-f", str(SWARM_DATA), "-t", "swarm", "-o", str(tmp_path / "lab"))
    assert lab.returncode == 0, lab.stdout + lab.stderr
    assert (tmp_path / "lab" / "swarm" / "lt-sw-data.yaml").is_file()
    assert (tmp_path / "lab" / "secrets" / "sw-db" / "sw-db_password").stat().st_size > 0
