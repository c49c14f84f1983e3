"""Port 53 on this machine: free for the blueprint's DNS server on the host network?

systemd-resolved's stub listener holds 127.0.0.53:53 (and 127.0.0.54:53); a DNS server on the
host network binds port 53 on every address, so it cannot start while the stub listens.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lares.host.doctor import DoctorContext, Finding
from lares.plan.checks.hostdns import DNS_PORT, DROPIN, host_dns_servers

ID = "hostdns"
DESCRIPTION = "port 53 is free for the DNS server on the host network"
STUB = {"127.0.0.53", "127.0.0.54"}  # systemd-resolved's stub and its proxy-only listener


def holders(listening: Iterable[tuple[str, str, int]]) -> list[tuple[str, str]]:
    """(proto, address) of every socket on port 53, sorted."""
    return sorted({(proto, addr) for proto, addr, port in listening if port == DNS_PORT})


def check(ctx: DoctorContext) -> Iterator[Finding]:
    servers = [s.name for s in host_dns_servers(ctx.system)]
    if not servers:
        return
    who = ", ".join(servers)
    listening = ctx.probe.listening()
    if listening is None:
        yield ctx.sockets_unknown(ID)
        return
    held = holders(listening)
    stub = [f"{addr}:53/{proto}" for proto, addr in held if addr in STUB]
    other = [f"{addr}:53/{proto}" for proto, addr in held if addr not in STUB]
    if stub:
        yield ctx.finding(
            ID,
            "error",
            f"systemd-resolved's stub listener holds {', '.join(stub)}: {who} cannot bind port 53",
            f"install {DROPIN} from `lares render --target host` as "
            "/etc/systemd/resolved.conf.d/10-lares-dns.conf, run "
            "`ln -sf /run/systemd/resolve/resolv.conf /etc/resolv.conf` and "
            "`systemctl restart systemd-resolved`",
            listeners=stub,
        )
    if other:
        yield ctx.finding(
            ID,
            "warning",
            f"something listens on {', '.join(other)}, which {who} needs",
            "stop it (ss -lntup 'sport = :53' shows which process); "
            f"if it is {who} itself, already running, all is well",
            listeners=other,
        )
    if not held:
        yield ctx.finding(ID, "ok", f"port 53 is free for {who}")
