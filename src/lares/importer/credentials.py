"""Literal passwords and tokens in a service's environment, and weak ``${VAR:-default}``s.

A value is a credential when its variable's name says so (PASSWORD, TOKEN, SECRET, API_KEY …)
and it is written out, in the file or in an env file, rather than read from a file. Its value is
kept as it is, for the lares secret that replaces it: a database that was created with it must
keep accepting it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(
    r"(^|_)(PASS|PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_?KEY|APIKEY|PRIVATE_KEY|AUTH_KEY|"
    r"CREDENTIALS?|PSK|SALT)($|_)",
    re.IGNORECASE,
)
_NOT = re.compile(r"_(FILE|PATH|DIR|LENGTH|MIN|MAX|ENABLED?|URL|HOST|PORT|USER|NAME)$", re.I)
_DEFAULT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}")
#: Defaults a person meant to replace: a weak password is one of these, or shorter than 8.
WEAK = frozenset(
    {"changeme", "change_me", "password", "secret", "admin", "root", "example", "test", "123456"}
)


def is_credential(name: str, value: str) -> bool:
    """Whether ``name=value`` passes a literal credential."""
    if not value or not _NAME.search(name) or _NOT.search(name):
        return False
    if value.isdigit() and len(value) < 4:  # a switch or a count, not a password
        return False
    return not value.startswith(("/run/secrets/", "/", "${")) and value.lower() not in (
        "true",
        "false",
        "yes",
        "no",
    )


@dataclass(frozen=True)
class WeakDefault:
    variable: str  # the variable of the service's environment
    source: str  # the ${VAR} that falls back

    def message(self, service: str) -> str:
        return (
            f"{service}: {self.variable} falls back to the default written in the file "
            f"(${{{self.source}:-…}}), which anyone who reads the file knows"
        )


def weak_defaults(raw_env: dict[str, str], resolved_env: dict[str, str]) -> list[WeakDefault]:
    """The variables whose value is the ``${VAR:-default}`` of the file, used because VAR was
    unset, when that default is a credential (by the variable's name) or a weak word."""
    out = []
    for name, raw in raw_env.items():
        for m in _DEFAULT.finditer(raw):
            default = m[2]
            used = resolved_env.get(name) == raw.replace(m[0], default)
            weak = is_credential(name, default) or default.lower() in WEAK
            if used and weak:
                out.append(WeakDefault(name, m[1]))
    return out
