"""The Compose renderer: hardened services, shared networks as external, secrets as file references
(never values), `$` kept literal, one file per stack that has apps."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import BlueprintKit
from lares.catalog.resolve import System
from lares.errors import UsageError
from lares.render import compose as compose_renderer
from lares.render import render_all, renderers
from lares.render.bundle import Bundle, File
from lares.yamlio import load_yaml

VPN_NETWORK = """
lan: 192.168.50.0/24
host_address: 192.168.50.2
statics: {server: 192.168.50.2}
docker:
  apps: {subnet: 172.30.0.0/16}
  db: {subnet: 172.31.0.0/16, internal: true, purpose: database}
  vpn: {subnet: 172.29.0.0/16, purpose: vpn}
"""


def _system(kit: BlueprintKit, stacks: str, **sections: str) -> System:
    result = kit.plan(kit.text(stacks=stacks, **sections))
    assert result.errors == [], [f.render() for f in result.errors]
    return result.system


def _compose(bundle: Bundle, stack: str) -> dict[str, Any]:
    data = load_yaml(bundle.files[f"{stack}/compose.yaml"].content, filename="compose.yaml")
    return _plain(data)


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def test_hardened_service_block(kit: BlueprintKit) -> None:
    system = _system(kit, "\nmain:\n  network: apps\n  apps: [tweb]\n")
    bundle = compose_renderer.render(system, "test.yaml")
    doc = _compose(bundle, "main")
    assert doc == {
        "name": "main",
        "services": {
            "tweb": {
                "image": "lares-test/busybox:1",
                "container_name": "tweb",
                "restart": "unless-stopped",
                "init": True,
                "user": "1000:1000",
                "command": ["httpd", "-f", "-p", "8080"],
                "read_only": True,
                "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges:true"],
                "mem_reservation": "64m",
                "mem_limit": "128m",
                "pids_limit": 256,
                "volumes": ["/srv/appdata/tweb/www:/www"],
                "networks": {"apps": {}},
                "healthcheck": {
                    "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:8080/"],
                    "interval": "30s",
                    "timeout": "10s",
                    "retries": 3,
                    "start_period": "30s",
                },
                "labels": {
                    "io.lares.stack": "main",
                    "io.lares.app": "tweb",
                    "io.lares.container": "tweb",
                    "com.centurylinklabs.watchtower.enable": "false",
                },
            }
        },
        "networks": {"apps": {"name": "apps", "external": True}},
    }
    text = bundle.files["main/compose.yaml"].content
    assert text.startswith("# Rendered by lares from test.yaml.")


def test_secrets_are_file_references_with_a_copy_per_reader(kit: BlueprintKit) -> None:
    system = _system(kit, "\nmain:\n  network: apps\n  apps: [tdb]\n")
    bundle = compose_renderer.render(system, "test.yaml")
    doc = _compose(bundle, "main")
    app, db = doc["services"]["tdb"], doc["services"]["tdb-db"]
    assert app["environment"] == {
        "DB_HOST": "tdb-db",
        "DB_PASSWORD_FILE": "/run/secrets/tdb_db_password",
    }
    assert app["secrets"] == [{"source": "tdb.tdb_db_password", "target": "tdb_db_password"}]
    assert db["secrets"] == [{"source": "tdb-db.tdb_db_password", "target": "tdb_db_password"}]
    assert doc["secrets"] == {
        "tdb-db.tdb_db_password": {"file": "../secrets/tdb-db/tdb_db_password"},
        "tdb.tdb_db_password": {"file": "../secrets/tdb/tdb_db_password"},
    }
    assert set(bundle.secrets) == {"tdb_db_password"}
    assert bundle.secrets["tdb_db_password"].length == 24
    # each container reads its own copy, owned by the uid it runs as
    assert {(c.path, c.uid) for c in bundle.copies} == {
        ("secrets/tdb/tdb_db_password", 1000),
        ("secrets/tdb-db/tdb_db_password", 999),
    }
    assert db["networks"] == {"db": {}}
    assert app["networks"] == {"apps": {}, "db": {}}
    assert app["depends_on"] == {"tdb-db": {"condition": "service_healthy"}}
    assert doc["networks"] == {
        "apps": {"name": "apps", "external": True},
        "db": {"name": "db", "external": True},
    }


def test_plain_environment_secret_goes_to_an_env_file(kit: BlueprintKit) -> None:
    system = _system(kit, "\nmain:\n  network: apps\n  apps: [tdeclared]\n")
    bundle = compose_renderer.render(system, "test.yaml")
    service = _compose(bundle, "main")["services"]["tdeclared"]
    assert service["env_file"] == ["../secrets/tdeclared.env"]
    assert "environment" not in service
    [env] = bundle.env_files
    assert env.path == "secrets/tdeclared.env"
    assert set(env.variables) == {"API_KEY"}
    assert "tdeclared_api_key" in env.variables["API_KEY"]
    # the declared departures are rendered as asked, the rest stays hardened
    assert service["privileged"] is True
    assert service["read_only"] is False
    assert service["cap_drop"] == ["ALL"]
    assert service["cap_add"] == ["NET_ADMIN"]
    assert service["devices"] == ["/dev/net/tun"]
    assert service["ports"] == ["0.0.0.0:19001:9001/tcp"]
    assert service["volumes"] == ["/var/run/docker.sock:/var/run/docker.sock:ro"]
    assert "healthcheck" not in service


def test_dollar_is_kept_literal(kit: BlueprintKit) -> None:
    system = _system(
        kit,
        """
        main:
          network: apps
          apps:
            tweb:
              env: {PRICE: "costs $5", REF: "$${HOME}"}
              command: [sh, -c, "echo $$HOME"]
            tvpn: {}
        """,
        network=VPN_NETWORK,
    )
    bundle = compose_renderer.render(system, "test.yaml")
    text = bundle.files["main/compose.yaml"].content
    services = _compose(bundle, "main")["services"]
    # the blueprint's own `$${` became `${`; Compose must not expand either
    assert services["tweb"]["environment"] == {"PRICE": "costs $$5", "REF": "$${HOME}"}
    assert services["tweb"]["command"] == ["sh", "-c", "echo $$$$HOME"]
    assert services["tvpn"]["healthcheck"]["test"][1] == "test -e /tmp/up && echo $$HOSTNAME"
    assert services["tvpn-client"]["command"][2] == "echo $$HOME && sleep 1d"
    assert "$HOME" not in text.replace("$$HOME", "")


def test_container_sharing_another_ones_network(kit: BlueprintKit) -> None:
    system = _system(kit, "\nmain:\n  network: apps\n  apps: [tvpn]\n", network=VPN_NETWORK)
    services = _compose(compose_renderer.render(system, "test.yaml"), "main")["services"]
    client = services["tvpn-client"]
    assert client["network_mode"] == "service:tvpn"
    assert "networks" not in client and "ports" not in client
    assert client["depends_on"] == {"tvpn": {"condition": "service_started"}}
    assert services["tvpn"]["networks"] == {"vpn": {}}
    assert services["tvpn"]["ports"] == ["192.168.50.2:18080:8080/tcp"]


def test_stack_without_a_network_uses_its_own_default(kit: BlueprintKit) -> None:
    system = _system(kit, "\nmain:\n  apps: [tnoweb]\n")
    doc = _compose(compose_renderer.render(system, "test.yaml"), "main")
    assert doc["services"]["tnoweb"]["networks"] == {"default": {}}
    assert "networks" not in doc


def test_one_file_per_stack_with_apps(kit: BlueprintKit) -> None:
    system = _system(
        kit,
        """
        main:
          network: apps
          apps: [tweb]
        other:
          apps: [tnoweb]
        idle:
          apps:
            tbig: {enabled: false}
        """,
    )
    bundle = compose_renderer.render(system, "test.yaml")
    assert sorted(bundle.files) == ["main/compose.yaml", "networks.yaml", "other/compose.yaml"]
    assert all(f.mode == 0o644 for f in bundle.files.values())


def test_networks_are_declared_once(kit: BlueprintKit) -> None:
    system = _system(kit, "\nmain:\n  network: apps\n  apps: [tweb]\n")
    bundle = compose_renderer.render(system, "test.yaml")
    text = bundle.files["networks.yaml"].content
    assert text.startswith("# Rendered by lares from test.yaml.")
    assert _plain(load_yaml(text, filename="networks.yaml")) == {
        "networks": {
            "apps": {"subnet": "172.30.0.0/16", "internal": False, "purpose": "apps"},
            "db": {"subnet": "172.31.0.0/16", "internal": True, "purpose": "database"},
        }
    }


def test_overrides_reach_the_compose_file(kit: BlueprintKit) -> None:
    system = _system(
        kit,
        """
        main:
          network: apps
          apps:
            tweb:
              version: "1.36"
              memory: {reservation: 100MiB, limit: 1GiB}
              pids: 64
              cpus: 1.5
              env: {EXTRA: "yes"}
              volumes: ["/srv/pool/media:/media:ro"]
        """,
    )
    service = _compose(compose_renderer.render(system, "test.yaml"), "main")["services"]["tweb"]
    assert service["image"] == "lares-test/busybox:1.36"
    assert (service["mem_reservation"], service["mem_limit"]) == ("100m", "1g")
    assert (service["pids_limit"], service["cpus"]) == (64, 1.5)
    assert service["environment"] == {"EXTRA": "yes"}
    assert service["volumes"] == ["/srv/appdata/tweb/www:/www", "/srv/pool/media:/media:ro"]


def test_folders_a_non_root_container_writes_are_created_for_it(kit: BlueprintKit) -> None:
    system = _system(
        kit,
        """
        main:
          network: apps
          apps:
            tweb: {}
            tdb: {}
            tdeclared: {volumes: ["/srv/appdata/tdeclared/data:/data"]}
        """,
    )
    bundle = compose_renderer.render(system, "test.yaml")
    assert {(d.path, d.uid, d.gid) for d in bundle.dirs} == {
        ("/srv/appdata/tweb/www", 1000, 1000),
        ("/srv/appdata/tdb/db", 999, 999),
    }


def test_render_all_merges_the_renderers_of_a_target(kit: BlueprintKit) -> None:
    system = _system(kit, "\nmain:\n  network: apps\n  apps: [tweb]\n")
    assert "compose" in renderers()
    bundle = render_all(system, source="test.yaml")
    assert {"main/compose.yaml", "networks.yaml"} <= set(bundle.files)
    assert (
        bundle.files["main/compose.yaml"]
        == compose_renderer.render(system, "test.yaml").files["main/compose.yaml"]
    )
    with pytest.raises(UsageError) as caught:
        render_all(system, target="cloud")
    assert caught.value.message == "unknown render target 'cloud'"
    assert caught.value.hint == "use one of: home, host, edge, kubernetes, swarm"


def test_rendering_is_deterministic(kit: BlueprintKit) -> None:
    text = kit.text(stacks="\nmain:\n  network: apps\n  apps: [tweb, tdb]\n")
    first = render_all(kit.plan(text).system, source="test.yaml")
    second = render_all(kit.plan(text).system, source="test.yaml")
    assert first.files == second.files
    assert first.digest() == second.digest()


def test_bundle_merge_and_digest() -> None:
    a = Bundle({"a.yaml": File("a.yaml", "one")})
    b = Bundle({"b.yaml": File("b.yaml", "two")})
    merged = a.merge(b)
    assert sorted(merged.files) == ["a.yaml", "b.yaml"]
    assert merged.digest(["a.yaml"]) == a.digest()
    changed = Bundle({"a.yaml": File("a.yaml", "uno")})
    assert changed.digest() != a.digest()
    assert merged.under("b") == {}
    with pytest.raises(ValueError, match=r"two renderers produced \['a.yaml'\]"):
        merged.merge(a)
