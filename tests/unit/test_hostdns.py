"""Port 53 for a DNS server on the host network: the plan says so, the host render frees it."""

from __future__ import annotations

from pathlib import Path

from conftest import FILENAME, solo_blueprint_text
from lares.blueprint.load import load_text
from lares.plan import Plan, plan
from lares.render.host import render

DROPIN = "systemd/resolved.conf.d/10-lares-dns.conf"


def _plan(app: str) -> Plan:
    loaded = load_text(solo_blueprint_text(app), filename=FILENAME, base_dir=Path("."), env={})
    return plan(loaded)


def test_a_host_network_dns_server_gets_a_note_and_the_resolved_dropin() -> None:
    result = _plan("pihole")
    [note] = [f for f in result.findings if f.id == "hostdns"]
    assert note.severity == "info"
    assert note.message == (
        "pihole serves DNS on port 53 of the host itself, which systemd-resolved's stub "
        "listener holds where it runs"
    )
    assert note.hint is not None and DROPIN in note.hint
    dropin = render(result.system, source=FILENAME).files[DROPIN].content
    assert dropin.endswith("[Resolve]\nDNSStubListener=no\n")
    assert "# pihole serves DNS on this host's port 53" in dropin
    assert "#   ln -sf /run/systemd/resolve/resolv.conf /etc/resolv.conf\n" in dropin


def test_without_one_there_is_neither() -> None:
    result = _plan("sonarr")
    assert [f for f in result.findings if f.id == "hostdns"] == []
    assert DROPIN not in render(result.system, source=FILENAME).files
