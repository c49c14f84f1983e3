"""The import's pure parts: image names, credentials, ports, and services onto apps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lares.catalog.load import load_catalog
from lares.importer import credentials, service
from lares.importer.load import Project, Source
from lares.importer.mapping import Index, Paths, map_project

INDEX = Index(load_catalog(()))
PATHS = Paths("/srv/apps", "/mnt/pool")


def _project(services: dict[str, Any], raw: dict[str, Any] | None = None) -> Project:
    source = Source((Path("/srv/apps/home/compose.yaml"),), Path("/srv/apps/home"))
    return Project(source, "home", {"services": services}, {"services": raw or services})


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("docker.io/library/postgres:15", ("postgres", "15")),
        ("arm64v8/nextcloud:25.0.1-apache", ("nextcloud", "25.0.1-apache")),
        ("linuxserver/sonarr:4.0.16", ("lscr.io/linuxserver/sonarr", "4.0.16")),
        ("ghcr.io/linuxserver/radarr", ("lscr.io/linuxserver/radarr", "")),
        ("ghcr.io/dani-garcia/vaultwarden:latest", ("vaultwarden/server", "latest")),
        ("registry:5000/team/app:1@sha256:ab", ("registry:5000/team/app", "1@sha256:ab")),
    ],
)
def test_image_names_are_the_catalogs(ref: str, expected: tuple[str, str]) -> None:
    assert service.split_image(ref) == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("POSTGRES_PASSWORD", "paperless", True),
        ("CROWDSEC_BOUNCER_API_KEY", "some-api-key", True),
        ("ADMIN_TOKEN", "x9", True),
        ("POSTGRES_PASSWORD_FILE", "/run/secrets/db", False),
        ("OAUTHLIB_RELAX_TOKEN_SCOPE", "1", False),
        ("DB_USER", "app", False),
        ("SIGNUPS_ALLOWED", "false", False),
    ],
)
def test_credentials_are_known_by_the_variables_name(name: str, value: str, expected: bool) -> None:
    assert credentials.is_credential(name, value) is expected


def test_a_weak_default_is_a_finding_only_when_it_was_used() -> None:
    raw = {"POSTGRES_PASSWORD": "${DB_PASS:-changeme}", "LOG": "${LOG_LEVEL:-info}"}
    [weak] = credentials.weak_defaults(raw, {"POSTGRES_PASSWORD": "changeme", "LOG": "info"})
    assert weak.variable == "POSTGRES_PASSWORD" and weak.source == "DB_PASS"
    assert credentials.weak_defaults(raw, {"POSTGRES_PASSWORD": "from-env", "LOG": "x"}) == []


def test_short_and_long_ports_read_alike() -> None:
    long = {"ports": [{"target": 80, "published": "8080", "host_ip": "127.0.0.1"}]}
    short = {"ports": ["127.0.0.1:8080:80", "53:53/udp", "9000"]}
    assert service.ports(long) == [service.Published(80, 8080, "tcp", "127.0.0.1")]
    assert service.ports(short) == [
        service.Published(80, 8080, "tcp", "127.0.0.1"),
        service.Published(53, 53, "udp", ""),
        service.Published(9000, None, "tcp", ""),
    ]


def test_a_database_beside_a_catalog_app_becomes_its_container() -> None:
    project = _project(
        {
            "nc": {"image": "nextcloud:31.0.5-apache", "depends_on": {"pg": {}}},
            "pg": {"image": "postgres:16", "environment": {"POSTGRES_PASSWORD": "Same-Value-1"}},
        }
    )
    [app] = map_project(project, INDEX, "home", PATHS, set())
    assert (app.id, app.catalog) == ("nextcloud", True)
    assert app.services == {"nextcloud": "nc", "db": "pg"}
    assert app.secrets == {"db_password": "Same-Value-1"}
    assert "Same-Value-1" not in repr(app.settings)


def test_a_custom_service_declares_what_it_really_uses_for_review() -> None:
    project = _project(
        {
            "agent": {
                "image": "example/agent:2.1",
                "cap_add": ["NET_ADMIN"],
                "volumes": [
                    {"type": "bind", "source": "/var/run/docker.sock", "target": "/sock"},
                    {"type": "bind", "source": "/srv/apps/agent", "target": "/data"},
                ],
                "ports": [{"target": 8080, "published": "80"}],
            }
        }
    )
    [app] = map_project(project, INDEX, "home", PATHS, set())
    assert app.custom is not None
    c = app.custom["containers"]["agent"]
    assert c["docker_socket"] == "rw" and c["volumes"] == ["/srv/apps/agent:/data"]
    assert c["cap_add"] == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "NET_ADMIN", "SETGID", "SETUID"]
    assert c["ports"] == [{"container": 8080, "host": 80}]
    assert set(c["exceptions"]) == {
        "root", "writable_root", "capabilities", "docker_socket", "no_healthcheck"
    }  # fmt: skip
    assert all(r.startswith("imported: review") for r in c["exceptions"].values())


def test_an_untagged_custom_image_is_kept_floating_and_pinned_by_digest() -> None:
    """It runs what the person runs (latest), declared; the engine's digest goes to the lock."""
    project = _project({"tool": {"image": "example/tool"}, "web": {"image": "nginx:stable"}})
    apps = map_project(project, INDEX, "home", PATHS, set())
    assert [a.review for a in apps] == [None, None]
    tool = next(a for a in apps if a.id == "tool")
    assert tool.custom is not None
    c = tool.custom["containers"]["tool"]
    assert c["version"] == "latest"
    assert c["exceptions"]["floating_tag"].startswith("imported: review: the original runs")
    assert tool.digests == {}
    assert "the one `lares up` pulls first" in tool.changes[("tool", "image")]
    web = next(a for a in apps if a.id == "web")
    assert web.custom is not None and web.custom["containers"]["web"]["version"] == "stable"
    digest = "sha256:" + "ab" * 32
    [pinned, _] = map_project(project, INDEX, "home", PATHS, set(), {"example/tool": digest})
    assert pinned.custom is not None
    assert pinned.custom["containers"]["tool"]["version"] == "latest"
    assert pinned.digests == {"example/tool:latest": digest}
    assert "the copy the engine runs" in pinned.changes[("tool", "image")]


