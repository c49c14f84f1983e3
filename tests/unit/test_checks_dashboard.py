"""The dashboard section: the plan check, its Caddy site at home.<domain>, its systemd unit and
the firewall rule that lets the Caddy container reach it."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BlueprintKit
from lares.blueprint.load import load_text
from lares.catalog.resolve import System
from lares.errors import LaresError
from lares.plan import make_context, plan
from lares.render.dns import records
from lares.render.host import host_rules
from lares.render.host import render as render_host
from lares.render.proxy import caddyfile, dashboard_site

ID = "dashboard"
ACCESS = Path(__file__).resolve().parents[1] / "data" / "access"


def access_text(dashboard: str | None, *, sso: bool = True) -> str:
    """The access tests' blueprint (Caddy and the tunnel) with ``dashboard`` appended."""
    text = (ACCESS / "blueprint.yaml").read_text(encoding="utf-8")
    if not sso:
        text = text.replace("    site: home\n", "    site: home\n    sso: false\n")
    return text + (f"dashboard: {dashboard}\n" if dashboard is not None else "")


def system_of(text: str) -> System:
    return make_context(load_text(text, filename="access.yaml", base_dir=ACCESS, env={})).system


def findings(text: str) -> list[tuple[str, str, str | None]]:
    loaded = load_text(text, filename="access.yaml", base_dir=ACCESS, env={})
    found = plan(loaded, only=[ID]).findings
    return [(f.severity, f.message, f.hint) for f in found if f.id == ID]


def test_no_section_no_site_no_unit_no_finding() -> None:
    text = access_text(None)
    system = system_of(text)
    assert dashboard_site(system) is None
    assert "lares serve" not in caddyfile(system)
    assert "systemd/lares-serve.service" not in render_host(system).files
    assert all("home.home.lan" not in r.names for r in records(system))
    assert findings(text) == []


def test_lan_dashboard_is_served_at_home_on_the_servers_address() -> None:
    text = access_text("{}")
    assert findings(text) == []
    system = system_of(text)
    site = dashboard_site(system)
    assert site is not None
    assert (site.hostname, site.upstream, site.exposure) == (
        "home.home.lan",
        "192.168.50.2:8765",
        "lan",
    )
    caddy = caddyfile(system)
    assert (
        "# the dashboard (lares serve), exposure lan\nhome.home.lan {\n\ttls internal\n"
        "\timport lares_headers\n\treverse_proxy 192.168.50.2:8765\n}\n"
    ) in caddy
    unit = render_host(system).files["systemd/lares-serve.service"].content
    assert "ExecStart=/usr/bin/env lares serve --listen 192.168.50.2:8765\n" in unit
    assert "Environment=LARES_STATE_DIR=/var/lib/lares\n" in unit
    assert "WantedBy=multi-user.target" in unit
    assert [(r.address, r.names) for r in records(system) if "home.home.lan" in r.names] == [
        ("192.168.50.2", ("home.home.lan",))
    ]
    rules = [r for r in host_rules(system) if r.port == 8765]
    assert rules, "the Caddy container's networks may reach the dashboard's port"
    assert all(r.source != "192.168.50.0/24" for r in rules), "the LAN goes through Caddy"


def test_every_address_is_reached_at_the_servers_address() -> None:
    system = system_of(access_text('{listen: "0.0.0.0:9000"}'))
    site = dashboard_site(system)
    assert site is not None and site.upstream == "192.168.50.2:9000"
    unit = render_host(system).files["systemd/lares-serve.service"].content
    assert "lares serve --listen 0.0.0.0:9000\n" in unit


def test_public_needs_the_tunnels_single_sign_on() -> None:
    assert findings(access_text("{exposure: public}")) == []
    assert findings(access_text("{exposure: public}", sso=False)) == [
        (
            "error",
            "the dashboard cannot be public: the tunnel's SSO is off, so anyone could reach "
            "its login page",
            "use exposure: lan, or add access.tunnel with sso: true",
        )
    ]


def test_public_without_a_tunnel(kit: BlueprintKit) -> None:
    text = kit.text(dashboard="{exposure: public}")
    found = kit.findings(text, ID)
    assert [(f.severity, f.message) for f in found] == [
        (
            "error",
            "the dashboard cannot be public: no tunnel is configured, so anyone could reach "
            "its login page",
        ),
        ("info", "no Caddy app runs, so the dashboard is only at http://192.168.50.2:8765"),
    ]
    assert kit.at(found[0]) == kit.pos(text, "exposure: public")


def test_loopback_is_out_of_the_caddy_containers_reach() -> None:
    assert findings(access_text('{listen: "127.0.0.1:8765"}')) == [
        (
            "warning",
            "the dashboard listens on 127.0.0.1:8765, which the Caddy container cannot reach, "
            "so https://home.home.lan will answer 502",
            "listen on the server's address (192.168.50.2:8765), or leave listen out",
        )
    ]


def test_an_app_at_home_collides_with_the_dashboard() -> None:
    text = access_text("{}").replace("      aweb: {}\n", "      aweb: {subdomain: home}\n")
    assert findings(text) == [
        (
            "error",
            "aweb is served at home.home.lan, where the dashboard is",
            "give aweb another subdomain",
        )
    ]


def test_listen_must_be_an_address_and_port(kit: BlueprintKit) -> None:
    with pytest.raises(LaresError) as err:
        kit.load(kit.text(dashboard='{listen: "localhost"}'))
    assert "dashboard.listen" in str(err.value)
