"""The subnets check: the LAN, the Docker networks and Docker's default bridge do not overlap."""

from __future__ import annotations

from conftest import BlueprintKit

ID = "subnets"
SEPARATE = "give each network its own range, e.g. 172.20.0.0/16, 172.21.0.0/16, …"


def test_separate_networks_pass(kit: BlueprintKit) -> None:
    assert kit.findings(kit.text(), ID) == []


def test_docker_network_overlapping_the_lan(kit: BlueprintKit) -> None:
    text = kit.text(
        network="""
        lan: 172.30.0.0/24
        host_address: 172.30.0.2
        docker:
          apps: {subnet: 172.30.0.0/16}
          db: {subnet: 172.31.0.0/16, internal: true, purpose: database}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "network apps (172.30.0.0/16) overlaps the LAN (172.30.0.0/24)"
    assert finding.hint == SEPARATE
    assert kit.at(finding) == kit.pos(text, "subnet: 172.30.0.0/16")
    assert finding.subject == "network.docker.apps.subnet"


def test_docker_networks_overlapping_each_other(kit: BlueprintKit) -> None:
    text = kit.text(
        network="""
        lan: 192.168.50.0/24
        host_address: 192.168.50.2
        docker:
          apps: {subnet: 172.30.0.0/16}
          db:
            subnet: 172.31.0.0/16
            internal: true
            purpose: database
          more:
            subnet: 172.31.128.0/17
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == "network more (172.31.128.0/17) overlaps network db (172.31.0.0/16)"
    # the later of the two is the one pointed at
    assert kit.at(finding) == kit.pos(text, "subnet: 172.31.128.0/17")


def test_docker_network_on_the_default_bridge(kit: BlueprintKit) -> None:
    text = kit.text(
        network="""
        lan: 192.168.50.0/24
        host_address: 192.168.50.2
        docker:
          apps: {subnet: 172.17.0.0/24}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "warning"
    assert finding.message == (
        "network apps (172.17.0.0/24) overlaps Docker's default bridge (172.17.0.0/16)"
    )
    assert finding.hint == "move it, or set another bip in Docker's daemon.json"
    assert kit.at(finding) == kit.pos(text, "subnet: 172.17.0.0/24")


def test_lan_on_the_default_bridge(kit: BlueprintKit) -> None:
    text = kit.text(
        network="""
        lan: 172.17.5.0/24
        host_address: 172.17.5.2
        docker:
          apps: {subnet: 172.30.0.0/16}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "warning"
    assert finding.message == (
        "the LAN (172.17.5.0/24) overlaps Docker's default bridge (172.17.0.0/16)"
    )
    assert kit.at(finding) == kit.pos(text, "lan: 172.17.5.0/24")


def test_database_network_must_be_internal(kit: BlueprintKit) -> None:
    text = kit.text(
        network="""
        lan: 192.168.50.0/24
        host_address: 192.168.50.2
        docker:
          apps: {subnet: 172.30.0.0/16}
          db: {subnet: 172.31.0.0/16, purpose: database}
        """
    )
    [finding] = kit.findings(text, ID)
    assert finding.severity == "error"
    assert finding.message == (
        "network db holds databases but is not internal: they could reach the internet and be "
        "reached from the host's bridge"
    )
    assert finding.hint == "set `internal: true`"
    assert kit.at(finding) == kit.pos(text, "db: {subnet: 172.31.0.0/16")
