"""The server's own configuration: firewall, sshd, Docker daemon, storage and systemd units.

``lares render --target host -o DIR`` writes:

- ``firewall/ufw.sh``: UFW rules — SSH and HTTP(S) from the LAN only, DNS (and DHCP) when
  Pi-hole runs here, the ports the stacks publish, each host-network app's web port from the
  Docker networks Caddy is on; default deny in, allow out. ``firewall/rules.v4`` holds the same
  rules for ``iptables-restore`` (iptables-persistent), for hosts without UFW.
- ``ssh/sshd_config.d/10-lares.conf``: keys only, no root password login, 3 tries, keepalives.
- ``docker/daemon.json``: log rotation and live-restore.
- ``storage/setup-<pool>.sh`` per pool: mdadm + filesystem, or btrfs native RAID, and the fstab
  line. A dry run unless given ``--yes-destroy-data``; refuses drives that hold anything; does
  nothing but mount when the pool exists already.
- ``systemd/lares-watch.service``: the monitor as a service.
- ``systemd/lares-serve.service``: the dashboard (``lares serve``), when the blueprint has a
  ``dashboard:`` section; the firewall lets the Caddy container reach its port.
- ``systemd/lares-dns-address.service``: when Pi-hole runs on the host network and the
  blueprint gives the LAN's DNS server its own address (``network.dns_address``, 10.243.0.2
  beside the server's 10.243.0.1), that address added to the interface that holds the server's,
  so clients pointed at it reach Pi-hole, which listens on every address of the host.

- ``systemd/resolved.conf.d/10-lares-dns.conf``, when a DNS server (Pi-hole) runs on the host
  network: ``DNSStubListener=no``, so systemd-resolved leaves port 53 to it.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lares.blueprint.model import Pool
from lares.catalog.resolve import System
from lares.catalog.web import (
    DNS_APP,
    PROXY_APP,
    TUNNEL_APP,
    dashboard_resource,
    reachable,
    source_subnets,
    web_target,
)
from lares.plan.checks.hostdns import DROPIN, host_dns_servers
from lares.render._web import header
from lares.render.bundle import Bundle, File

TARGET = "host"
SSH_PORT = 22

#: The hardening the reference system applies to sshd.
SSHD_SETTINGS = (
    ("PermitRootLogin", "prohibit-password"),
    ("PasswordAuthentication", "no"),
    ("KbdInteractiveAuthentication", "no"),
    ("PubkeyAuthentication", "yes"),
    ("MaxAuthTries", "3"),
    ("ClientAliveInterval", "300"),
)

DAEMON_JSON = {
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "3"},
    "live-restore": True,
}


@dataclass(frozen=True)
class Rule:
    """One inbound allow rule. ``source`` None means from anywhere; ``limit`` rate-limits it."""

    port: int
    proto: str  # tcp | udp
    source: str | None
    comment: str
    limit: bool = False

    def ufw(self) -> list[str]:
        action = "limit" if self.limit else "allow"
        return [
            action,
            "proto",
            self.proto,
            "from",
            self.source or "any",
            "to",
            "any",
            "port",
            str(self.port),
            "comment",
            self.comment,
        ]

    def iptables(self) -> str:
        src = f"-s {self.source} " if self.source else ""
        comment = self.comment.replace('"', "'")
        return (
            f"-A INPUT {src}-p {self.proto} -m {self.proto} --dport {self.port} "
            f'-m comment --comment "{comment}" -j ACCEPT'
        )


# ── firewall ───────────────────────────────────────────────────────────────────────────────


def _add(rules: list[Rule], rule: Rule) -> None:
    if not any((r.port, r.proto, r.source) == (rule.port, rule.proto, rule.source) for r in rules):
        rules.append(rule)


def host_rules(system: System) -> list[Rule]:
    """The inbound rules the blueprint needs, in the order the script adds them."""
    bp = system.blueprint
    lan = str(bp.network.lan)
    rules: list[Rule] = [Rule(SSH_PORT, "tcp", lan, "SSH from the LAN")]
    _add(rules, Rule(80, "tcp", lan, "HTTP from the LAN (Caddy redirects to HTTPS)"))
    _add(rules, Rule(443, "tcp", lan, "HTTPS from the LAN (Caddy)"))
    if system.app(DNS_APP) is not None:
        _add(rules, Rule(53, "tcp", lan, "DNS from the LAN (Pi-hole)"))
        _add(rules, Rule(53, "udp", lan, "DNS from the LAN (Pi-hole)"))
        if bp.network.dhcp is not None:
            # A client asking for an address has none yet: its request comes from 0.0.0.0.
            _add(rules, Rule(67, "udp", None, "DHCP requests (Pi-hole)"))
    for service in system.services:
        view = system.app(service.app)
        web = view.app.web if view is not None else None
        for port, spec in zip(service.ports, service.spec.ports, strict=False):
            if port.bind == "loopback":
                continue
            if service.network_mode == "host" and (
                # a web UI on the host network is opened to the Caddy container only (below);
                # the DNS and DHCP rules above already say where those come from
                (web is not None and web.container == service.key and port.host == web.port)
                or any((r.port, r.proto) == (port.host, port.protocol) for r in rules)
            ):
                continue
            what = spec.description or f"port {port.host}/{port.protocol}"
            _add(rules, Rule(port.host, port.protocol, lan, f"{service.name}: {what}"))
    caddy = system.app(PROXY_APP)
    if caddy is not None:
        sources = source_subnets(system, PROXY_APP)
        for app in reachable(system):
            target = web_target(system, app)
            if target is None or not target.host_network:
                continue
            for source in sources:
                _add(
                    rules,
                    Rule(target.port, "tcp", source, f"{app.id} web UI, for the Caddy container"),
                )
        if bp.dashboard is not None:
            serve_port = int(bp.dashboard.address(bp.network.host_address).rsplit(":", 1)[1])
            for source in sources:
                _add(
                    rules, Rule(serve_port, "tcp", source, "the dashboard, for the Caddy container")
                )
    dashboard = dashboard_resource(system)
    if dashboard is not None:
        for source in source_subnets(system, TUNNEL_APP):
            _add(
                rules,
                Rule(dashboard.port, "tcp", source, "the dashboard, for the Newt container"),
            )
    return rules


def ufw_script(rules: Sequence[Rule], *, source: str, what: str) -> str:
    """A bash script that applies ``rules`` with UFW (``--dry-run`` shows them instead)."""
    lines = [
        "#!/usr/bin/env bash",
        header(source).rstrip("\n"),
        f"# The firewall of {what}: the rules below in, everything else denied; all out.",
        "#",
        "#   ufw.sh            apply the rules (UFW keeps rules it has already)",
        "#   ufw.sh --dry-run  show what UFW would change",
        "#",
        "# Docker publishes container ports through its own iptables chains, ahead of UFW:",
        "# the compose files bind each port to the LAN address or loopback, which is what",
        "# keeps container ports off other networks.",
        "set -euo pipefail",
        "",
        "UFW=(ufw)",
        "if [[ ${1:-} == --dry-run ]]; then",
        "  UFW=(ufw --dry-run)",
        "fi",
        "if ! command -v ufw >/dev/null; then",
        '  echo "ufw is not installed: apt-get install ufw" >&2',
        "  exit 1",
        "fi",
        "",
        '"${UFW[@]}" default deny incoming',
        '"${UFW[@]}" default allow outgoing',
    ]
    lines += ['"${UFW[@]}" ' + shlex.join(rule.ufw()) for rule in rules]
    lines += ['"${UFW[@]}" --force enable', ""]
    return "\n".join(lines)


def iptables_rules(rules: Iterable[Rule], *, source: str) -> str:
    """The same policy in ``iptables-restore`` form (what UFW builds, without its chains)."""
    lines = [
        header(source).rstrip("\n"),
        "# Load it at boot, before Docker starts (iptables-persistent does): restoring the",
        "# filter table while Docker runs removes Docker's chains until it restarts.",
        "*filter",
        ":INPUT DROP [0:0]",
        ":FORWARD DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        "-A INPUT -i lo -j ACCEPT",
        "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A INPUT -m conntrack --ctstate INVALID -j DROP",
        "-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT",
        "-A INPUT -p udp -m udp --sport 67 --dport 68 -j ACCEPT",
    ]
    lines += [rule.iptables() for rule in rules]
    lines += ["COMMIT", ""]
    return "\n".join(lines)


# ── sshd and docker ────────────────────────────────────────────────────────────────────────


def sshd_dropin(source: str) -> str:
    """The sshd_config drop-in: sshd takes the first value it reads, so it goes in first."""
    return (
        header(source)
        + "# Include it from the top of /etc/ssh/sshd_config (Debian's does so for\n"
        + "# /etc/ssh/sshd_config.d/*.conf). Check with `sshd -t` before restarting sshd.\n"
        + "".join(f"{key} {value}\n" for key, value in SSHD_SETTINGS)
    )


def resolved_dropin(servers: Sequence[str], source: str) -> str:
    """systemd-resolved's drop-in that frees port 53 for a DNS server on the host network."""
    return (
        header(source)
        + f"# {', '.join(servers)} serves DNS on this host's port 53, which systemd-resolved's\n"
        + "# stub listener (127.0.0.53:53) would hold. Install it as\n"
        + "# /etc/systemd/resolved.conf.d/10-lares-dns.conf, then point the host's own lookups at\n"
        + "# resolved's upstreams instead of the stub, and restart it:\n"
        + "#   ln -sf /run/systemd/resolve/resolv.conf /etc/resolv.conf\n"
        + "#   systemctl restart systemd-resolved\n"
        + "[Resolve]\nDNSStubListener=no\n"
    )


