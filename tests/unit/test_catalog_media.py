"""The media, sync and update apps render the settings their upstream images require.

Each expectation comes from the image source recorded in the app's ``verified:`` list: the
LinuxServer.io images that support ``--user`` and ``--read-only`` run that way with ``/run`` a tmpfs
owned by the user; the ones that do not keep root with the capabilities their init uses;
Syncthing is on the host network; Watchtower, which the reference leaves to lares's own
updates, reports only on the containers that opt in and updates none unless told to.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from lares.blueprint.load import load_text, reference_text
from lares.catalog.load import load_catalog
from lares.plan import plan
from lares.render import render_all
from lares.render.compose import WATCHTOWER_ENABLE
from lares.render.host import host_rules
from lares.yamlio import load_yaml

# the host user is 1001:1002 here, so a uid and a gid that swapped places would show
PUID, PGID = 1001, 1002
HOST = "10.243.0.1"
NON_ROOT_READ_ONLY = ["sonarr", "radarr", "lidarr", "prowlarr", "bazarr", "qbittorrent"]
ROOT_WITH_INIT = ["kavita", "emby"]


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def with_watchtower(app: str = "watchtower: {}") -> str:
    text = reference_text()
    assert "watchtower" not in text  # the reference updates with `updates:`
    return text.replace("      uptime-kuma: {}", f"      {app}\n      uptime-kuma: {{}}")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    """Every rendered Compose service of the reference homelab with Watchtower added, with the
    host user 1001:1002."""
    text = with_watchtower()
    text, n_uid = re.subn(r"(?m)^(\s+)puid: 1000\b", rf"\g<1>puid: {PUID}", text)
    text, n_gid = re.subn(r"(?m)^(\s+)pgid: 1000\b", rf"\g<1>pgid: {PGID}", text)
    assert (n_uid, n_gid) == (1, 1)
    result = plan(load_text(text, filename="lares.yaml", base_dir=None, env={}))
    assert result.errors == [], [f.render() for f in result.errors]
    out: dict[str, dict[str, Any]] = {}
    for name, file in render_all(result.system).files.items():
        if name.endswith("/compose.yaml"):
            out.update(_plain(load_yaml(file.content, filename=name))["services"])
    return out


@pytest.mark.parametrize("app", NON_ROOT_READ_ONLY)
def test_linuxserver_app_runs_as_the_host_user_on_a_read_only_root(
    services: dict[str, dict[str, Any]], app: str
) -> None:
    svc = services[app]
    assert svc["user"] == f"{PUID}:{PGID}"
    assert svc["read_only"] is True
    # s6 cannot become root under no-new-privileges: /run must already be the user's, and exec
    assert f"/run:uid={PUID},gid={PGID},exec" in svc["tmpfs"]
    assert svc["security_opt"] == ["no-new-privileges:true"]
    assert svc["cap_drop"] == ["ALL"]
    assert "cap_add" not in svc
    # PUID and PGID have no effect with --user: they are not rendered as if they did
    assert not {"PUID", "PGID"} & set(svc["environment"])
    assert svc["labels"][WATCHTOWER_ENABLE] == "true"


@pytest.mark.parametrize("app", NON_ROOT_READ_ONLY)
def test_linuxserver_app_declares_no_exception(app: str) -> None:
    container = load_catalog().apps[app].containers[app]
    # s6-overlay is PID 1 itself: the only departure left is that Docker's init stays out
    assert set(container.exceptions) == {"own_init"}
    assert container.verified, f"{app} records no upstream source"


@pytest.mark.parametrize("app", ROOT_WITH_INIT)
def test_linuxserver_app_without_non_root_support_keeps_its_init_capabilities(
    services: dict[str, dict[str, Any]], app: str
) -> None:
    svc = services[app]
    assert "user" not in svc
    assert svc["read_only"] is False
    # KILL: the root supervisor signals the app that runs as abc, or docker stop ends in SIGKILL
    assert svc["cap_add"] == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"]
    assert svc["environment"]["PUID"] == str(PUID)
    assert svc["environment"]["PGID"] == str(PGID)
    exceptions = load_catalog().apps[app].containers[app].exceptions
    assert {"root", "writable_root", "capabilities"} <= set(exceptions)
    assert "KILL" in exceptions["capabilities"]


@pytest.mark.parametrize(
    ("app", "url"),
    [
        ("sonarr", "http://127.0.0.1:8989/ping"),
        ("radarr", "http://127.0.0.1:7878/ping"),
        ("lidarr", "http://127.0.0.1:8686/ping"),
        ("prowlarr", "http://127.0.0.1:9696/ping"),
        # /ping is Bazarr's UI catch-all, behind its Basic auth; the API's ping is not
        ("bazarr", "http://127.0.0.1:6767/api/system/ping"),
        ("qbittorrent", "http://127.0.0.1:8080/"),
        ("kavita", "http://127.0.0.1:5000/api/health"),
        ("emby", "http://127.0.0.1:8096/emby/System/Ping"),
    ],
)
def test_healthcheck_asks_the_endpoint_that_answers_without_login(
    services: dict[str, dict[str, Any]], app: str, url: str
) -> None:
    test = services[app]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert f"curl -fsS -o /dev/null {url} " in test[1]


def test_bazarr_is_proxied_and_monitored_on_its_api_ping() -> None:
    web = load_catalog().apps["bazarr"].web
    assert web is not None
    assert web.health_path == "/api/system/ping"


def test_qbittorrent_shares_gluetuns_network_and_keeps_its_ports(
    services: dict[str, dict[str, Any]],
) -> None:
    svc = services["qbittorrent"]
    assert svc["network_mode"] == "service:qbittorrent-gluetun"
    assert svc["environment"]["WEBUI_PORT"] == "8080"
    assert svc["environment"]["TORRENTING_PORT"] == "6881"
    assert "/tmp" in svc["tmpfs"]


def test_syncthing_is_on_the_host_network_with_the_gui_on_the_host_address(
    services: dict[str, dict[str, Any]],
) -> None:
    svc = services["syncthing"]
    assert svc["network_mode"] == "host"
    assert "networks" not in svc
    assert "ports" not in svc  # nothing to publish on the host network
    assert svc["user"] == f"{PUID}:{PGID}"
    assert svc["read_only"] is True
    # the image's default is 0.0.0.0:8384: every interface of the host
    assert svc["environment"]["STGUIADDRESS"] == f"{HOST}:8384"
    assert f"http://{HOST}:8384/rest/noauth/health" in svc["healthcheck"]["test"][1]
    container = load_catalog().apps["syncthing"].containers["syncthing"]
    assert set(container.exceptions) == {"host_network", "all_interfaces"}
    listens = {(p.container, p.protocol, p.bind) for p in container.ports}
    assert listens == {
        (22000, "tcp", "all"),
        (22000, "udp", "all"),
        (21027, "udp", "all"),
        (8384, "tcp", "lan"),
    }


def test_caddy_reaches_syncthing_on_the_host_address() -> None:
    text = reference_text()
    result = plan(load_text(text, filename="lares.yaml", base_dir=None, env={}))
    caddyfile = render_all(result.system).files["infrastructure/caddy/Caddyfile"].content
    site = caddyfile.split("sync.homelab.local {", 1)[1].split("}", 1)[0]
    assert f"reverse_proxy {HOST}:8384" in site


def test_firewall_opens_syncthing_to_the_lan_and_its_gui_to_caddy_only() -> None:
    system = plan(load_text(reference_text(), filename="lares.yaml", base_dir=None, env={})).system
    rules = {(r.port, r.proto, r.source) for r in host_rules(system)}
    lan = "10.243.0.0/24"
    assert {(22000, "tcp", lan), (22000, "udp", lan), (21027, "udp", lan)} <= rules
    gui = {source for port, proto, source in rules if (port, proto) == (8384, "tcp")}
    assert gui, "the GUI is not opened to the Caddy container"
    assert lan not in gui and None not in gui
    # Pi-hole's DNS and DHCP keep the one rule each they had, from where they come
    assert [(p, s) for p, proto, s in rules if proto == "udp" and p == 67] == [(67, None)]


def test_watchtower_reports_only_on_opted_in_containers_and_is_healthy_at_once(
    services: dict[str, dict[str, Any]],
) -> None:
    svc = services["watchtower"]
    env = svc["environment"]
    assert svc["labels"][WATCHTOWER_ENABLE] == "false"  # it does not replace itself
    assert env["WATCHTOWER_LABEL_ENABLE"] == "true"
    assert env["WATCHTOWER_MONITOR_ONLY"] == "true"  # notify-only: lares's updates update
    hc = svc["healthcheck"]
    assert hc["test"] == ["CMD", "/watchtower", "--health-check"]
    # Compose waits for the first passing check: it comes after one interval
    assert hc["interval"] == "10s"
    opted_in = {name for name, s in services.items() if s["labels"][WATCHTOWER_ENABLE] == "true"}
    assert opted_in == {*NON_ROOT_READ_ONLY, *ROOT_WITH_INIT}
    # "false" keeps Watchtower away even if the person turns label-enable off
    assert services["pihole"]["labels"][WATCHTOWER_ENABLE] == "false"
    assert all(s["labels"][WATCHTOWER_ENABLE] in ("true", "false") for s in services.values())


def test_updating_is_an_override_in_the_blueprint() -> None:
    text = with_watchtower('watchtower: {env: {WATCHTOWER_MONITOR_ONLY: "false"}}')
    result = plan(load_text(text, filename="lares.yaml", base_dir=None, env={}))
    assert result.errors == [], [f.render() for f in result.errors]
    compose = render_all(result.system).files["infrastructure/compose.yaml"].content
    env = _plain(load_yaml(compose, filename="compose.yaml"))["services"]["watchtower"]
    assert env["environment"]["WATCHTOWER_MONITOR_ONLY"] == "false"


@pytest.mark.parametrize("app", [*NON_ROOT_READ_ONLY, *ROOT_WITH_INIT, "syncthing", "watchtower"])
def test_pinned_to_a_release_with_its_sources_recorded(app: str) -> None:
    container = load_catalog().apps[app].containers[app]
    assert re.fullmatch(r"v?\d+\.\d+\.\d+", container.version), container.version
    assert container.verified, f"{app} records no upstream source"
    for entry in container.verified:
        assert "@" in entry.source or entry.source.startswith("https://"), entry.source
