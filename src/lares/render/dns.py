"""Local DNS records and DHCP static leases for Pi-hole, from the blueprint's IP plan.

Every reachable app's name (``<subdomain>.<domain>``) points at the server, where Caddy answers
for it; every static device gets ``<name>.<domain>`` and its short name. When an app and a
static device claim the same name, the app wins (its name must reach Caddy) and the device keeps
only its short name. Statics written with a MAC (``{address, mac}``) also get a DHCP static
lease.

Two forms are rendered into the Pi-hole app's folder of its stack:

- ``pihole.toml``: the ``[dns] hosts`` and ``[dhcp] hosts`` keys of Pi-hole v6. Pi-hole owns
  its ``/etc/pihole/pihole.toml`` and rewrites it, so this is a fragment: :func:`merge_toml`
  puts its keys into an existing file and leaves every other setting as Pi-hole wrote it.
- ``custom.list``: the same records in the hosts-file form Pi-hole v5 reads from
  ``/etc/pihole/custom.list``.

The catalog's Pi-hole mounts this folder read-only at ``/etc/lares`` and has dnsmasq read
``custom.list`` as an extra hosts file (``addn-hosts``), so the records are served without
touching the ``pihole.toml`` Pi-hole owns; the fragment and :func:`merge_toml` remain for
setting the same keys in Pi-hole's own file.

A third file, ``dnsmasq.conf`` (read with ``conf-file``), is the LAN's DHCP service when the
blueprint has ``network.dhcp``: its range, the gateway, the DNS servers of ``network.dns`` (so
clients ask Pi-hole at ``network.dns_address``, not whichever address of the server answered)
and the static leases. Pi-hole's own DHCP setting stays off, or the two would both serve.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass

from lares.catalog.resolve import System
from lares.catalog.web import DNS_APP, PROXY_APP, reachable
from lares.errors import ConfigError
from lares.plan.checks.dashboard import SUBDOMAIN as DASHBOARD_SUBDOMAIN
from lares.render._web import app_dir, header
from lares.render.bundle import Bundle, File

TARGET = "home"


@dataclass(frozen=True)
class Record:
    address: str
    names: tuple[str, ...]
    why: str  # "app nextcloud" | "static laptop"

    def hosts_line(self) -> str:
        return f"{self.address} {' '.join(self.names)}"


@dataclass(frozen=True)
class Lease:
    mac: str
    address: str
    name: str

    def dhcp_host(self) -> str:
        """The lease in dnsmasq's ``dhcp-host`` form, which Pi-hole v6's ``dhcp.hosts`` takes."""
        return f"{self.mac},{self.address},{self.name}"


def records(system: System) -> list[Record]:
    """Every local DNS record: apps first (they point at the server), then the statics."""
    net = system.blueprint.network
    server = str(net.host_address)
    found: list[Record] = []
    taken: set[str] = set()
    for app in reachable(system):
        name = f"{app.subdomain}.{net.domain}"
        if name in taken:
            continue
        taken.add(name)
        found.append(Record(server, (name,), f"app {app.id}"))
    dashboard = f"{DASHBOARD_SUBDOMAIN}.{net.domain}"
    if system.blueprint.dashboard and system.app(PROXY_APP) and dashboard not in taken:
        taken.add(dashboard)
        found.append(Record(server, (dashboard,), "the dashboard (Caddy)"))
    for device, address in net.statics.items():
        names = tuple(n for n in (f"{device}.{net.domain}", device) if n not in taken)
        taken.update(names)
        if names:
            found.append(Record(str(address), names, f"static {device}"))
    return found


def leases(system: System) -> list[Lease]:
    """DHCP static leases: the statics whose MAC the blueprint gives."""
    net = system.blueprint.network
    return [Lease(mac, str(net.statics[name]), name) for name, mac in net.macs.items()]


def _toml_array(items: list[str]) -> str:
    if not items:
        return "[]"
    # json.dumps writes a valid TOML basic string for these (ASCII names and addresses).
    return "[\n" + "".join(f"  {json.dumps(i)},\n" for i in items) + "]"


def pihole_toml(system: System, source: str = "lares.yaml") -> str:
    """The ``[dns] hosts`` and ``[dhcp] hosts`` fragment of Pi-hole v6's pihole.toml."""
    dns_hosts = [r.hosts_line() for r in records(system)]
    dhcp_hosts = [lease.dhcp_host() for lease in leases(system)]
    return (
        header(source)
        + "# A fragment of /etc/pihole/pihole.toml: these two keys are lares's, the rest is\n"
        + "# Pi-hole's own (see lares.render.dns.merge_toml).\n"
        + "\n[dns]\n"
        + f"hosts = {_toml_array(dns_hosts)}\n"
        + "\n[dhcp]\n"
        + f"hosts = {_toml_array(dhcp_hosts)}\n"
    )