def daemon_json() -> str:
    """Docker's /etc/docker/daemon.json: rotated logs, containers kept up across restarts."""
    return json.dumps(DAEMON_JSON, indent=2) + "\n"


# ── storage ────────────────────────────────────────────────────────────────────────────────

_STORAGE_BODY = r"""
FSTAB=/etc/fstab
APPLY=0

usage() {
  cat <<EOF
usage: $0 [--yes-destroy-data] [--fstab FILE]
  (no option)         show what would be done; nothing is changed
  --yes-destroy-data  do it: every drive listed is wiped
  --fstab FILE        the fstab to add the mount to (default /etc/fstab)
EOF
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --yes-destroy-data) APPLY=1 ;;
    --fstab)
      FSTAB=${2:?--fstab needs a file}
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "unknown option: $1" >&2
      usage >&2
      exit 2
      ;;
  esac
  shift
done

say() { printf '%s\n' "$*"; }
fail() {
  printf 'error: %s\n' "$1" >&2
  exit "${2:-1}"
}
# Run a command, or in a dry run only show it.
step() {
  if [[ $APPLY == 1 ]]; then
    say "+ $*"
    "$@"
  else
    say "would run: $*"
  fi
}
probe() { blkid -p -s "$1" -o value "$2" 2>/dev/null || true; }

if [[ $APPLY == 1 && $(id -u) != 0 ]]; then
  fail "run it as root"
fi
if [[ $APPLY == 0 ]]; then
  say "dry run: nothing is changed (pass --yes-destroy-data to set the pool up)"
fi

# The pool exists when its filesystem, labelled $LABEL, is on its device(s) already.
already=1
for dev in "${FSDEVICES[@]}"; do
  if [[ ! -b $dev || $(probe LABEL "$dev") != "$LABEL" ]]; then
    already=0
  fi
done

if [[ $already == 1 ]]; then
  say "pool $POOL is set up already ($FSTYPE labelled $LABEL on ${FSDEVICES[*]})"
else
  for dev in "${DEVICES[@]}"; do
    if [[ ! -b $dev ]]; then
      if [[ $APPLY == 1 ]]; then
        fail "$dev is not a block device on this machine" 3
      fi
      say "warning: $dev is not a block device on this machine"
      continue
    fi
    found=$(wipefs --noheadings --output TYPE "$dev" 2>/dev/null | tr '\n' ' ' || true)
    if [[ -z ${found// /} ]] && blkid -p "$dev" >/dev/null 2>&1; then
      found=$(probe TYPE "$dev")
      found=${found:-$(probe PTTYPE "$dev")}
    fi
    if [[ -n ${found// /} ]]; then
      fail "refusing $dev: it holds ${found% } (if it is really unused: wipefs -a $dev)" 3
    fi
  done
  create
fi

if [[ $APPLY == 1 ]]; then
  uuid=$(probe UUID "${FSDEVICES[0]}")
  [[ -n $uuid ]] || fail "no filesystem UUID on ${FSDEVICES[0]}"
else
  uuid="<uuid of the new filesystem>"
fi
line="UUID=$uuid $MOUNT $FSTYPE $OPTIONS 0 0"
in_fstab() {
  [[ -f $FSTAB ]] && awk -v m="$MOUNT" '$1 !~ /^#/ && $2 == m { f = 1 } END { exit !f }' "$FSTAB"
}
if in_fstab; then
  say "$FSTAB mounts $MOUNT already"
elif [[ $APPLY == 1 ]]; then
  say "+ add to $FSTAB: $line"
  printf '%s\n' "$line" >>"$FSTAB"
else
  say "would add to $FSTAB: $line"
fi

if mountpoint -q "$MOUNT" 2>/dev/null; then
  say "$MOUNT is mounted"
else
  step mkdir -p "$MOUNT"
  if [[ $FSTYPE == btrfs ]]; then
    step btrfs device scan "${FSDEVICES[@]}"
  fi
  step mount --fstab "$FSTAB" "$MOUNT"
fi
for folder in "${FOLDERS[@]}"; do
  step install -d -o "$OWNER" -g "$GROUP" "$MOUNT/$folder"
done
say "pool $POOL: done"
"""

