"""The ipplan check: fixed addresses inside the LAN, outside the DHCP range, and unique."""

from __future__ import annotations

from conftest import BlueprintKit

ID = "ipplan"


def _network(body: str) -> str:
    return body + "docker:\n  apps: {subnet: 172.30.0.0/16}\n"


def test_reference_style_plan_passes(kit: BlueprintKit) -> None:
    text = kit.text(
        network=_network(
            """
lan: 10.243.0.0/24
gateway: 10.243.0.254
host_address: 10.243.0.1
dns_address: 10.243.0.2
statics: {nas: 10.243.0.1, pihole: 10.243.0.2, workstation: 10.243.0.10}
static_range: {start: 10.243.0.10, end: 10.243.0.50}
dhcp: {start: 10.243.0.100, end: 10.243.0.200}
"""
        )
    )
    assert kit.findings(text, ID) == []


def test_address_outside_the_lan(kit: BlueprintKit) -> None:
    text = kit.text(
        network=_network(
            """
lan: 192.168.50.0/24
host_address: 192.168.50.2
dns_address: 192.168.51.2
statics: {server: 192.168.50.2}
"""
        )
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert (
        finding.message
        == "dns_address 192.168.51.2 is not a usable address in the LAN 192.168.50.0/24"
    )
    assert finding.hint == "use an address from 192.168.50.1 to 192.168.50.254"
    assert kit.at(finding) == kit.pos(text, "dns_address: 192.168.51.2")


def test_network_and_broadcast_addresses_are_not_usable(kit: BlueprintKit) -> None:
    text = kit.text(
        network=_network(
            """
lan: 192.168.50.0/24
host_address: 192.168.50.2
statics: {server: 192.168.50.2, zero: 192.168.50.0, bcast: 192.168.50.255}
"""
        )
    )
    found = kit.findings(text, ID)
    assert [f.message for f in found] == [
        "statics.zero 192.168.50.0 is not a usable address in the LAN 192.168.50.0/24",
        "statics.bcast 192.168.50.255 is not a usable address in the LAN 192.168.50.0/24",
    ]
    assert kit.at(found[0]) == kit.pos(text, "zero: 192.168.50.0")
    assert kit.at(found[1]) == kit.pos(text, "bcast: 192.168.50.255")


def test_static_inside_the_dhcp_range(kit: BlueprintKit) -> None:
    text = kit.text(
        network=_network(
            """
lan: 192.168.50.0/24
host_address: 192.168.50.2
statics:
  server: 192.168.50.2
  printer: 192.168.50.150
dhcp: {start: 192.168.50.100, end: 192.168.50.200}
"""
        )
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == (
        "statics.printer 192.168.50.150 is inside the DHCP range "
        "192.168.50.100–192.168.50.200: the DHCP server may hand it to another device"
    )
    assert finding.hint == "pick an address outside the DHCP range, or shrink the range"
    assert kit.at(finding) == kit.pos(text, "printer: 192.168.50.150")


def test_two_statics_share_an_address(kit: BlueprintKit) -> None:
    text = kit.text(
        network=_network(
            """
lan: 192.168.50.0/24
host_address: 192.168.50.2
statics:
  server: 192.168.50.2
  tv: 192.168.50.20
  radio: 192.168.50.20
"""
        )
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "statics tv and radio share 192.168.50.20"
    assert kit.at(finding) == kit.pos(text, "radio: 192.168.50.20")


def test_host_address_missing_from_the_statics(kit: BlueprintKit) -> None:
    text = kit.text(
        network=_network(
            """
lan: 192.168.50.0/24
host_address: 192.168.50.2
statics:
  tv: 192.168.50.20
"""
        )
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "warning"
    assert finding.message == "host_address 192.168.50.2 is not among the statics"
    assert finding.hint == "list the server under statics so nothing else is given its address"
    assert kit.at(finding) == kit.pos(text, "statics:")


def test_ranges_outside_the_lan_and_overlapping(kit: BlueprintKit) -> None:
    text = kit.text(
        network=_network(
            """
lan: 192.168.50.0/24
host_address: 192.168.50.2
static_range: {start: 192.168.50.10, end: 192.168.50.120}
dhcp: {start: 192.168.50.100, end: 192.168.51.200}
"""
        )
    )
    found = kit.findings(text, ID)
    assert [(f.severity, f.message) for f in found] == [
        (
            "error",
            "the static range 192.168.50.10–192.168.50.120 overlaps the DHCP range "
            "192.168.50.100–192.168.51.200",
        ),
        ("error", "dhcp 192.168.50.100–192.168.51.200 is not inside the LAN 192.168.50.0/24"),
    ]
    assert kit.at(found[0]) == kit.pos(text, "static_range:")
    assert kit.at(found[1]) == kit.pos(text, "dhcp:")


def test_range_that_ends_before_it_starts_is_a_schema_error(kit: BlueprintKit) -> None:
    import pytest

    from lares.errors import ConfigErrors

    text = kit.text(
        network=_network(
            """
lan: 192.168.50.0/24
host_address: 192.168.50.2
dhcp: {start: 192.168.50.200, end: 192.168.50.100}
"""
        )
    )
    with pytest.raises(ConfigErrors) as caught:
        kit.load(text)
    [error] = caught.value.errors
    assert error.message == "range ends (192.168.50.100) before it starts (192.168.50.200)"
    assert (error.location.file, error.location.line) == ("test.yaml", kit.where(text, "dhcp:")[0])
