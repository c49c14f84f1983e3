"""The host files lares renders beside the stacks: sshd and the UFW firewall."""

from __future__ import annotations

import re

from lares.audit.model import HostFiles
from lares.audit.rules import table

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


RULES = table(
    FAMILY,
    {
        "sshd-root-login": _root_login,
        "sshd-password-auth": _password_auth,
        "sshd-empty-passwords": _empty_passwords,
        "ufw-default-incoming": _ufw_default,
        "ufw-ssh-anywhere": _ufw_ssh_anywhere,
    },
)