_CREATE_BTRFS = r"""
create() {
  step mkfs.btrfs -L "$LABEL" -d "$LEVEL" -m "$METADATA" "${DEVICES[@]}"
}
"""

_CREATE_MDADM = r"""
create() {
  step mdadm --create "$ARRAY" --name="$POOL" --level="$LEVEL" \
    --raid-devices="${#DEVICES[@]}" "${DEVICES[@]}"
  step "mkfs.$FSTYPE" -L "$LABEL" "$ARRAY"
  if [[ $APPLY == 1 ]]; then
    say "+ mdadm --detail --brief $ARRAY >> $MDADM_CONF"
    mdadm --detail --brief "$ARRAY" >>"$MDADM_CONF"
  else
    say "would run: mdadm --detail --brief $ARRAY >> $MDADM_CONF"
  fi
  if command -v update-initramfs >/dev/null; then
    step update-initramfs -u
  fi
}
"""

#: btrfs metadata profile to pair with a data profile when the blueprint names none.
_METADATA_FOR = {"single": "dup", "raid0": "raid1", "raid5": "raid1", "raid6": "raid1c3"}


def storage_script(system: System, name: str, pool: Pool, *, source: str) -> str:
    """The setup script of pool ``name`` (see the module docstring)."""
    bp = system.blueprint
    devices = [d.path for d in pool.devices]
    label = f"lares-{name}"
    options = ["defaults", "noatime", "nofail"]
    if pool.filesystem == "btrfs" and pool.compression:
        options.append(f"compress={pool.compression}")
    folders = sorted(set(bp.paths.folders.values())) if pool.mount == bp.paths.pool else []

    def arr(values: Sequence[str]) -> str:
        return "(" + " ".join(shlex.quote(v) for v in values) + ")"

    head = [
        "#!/usr/bin/env bash",
        header(source).rstrip("\n"),
    ]
    if pool.engine == "mdadm":
        array = f"/dev/md/{name}"
        head.append(
            f"# Pool {name}: mdadm {pool.level} over {len(devices)} drives, {pool.filesystem} "
            f"on top, mounted at {pool.mount}."
        )
        values = [
            f"LEVEL={shlex.quote(pool.level.removeprefix('raid'))}",
            f"ARRAY={shlex.quote(array)}",
            "MDADM_CONF=/etc/mdadm/mdadm.conf",
            f"FSDEVICES=({shlex.quote(array)})",
        ]
        create = _CREATE_MDADM
    else:
        metadata = pool.metadata or _METADATA_FOR.get(pool.level, pool.level)
        head.append(
            f"# Pool {name}: btrfs {pool.level} (metadata {metadata}) over {len(devices)} "
            f"drives, mounted at {pool.mount}."
        )
        values = [
            f"LEVEL={shlex.quote(pool.level)}",
            f"METADATA={shlex.quote(metadata)}",
            f"FSDEVICES={arr(devices)}",
        ]
        create = _CREATE_BTRFS
    head += [
        "# A dry run unless given --yes-destroy-data. It refuses drives that hold a filesystem,",
        "# a RAID member or a partition table, and only mounts a pool that exists already.",
        "set -euo pipefail",
        "",
        f"POOL={shlex.quote(name)}",
        f"LABEL={shlex.quote(label)}",
        f"MOUNT={shlex.quote(pool.mount)}",
        f"FSTYPE={shlex.quote(pool.filesystem)}",
        f"OPTIONS={shlex.quote(','.join(options))}",
        f"DEVICES={arr(devices)}",
        *values,
        f"FOLDERS={arr(folders)}",
        f"OWNER={bp.host.puid}",
        f"GROUP={bp.host.pgid}",
    ]
    return "\n".join(head) + "\n" + create + _STORAGE_BODY


