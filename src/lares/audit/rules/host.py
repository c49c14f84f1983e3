"""The host files lares renders beside the stacks: sshd and the UFW firewall."""

from __future__ import annotations

import re

from lares.audit.model import HostFiles
from lares.audit.rules import Rule

FAMILY = "host"

_DEFAULT_INCOMING = re.compile(
    r"default\s+(deny|reject)\s+incoming|Default:\s*(deny|reject)\s+\(incoming\)"
)
_SSH_ALLOW = re.compile(r"\ballow\b(?P<rest>.*)$", re.M)


def _sshd(h: HostFiles, key: str, default: str) -> str | None:
    return None if h.sshd is None else h.sshd.get(key, default).lower()


def _root_login(h: HostFiles) -> list[str]:
    value = _sshd(h, "permitrootlogin", "prohibit-password")
    return ["PermitRootLogin yes: root may log in with a password"] if value == "yes" else []


def _password_auth(h: HostFiles) -> list[str]:
    value = _sshd(h, "passwordauthentication", "yes")
    return [] if value in (None, "no") else ["PasswordAuthentication is on (sshd's default)"]


def _empty_passwords(h: HostFiles) -> list[str]:
    return ["PermitEmptyPasswords yes"] if _sshd(h, "permitemptypasswords", "no") == "yes" else []


def _ufw_default(h: HostFiles) -> list[str]:
    if h.ufw is None or _DEFAULT_INCOMING.search(h.ufw):
        return []
    return ["incoming traffic is not denied by default"]


def _ufw_ssh_anywhere(h: HostFiles) -> list[str]:
    if h.ufw is None:
        return []
    out = []
    for m in _SSH_ALLOW.finditer(h.ufw):
        rest = m.group("rest")
        ssh = re.search(r"\b(22|ssh|OpenSSH)\b", rest)
        narrowed = re.search(r"from\s+(?!any\b)\S+", rest)
        if ssh and not narrowed and "port 220" not in rest:
            out.append(f"SSH is allowed from anywhere ({m.group(0).strip()[:80]})")
    return out


RULES = (
    Rule(
        id="sshd-root-login",
        title="Root logs in with a password",
        severity="high",
        checks="PermitRootLogin yes",
        why="root is the one account name every scanner tries",
        fix="PermitRootLogin prohibit-password (keys only) or no",
        target="host",
        test=_root_login,
    ),
    Rule(
        id="sshd-password-auth",
        title="SSH password login",
        severity="medium",
        checks="PasswordAuthentication is not no",
        why="passwords can be guessed; keys cannot",
        fix="PasswordAuthentication no, after installing your key",
        target="host",
        test=_password_auth,
    ),
    Rule(
        id="sshd-empty-passwords",
        title="SSH accepts empty passwords",
        severity="critical",
        checks="PermitEmptyPasswords yes",
        why="an account without a password becomes an open door",
        fix="PermitEmptyPasswords no",
        target="host",
        test=_empty_passwords,
    ),
    Rule(
        id="ufw-default-incoming",
        title="Firewall lets incoming traffic in",
        severity="high",
        checks="UFW has no default deny (or reject) incoming",
        why="every service the host listens on becomes reachable from every network it is on",
        fix="ufw default deny incoming, then allow what the LAN needs",
        target="host",
        test=_ufw_default,
    ),
    Rule(
        id="ufw-ssh-anywhere",
        title="SSH open to every network",
        severity="medium",
        checks="a UFW allow for port 22 (ssh, OpenSSH) without a from address",
        why="a host reachable from the internet, through a forwarded port or a VPS tunnel, gets "
        "SSH guessing all day",
        fix="ufw allow from 192.168.1.0/24 to any port 22 proto tcp",
        target="host",
        test=_ufw_ssh_anywhere,
    ),
)
