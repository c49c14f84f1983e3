"""A command lares would run: the unit of a backup plan, of dry-run output and of the hooks.

Hooks and the restic adapter *describe* commands; the runner decides whether to run them. A
command carries only non-secret environment values; a secret travels as the id of a secret in the
:class:`~lares.secrets.SecretStore` and is read only when the command runs, so printing a
command (``--dry-run``) can never show a secret.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lares.run import Result


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    what: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, str] = field(default_factory=dict)  # variable → secret id
    stdin: bool = False  # reads data on stdin (the other end of a pipe)

    def shown(self, *, env: bool = True) -> str:
        """The command as a shell line, environment first (``env=False``: only the secret
        variables); secrets by name, never by value."""
        parts = [f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()) if env]
        parts += [f"{k}=<secret {v}>" for k, v in sorted(self.secret_env.items())]
        parts.append(shlex.join(self.argv))
        return " ".join(parts)


def environment(cmd: Command, read: Callable[[str], str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """What ``cmd`` runs with: its environment with each secret variable read now (``read``
    turns a secret id into its value, e.g. ``SecretStore.read``), and those values, to mask in
    everything it logs or raises."""
    secret = {var: read(sid) for var, sid in cmd.secret_env.items()}
    return {**cmd.env, **secret}, tuple(secret.values())


def run_command(cmd: Command, *, timeout: float = 600.0, check: bool = True) -> Result:
    """Run ``cmd`` (one that needs no secret) through :func:`lares.run.run`."""
    from lares import run

    return run.run(cmd.argv, env=cmd.env or None, timeout=timeout, what=cmd.what, check=check)
