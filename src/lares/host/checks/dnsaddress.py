"""Pi-hole's own address: does this machine hold network.dns_address, where the LAN asks?

Only when Pi-hole runs on the host network and the blueprint gives the DNS server an address of
its own (the host render's lares-dns-address.service adds it).
"""

from __future__ import annotations

from collections.abc import Iterator

from lares.host.doctor import DoctorContext, Finding
from lares.render.host import dns_address

ID = "dnsaddress"
DESCRIPTION = "this machine holds the LAN's DNS address that Pi-hole answers at"
UNIT = "lares-dns-address.service"


def interfaces(output: str) -> list[str]:
    """The interfaces in `ip -4 -o address show to ADDR/32` output ("2: eth0    inet …")."""
    return [line.split()[1] for line in output.splitlines() if len(line.split()) > 1]


def check(ctx: DoctorContext) -> Iterator[Finding]:
    address = dns_address(ctx.system)
    if address is None:
        return
    out = ctx.probe.run(["ip", "-4", "-o", "address", "show", "to", f"{address}/32"])
    if not out.ok:
        yield ctx.finding(
            ID,
            "unknown",
            f"cannot list this machine's addresses to look for {address}",
            "install iproute2 (the ip command)",
        )
        return
    held = interfaces(out.stdout)
    if held:
        yield ctx.finding(ID, "ok", f"{address} (network.dns_address) is on {', '.join(held)}")
        return
    yield ctx.finding(
        ID,
        "warning",
        f"this machine does not hold {address} (network.dns_address): clients asking it for "
        "DNS get no answer",
        f"install {UNIT} from `lares render -t host` (systemd/) and enable it: "
        f"systemctl enable --now {UNIT}",
        address=address,
    )
