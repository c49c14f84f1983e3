"""The ports check: host ports are unique per address and protocol; 0.0.0.0 takes them all."""

from __future__ import annotations

from conftest import BlueprintKit

ID = "ports"
HINT = "drop the port and reach the app through the proxy, or choose another host port"


def _stack(apps: str) -> str:
    return f"\nmain:\n  network: apps\n  apps: {apps}\n"


def test_distinct_ports_addresses_and_protocols_pass(kit: BlueprintKit) -> None:
    # tport: 8080/tcp and 53/udp on the LAN; tlocal: 8080/tcp on loopback
    text = kit.text(stacks=_stack("[tport, tlocal]"))
    assert kit.findings(text, ID) == []
    ports = {s.name: [p.compose() for p in s.ports] for s in kit.plan(text).system.services}
    assert ports == {
        "tport": ["192.168.50.2:8080:80/tcp", "192.168.50.2:53:53/udp"],
        "tlocal": ["127.0.0.1:8080:8080/tcp"],
    }


def test_same_port_on_the_lan_address(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tport: {}
            tport2: {}
            tlocal: {}
        """
    )
    # 53/tcp of tport2 does not collide with 53/udp of tport
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == (
        "host port 8080/tcp on 192.168.50.2 is used by both tport and tport2"
    )
    assert finding.hint == HINT
    assert kit.at(finding) == kit.pos(text, "    tport2: {}")


def test_every_interface_takes_the_port_on_every_address(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            tlocal: {}
            tportall: {}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == (
        "host port 8080/tcp on every address is used by both tlocal and tportall"
    )
    assert kit.at(finding) == kit.pos(text, "    tportall: {}")


def test_conflict_across_stacks(kit: BlueprintKit) -> None:
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps: [tport]
        other:
          apps: [tport2]
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.message == (
        "host port 8080/tcp on 192.168.50.2 is used by both tport and tport2"
    )
    assert kit.at(finding) == kit.pos(text, "  apps: [tport2]")


def test_a_host_network_listener_takes_its_port_on_every_address(kit: BlueprintKit) -> None:
    # thost listens on 53/udp on the host network; tport publishes 53/udp on the LAN address
    text = kit.text(
        stacks="""
        main:
          network: apps
          apps:
            thost: {}
            tport: {}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.message == "host port 53/udp on every address is used by both thost and tport"
    assert kit.at(finding) == kit.pos(text, "    tport: {}")
    alone = kit.text(stacks=_stack("[thost]"))
    assert kit.findings(alone, ID) == []