def custom_list(system: System, source: str = "lares.yaml") -> str:
    """The same records in Pi-hole v5's custom.list form: one ``address name`` per line."""
    lines = [f"{r.address} {name}" for r in records(system) for name in r.names]
    return header(source) + "".join(f"{line}\n" for line in lines)


_HEADER_RE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"-]+)\s*\]\s*(#.*)?$")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def _replace_key(lines: list[str], table: str, key: str, value: str) -> list[str]:
    """``lines`` with ``key`` of ``[table]`` set to the TOML ``value`` (added when missing)."""
    start = next(
        (i for i, line in enumerate(lines) if (m := _HEADER_RE.match(line)) and m[1] == table),
        None,
    )
    if start is None:
        return [*lines, "", f"[{table}]", f"{key} = {value}"]
    end = next((i for i in range(start + 1, len(lines)) if _HEADER_RE.match(lines[i])), len(lines))
    for i in range(start + 1, end):
        match = _KEY_RE.match(lines[i])
        if match and match[1] == key:
            stop = i
            # An array may span lines: it ends at the line where its brackets balance.
            depth = 0
            for j in range(i, end):
                text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', lines[j].split("#", 1)[0])
                depth += text.count("[") - text.count("]")
                stop = j
                if depth <= 0:
                    break
            return [*lines[:i], f"{key} = {value}", *lines[stop + 1 :]]
    return [*lines[: start + 1], f"{key} = {value}", *lines[start + 1 :]]


def merge_toml(existing: str, system: System) -> str:
    """Pi-hole's pihole.toml text with lares's ``dns.hosts`` and ``dhcp.hosts`` put in.

    Everything else in ``existing`` is kept as it is. Raises :class:`ConfigError` when
    ``existing`` is not valid TOML, so a damaged file is never made worse.
    """
    try:
        tomllib.loads(existing)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"pihole.toml is not valid TOML ({exc})",
            hint="fix or remove Pi-hole's pihole.toml (Pi-hole writes a new one on start)",
        ) from exc
    lines = existing.splitlines()
    lines = _replace_key(
        lines, "dns", "hosts", _toml_array([r.hosts_line() for r in records(system)])
    )
    lines = _replace_key(
        lines, "dhcp", "hosts", _toml_array([lease.dhcp_host() for lease in leases(system)])
    )
    merged = "\n".join(lines) + "\n"
    tomllib.loads(merged)
    return merged


#: Where Pi-hole keeps its leases (FTL's DHCPLEASESFILE), so its UI lists them.
LEASE_FILE = "/etc/pihole/dhcp.leases"


def dnsmasq_conf(system: System, source: str = "lares.yaml") -> str:
    """dnsmasq lines for the LAN's DHCP (see the module docstring); comments only without
    ``network.dhcp``."""
    net = system.blueprint.network
    lines = [header(source)]
    if net.dhcp is None:
        return "".join(lines) + "# network.dhcp is not set: Pi-hole serves no DHCP.\n"
    lines.append(f"dhcp-leasefile={LEASE_FILE}\n")
    lines.append(f"dhcp-range={net.dhcp.start},{net.dhcp.end},{net.lan.netmask},24h\n")
    if net.gateway is not None:
        lines.append(f"dhcp-option=option:router,{net.gateway}\n")
    servers = [str(a) for a in net.dns] or [str(net.dns_address or net.host_address)]
    lines.append(f"dhcp-option=option:dns-server,{','.join(servers)}\n")
    lines.extend(f"dhcp-host={lease.dhcp_host()}\n" for lease in leases(system))
    return "".join(lines)


def render(system: System, source: str = "lares.yaml") -> Bundle:
    """pihole.toml (v6 fragment), custom.list (v5) and dnsmasq.conf (DHCP), when the blueprint
    runs Pi-hole."""
    if system.app(DNS_APP) is None:
        return Bundle()
    folder = app_dir(system, DNS_APP, DNS_APP)
    files = [
        File(f"{folder}/pihole.toml", pihole_toml(system, source)),
        File(f"{folder}/custom.list", custom_list(system, source)),
        File(f"{folder}/dnsmasq.conf", dnsmasq_conf(system, source)),
    ]
    return Bundle({f.path: f for f in files})
