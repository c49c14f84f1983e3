"""Local names: do the apps' LAN names resolve to the server from here?"""

from __future__ import annotations

from collections.abc import Iterator

from lares.host.doctor import DoctorContext, Finding
from lares.render.dns import records

ID = "dns"
DESCRIPTION = "the apps' LAN names resolve to the server"


def check(ctx: DoctorContext) -> Iterator[Finding]:
    server = str(ctx.system.blueprint.network.host_address)
    names = [r.names[0] for r in records(ctx.system) if r.address == server]
    if not names:
        return
    answers = ctx.probe.resolve(names)
    wrong = {n: a for n, a in answers.items() if a and server not in a}
    missing = sorted(n for n, a in answers.items() if not a)
    good = [n for n, a in answers.items() if a and server in a]
    if good:
        yield ctx.finding(ID, "ok", f"{len(good)} of {len(names)} app names resolve to {server}")
    for name, addresses in sorted(wrong.items()):
        yield ctx.finding(
            ID,
            "warning",
            f"{name} resolves to {', '.join(addresses)}, not the server ({server})",
            "a stale record: deploy Pi-hole's records (lares up) or remove the other record",
            name=name,
            addresses=addresses,
        )
    if missing:
        shown = ", ".join(missing[:5])
        if len(missing) > 5:
            shown += f" and {len(missing) - 5} more"
        yield ctx.finding(
            ID,
            "warning",
            f"{len(missing)} of {len(names)} app names do not resolve: {shown}",
            "point this machine's and the LAN's DNS at Pi-hole "
            "(network.dns_address) once its records are deployed",
            names=missing,
        )
