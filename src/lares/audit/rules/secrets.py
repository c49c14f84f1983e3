"""Secrets: credentials written where every reader of the container's settings sees them."""

from __future__ import annotations

import re

from lares.audit.model import Container
from lares.audit.rules import table

FAMILY = "secrets"

_CREDENTIAL = re.compile(
    r"PASSWORD|PASSPHRASE|TOKEN|SECRET|API_?KEY|PRIVATE_KEY|ACCESS_KEY|ENCRYPTION_KEY|"
    r"CREDENTIAL|(_PASS|_PWD|PASSWD|_SALT|_DSN)$"
)
#: Keys that name where a secret is, not the secret: POSTGRES_PASSWORD_FILE, *_SECRETFILE.
_REFERENCE_KEY = re.compile(r"(FILE|_PATH|_DIR|_LOCATION)$")
_NOT_A_SECRET = re.compile(r"^(yes|no|true|false|on|off|none|null|\d+(\.\d+)?[smhd]?)$", re.I)
#: user:password@ in a URL; the user may be empty, as in Redis's redis://:password@host.
_URL_CREDENTIAL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:(?P<pw>[^@\s/]+)@", re.I)


def credential_key(key: str) -> bool:
    """Whether an environment variable's name says it holds a credential (not a path to one)."""
    upper = key.upper()
    if _REFERENCE_KEY.search(upper) or upper.startswith(("ALLOW_EMPTY_", "RANDOM_")):
        return False
    return bool(_CREDENTIAL.search(upper))


def _literal(key: str, value: str) -> bool:
    v = value.strip().strip("'\"")  # ${X:-""} in a list entry leaves the two quotes
    # a path names where the secret is; ${VAR} (a file audited as written) where it comes from
    return bool(v) and not v.startswith(("/", "./", "~/", "$")) and not _NOT_A_SECRET.match(v)


def _literal_secrets(c: Container) -> list[str]:
    out = []
    for key, value in sorted(c.environment.items()):
        if credential_key(key) and _literal(key, value):
            out.append(f"{key} holds a credential in plain environment")
        elif (m := _URL_CREDENTIAL.search(value)) and not m.group("pw").startswith("$"):
            out.append(f"{key} holds a URL with a password in it")
    return out


def _weak_defaults(c: Container) -> list[str]:
    out = []
    for var, default in sorted(c.defaults.items()):
        if not credential_key(var) or not default:
            continue
        keys = sorted(k for k, v in c.environment.items() if default in v)
        for key in keys:
            out.append(f"{key} falls back to the file's default for ${{{var}}} when it is unset")
    return out


RULES = table(
    FAMILY,
    {
        "secret-in-env": _literal_secrets,
        "weak-default": _weak_defaults,
    },
)