# ── systemd ────────────────────────────────────────────────────────────────────────────────


def watch_unit(source: str) -> str:
    """The systemd service that runs ``lares watch``."""
    return (
        header(source)
        + "[Unit]\n"
        + "Description=lares: watch the home server and send alerts\n"
        + "Wants=network-online.target docker.service\n"
        + "After=network-online.target docker.service\n"
        + "\n[Service]\n"
        + "Type=simple\n"
        + "# Set LARES_FILE to the blueprint (a drop-in: systemctl edit lares-watch).\n"
        + "Environment=LARES_STATE_DIR=/var/lib/lares\n"
        + "ExecStart=/usr/bin/env lares watch\n"
        + "Restart=on-failure\n"
        + "RestartSec=30s\n"
        + "NoNewPrivileges=yes\n"
        + "PrivateTmp=yes\n"
        + "\n[Install]\n"
        + "WantedBy=multi-user.target\n"
    )


def serve_unit(system: System, source: str) -> str:
    """The systemd service that runs ``lares serve`` (the dashboard) where the blueprint says."""
    bp = system.blueprint
    assert bp.dashboard is not None
    listen = bp.dashboard.address(bp.network.host_address)
    return (
        header(source)
        + "[Unit]\n"
        + "Description=lares: the dashboard\n"
        + "Wants=network-online.target\n"
        + "After=network-online.target lares-watch.service\n"
        + "\n[Service]\n"
        + "Type=simple\n"
        + "# Set LARES_FILE to the blueprint (a drop-in: systemctl edit lares-serve).\n"
        + "Environment=LARES_STATE_DIR=/var/lib/lares\n"
        + f"ExecStart=/usr/bin/env lares serve --listen {listen}\n"
        + "Restart=on-failure\n"
        + "RestartSec=5s\n"
        + "NoNewPrivileges=yes\n"
        + "PrivateTmp=yes\n"
        + "\n[Install]\n"
        + "WantedBy=multi-user.target\n"
    )