def test_a_second_copy_of_a_catalog_app_becomes_a_custom_app() -> None:
    project = _project({"vw": {"image": "vaultwarden/server:1.34.0"}})
    used = {"vaultwarden"}
    [app] = map_project(project, INDEX, "home", PATHS, used)
    assert (app.id, app.catalog) == ("vw", False)


def test_a_service_built_from_a_dockerfile_is_for_review() -> None:
    [app] = map_project(_project({"site": {"build": {"context": "."}}}), INDEX, "s", PATHS, set())
    assert app.review is not None and "built from a Dockerfile" in app.review


def test_a_catalog_apps_volume_and_ports_are_kept_as_overrides() -> None:
    """Its data folder mapped elsewhere stays where it is, in place of the catalog's; another
    published port is kept; the web port is the proxy's."""
    project = _project(
        {
            "vw": {
                "image": "vaultwarden/server:1.36.0",
                "volumes": [{"type": "bind", "source": "/mnt/pool/vault", "target": "/data"}],
                "ports": [
                    {"target": 8080, "published": "8443", "protocol": "tcp"},
                    {"target": 3012, "published": "3012", "protocol": "tcp"},
                ],
            }
        }
    )
    [app] = map_project(project, INDEX, "home", PATHS, set())
    assert app.catalog and app.id == "vaultwarden"
    assert app.settings["volumes"] == ["/mnt/pool/vault:/data"]
    assert app.settings["ports"] == [{"container": 3012}]
    assert "stays mounted at /data" in app.changes[("vw", "volumes")]
    assert "8443/tcp is not published: the proxy serves it" in app.changes[("vw", "ports")]
