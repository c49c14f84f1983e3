"""The access renderers on the access tests' blueprint: Caddyfile, DNS records, Pangolin, host."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from lares.blueprint.load import load, load_text
from lares.catalog.resolve import System
from lares.catalog.web import public_urls, source_subnets
from lares.errors import ConfigError, ConfigErrors
from lares.plan import make_context, plan
from lares.render import render_all
from lares.render.dns import custom_list, leases, merge_toml, pihole_toml, records
from lares.render.host import host_rules, sshd_dropin
from lares.render.proxy import caddyfile, root_certificate_path, sites
from lares.render.tunnel import DOCUMENTED, blueprint_doc, removed
from lares.yamlio import safe_load

DATA = Path(__file__).resolve().parents[1] / "data" / "access"
BLUEPRINT = DATA / "blueprint.yaml"


def system_of(text: str | None = None) -> System:
    loaded = (
        load(BLUEPRINT)
        if text is None
        else load_text(text, filename="access.yaml", base_dir=DATA, env={})
    )
    return make_context(loaded).system


@pytest.fixture(scope="module")
def system() -> System:
    return system_of()


def test_caddy_serves_lan_and_public_apps_and_nothing_else(system: System) -> None:
    hosts = {s.hostname: s.upstream for s in sites(system)}
    assert hosts == {
        "pihole.home.lan": "192.168.50.2:8081",
        "ahost.home.lan": "192.168.50.2:8099",
        "aweb.home.lan": "aweb:8080",
        "apub.home.lan": "apub:8081",
    }
    text = caddyfile(system)
    assert "ahidden" not in text
    assert text.count("tls internal") == 4
    for header in ("Strict-Transport-Security", "nosniff", "SAMEORIGIN", "Referrer-Policy"):
        assert header in text
    assert "-Server" in text


def test_caddyfile_options_move_ports_and_upstreams(system: System) -> None:
    text = caddyfile(
        system, upstreams={"aweb": "127.0.0.1:9000"}, http_port=8080, https_port=8443, admin="off"
    )
    assert "reverse_proxy 127.0.0.1:9000" in text
    assert "\thttps_port 8443\n" in text and "\thttp_port 8080\n" in text
    assert "\tadmin off\n" in text


def test_caddyfile_lands_in_the_stack_folder_that_mounts_it(system: System) -> None:
    bundle = render_all(system)
    assert "infrastructure/caddy/Caddyfile" in bundle.files
    compose = safe_load(bundle.files["infrastructure/compose.yaml"].content)
    assert "./caddy:/etc/caddy:ro" in compose["services"]["caddy"]["volumes"]


def test_root_certificate_is_found_through_caddys_data_volume(system: System) -> None:
    assert root_certificate_path(system) == (
        "/srv/appdata/caddy/data/caddy/pki/authorities/local/root.crt"
    )


def test_dns_points_app_names_at_the_server_and_statics_at_themselves(system: System) -> None:
    lines = [r.hosts_line() for r in records(system)]
    assert lines == [
        "192.168.50.2 pihole.home.lan",
        "192.168.50.2 ahost.home.lan",
        "192.168.50.2 aweb.home.lan",
        "192.168.50.2 apub.home.lan",
        "192.168.50.2 server.home.lan server",
        "192.168.50.30 printer.home.lan printer",
        # the app owns aweb.home.lan; the device keeps its short name
        "192.168.50.31 aweb",
    ]
    assert [lease.dhcp_host() for lease in leases(system)] == [
        "aa:bb:cc:00:11:22,192.168.50.30,printer"
    ]


def test_pihole_files_are_valid_and_agree(system: System) -> None:
    doc = tomllib.loads(pihole_toml(system))
    assert doc["dns"]["hosts"][0] == "192.168.50.2 pihole.home.lan"
    assert doc["dhcp"]["hosts"] == ["aa:bb:cc:00:11:22,192.168.50.30,printer"]
    listed = [line for line in custom_list(system).splitlines() if not line.startswith("#")]
    assert "192.168.50.2 apub.home.lan" in listed
    assert "192.168.50.30 printer" in listed
    assert len(listed) == sum(len(r.names) for r in records(system))
    bundle = render_all(system)
    assert {"infrastructure/pihole/pihole.toml", "infrastructure/pihole/custom.list"} <= set(
        bundle.files
    )


PIHOLE_TOML = """\
[dns]
upstreams = [
  "1.1.1.1"
] ### CHANGED, default = []
hosts = [
  "10.0.0.9 old.home.lan",
  "10.0.0.8 [odd] name"
] ### CHANGED, default = []
domainNeeded = true