def dns_address(system: System) -> str | None:
    """The address the host takes for Pi-hole: network.dns_address, when Pi-hole runs on the
    host network and that address is not the server's own; else None."""
    net = system.blueprint.network
    view = system.app(DNS_APP)
    if view is None or net.dns_address is None or net.dns_address == net.host_address:
        return None
    if not any(s.network_mode == "host" for s in view.services):
        return None
    return str(net.dns_address)


def dns_address_scripts(system: System, address: str) -> tuple[str, str]:
    """The shell lines that add ``address`` (a /32, so no second route to the LAN appears) to
    the interface holding the server's address, and that remove it again."""
    server = system.blueprint.network.host_address
    # `ip -o` prints "2: eth0    inet 10.243.0.1/24 ...": the second word is the interface
    find = f"set -- $(ip -4 -o address show to {server}/32)"
    start = (
        f"{find}; test $# -ge 2 || {{ echo no interface holds {server} >&2; exit 1; }}; "
        f"ip address replace {address}/32 dev $2"
    )
    stop = f"{find}; test $# -lt 2 || ip address del {address}/32 dev $2 || true"
    return start, stop


def dns_address_unit(system: System, address: str, source: str) -> str:
    """The oneshot unit running :func:`dns_address_scripts` before Docker starts Pi-hole."""
    start, stop = (
        script.replace("$", "$$")  # systemd would expand $VAR itself
        for script in dns_address_scripts(system, address)
    )
    server = system.blueprint.network.host_address
    return (
        header(source)
        + "[Unit]\n"
        + f"Description=lares: the LAN's DNS address {address} for Pi-hole, beside {server}\n"
        + "Wants=network-online.target\n"
        + "After=network-online.target\n"
        + "Before=docker.service\n"
        + "\n[Service]\n"
        + "Type=oneshot\n"
        + "RemainAfterExit=yes\n"
        + f"ExecStart=/bin/sh -ec '{start}'\n"
        + f"ExecStop=/bin/sh -c '{stop}'\n"
        + "\n[Install]\n"
        + "WantedBy=multi-user.target\n"
    )


def render(system: System, source: str = "lares.yaml") -> Bundle:
    """Everything for the machine itself (see the module docstring)."""
    rules = host_rules(system)
    files = [
        File(
            "firewall/ufw.sh",
            ufw_script(rules, source=source, what=f"{system.blueprint.host.name}"),
            0o755,
        ),
        File("firewall/rules.v4", iptables_rules(rules, source=source)),
        File("ssh/sshd_config.d/10-lares.conf", sshd_dropin(source)),
        File("docker/daemon.json", daemon_json()),
        File("systemd/lares-watch.service", watch_unit(source)),
    ]
    if system.blueprint.dashboard is not None:
        files.append(File("systemd/lares-serve.service", serve_unit(system, source)))
    address = dns_address(system)
    if address is not None:
        unit = dns_address_unit(system, address, source)
        files.append(File("systemd/lares-dns-address.service", unit))
    dns = host_dns_servers(system)
    if dns:
        files.append(File(DROPIN, resolved_dropin([s.name for s in dns], source)))
    for name, pool in system.blueprint.storage.pools.items():
        script = storage_script(system, name, pool, source=source)
        files.append(File(f"storage/setup-{name}.sh", script, 0o755))
    return Bundle({f.path: f for f in files})
