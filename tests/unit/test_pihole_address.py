"""Pi-hole at the LAN's DNS address: the host takes network.dns_address beside its own, DHCP
hands that address out, the records agree, and FTL knows the name its UI is served at."""

from __future__ import annotations

from collections.abc import Sequence

from conftest import solo_blueprint_text
from lares.blueprint.load import load_reference, load_text
from lares.host.doctor import Output, Probe, doctor
from lares.plan import plan
from lares.render import render_all
from lares.render.dns import dnsmasq_conf, records
from lares.render.host import dns_address, dns_address_scripts
from lares.render.host import render as render_host


def test_the_reference_gives_pihole_the_dns_address_beside_the_servers() -> None:
    system = plan(load_reference()).system
    net = system.blueprint.network
    assert (str(net.host_address), str(net.dns_address)) == ("10.243.0.1", "10.243.0.2")
    assert dns_address(system) == "10.243.0.2"
    start, stop = dns_address_scripts(system, "10.243.0.2")
    assert start == (
        "set -- $(ip -4 -o address show to 10.243.0.1/32); test $# -ge 2 || "
        "{ echo no interface holds 10.243.0.1 >&2; exit 1; }; "
        "ip address replace 10.243.0.2/32 dev $2"
    )
    unit = render_host(system).files["systemd/lares-dns-address.service"].content
    # systemd expands $VAR itself: every $ of the script is doubled in the unit
    assert "ExecStart=/bin/sh -ec '" + start.replace("$", "$$") + "'\n" in unit
    assert "ExecStop=/bin/sh -c '" + stop.replace("$", "$$") + "'\n" in unit
    assert "Before=docker.service\n" in unit


def test_dhcp_hands_out_the_dns_servers_of_the_blueprint() -> None:
    system = plan(load_reference()).system
    lines = [line for line in dnsmasq_conf(system).splitlines() if not line.startswith("#")]
    assert lines == [
        "dhcp-leasefile=/etc/pihole/dhcp.leases",
        "dhcp-range=10.243.0.100,10.243.0.200,255.255.255.0,24h",
        "dhcp-option=option:router,10.243.0.254",
        "dhcp-option=option:dns-server,10.243.0.2,1.1.1.1",
    ]
    assert "infrastructure/pihole/dnsmasq.conf" in render_all(system).files


def test_records_send_the_ui_to_caddy_and_the_short_name_to_pihole() -> None:
    system = plan(load_reference()).system
    by_name = {name: r.address for r in records(system) for name in r.names}
    assert by_name["pihole.homelab.local"] == "10.243.0.1"  # the UI, through Caddy
    assert by_name["pihole"] == "10.243.0.2"  # the DNS server itself


def test_ftl_serves_its_ui_at_the_name_caddy_forwards() -> None:
    system = plan(load_reference()).system
    [pihole] = [s for s in system.services if s.name == "pihole"]
    assert pihole.environment["FTLCONF_webserver_domain"] == "pihole.homelab.local"
    lines = pihole.environment["FTLCONF_misc_dnsmasq_lines"].split(";")
    assert lines == ["addn-hosts=/etc/lares/custom.list", "conf-file=/etc/lares/dnsmasq.conf"]


def test_no_extra_address_when_pihole_has_the_servers() -> None:
    text = solo_blueprint_text("pihole", network="media").replace(
        "dns_address: 10.243.0.2", "dns_address: 10.243.0.1"
    )
    system = plan(load_text(text, filename="solo.yaml", env={})).system
    assert dns_address(system) is None
    assert "systemd/lares-dns-address.service" not in render_host(system).files


def test_without_dhcp_pihole_serves_none() -> None:
    text = solo_blueprint_text("pihole", network="media").replace(
        "  dhcp: {start: 10.243.0.100, end: 10.243.0.200}\n", ""
    )
    system = plan(load_text(text, filename="solo.yaml", env={})).system
    assert system.blueprint.network.dhcp is None
    conf = dnsmasq_conf(system)
    assert [line for line in conf.splitlines() if not line.startswith("#")] == []


class Addresses(Probe):
    """Answers `ip -4 -o address show to ADDR/32` with a recorded output."""

    def __init__(self, output: Output) -> None:
        self.output = output

    def run(self, argv: Sequence[str], timeout: float = 10) -> Output:
        assert list(argv) == ["ip", "-4", "-o", "address", "show", "to", "10.243.0.2/32"]
        return self.output


IP_OUTPUT = (
    "2: enp2s0    inet 10.243.0.2/32 scope global enp2s0\\       valid_lft forever "
    "preferred_lft forever\n"
)


def test_doctor_sees_the_dns_address_on_an_interface() -> None:
    system = plan(load_reference()).system
    [finding] = doctor(system, probe=Addresses(Output(0, IP_OUTPUT)), only=["dnsaddress"])
    assert (finding.status, finding.message) == (
        "ok",
        "10.243.0.2 (network.dns_address) is on enp2s0",
    )


def test_doctor_says_how_to_add_a_missing_dns_address() -> None:
    system = plan(load_reference()).system
    [finding] = doctor(system, probe=Addresses(Output(0, "")), only=["dnsaddress"])
    assert finding.status == "warning"
    assert finding.message == (
        "this machine does not hold 10.243.0.2 (network.dns_address): clients asking it for "
        "DNS get no answer"
    )
    assert finding.hint == (
        "install lares-dns-address.service from `lares render -t host` (systemd/) and enable "
        "it: systemctl enable --now lares-dns-address.service"
    )
    [unknown] = doctor(system, probe=Addresses(Output(127, "", "")), only=["dnsaddress"])
    assert unknown.status == "unknown"
