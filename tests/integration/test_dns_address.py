"""The host unit's scripts for real, in a network namespace: the interface holding the server's
address gets Pi-hole's DNS address beside it (once, however often it runs), which answers there,
and loses it again on stop; with no interface holding the server's address it fails loudly."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest

from lares.blueprint.load import load_reference
from lares.plan import plan
from lares.render.host import dns_address_scripts


def ns_run(ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=30, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} exited {result.returncode}: {result.stdout}{result.stderr}")
    return result


@pytest.fixture
def namespace() -> Iterator[str]:
    ns = f"lt-dnsaddr-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
    try:
        ns_run(ns, "ip", "link", "set", "lo", "up")
        # a veth pair stands in for the LAN card (this kernel has no dummy links)
        ns_run(ns, "ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan0-peer")
        ns_run(ns, "ip", "link", "set", "lan0-peer", "up")
        ns_run(ns, "ip", "link", "set", "lan0", "up")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def addresses(ns: str) -> list[str]:
    out = ns_run(ns, "ip", "-4", "-o", "address", "show", "dev", "lan0").stdout
    return [line.split()[3] for line in out.splitlines()]


def test_the_dns_address_is_added_beside_the_servers_and_removed(namespace: str) -> None:
    system = plan(load_reference()).system
    start, stop = dns_address_scripts(system, "10.243.0.2")
    ns_run(namespace, "ip", "address", "add", "10.243.0.1/24", "dev", "lan0")
    ns_run(namespace, "sh", "-ec", start)
    ns_run(namespace, "sh", "-ec", start)  # a restart of the unit changes nothing
    assert addresses(namespace) == ["10.243.0.1/24", "10.243.0.2/32"]
    # a server bound to the wildcard (as FTL is) answers at the new address
    probe = (
        "import socket; s=socket.socket(); s.bind(('0.0.0.0', 5353)); s.listen(); "
        "c=socket.create_connection(('10.243.0.2', 5353), timeout=5); print(c.getpeername()[0])"
    )
    assert ns_run(namespace, "python3", "-c", probe).stdout.strip() == "10.243.0.2"
    routes = ns_run(namespace, "ip", "-4", "route", "show", "dev", "lan0").stdout
    assert routes.count("10.243.0.0/24") == 1  # the /32 adds no second route to the LAN
    ns_run(namespace, "sh", "-c", stop)
    assert addresses(namespace) == ["10.243.0.1/24"]


def test_without_the_servers_address_the_unit_fails_and_adds_nothing(namespace: str) -> None:
    system = plan(load_reference()).system
    start, _ = dns_address_scripts(system, "10.243.0.2")
    result = ns_run(namespace, "sh", "-ec", start, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "no interface holds 10.243.0.1"
    assert addresses(namespace) == []