[dns.cache]
size = 10000

[webserver]
port = "8081"
"""


def test_merge_toml_replaces_only_the_hosts(system: System) -> None:
    merged = tomllib.loads(merge_toml(PIHOLE_TOML, system))
    assert merged["dns"]["upstreams"] == ["1.1.1.1"]
    assert merged["dns"]["domainNeeded"] is True
    assert merged["dns"]["cache"]["size"] == 10000
    assert merged["webserver"]["port"] == "8081"
    assert merged["dns"]["hosts"] == [r.hosts_line() for r in records(system)]
    assert merged["dhcp"]["hosts"] == ["aa:bb:cc:00:11:22,192.168.50.30,printer"]
    again = merge_toml(merge_toml(PIHOLE_TOML, system), system)
    assert again == merge_toml(PIHOLE_TOML, system)


def test_merge_toml_refuses_a_damaged_file(system: System) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        merge_toml("[dns\nhosts = [", system)


def test_pangolin_blueprint_lists_exactly_the_public_apps(system: System) -> None:
    doc = blueprint_doc(system)
    assert set(doc) <= DOCUMENTED["top"]
    resources = doc["public-resources"]
    assert list(resources) == ["apub"]
    res = resources["apub"]
    assert set(res) <= DOCUMENTED["resource"]
    assert set(res["auth"]) <= DOCUMENTED["auth"]
    assert res["full-domain"] == "apub.example.org"
    assert res["auth"]["sso-enabled"] is True
    assert res["targets"] == [{"site": "home", "hostname": "apub", "port": 8081, "method": "http"}]
    assert all(set(t) <= DOCUMENTED["target"] for t in res["targets"])
    assert public_urls(system) == ["https://apub.example.org"]
    rendered = safe_load(render_all(system).files["infrastructure/newt/blueprint.yaml"].content)
    assert rendered == doc


def test_a_dropped_resource_needs_removal(system: System) -> None:
    applied = {
        "public-resources": {
            "apub": {"full-domain": "apub.example.org"},
            "oldapp": {"full-domain": "old.example.org"},
        }
    }
    assert removed(system, applied) == {"oldapp": "old.example.org"}
    assert removed(system, None) == {}


def test_statics_take_a_mac_in_their_long_form(system: System) -> None:
    net = system.blueprint.network
    assert str(net.statics["printer"]) == "192.168.50.30"
    assert net.macs == {"printer": "aa:bb:cc:00:11:22"}
    bad = BLUEPRINT.read_text().replace('mac: "AA:BB:CC:00:11:22"', "mac: nope")
    with pytest.raises(ConfigErrors) as info:
        system_of(bad)
    assert "statics.printer.mac 'nope' is not a MAC address" in info.value.render()


def test_host_rules_keep_ssh_and_http_on_the_lan(system: System) -> None:
    rules = {(r.port, r.proto, r.source) for r in host_rules(system)}
    lan = "192.168.50.0/24"
    assert {(22, "tcp", lan), (80, "tcp", lan), (443, "tcp", lan)} <= rules
    assert {(53, "tcp", lan), (53, "udp", lan), (67, "udp", None)} <= rules
    assert not any(port == 22 and source != lan for port, _, source in rules)
    # the host-network apps are opened to the Caddy container's networks only
    assert (8099, "tcp", "172.30.0.0/16") in rules
    assert not any(port == 8099 and source in (lan, None) for port, _, source in rules)


def test_sshd_dropin_has_the_reference_settings() -> None:
    settings = dict(
        line.split(None, 1) for line in sshd_dropin("x").splitlines() if not line.startswith("#")
    )
    assert settings["PermitRootLogin"] == "prohibit-password"
    assert settings["PasswordAuthentication"] == "no"
    assert settings["PubkeyAuthentication"] == "yes"
    assert settings["MaxAuthTries"] == "3"
    assert settings["ClientAliveInterval"] == "300"


def test_host_bundle_has_every_piece(system: System) -> None:
    bundle = render_all(system, target="host")
    assert set(bundle.files) >= {
        "firewall/ufw.sh",
        "firewall/rules.v4",
        "ssh/sshd_config.d/10-lares.conf",
        "docker/daemon.json",
        "systemd/lares-watch.service",
    }
    daemon = json.loads(bundle.files["docker/daemon.json"].content)
    assert daemon["live-restore"] is True
    assert daemon["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert bundle.files["firewall/ufw.sh"].mode == 0o755


def test_edge_needs_a_tunnel() -> None:
    text = BLUEPRINT.read_text().split("access:")[0].replace("apub: {exposure: public}", "apub: {}")
    with pytest.raises(ConfigError, match=r"needs access\.tunnel"):
        render_all(system_of(text), target="edge")


def test_edge_bundle_keeps_secrets_out_of_its_files(system: System) -> None:
    bundle = render_all(system, target="edge")
    assert set(bundle.secrets) == {"edge_server_secret", "edge_crowdsec_bouncer_key"}
    compose = safe_load(bundle.files["compose.yaml"].content)
    assert compose["services"]["pangolin"]["env_file"] == ["secrets/pangolin.env"]
    assert "secret" not in safe_load(bundle.files["config/config.yml"].content)["server"]
    dynamic = safe_load(bundle.files["config/traefik/dynamic_config.yml"].content)
    bouncer = dynamic["http"]["middlewares"]["crowdsec"]["plugin"]["crowdsec"]
    assert bouncer["crowdsecLapiKeyFile"] == "/run/secrets/crowdsec_bouncer_key"
    assert "crowdsecLapiKey" not in bouncer
    assert all(
        ":" in s["image"] and not s["image"].endswith(":latest")
        for s in compose["services"].values()
    )
    acquis = safe_load(bundle.files["config/crowdsec/acquis.d/traefik.yaml"].content)
    assert acquis == {"filenames": ["/var/log/traefik/access.log"], "labels": {"type": "traefik"}}
    static = safe_load(bundle.files["config/traefik/traefik_config.yml"].content)
    assert static["accessLog"]["filePath"] == "/var/log/traefik/access.log"
    assert static["entryPoints"]["websecure"]["http"]["middlewares"] == ["crowdsec@file"]


def test_plan_reports_the_public_set_and_public_apps_without_sso() -> None:
    findings = plan(load(BLUEPRINT), only=["public"]).findings
    assert [(f.severity, f.message) for f in findings] == [
        ("info", "1 app is public through the tunnel: https://apub.example.org")
    ]
    no_sso = BLUEPRINT.read_text().replace("site: home", "site: home\n    sso: false")
    loaded = load_text(no_sso, filename="access.yaml", base_dir=DATA, env={})
    warnings = [f for f in plan(loaded, only=["public"]).findings if f.severity == "warning"]
    assert [f.message for f in warnings] == [
        "apub is public at https://apub.example.org without Pangolin's single sign-on"
    ]
    line = no_sso.splitlines().index("      apub: {exposure: public}") + 1
    assert warnings[0].location is not None and warnings[0].location.line == line


def test_plan_warns_when_newt_cannot_reach_a_public_app() -> None:
    text = BLUEPRINT.read_text().replace("    network: apps\n", "")
    loaded = load_text(text, filename="access.yaml", base_dir=DATA, env={})
    messages = [f.message for f in plan(loaded, only=["public"]).findings]
    assert (
        "apub is public, but Newt shares no network with it, so Pangolin cannot reach it"
        in messages
    )


def test_a_public_dashboard_is_a_pangolin_resource_behind_sso() -> None:
    text = BLUEPRINT.read_text() + "dashboard: {exposure: public, listen: 0.0.0.0:8765}\n"
    system = system_of(text)
    resources = blueprint_doc(system)["public-resources"]
    assert list(resources) == ["apub", "lares-dashboard"]
    res = resources["lares-dashboard"]
    assert res["full-domain"] == "home.example.org"
    assert res["auth"] == {"sso-enabled": True}
    assert res["targets"] == [
        {"site": "home", "hostname": "192.168.50.2", "port": 8765, "method": "http"}
    ]
    assert set(res) <= DOCUMENTED["resource"]
    assert "https://home.example.org" in public_urls(system)
    loaded = load_text(text, filename="access.yaml", base_dir=DATA, env={})
    messages = [f.message for f in plan(loaded, only=["public"]).findings]
    assert messages == [
        "2 apps are public through the tunnel: https://apub.example.org, https://home.example.org"
    ]
    # the firewall lets Newt's containers reach it as it lets Caddy's
    newt = source_subnets(system, "newt")
    allowed = {r.source for r in host_rules(system) if r.port == 8765}
    assert newt and set(newt) <= allowed
    lan = system_of(BLUEPRINT.read_text() + "dashboard: {exposure: lan}\n")
    assert list(blueprint_doc(lan)["public-resources"]) == ["apub"]
    assert not [r for r in host_rules(lan) if "Newt" in r.comment]
