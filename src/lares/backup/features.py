"""What the installed restic can do: one table of version gates, one detection.

Every place that depends on the restic version asks :meth:`Features.has` with a name from
:data:`GATES`; nothing else compares version numbers. Debian 12 ships restic 0.14, upstream is
newer, and the differences lares cares about are listed here with the version that brought them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lares import run
from lares.errors import ToolMissing

Version = tuple[int, int, int]

#: The oldest restic lares drives: JSON backup progress and `check --read-data-subset n/t`.
MINIMUM: Version = (0, 12, 0)
INSTALL_HINT = "install restic 0.12 or newer (Debian: apt install restic)"


@dataclass(frozen=True)
class Gate:
    name: str
    since: Version
    what: str


GATES: dict[str, Gate] = {
    g.name: g
    for g in (
        Gate(
            "from_repo",
            (0, 14, 0),
            "init/copy name the other repository with --from-repo and RESTIC_FROM_PASSWORD_FILE "
            "(before: --repo2 and RESTIC_PASSWORD_FILE2)",
        ),
        Gate("compression", (0, 14, 0), "repository format 2 with compression (--compression)"),
        Gate("no_scan", (0, 15, 0), "backup --no-scan (skip the size estimate)"),
        Gate("retry_lock", (0, 16, 0), "--retry-lock DURATION waits for a locked repository"),
        Gate(
            "exit_codes",
            (0, 17, 0),
            "distinct exit codes: 10 repository missing, 11 lock failed, 12 wrong password",
        ),
        Gate(
            "json_errors",
            (0, 17, 0),
            'with --json, fatal errors are a JSON line {"message_type": "exit_error", ...}',
        ),
        Gate(
            "stdin_from_command",
            (0, 17, 0),
            "backup --stdin-from-command runs the dump itself and keeps no snapshot when it fails; "
            "lares still pumps the dump through itself on every version, because it also checks "
            "the dump's completion marker and hashes it for the drill",
        ),
        Gate("skip_if_unchanged", (0, 17, 0), "backup --skip-if-unchanged"),
    )
}


def parse_version(text: str) -> Version:
    """The version in ``restic version`` output ("restic 0.14.0 compiled with go1.19.8 …")."""
    match = re.search(r"restic\s+v?(\d+)\.(\d+)\.(\d+)", text)
    if match is None:
        raise ValueError(f"no restic version in {text.strip()[:80]!r}")
    major, minor, patch = (int(g) for g in match.groups())
    return (major, minor, patch)


@dataclass(frozen=True)
class Features:
    version: Version

    def has(self, name: str) -> bool:
        """Whether this restic has the gated feature ``name`` (a key of :data:`GATES`)."""
        return self.version >= GATES[name].since

    def __str__(self) -> str:
        return ".".join(str(n) for n in self.version)

    def table(self) -> dict[str, bool]:
        return {name: self.has(name) for name in GATES}


@cache
def detect(binary: str = "restic") -> Features:
    """Run ``restic version`` once and return what it supports.

    Raises :class:`ToolMissing` when restic is absent or older than :data:`MINIMUM`.
    """
    result = run.run([binary, "version"], timeout=30, hint=INSTALL_HINT)
    version = parse_version(result.stdout)
    if version < MINIMUM:
        raise ToolMissing(
            f"restic {'.'.join(map(str, version))} is too old; lares needs "
            f"{'.'.join(map(str, MINIMUM))} or newer",
            hint=INSTALL_HINT,
        )
    return Features(version)
